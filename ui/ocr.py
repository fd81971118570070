"""The OCR page's widgets: plain text or a structured document (``ui.convert``). For plain text: the engine
(the session's model or an OCR engine of its own), the language hint, a run with live text, the editable
result, copy and download; with an engine that gives boxes, the text boxes; with one that writes them, a
searchable PDF."""

from __future__ import annotations

from collections.abc import Iterator

import streamlit as st
from PIL import Image

from core.annotate import annotate, png_bytes, report_json
from core.documents import render_page
from core.engines.tiling import TILE_BUDGETS
from core.engines.types import Capability, EngineError
from core.media import NormalizedImage
from core.registry import family_of, ocr_specialists
from core.serving import JobOutcome, ModelClient
from core.tasks import ocr as ocr_task
from core.tasks.ocr import LANGUAGE_HINTS, OCR_MAX_TILES, OcrParams, OcrResult
from ui import convert, document_view, history, pictures, serving, state, widgets
from ui.generation import CURSOR, stream_into
from ui.i18n import language, t

SESSION_MODEL = ""  # the OCR engine choice that means "this session's model"
PLAIN, STRUCTURED = "plain", "structured"


def _settings() -> tuple[int, int]:
    configured = max(1024, serving.settings().max_new_tokens)
    with st.sidebar.expander(t("ocr.settings")):
        max_new_tokens = st.slider(
            t("ocr.max_new_tokens"), 64, max(4096, configured), configured, 64, key="ocr_max_new"
        )
        max_tiles = st.select_slider(t("ocr.tiles"), list(TILE_BUDGETS), OCR_MAX_TILES, key="ocr_tiles")
    return int(max_new_tokens), int(max_tiles)


def _language_hint() -> str:
    labels = [t(f"ocr.lang_{hint}") for hint in LANGUAGE_HINTS]
    # The key follows the UI language so a language switch cannot leave a label that no longer exists.
    chosen = st.radio(t("ocr.language"), labels, horizontal=True, key=f"ocr_language_{language()}")
    return LANGUAGE_HINTS[labels.index(chosen)]


def _element_choice(engine: ModelClient) -> str:
    """What a document specialist is asked to read (text, a table, a formula, a chart); others read text."""
    elements = engine.family.ocr_elements
    if len(elements) < 2:
        return elements[0]
    labels = [t(f"ocr.element_{element}") for element in elements]
    chosen = st.radio(t("ocr.element"), labels, horizontal=True, key=f"ocr_element_{engine.model_id}_{language()}",
                      help=t("ocr.element_help"))  # fmt: skip
    return elements[labels.index(chosen)]


def engine_label(model_id: str) -> str:
    """An OCR engine's name on the page: its family's own label, else its card's title."""
    card = serving.card_for(model_id)
    if card is None:
        return model_id
    key = family_of(card).ocr_label_key
    return t(key) if key else card.title


def _engine_choice(chosen: ModelClient) -> ModelClient:
    """The session's model or an OCR engine of its own, remembered for the session (:data:`state.OCR_ENGINE`)."""
    labels = {SESSION_MODEL: t("ocr.engine_model", model=chosen.card.title)}
    specialists = ocr_specialists(serving.settings().extra_model_ids)
    labels.update({card.model_id: engine_label(card.model_id) for card in specialists})
    picked = widgets.remembered_choice(labels, state.OCR_ENGINE, t("ocr.engine"), "ocr_engine", t("ocr.engine_help"))
    return chosen if picked == SESSION_MODEL else serving.client_for(picked)


def engine_ready(engine: ModelClient, hint: str) -> bool:
    """False, with what to install, when the engine cannot read here (a program or its language is missing)."""
    try:
        engine.family.check_ocr_ready(hint)
    except EngineError as error:
        st.warning(t(error.key, **error.params))
        if error.params.get("command"):
            st.code(str(error.params["command"]), language="bash")
        return False
    return True


def _run(engine: ModelClient, media: NormalizedImage, params: OcrParams, specialist: bool) -> None:
    family = engine.family
    live = st.empty()

    def save(outcome: JobOutcome) -> None:
        result = ocr_task.parse(family, outcome, params)
        result.engine, result.media_digest = engine.model_id, media.digest
        state.OCR_RESULT.set(result)
        history.save_result("ocr", result, media_digest=media.digest, model=engine.model_id)

    if specialist:
        waiting = t("ocr.running_specialist", model=engine.card.title)
    else:
        waiting = t("ocr.running", tiles=params.max_tiles)
    stream_into(
        engine,
        ocr_task.build(family, media.image, params),
        key="ocr",
        show=lambda text: live.code(text + CURSOR, language=None, wrap_lines=True),
        on_finish=save,
        waiting_text=waiting,
    )
    st.rerun()


def editor_key(result: OcrResult) -> str:
    return f"ocr_text_{result.created_at:%Y%m%d%H%M%S%f}"


def _show(result: OcrResult) -> None:
    if result.error is not None:
        st.error(widgets.error_text(result.error))
        return
    stats = result.stats
    st.caption(t("ocr.done", seconds=f"{stats.seconds_total:.1f}", tokens=stats.new_tokens, tiles=stats.image_tiles))
    if result.looped:
        st.warning(f"⏹ {t('generation.looped')}")
    elif result.stopped:
        st.warning(t("ocr.stopped"))
    if result.no_text:
        st.info(t("ocr.no_text"))
        return
    if result.markup:
        shown, source = st.tabs([t("ocr.view_document"), t("ocr.view_markdown")])
        with source:
            text = st.text_area(t("ocr.result_markdown"), value=result.text, height=360, key=editor_key(result))
        with shown:
            document_view.show(text)
    else:
        text = st.text_area(t("ocr.result"), value=result.text, height=360, key=editor_key(result))
    if text != result.text:
        history.save_edit("ocr", result, text)
    st.download_button(
        t("ocr.download_markdown") if result.markup else t("ocr.download"),
        data=text.encode("utf-8"),
        file_name=result.file_name,
        mime=f"{'text/markdown' if result.markup else 'text/plain'}; charset=utf-8",
        icon=":material/download:",
        key="ocr_download",
        on_click="ignore",
    )
    with st.expander(t("ocr.copy")):
        st.code(text, language=None, wrap_lines=True)


def _boxes(result: OcrResult, media: NormalizedImage) -> Image.Image | None:
    """The engine's text boxes: the toggle, the downloads and the annotated picture (None when off or none)."""
    page = result.layout
    if page is None or not page.lines:
        return None
    if not st.toggle(t("ocr.show_boxes"), key="ocr_show_boxes", help=t("ocr.show_boxes_help")):
        return None
    levels = {t("ocr.level_lines"): "lines", t("ocr.level_words"): "words"}
    shown = st.radio(t("ocr.box_level"), list(levels), horizontal=True, key=f"ocr_box_level_{language()}")
    annotated = annotate(media.image, ocr_task.text_boxes(page, levels[shown]), ocr_task.confidence_colour)
    data = ocr_task.text_boxes_report(page, image_name=media.name, languages=result.prompt,
                                      elapsed_s=result.stats.seconds_total, engine=result.engine)  # fmt: skip
    left, right = st.columns(2)
    left.download_button(t("ocr.download_boxes_png"), png_bytes(annotated), f"ocr_boxes_{result.stamp}.png",
                         "image/png", key="ocr_boxes_png", icon=":material/image:", on_click="ignore")  # fmt: skip
    right.download_button(t("ocr.download_boxes_json"), report_json(data), f"ocr_boxes_{result.stamp}.json",
                          "application/json", key="ocr_boxes_json", icon=":material/data_object:",
                          on_click="ignore")  # fmt: skip
    return annotated


def _searchable_pdf(result: OcrResult, media: NormalizedImage) -> None:
    """This page as a searchable PDF; for a PDF upload of several pages, also all of them in one file."""
    family = serving.client_for(result.engine).family if result.engine else None
    if family is None or not family.writes_searchable_pdf or result.no_text:
        return
    document = state.document_of(media)
    pages = state.page_count(media)
    left, right = st.columns(2)
    pictures: list[Image.Image] | Iterator[Image.Image] | None = None
    if left.button(t("ocr.make_pdf"), key="ocr_make_pdf", icon=":material/picture_as_pdf:", help=t("ocr.pdf_help")):
        pictures = [media.image]
    if (
        document is not None
        and pages > 1
        and right.button(t("ocr.make_pdf_all", pages=pages), key="ocr_make_pdf_all", icon=":material/library_books:")
    ):
        pictures = (render_page(document, index).image for index in range(pages))
    if pictures is not None:
        total = 1 if isinstance(pictures, list) else pages
        bar = st.progress(0.0, text=t("ocr.pdf_progress", done=0, total=total))

        def advance(done: int) -> None:
            bar.progress(done / total, text=t("ocr.pdf_progress", done=done, total=total))

        pdf = family.searchable_pdf(pictures, result.language_hint, on_page=advance)
        bar.empty()
        state.OCR_PDF.set((media.digest, result.stamp, pdf))
    made = state.OCR_PDF.get()
    if made is not None and made[0] == media.digest:
        st.download_button(t("ocr.download_pdf"), made[2], f"ocr_{made[1]}.pdf", "application/pdf",
                           key="ocr_pdf_download", icon=":material/download:", on_click="ignore")  # fmt: skip


def _output_choice() -> str:
    """Plain text (a model or an OCR engine) or a structured document (a document model), kept for the session."""
    labels = {PLAIN: t("ocr.output_plain"), STRUCTURED: t("ocr.output_structured")}
    return widgets.remembered_choice(labels, state.OCR_OUTPUT, t("ocr.output"), "ocr_output", t("ocr.output_help"))


def render(media: NormalizedImage) -> None:
    if _output_choice() == STRUCTURED:
        convert.render(media)
        return
    chosen = widgets.require(Capability.OCR)
    max_new_tokens, max_tiles = _settings()
    preview, work = st.columns([2, 3], gap="large")
    annotated = None
    with work:
        engine = _engine_choice(chosen)
        element = _element_choice(engine)
        # A document specialist's prompt is its task alone: it tells scripts apart without a language hint.
        hint = "auto" if engine.family.ocr_markup else _language_hint()
        ready = engine_ready(engine, hint)
        if st.button(
            t("ocr.run"), type="primary", key="ocr_run", icon=":material/document_scanner:", disabled=not ready
        ):
            params = OcrParams(hint, max_new_tokens, max_tiles, element)
            _run(engine, media, params, specialist=engine is not chosen)
        result = state.OCR_RESULT.get()
        if result is not None and result.media_digest == media.digest:
            _show(result)
            annotated = _boxes(result, media)
            _searchable_pdf(result, media)
    with preview:
        pictures.show(annotated or media.image, caption=media.name)
