"""The Detection page's widgets: phrases in, boxes drawn, table, PNG and JSON downloads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import streamlit as st
from PIL import Image

from core.annotate import annotate, png_bytes, report, report_json
from core.detection import grounding_request, parse_grounding
from core.engines.base import Engine
from core.engines.registry import CATALOGUE, find_card
from core.engines.types import Capability, EngineError
from core.grounding import Detection, split_phrases
from core.media import NormalizedImage
from ui import model
from ui.generation import CURSOR, Outcome, stream_into
from ui.i18n import t

_RESULT_KEY = "detect_result"


@dataclass
class DetectionResult:
    media_digest: str
    model_id: str
    query: str
    detections: list[Detection]
    raw_output: str
    elapsed_s: float
    stopped: bool
    error: str | None
    annotated: Image.Image
    created_at: datetime = field(default_factory=datetime.now)

    @property
    def stem(self) -> str:
        return f"detections_{self.created_at:%Y%m%d_%H%M%S}"


def grounding_models(active: Engine) -> list[str]:
    """Models that can ground: the extra local ones first, then the catalogue."""
    ids = []
    for model_id in (*model.settings().extra_model_ids, *(card.model_id for card in CATALOGUE)):
        card = model.card_for(model_id)
        if card is not None and card.can(Capability.GROUNDING) and model_id not in ids:
            ids.append(model_id)
    return ids


def offer_grounding_model(engine: Engine) -> None:
    """The active model cannot ground: say so, and offer to switch (saying what is unloaded)."""
    st.warning(t("detect.cannot", model=engine.card.title))
    options = grounding_models(engine)
    labels = {model.describe(find_card(model_id)): model_id for model_id in options}
    chosen = st.selectbox(t("detect.choose_model"), list(labels), key="detect_switch_choice")
    if chosen is None:
        return
    st.caption(t("model.switch_note", old=engine.card.title, new=chosen))
    if st.button(t("detect.switch"), key="detect_switch", type="primary"):
        try:
            model.manager().activate(labels[chosen])
        except EngineError as error:
            model.show_engine_error(error)
            return
        st.rerun()


def _run(engine: Engine, media: NormalizedImage, phrases: list[str]) -> None:
    found: list[Detection] = []
    raw: list[str] = []
    state = {"stopped": False, "error": None}
    started = time.perf_counter()
    live = st.empty()

    for index, phrase in enumerate(phrases):

        def collect(outcome: Outcome, phrase: str = phrase) -> None:
            raw.append(f"[{phrase}] {outcome.text}")
            state["stopped"] = state["stopped"] or outcome.stopped
            state["error"] = state["error"] or outcome.error
            if outcome.error is None:
                found.extend(
                    parse_grounding(engine.card.family, outcome.text, phrase, media.width, media.height,
                                    outcome.stats.input_size)
                )  # fmt: skip

        stream_into(
            engine,
            grounding_request(engine.card.family, media.image, phrase),
            key=f"detect_{index}",
            show=lambda text, phrase=phrase: live.code(f"[{phrase}] {text}{CURSOR}", language=None, wrap_lines=True),
            on_finish=collect,
            waiting_text=t("detect.running", phrase=phrase, index=index + 1, total=len(phrases)),
        )
        if state["stopped"] or state["error"]:
            break
    st.session_state[_RESULT_KEY] = DetectionResult(
        media.digest, engine.card.model_id, ", ".join(phrases), found, "\n".join(raw),
        time.perf_counter() - started, bool(state["stopped"]), state["error"], annotate(media.image, found),
    )  # fmt: skip
    st.rerun()


def _show(result: DetectionResult, media: NormalizedImage) -> None:
    if result.error:
        st.error(result.error)
    if result.stopped:
        st.warning(t("detect.stopped"))
    st.caption(t("detect.done", count=len(result.detections), seconds=f"{result.elapsed_s:.1f}"))
    if not result.detections:
        st.info(t("detect.none", query=result.query))
    st.image(result.annotated, caption=media.name, width="stretch")
    if result.detections:
        st.dataframe(
            [
                {
                    t("detect.col_label"): d.label,
                    "x1": d.box.x1,
                    "y1": d.box.y1,
                    "x2": d.box.x2,
                    "y2": d.box.y2,
                    t("detect.col_score"): d.score,
                }
                for d in result.detections
            ],
            hide_index=True,
        )
    data = report(
        image_name=media.name, width=media.width, height=media.height, model=result.model_id, query=result.query,
        detections=result.detections, raw_output=result.raw_output, elapsed_s=result.elapsed_s,
    )  # fmt: skip
    left, right = st.columns(2)
    left.download_button(
        t("detect.download_png"), png_bytes(result.annotated), f"{result.stem}.png", "image/png",
        key="detect_png", icon=":material/image:",
    )  # fmt: skip
    right.download_button(
        t("detect.download_json"), report_json(data), f"{result.stem}.json", "application/json",
        key="detect_json", icon=":material/data_object:",
    )  # fmt: skip
    with st.expander(t("detect.raw")):
        st.code(result.raw_output or "—", language=None, wrap_lines=True)


def render(engine: Engine, media: NormalizedImage) -> None:
    if not engine.card.can(Capability.GROUNDING):
        offer_grounding_model(engine)
        return
    if not model.ensure_loaded(engine):
        return
    query = st.text_input(t("detect.query"), key="detect_query", placeholder=t("detect.placeholder"))
    if st.button(t("detect.run"), type="primary", key="detect_run", icon=":material/center_focus_strong:"):
        phrases = split_phrases(query)
        if not phrases:
            st.warning(t("detect.empty"))
        else:
            _run(engine, media, phrases)
    result = st.session_state.get(_RESULT_KEY)
    if isinstance(result, DetectionResult) and result.media_digest == media.digest:
        _show(result, media)
