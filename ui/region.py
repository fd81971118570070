"""The Region page's widgets: a drawable canvas over the image, typed coordinates, describe and follow-ups."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas

from core.boxes import Box, CanvasFit, box_to_canvas_rect, canvas_rect_to_box, parse_box
from core.media import InvalidInput, NormalizedImage
from core.serving import ModelClient
from core.tasks import ocr as ocr_task
from core.tasks import region as region_task
from core.tasks.ocr import OcrParams
from core.tasks.region import RegionConversation
from ui import chat, serving, state, widgets
from ui.i18n import input_error, t

CANVAS_MAX_WIDTH = 500  # fits the left column of a wide page on a 1280 px screen
CANVAS_MAX_HEIGHT = 500
_STROKE = "#e8175d"


@dataclass(frozen=True)
class Display:
    """How the image is shown on the canvas: a downscaled background and the canvas size around it."""

    background: Image.Image
    canvas_width: int
    canvas_height: int

    @property
    def fit(self) -> CanvasFit:
        return CanvasFit.contain(self.canvas_width, self.canvas_height, self.background.width, self.background.height)


def display_for(media: NormalizedImage) -> Display:
    background = media.image.copy()
    background.thumbnail((CANVAS_MAX_WIDTH, CANVAS_MAX_HEIGHT))  # never enlarges
    scale = min(CANVAS_MAX_WIDTH / background.width, CANVAS_MAX_HEIGHT / background.height)
    return Display(background, round(background.width * scale), round(background.height * scale))


def _rect_object(box: Box, media: NormalizedImage, display: Display) -> dict[str, Any]:
    rect = box_to_canvas_rect(box, display.fit, media.width, media.height)
    return {
        "type": "rect",
        **rect,
        "originX": "left",
        "originY": "top",
        "scaleX": 1,
        "scaleY": 1,
        "angle": 0,
        "fill": "rgba(232, 23, 93, 0.12)",
        "stroke": _STROKE,
        "strokeWidth": 2,
        "strokeUniform": True,
    }


def _signature(rect: dict[str, Any] | None) -> str | None:
    if rect is None:
        return None
    fields = ("left", "top", "width", "height", "scaleX", "scaleY")
    return json.dumps([round(float(rect.get(name, 1 if name.startswith("scale") else 0)), 1) for name in fields])


def _set_box(box: Box | None, media: NormalizedImage, display: Display, redraw: bool) -> None:
    if box is None:
        state.REGION_BOX.clear()
    else:
        state.REGION_BOX.set(box)
    state.REGION_COORDS.set(box.as_text() if box else "")
    if redraw:
        if box is not None:
            rect = _rect_object(box, media, display)
            state.REGION_CANVAS_INITIAL.set({"objects": [rect]})
            state.REGION_CANVAS_SEEN.set(_signature(rect) or "")
        else:
            state.REGION_CANVAS_INITIAL.clear()
            state.REGION_CANVAS_SEEN.clear()
        state.REGION_CANVAS_GENERATION.set((state.REGION_CANVAS_GENERATION.get() or 0) + 1)


def current_box(media: NormalizedImage) -> Box | None:
    box = state.REGION_BOX.get()
    if box is None or box.x2 > media.width or box.y2 > media.height:
        return None
    return box


def _canvas(media: NormalizedImage, display: Display) -> None:
    generation = state.REGION_CANVAS_GENERATION.get() or 0
    result = st_canvas(
        fill_color="rgba(232, 23, 93, 0.12)",
        stroke_width=2,
        stroke_color=_STROKE,
        background_image=display.background,
        background_image_fit="contain",
        width=display.canvas_width,
        height=display.canvas_height,
        drawing_mode="rect",
        initial_drawing=state.REGION_CANVAS_INITIAL.get(),
        key=f"region_canvas_{generation}",
    )
    objects = (result.json_data or {}).get("objects", [])
    rects = [obj for obj in objects if str(obj.get("type", "")).lower() == "rect"]
    latest = rects[-1] if rects else None
    signature = _signature(latest)
    if signature == state.REGION_CANVAS_SEEN.get():
        return
    if signature is None:
        state.REGION_CANVAS_SEEN.clear()
    else:
        state.REGION_CANVAS_SEEN.set(signature)
    if latest is None:
        return
    fit = CanvasFit.from_component(result.background_fit) if result.background_fit else display.fit
    box = canvas_rect_to_box(latest, fit, media.width, media.height)
    if box is not None:
        _set_box(box, media, display, redraw=False)


def _typed(media: NormalizedImage, display: Display) -> None:
    try:
        box = parse_box(state.REGION_COORDS.get(), media.width, media.height)
    except InvalidInput as error:
        state.REGION_ERROR.set(error)
        return
    state.REGION_ERROR.clear()
    _set_box(box, media, display, redraw=True)


def _clear(media: NormalizedImage, display: Display) -> None:
    state.REGION_ERROR.clear()
    state.REGION_CONVERSATION.clear()
    _set_box(None, media, display, redraw=True)


def _conversation(media: NormalizedImage, box: Box) -> RegionConversation | None:
    conversation = state.REGION_CONVERSATION.get()
    return conversation if conversation is not None and conversation.about(media.digest, box) else None


def _start_conversation(chosen: ModelClient, media: NormalizedImage, box: Box) -> RegionConversation:
    conversation = RegionConversation.start(chosen.family, chosen.card, media.image, media.digest, box,
                                            state.LANGUAGE.get() or "ru")  # fmt: skip
    state.REGION_CONVERSATION.set(conversation)
    return conversation


def _ocr_engine() -> ModelClient | None:
    """The OCR engine of its own chosen on the OCR page, if one was (the session's model describes instead)."""
    picked = state.OCR_ENGINE.get()
    return serving.client_for(picked) if picked else None


def _read_text(media: NormalizedImage, box: Box) -> None:
    """With an OCR engine of its own chosen on the OCR page: read the text inside the box, through the core."""
    engine = _ocr_engine()
    if engine is None:
        return
    if st.button(t("region.read_text", model=engine.card.title), key="region_read_text",
                 icon=":material/document_scanner:"):  # fmt: skip
        previous = state.OCR_RESULT.get()
        params = OcrParams(previous.language_hint if previous is not None else "auto", 1024, 4)
        with st.spinner(t("ocr.running_specialist", model=engine.card.title)):
            result = ocr_task.read(engine, engine.family, media.image.crop(box.as_tuple()), params)
        state.REGION_TEXT.set((media.digest, box, result))
    read = state.REGION_TEXT.get()
    if read is not None and read[:2] == (media.digest, box):
        result = read[2]
        if result.error is not None:
            st.error(widgets.error_text(result.error))
        elif result.text:
            st.code(result.text, language=None, wrap_lines=True)
        else:
            st.info(t("ocr.no_text"))


def render(chosen: ModelClient, media: NormalizedImage) -> None:
    opts = chat.options(chosen, prefix="region")
    display = display_for(media)
    st.caption(t("region.hint"))
    left, right = st.columns([3, 2], gap="large")
    with left:
        _canvas(media, display)
        remembered = state.REGION_BOX.get()
        if not state.REGION_COORDS.present() and remembered is not None:
            state.REGION_COORDS.set(remembered.as_text())  # back from another page
        st.text_input(
            t("region.coords"),
            key=state.REGION_COORDS.key,
            placeholder="x1,y1,x2,y2",
            help=t("region.coords_help", width=media.width, height=media.height),
            on_change=_typed,
            args=(media, display),
        )
        error = state.REGION_ERROR.get()
        if isinstance(error, InvalidInput):
            st.error(input_error(error))
        st.button(
            t("region.clear"), key="region_clear", on_click=_clear, args=(media, display), icon=":material/ink_eraser:"
        )
    box = current_box(media)
    with right:
        if box is None:
            st.info(t("region.no_box"))
            return
        st.markdown(t("region.current", box=box.as_text()))
        _read_text(media, box)
        conversation = _conversation(media, box)
        describe = st.button(t("region.describe"), type="primary", key="region_describe", icon=":material/search:")
        if describe:
            conversation = _start_conversation(chosen, media, box)
        if conversation is None:
            return
        plan = conversation.plan
        st.image(plan.crop, caption=t("region.crop_caption"), width=min(320, plan.crop.width * 2))
        chat.render_history(conversation.history)
        if describe:
            request = region_task.build(chosen.family, conversation, None, opts.sampling, opts.max_tiles)
            chat.answer(chosen, conversation.history, plan.question, request, key="region", stored=False)
        if not plan.follow_ups:
            return  # a task-token model answers the region task only, without follow-up questions
        question = chat.read_question(st.chat_input(t("region.follow_up"), key="region_input"))
        if question is None:
            return
        request = region_task.build(chosen.family, conversation, question, opts.sampling, opts.max_tiles)
        chat.answer(chosen, conversation.history, question, request, key="region", stored=False)
