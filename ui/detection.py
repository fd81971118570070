"""The Detection page's widgets: phrases in, boxes drawn, table, PNG and JSON downloads."""

from __future__ import annotations

import time

import streamlit as st
from PIL import Image

from core.annotate import annotate, png_bytes, report, report_json
from core.engines.types import Capability, EngineError
from core.media import InvalidInput, NormalizedImage
from core.registry import CATALOGUE
from core.serving import JobStatus, ModelClient, Phase
from core.tasks.detect import DetectionRun, detect, read_phrases
from ui import history, pictures, serving, state, widgets
from ui.generation import CURSOR, describe_wait
from ui.i18n import input_error, t


def grounding_models() -> list[str]:
    """Models that can ground: the extra local ones first, then the catalogue."""
    ids = []
    for model_id in (*serving.settings().extra_model_ids, *(card.model_id for card in CATALOGUE)):
        card = serving.card_for(model_id)
        if card is not None and card.can(Capability.GROUNDING) and model_id not in ids:
            ids.append(model_id)
    return ids


def offer_grounding_model(chosen: ModelClient) -> None:
    """This session's model cannot ground: say so, and offer to switch this session to one that can."""
    st.warning(t("detect.cannot", model=chosen.card.title))
    cards = filter(None, map(serving.card_for, grounding_models()))
    labels = {widgets.describe(card): card.model_id for card in cards}
    picked = st.selectbox(t("detect.choose_model"), list(labels), key="detect_switch_choice")
    if picked is None:
        return
    st.caption(t("detect.switch_note"))
    if st.button(t("detect.switch"), key="detect_switch", type="primary"):
        try:
            serving.choose(labels[picked])
        except EngineError as error:
            widgets.show_engine_error(error)
            return
        st.toast(t("model.switch_note", new=picked))
        st.rerun()


def _run(chosen: ModelClient, media: NormalizedImage, phrases: list[str]) -> None:
    live = st.empty()
    status_slot = st.empty()
    st.button(t("chat.stop"), key="detect_stop", icon=":material/stop_circle:")
    run = DetectionRun(chosen.model_id, phrases, media_digest=media.digest)
    texts: dict[str, str] = {}
    title = chosen.card.title
    started = time.monotonic()

    def show(phrase: str, piece: str | None, status: JobStatus) -> None:
        if piece:
            texts[phrase] = texts.get(phrase, "") + piece
            live.code(f"[{phrase}] {texts[phrase]}{CURSOR}", language=None, wrap_lines=True)
        elif status.phase is not Phase.DECODING:
            index = phrases.index(phrase) + 1
            waiting = t("detect.running", phrase=phrase, index=index, total=len(phrases))
            status_slot.caption(describe_wait(status, title, waiting, time.monotonic() - started))
        else:
            status_slot.empty()

    try:
        detect(chosen, media.image, phrases, on_update=show, into=run)
    finally:  # a Stop (or leaving the page) keeps what the finished phrases found
        run.stopped = run.stopped or (len(run.answers) < len(phrases) and run.error is None)
        state.DETECTION.set(run)
        history.save_result("detection", run, media_digest=media.digest, model=run.model_id)
    st.rerun()


def _drawn(result: DetectionRun, media: NormalizedImage) -> tuple[Image.Image, bytes]:
    """The result's boxes on the picture, and that as a PNG, made once per result: a rerun (the next query
    typed, the raw answer opened) shows them again without drawing and encoding a large picture again."""

    def draw() -> tuple[Image.Image, bytes]:
        annotated = annotate(media.image, result.detections)
        return annotated, png_bytes(annotated)

    return state.made_once(state.DETECTION_PICTURE, (result.created_at, len(result.detections), media.digest), draw)


def _show(result: DetectionRun, media: NormalizedImage) -> None:
    if result.error is not None:
        st.error(widgets.error_text(result.error))
    if result.stopped:
        st.warning(t("detect.stopped"))
    st.caption(t("detect.done", count=len(result.detections), seconds=f"{result.elapsed_s:.1f}"))
    if not result.detections:
        st.info(t("detect.none", query=result.query))
    annotated, annotated_png = _drawn(result, media)
    pictures.show(annotated, caption=media.name)
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
        t("detect.download_png"), annotated_png, f"{result.stem}.png", "image/png",
        key="detect_png", icon=":material/image:",
        on_click="ignore",
    )  # fmt: skip
    right.download_button(
        t("detect.download_json"), report_json(data), f"{result.stem}.json", "application/json",
        key="detect_json", icon=":material/data_object:",
        on_click="ignore",
    )  # fmt: skip
    with st.expander(t("detect.raw")):
        st.code(result.raw_output or "—", language=None, wrap_lines=True)


def render(chosen: ModelClient, media: NormalizedImage) -> None:
    if not chosen.card.can(Capability.GROUNDING):
        offer_grounding_model(chosen)
        return
    query = st.text_input(t("detect.query"), key="detect_query", placeholder=t("detect.placeholder"))
    if st.button(t("detect.run"), type="primary", key="detect_run", icon=":material/center_focus_strong:"):
        try:
            phrases = read_phrases(query)
        except InvalidInput as error:
            st.warning(input_error(error))
        else:
            _run(chosen, media, phrases)
    result = state.DETECTION.get()
    if result is not None and result.media_digest == media.digest:
        _show(result, media)
