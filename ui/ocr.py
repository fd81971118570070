"""The OCR page's widgets: language hint, run with live text, editable result, copy and download."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import streamlit as st

from core.engines.registry import family_of
from core.engines.tiling import TILE_BUDGETS
from core.engines.types import GenerationStats
from core.media import NormalizedImage
from core.ocr import LANGUAGE_HINTS, OCR_MAX_TILES, clean_ocr_output, ocr_request
from core.serving import ModelClient
from ui import model
from ui.generation import CURSOR, Outcome, stream_into
from ui.i18n import language, t

_RESULT_KEY = "ocr_result"


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


def _run(chosen: ModelClient, media: NormalizedImage, hint: str, max_new_tokens: int, max_tiles: int) -> None:
    family = family_of(chosen.card)
    request = ocr_request(family, media.image, hint, max_new_tokens, max_tiles)
    prompt = family.ocr_prompt(hint)
    live = st.empty()

    def save(outcome: Outcome) -> None:
        cleaned = clean_ocr_output(outcome.text, prompt)
        st.session_state[_RESULT_KEY] = OcrResult(
            media.digest, hint, cleaned.text, cleaned.no_text and not outcome.stopped, outcome.text,
            outcome.stopped, outcome.error, outcome.stats,
        )  # fmt: skip

    stream_into(
        chosen,
        request,
        key="ocr",
        show=lambda text: live.code(text + CURSOR, language=None, wrap_lines=True),
        on_finish=save,
        waiting_text=t("ocr.running", tiles=max_tiles),
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


def render(chosen: ModelClient, media: NormalizedImage) -> None:
    max_new_tokens, max_tiles = _settings()
    preview, work = st.columns([2, 3], gap="large")
    with preview:
        st.image(media.image, caption=media.name, width="stretch")
    with work:
        hint = _language_hint()
        if st.button(t("ocr.run"), type="primary", key="ocr_run", icon=":material/document_scanner:"):
            _run(chosen, media, hint, max_new_tokens, max_tiles)
        result = st.session_state.get(_RESULT_KEY)
        if isinstance(result, OcrResult) and result.media_digest == media.digest:
            _show(result)
