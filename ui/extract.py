"""The Extract page's widgets: a template (shipped, or a person's own), a run that decodes under its schema, the
values in editable tables with their checks, each value's box on the page, and the downloads."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st
from PIL import Image

from core.annotate import annotate
from core.documents import page_digest, render_page
from core.engines.types import Capability
from core.extraction.checks import Check, run_checks
from core.extraction.evidence import Evidence, locate_on_page
from core.extraction.templates import (
    TYPES,
    Template,
    TemplateError,
    builtin_templates,
    parse_template,
    table_rows,
    template_from_table,
)
from core.grounding import Detection
from core.media import InvalidInput, NormalizedImage
from core.serving import JobOutcome, ModelClient
from core.tasks import extract as extract_task
from core.tasks.extract import ExtractParams, ExtractRun, PageExtraction
from ui import history, pictures, state, upload, widgets
from ui.generation import CURSOR, stream_into
from ui.i18n import input_error, language, literal, t

OWN = "own"  # the template choice that means "the one I uploaded"


SCHEMA_HINT = '{"type": "object", "properties": {"number": {"type": "string"}}}'
STARTER = [("number", "text"), ("date", "date"), ("total", "money")]  # what the field editor opens with


def _use(build: Callable[[], Template]) -> None:
    try:
        state.EXTRACT_OWN.set(build())
    except TemplateError as error:
        st.error(t(error.key, **error.params))


def _field_editor(current: Template | None) -> None:
    """Fields typed in a table: name, type, label, description, and the columns of a list of rows."""
    lang = language()
    rows = table_rows(current, lang) if current is not None else [
        {"name": name, "type": kind, "label": "", "description": "", "columns": ""} for name, kind in STARTER
    ]  # fmt: skip
    title = st.text_input(t("extract.editor_title"), current.name(lang) if current else t("extract.editor_default"),
                          key="extract_editor_title")  # fmt: skip
    config = {
        "name": st.column_config.TextColumn(t("extract.editor_name"), help=t("extract.editor_name_help")),
        "type": st.column_config.SelectboxColumn(
            t("extract.editor_type"), options=list(TYPES), default="text", help=t("extract.editor_type_help")
        ),  # fmt: skip
        "label": st.column_config.TextColumn(t("extract.editor_label")),
        "description": st.column_config.TextColumn(t("extract.editor_description")),
        "columns": st.column_config.TextColumn(t("extract.editor_columns"), help=t("extract.editor_columns_help")),
    }
    edited = st.data_editor(pd.DataFrame(rows, columns=list(config), dtype=object), key="extract_editor",
                            num_rows="dynamic", hide_index=True, column_config=config, width="stretch")  # fmt: skip
    records = [{name: _cell(value) for name, value in row.items()} for row in edited.to_dict("records")]
    # what the table says is the template in use, as soon as it changes (no button to forget, no click to lose)
    signature = json.dumps([title, records], ensure_ascii=False, default=str)
    if signature == state.EXTRACT_EDITOR_APPLIED.get():
        return
    state.EXTRACT_EDITOR_APPLIED.set(signature)
    try:
        candidate = template_from_table(title, records, lang)
    except TemplateError as error:
        st.error(t(error.key, **error.params))
        return
    unchanged = current is not None and candidate.name(lang) == current.name(lang) and table_rows(
        candidate, lang) == table_rows(current, lang)  # fmt: skip
    if not unchanged:  # an uploaded template shown in the table keeps its labels in other languages and its id
        state.EXTRACT_OWN.set(candidate)


def _own_template() -> Template | None:
    current = state.EXTRACT_OWN.get()
    editor, schema, upload = st.tabs([t("extract.own_editor"), t("extract.own_schema"), t("extract.own_file")])
    with editor:
        _field_editor(current)
    with schema:
        pasted = st.text_area(t("extract.schema_paste"), key="extract_schema_text", height=160, placeholder=SCHEMA_HINT)
        if st.button(t("extract.schema_use"), key="extract_schema_use", icon=":material/check:"):
            _use(lambda: parse_template(pasted))
    with upload:
        chosen = st.file_uploader(t("extract.own_upload"), type=["json"], key="extract_own_upload",
                                  help=t("extract.own_help"))  # fmt: skip
        if chosen is not None and state.EXTRACT_UPLOAD_SEEN.get() != chosen.file_id:
            state.EXTRACT_UPLOAD_SEEN.set(chosen.file_id)  # read once: the editor may change the template after
            _use(lambda: parse_template(chosen.getvalue().decode("utf-8", errors="replace")))
    own = state.EXTRACT_OWN.get()
    if own is not None:
        names = ", ".join(item.name for item in own.fields)
        st.caption(t("extract.own_in_use", name=own.name(language()), fields=names))
    return own


def _template() -> Template | None:
    templates = builtin_templates()
    first = "invoice-ru" if language() == "ru" else "invoice-en"  # the invoice in the interface's language leads
    order = [first, *(template_id for template_id in templates if template_id != first)]
    labels = {template_id: templates[template_id].name(language()) for template_id in order}
    labels[OWN] = t("extract.own")
    choice = widgets.remembered_choice(labels, state.EXTRACT_TEMPLATE, t("extract.template"), "extract_template",
                                       t("extract.template_help"))  # fmt: skip
    template = _own_template() if choice == OWN else templates[choice]
    if template is not None:
        st.download_button(t("extract.template_download"), template.to_json().encode("utf-8"),
                           f"template_{template.id}.json", "application/json", key="extract_template_download",
                           icon=":material/download:", on_click="ignore")  # fmt: skip
    return template


def _locate(chosen: ModelClient, template: Template, values: dict[str, Any] | None,
            image: Image.Image) -> list[Evidence] | None:  # fmt: skip
    """Where each value stands: asked of the model when its family grounds (one short answer per value, with
    Stop), otherwise found among Tesseract's words. None when nothing could look (or the person stopped it)."""
    if not chosen.card.can(Capability.GROUNDING):
        with st.spinner(t("extract.locating")):
            return locate_on_page(template, values, image)
    requests = extract_task.grounding_requests(chosen.family, template, values, image)
    answers: dict[str, JobOutcome] = {}
    live = st.empty()
    for number, (text, request) in enumerate(requests, start=1):
        stream_into(chosen, request, key=f"extract_ground_{number}", show=lambda answer: live.caption(answer),
                    on_finish=lambda outcome, text=text: answers.__setitem__(text, outcome),
                    waiting_text=t("extract.grounding", value=text, done=number, total=len(requests)))  # fmt: skip
        if answers[text].stopped or answers[text].error is not None:
            return None
    live.empty()
    return extract_task.grounded_evidence(chosen.family, template, values, answers, image.size)


def _run(chosen: ModelClient, pages: list[upload.Page], template: Template) -> None:
    """Extract ``pages`` one by one into the session's result, saved as it grows: Stop keeps the pages done."""
    params = ExtractParams(template)
    result = ExtractRun(template, chosen.model_id, [digest for _, digest, _ in pages])
    state.EXTRACT_RESULT.set(result)
    bar = st.progress(0.0, text=t("extract.progress", done=0, total=len(pages))) if len(pages) > 1 else None
    live = st.empty()
    for done, (number, digest, draw) in enumerate(pages, start=1):
        try:
            image = draw()
        except InvalidInput as error:  # a damaged page: the pages before it are kept, and it is named
            result.failed_page, result.page_error = number, error
            break

        def save(outcome: JobOutcome, number: int = number, digest: str = digest) -> None:
            # runs even when a Stop interrupts the script: the page's answer so far is kept
            extraction = extract_task.parse(template, outcome, params.bounds)
            result.pages.append(PageExtraction(number, digest, extraction, None))
            history.save_result("extract", result, media_digest=result.page_digests[0], model=chosen.model_id)

        waiting = t("extract.running", model=chosen.card.title) if len(pages) == 1 else t(
            "extract.running_page", model=chosen.card.title, page=number, total=len(pages))  # fmt: skip
        stream_into(chosen, extract_task.build(chosen.family, image, params), key=f"extract_{done}",
                    show=lambda text: live.code(text + CURSOR, language="json", wrap_lines=True, height=200),
                    on_finish=save, waiting_text=waiting)  # fmt: skip
        live.empty()
        if result.ended:
            break
        page = result.pages[-1]
        result.pages[-1] = replace(page, evidence=_locate(chosen, template, page.extraction.values, image))
        history.save_result("extract", result, media_digest=result.page_digests[0], model=chosen.model_id)
        if bar is not None:
            bar.progress(done / len(pages), text=t("extract.progress", done=done, total=len(pages)))
    st.rerun()


def _scalar_table(template: Template, values: dict[str, Any], key: str) -> dict[str, Any]:
    """The fields other than line items, editable; returns the values as the person left them."""
    scalars = [item for item in template.fields if item.type != "rows"]
    frame = pd.DataFrame(
        {
            t("extract.col_field"): [item.title(language()) for item in scalars],
            t("extract.col_value"): [
                None if values.get(item.name) is None else str(values[item.name]) for item in scalars
            ],  # fmt: skip
        }
    )
    edited = st.data_editor(frame, key=key, hide_index=True, disabled=[t("extract.col_field")], width="stretch")
    column = edited[t("extract.col_value")].tolist()
    return {item.name: _cell(value) for item, value in zip(scalars, column, strict=True)}


def _cell(value: Any) -> Any:
    """An edited cell: an emptied one is null, as the model writes a value it did not find."""
    return None if value is None or value == "" or (isinstance(value, float) and pd.isna(value)) else value


def _rows_table(template: Template, values: dict[str, Any], key: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for item in (item for item in template.fields if item.type == "rows"):
        names = [column.name for column in item.columns]
        rows = [row for row in values.get(item.name) or [] if isinstance(row, dict)]
        frame = pd.DataFrame([[row.get(name) for name in names] for row in rows], columns=names, dtype=object)
        st.markdown(f"**{literal(item.title(language()))}**")
        titles = {column.name: column.title(language()) for column in item.columns}
        edited = st.data_editor(frame, key=f"{key}_{item.name}", hide_index=True, num_rows="dynamic",
                                width="stretch", column_config=titles)  # fmt: skip
        found[item.name] = [
            {name: _cell(value) for name, value in zip(names, record, strict=True)}
            for record in edited.itertuples(index=False, name=None)
        ]
    return found


def _check_lines(template: Template, checks: list[Check]) -> None:
    failed = [check for check in checks if not check.ok]
    if not checks:
        return
    if not failed:
        st.success(t("extract.checks_ok", count=len(checks)))
        return
    for check in failed:
        where = next((item.title(language()) for item in template.fields if item.name == check.field), check.field)
        row = "" if check.row is None else t("extract.row", row=check.row + 1)
        params = {name: literal(value) for name, value in check.params.items()}  # values the model wrote
        st.warning(f"{literal(where)}{row}: {t(check.key, **params)}")


def _page_image(page: PageExtraction, media: NormalizedImage) -> Image.Image | None:
    if page.digest == media.digest:
        return media.image
    document = state.current_document()
    if document is None or page.digest != page_digest(document, page.page - 1):
        return None
    try:
        return render_page(document, page.page - 1).image
    except InvalidInput:
        return None


def _evidence_picture(result: ExtractRun, shown: PageExtraction, media: NormalizedImage, chosen: str,
                      boxes: list[Evidence]) -> Image.Image | None:  # fmt: skip
    """The page with the chosen evidence boxes, drawn once per choice: a rerun for anything else on the page
    (a cell edited, a download) does not draw the page, or render a PDF page, again."""

    def draw() -> Image.Image | None:
        image = _page_image(shown, media)
        if image is None:
            return None
        return annotate(image, [Detection(item.path, item.box) for item in boxes if item.box is not None])

    key = (result.created_at, len(result.pages), shown.page, shown.digest, chosen)
    return state.made_once(state.EXTRACT_PICTURE, key, draw)


def _evidence_view(result: ExtractRun, media: NormalizedImage) -> None:
    evidence = result.evidence or []
    pages = result.pages
    shown = next((page for page in pages if page.digest == media.digest), pages[0])
    if len(pages) > 1:
        numbers = [page.page for page in pages]
        chosen_number = st.selectbox(t("extract.evidence_page"), numbers, index=numbers.index(shown.page),
                                     key="extract_evidence_page")  # fmt: skip
        shown = next(page for page in pages if page.page == chosen_number)
    if shown.evidence is None:
        st.caption(t("extract.not_located"))
    on_page = [item for number, item in evidence if number == shown.page]
    located = [item for item in on_page if item.box is not None]
    paths = [item.path for item in located]
    chosen = st.selectbox(t("extract.highlight"), [t("extract.highlight_all"), *paths], key="extract_highlight")
    boxes = located if chosen not in paths else [item for item in located if item.path == chosen]
    picture = _evidence_picture(result, shown, media, chosen, boxes)
    if picture is not None:
        pictures.show(picture, caption=t("extract.page_caption", page=shown.page))
    if on_page and on_page[0].source == "grounding":
        st.caption(t("extract.by_grounding"))
    for item in on_page:
        if item.box is None:
            st.warning(t("extract.not_found", field=item.path, value=literal(item.value)))


def _csv(rows: list[dict[str, Any]]) -> bytes:
    if not rows:
        return b""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # a BOM: spreadsheet programs then read Cyrillic right


def _summary(result: ExtractRun) -> None:
    seconds, tokens = f"{result.seconds:.1f}", result.new_tokens
    if len(result.page_digests) == 1:
        st.caption(t("extract.done", seconds=seconds, tokens=tokens))
    else:
        st.caption(t("extract.done_pages", pages=len(result.pages), seconds=seconds, tokens=tokens))
    if result.error is not None and result.error.key == "prompt.too_long":  # the template is what to shorten here
        st.error(t("extract.too_long", **result.error.params))
    elif result.error is not None:
        st.error(widgets.error_text(result.error))
    if result.page_error is not None:
        st.error(f"{t('extract.page_failed', page=result.failed_page)} {input_error(result.page_error)}")
    if result.stopped:
        if len(result.page_digests) == 1:
            st.warning(t("extract.stopped"))
        else:
            st.warning(t("extract.stopped_pages", done=len(result.pages), total=len(result.page_digests)))
    looped = [page.page for page in result.pages if page.extraction.looped]
    if looped:
        st.warning(t("extract.looped", pages=", ".join(map(str, looped))))
    if result.pages and not result.valid and result.error is None:
        st.warning(t("extract.invalid"))


def _show(result: ExtractRun, media: NormalizedImage) -> None:
    _summary(result)
    if not result.pages or all(page.extraction.values is None for page in result.pages):
        return
    template = result.template
    key = f"extract_{result.stamp}"
    values = result.values
    edited = {**_scalar_table(template, values, key), **_rows_table(template, values, key)}
    _check_lines(template, run_checks(template, edited))  # the person's corrections are what is checked
    with st.expander(t("extract.evidence"), expanded=True):
        _evidence_view(result, media)
    document = state.current_document()
    name = document.name if document is not None and media.digest.startswith(document.digest) else media.name
    record = extract_task.report(result, edited, document=name)
    left, right = st.columns(2)
    left.download_button(t("extract.download_json"), json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"),
                         f"extract_{result.stamp}.json", "application/json", key="extract_json",
                         icon=":material/data_object:", on_click="ignore")  # fmt: skip
    rows_field = template.rows_field
    if rows_field is not None and edited.get(rows_field.name):
        right.download_button(t("extract.download_csv"), _csv(edited[rows_field.name]), f"extract_{result.stamp}.csv",
                              "text/csv", key="extract_csv", icon=":material/table:", on_click="ignore")  # fmt: skip
    with st.expander(t("extract.raw")):
        for page in result.pages:
            if len(result.pages) > 1:
                st.caption(t("extract.page_caption", page=page.page))
            st.code(page.extraction.raw or "—", language="json", wrap_lines=True)


def render(media: NormalizedImage) -> None:
    chosen = widgets.require(Capability.CHAT)
    settings_column, result_column = st.columns([2, 3], gap="large")
    pages = state.page_count(media)
    with settings_column:
        template = _template()
        left, right = st.columns(2)
        everything = None
        if left.button(t("extract.run"), type="primary", key="extract_run", icon=":material/fact_check:",
                       disabled=template is None):  # fmt: skip
            everything = False
        if pages > 1 and right.button(t("extract.run_all", pages=pages), key="extract_run_all",
                                      icon=":material/library_books:", disabled=template is None):  # fmt: skip
            everything = True
    with result_column:
        if everything is not None and template is not None:
            _run(chosen, upload.pages_to_read(media, everything), template)
        result = state.EXTRACT_RESULT.get()
        if result is not None and media.digest in result.page_digests:
            _show(result, media)
        else:
            pictures.show(media.image, caption=media.name)
