"""The OCR page's widgets: plain text or a structured document (``ui.convert``); for plain text the engine
(the session's model or Tesseract), language hint, run with live text, editable result, copy and download;
with Tesseract also the text boxes and a searchable PDF."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import streamlit as st
from PIL import Image

from core.annotate import annotate, png_bytes, report_json
from core.documents import render_page
from core.engines.tesseract import (
    OcrPage,
    TesseractMissing,
    check_installed,
    languages_for,
    searchable_pdf,
)
from core.engines.tiling import TILE_BUDGETS
from core.engines.types import Capability, GenerationStats
from core.media import NormalizedImage
from core.ocr import (
    LANGUAGE_HINTS,
    OCR_MAX_TILES,
    clean_ocr_output,
    confidence_colour,
    ocr_request,
    text_boxes,
    text_boxes_report,
)
from core.registry import family_of
from core.serving import ModelClient
from ui import convert, model
from ui.generation import CURSOR, Outcome, stream_into
from ui.i18n import language, t
from ui.upload import current_document

_RESULT_KEY = "ocr_result"


_PDF_KEY = "ocr_pdf"
_ENGINE_KEY = "ocr_engine_choice"  # plain keys: the choices outlive page switches
_OUTPUT_KEY = "ocr_output_choice"
MODEL, TESSERACT = "model", "tesseract"
PLAIN, STRUCTURED = "plain", "structured"


@dataclass
class OcrResult:
    media_digest: str
    language_hint: str
    text: str
    no_text: bool
    raw: str
    stopped: bool
    error: str | None
    stats: GenerationStats
    created_at: datetime = field(default_factory=datetime.now)
    engine: str = MODEL
    page: OcrPage | None = None  # Tesseract's words and lines with boxes

    @property
    def stamp(self) -> str:
        return f"{self.created_at:%Y%m%d_%H%M%S}"

    @property
    def file_name(self) -> str:
        return f"ocr_result_{self.created_at:%Y%m%d_%H%M%S}.txt"

    @property
    def editor_key(self) -> str:
        return f"ocr_text_{self.created_at:%Y%m%d%H%M%S%f}"


def _settings() -> tuple[int, int]:
    configured = max(1024, model.settings().max_new_tokens)
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


def _remembered_choice(labels: dict[str, str], state_key: str, title: str, widget_key: str, help_text: str) -> str:
    """A horizontal radio over ``labels`` (name -> label) whose choice is kept in ``state_key`` for the session.

    The widget key follows the UI language so a language switch cannot leave a label that no longer exists.
    """
    remembered = st.session_state.get(state_key, next(iter(labels)))
    chosen_label = st.radio(title, list(labels.values()), index=list(labels).index(remembered), horizontal=True,
                            key=f"{widget_key}_{language()}", help=help_text)  # fmt: skip
    name = next(name for name, label in labels.items() if label == chosen_label)
    st.session_state[state_key] = name
    return name


def _engine_choice(chosen: ModelClient) -> str:
    """The session's model or Tesseract, remembered for the session; Tesseract's install state is said here."""
    labels = {MODEL: t("ocr.engine_model", model=chosen.card.title), TESSERACT: t("ocr.engine_tesseract")}
    return _remembered_choice(labels, _ENGINE_KEY, t("ocr.engine"), "ocr_engine", t("ocr.engine_help"))


def tesseract_chosen() -> bool:
    """Whether this session picked Tesseract on the OCR page (the Region page then offers to read a box)."""
    return st.session_state.get(_ENGINE_KEY) == TESSERACT


def chosen_hint() -> str:
    """The language hint last used for OCR in this session (both languages until then)."""
    result = st.session_state.get(_RESULT_KEY)
    return result.language_hint if isinstance(result, OcrResult) else "auto"


def _tesseract_ready(hint: str) -> bool:
    try:
        check_installed(languages_for(hint))
    except TesseractMissing as error:
        st.warning(t(error.key, **error.params))
        st.code(str(error.params["command"]), language="bash")
        return False
    return True


def _run(
    chosen: ModelClient, media: NormalizedImage, hint: str, max_new_tokens: int, max_tiles: int, engine: str
) -> None:
    family = family_of(chosen.card)
    request = ocr_request(family, media.image, hint, max_new_tokens, max_tiles)
    prompt = family.ocr_prompt(hint)
    live = st.empty()

    def save(outcome: Outcome) -> None:
        page = outcome.structured if isinstance(outcome.structured, OcrPage) else None
        if engine == TESSERACT:  # a program's output: no chatter to strip, and nothing else to rewrite
            text, no_text = outcome.text.strip(), not outcome.text.strip()
        else:
            cleaned = clean_ocr_output(outcome.text, prompt)
            text, no_text = cleaned.text, cleaned.no_text
        st.session_state[_RESULT_KEY] = OcrResult(
            media.digest, hint, text, no_text and not outcome.stopped, outcome.text,
            outcome.stopped, outcome.error, outcome.stats, engine=engine, page=page,
        )  # fmt: skip

    stream_into(
        chosen,
        request,
        key="ocr",
        show=lambda text: live.code(text + CURSOR, language=None, wrap_lines=True),
        on_finish=save,
        waiting_text=t("ocr.running_tesseract") if engine == TESSERACT else t("ocr.running", tiles=max_tiles),
    )
    st.rerun()


def _show(result: OcrResult) -> None:
    if result.error:
        st.error(result.error)
        return
    stats = result.stats
    st.caption(t("ocr.done", seconds=f"{stats.seconds_total:.1f}", tokens=stats.new_tokens, tiles=stats.image_tiles))
    if result.stopped:
        st.warning(t("ocr.stopped"))
    if result.no_text:
        st.info(t("ocr.no_text"))
        return
    text = st.text_area(t("ocr.result"), value=result.text, height=360, key=result.editor_key)
    st.download_button(
        t("ocr.download"),
        data=text.encode("utf-8"),
        file_name=result.file_name,
        mime="text/plain; charset=utf-8",
        icon=":material/download:",
        key="ocr_download",
    )
    with st.expander(t("ocr.copy")):
        st.code(text, language=None, wrap_lines=True)


def _boxes(result: OcrResult, media: NormalizedImage) -> Image.Image | None:
    """Tesseract's text boxes: the toggle, the downloads and the annotated picture (None when off)."""
    page = result.page
    if page is None or not page.lines:
        return None
    if not st.toggle(t("ocr.show_boxes"), key="ocr_show_boxes", help=t("ocr.show_boxes_help")):
        return None
    levels = {t("ocr.level_lines"): "lines", t("ocr.level_words"): "words"}
    shown = st.radio(t("ocr.box_level"), list(levels), horizontal=True, key=f"ocr_box_level_{language()}")
    level = levels[shown]
    annotated = annotate(media.image, text_boxes(page, level), confidence_colour)
    data = text_boxes_report(page, image_name=media.name, languages=languages_for(result.language_hint),
                             elapsed_s=result.stats.seconds_total)  # fmt: skip
    left, right = st.columns(2)
    left.download_button(t("ocr.download_boxes_png"), png_bytes(annotated), f"ocr_boxes_{result.stamp}.png",
                         "image/png", key="ocr_boxes_png", icon=":material/image:")  # fmt: skip
    right.download_button(t("ocr.download_boxes_json"), report_json(data), f"ocr_boxes_{result.stamp}.json",
                          "application/json", key="ocr_boxes_json", icon=":material/data_object:")  # fmt: skip
    return annotated


def _searchable_pdf(result: OcrResult, media: NormalizedImage) -> None:
    """This page as a searchable PDF; for a PDF upload of several pages, also all of them in one file."""
    if result.engine != TESSERACT or result.no_text:
        return
    languages = languages_for(result.language_hint)
    document = current_document()
    pages = document.page_count if document is not None and media.digest.startswith(document.digest) else 1
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

        pdf = searchable_pdf(pictures, languages, on_page=advance)
        bar.empty()
        st.session_state[_PDF_KEY] = (media.digest, result.stamp, pdf)
    made = st.session_state.get(_PDF_KEY)
    if isinstance(made, tuple) and made[0] == media.digest:
        st.download_button(t("ocr.download_pdf"), made[2], f"ocr_{made[1]}.pdf", "application/pdf",
                           key="ocr_pdf_download", icon=":material/download:")  # fmt: skip


def _output_choice() -> str:
    """Plain text (a model or Tesseract) or a structured document (a document model), kept for the session."""
    labels = {PLAIN: t("ocr.output_plain"), STRUCTURED: t("ocr.output_structured")}
    return _remembered_choice(labels, _OUTPUT_KEY, t("ocr.output"), "ocr_output", t("ocr.output_help"))


def render(media: NormalizedImage) -> None:
    if _output_choice() == STRUCTURED:
        convert.render(media)
        return
    chosen = model.require(Capability.OCR)
    max_new_tokens, max_tiles = _settings()
    preview, work = st.columns([2, 3], gap="large")
    annotated = None
    with work:
        engine = _engine_choice(chosen)
        hint = _language_hint()
        ready = engine != TESSERACT or _tesseract_ready(hint)
        if st.button(
            t("ocr.run"), type="primary", key="ocr_run", icon=":material/document_scanner:", disabled=not ready
        ):
            client = model.tesseract_client() if engine == TESSERACT else chosen
            _run(client, media, hint, max_new_tokens, max_tiles, engine)
        result = st.session_state.get(_RESULT_KEY)
        if isinstance(result, OcrResult) and result.media_digest == media.digest:
            _show(result)
            annotated = _boxes(result, media)
            _searchable_pdf(result, media)
    with preview:
        st.image(annotated or media.image, caption=media.name, width="stretch")
