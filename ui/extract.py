"""The Extract page's widgets: a template (shipped, or a person's own), a run that decodes under its schema, the
values in editable tables with their checks, each value's box on the page, and the downloads."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pandas as pd
import streamlit as st

from core.annotate import annotate, png_bytes
from core.engines.types import Capability
from core.extraction.checks import Check, run_checks
from core.extraction.evidence import locate_on_page
from core.extraction.templates import Template, TemplateError, builtin_templates, parse_template
from core.grounding import Detection
from core.media import NormalizedImage
from core.serving import JobOutcome, ModelClient
from core.tasks import extract as extract_task
from core.tasks.extract import Extraction, ExtractParams, ExtractRun
from ui import state, widgets
from ui.generation import CURSOR, stream_into
from ui.i18n import language, t

OWN = "own"  # the template choice that means "the one I uploaded"


def _own_template() -> Template | None:
    upload = st.file_uploader(t("extract.own_upload"), type=["json"], key="extract_own_upload",
                              help=t("extract.own_help"))  # fmt: skip
    if upload is not None:
        try:
            state.EXTRACT_OWN.set(parse_template(upload.getvalue().decode("utf-8", errors="replace")))
        except TemplateError as error:
            st.error(t(error.key, **error.params))
    return state.EXTRACT_OWN.get()


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
                           icon=":material/download:")  # fmt: skip
    return template


def _run(chosen: ModelClient, media: NormalizedImage, template: Template) -> None:
    params = ExtractParams(template)
    request = extract_task.build(chosen.family, media.image, params)
    live = st.empty()

    def save(outcome: JobOutcome) -> None:
        extraction = extract_task.parse(template, outcome, params.bounds)
        with st.spinner(t("extract.locating")):
            evidence = locate_on_page(template, extraction.values, media.image)
        state.EXTRACT_RESULT.set(ExtractRun(extraction, evidence, media.digest, chosen.model_id))

    stream_into(chosen, request, key="extract",
                show=lambda text: live.code(text + CURSOR, language="json", wrap_lines=True, height=200),
                on_finish=save, waiting_text=t("extract.running", model=chosen.card.title))  # fmt: skip
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
        st.markdown(f"**{item.title(language())}**")
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
        st.warning(f"{where}{row}: {t(check.key, **check.params)}")


def _evidence_view(result: ExtractRun, media: NormalizedImage) -> bytes | None:
    if result.evidence is None:
        st.caption(t("extract.no_word_boxes"))
        return None
    located = [item for item in result.evidence if item.box is not None]
    missing = [item for item in result.evidence if item.box is None]
    paths = [item.path for item in located]
    chosen = st.selectbox(t("extract.highlight"), [t("extract.highlight_all"), *paths], key="extract_highlight")
    shown = located if chosen not in paths else [item for item in located if item.path == chosen]
    picture = annotate(media.image, [Detection(item.path, item.box) for item in shown if item.box is not None])
    st.image(picture, caption=media.name, width="stretch")
    for item in missing:
        st.warning(t("extract.not_found", field=item.path, value=item.value))
    return png_bytes(picture)


def _csv(rows: list[dict[str, Any]]) -> bytes:
    if not rows:
        return b""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # a BOM: spreadsheet programs then read Cyrillic right


def _show(result: ExtractRun, media: NormalizedImage) -> None:
    extraction = result.extraction
    if extraction.error is not None:
        st.error(widgets.error_text(extraction.error))
        return
    st.caption(t("extract.done", seconds=f"{extraction.stats.seconds_total:.1f}", tokens=extraction.stats.new_tokens))
    if extraction.stopped:
        st.warning(t("extract.stopped"))
    if not extraction.valid:
        st.warning(t("extract.invalid"))
    template = extraction.template
    key = f"extract_{result.stamp}"
    values = extraction.values or {}
    edited = {**_scalar_table(template, values, key), **_rows_table(template, values, key)}
    checks = run_checks(template, edited)  # the person's corrections are what is checked and downloaded
    _check_lines(template, checks)
    with st.expander(t("extract.evidence"), expanded=True):
        _evidence_view(result, media)
    typed = extract_task.typed_values(template, edited)
    corrected = Extraction(template, extraction.raw, edited, typed, checks, extraction.valid, extraction.stopped,
                           None, extraction.stats, extraction.created_at)  # fmt: skip
    record = extract_task.report(corrected, result.evidence, document=media.name, page=1, model=result.model_id)
    left, right = st.columns(2)
    left.download_button(t("extract.download_json"), json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"),
                         f"extract_{result.stamp}.json", "application/json", key="extract_json",
                         icon=":material/data_object:")  # fmt: skip
    rows_field = template.rows_field
    if rows_field is not None and edited.get(rows_field.name):
        right.download_button(t("extract.download_csv"), _csv(edited[rows_field.name]), f"extract_{result.stamp}.csv",
                              "text/csv", key="extract_csv", icon=":material/table:")  # fmt: skip
    with st.expander(t("extract.raw")):
        st.code(extraction.raw or "—", language="json", wrap_lines=True)


def render(media: NormalizedImage) -> None:
    chosen = widgets.require(Capability.CHAT)
    settings_column, result_column = st.columns([2, 3], gap="large")
    with settings_column:
        template = _template()
        run = st.button(t("extract.run"), type="primary", key="extract_run", icon=":material/fact_check:",
                        disabled=template is None)  # fmt: skip
    with result_column:
        if run and template is not None:
            _run(chosen, media, template)
        result = state.EXTRACT_RESULT.get()
        if result is not None and result.media_digest == media.digest:
            _show(result, media)
        else:
            st.image(media.image, caption=media.name, width="stretch")
