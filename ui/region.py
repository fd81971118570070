"""The Region page's widgets: a drawable canvas over the image, typed coordinates, describe and follow-ups."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas

from core.boxes import Box, CanvasFit, box_to_canvas_rect, canvas_rect_to_box, parse_box
from core.families import FAMILIES
from core.media import InvalidInput, NormalizedImage
from core.ocr import ocr_request
from core.serving import ModelClient
from core.tasks import ChatHistory, RegionPlan, plan_region
from ui import chat, model, ocr
from ui.i18n import input_error, language, t

CANVAS_MAX_WIDTH = 500  # fits the left column of a wide page on a 1280 px screen
CANVAS_MAX_HEIGHT = 500
_STROKE = "#e8175d"
_BOX_KEY = "region_box"
_GENERATION_KEY = "region_canvas_generation"
_INITIAL_KEY = "region_canvas_initial"
_SEEN_KEY = "region_canvas_seen"
_COORDS_KEY = "region_coords"
_TEXT_KEY = "region_text"
_ERROR_KEY = "region_error"
_CONVERSATION_KEY = "region_conversation"


@dataclass(frozen=True)
class Display:
    """How the image is shown on the canvas: a downscaled background and the canvas size around it."""

    background: Image.Image
    canvas_width: int
    canvas_height: int

    @property
    def fit(self) -> CanvasFit:
        return CanvasFit.contain(self.canvas_width, self.canvas_height, self.background.width, self.background.height)


@dataclass
class RegionConversation:
    media_digest: str
    box: Box
    plan: RegionPlan  # what goes to the model: the crop with context, or the image and a native region task
    history: ChatHistory


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
    st.session_state[_BOX_KEY] = box
    st.session_state[_COORDS_KEY] = box.as_text() if box else ""
    if redraw:
        initial = {"objects": [_rect_object(box, media, display)]} if box else None
        st.session_state[_INITIAL_KEY] = initial
        st.session_state[_SEEN_KEY] = _signature(initial["objects"][0]) if initial else None
        st.session_state[_GENERATION_KEY] = st.session_state.get(_GENERATION_KEY, 0) + 1


def current_box(media: NormalizedImage) -> Box | None:
    box = st.session_state.get(_BOX_KEY)
    if not isinstance(box, Box) or box.x2 > media.width or box.y2 > media.height:
        return None
    return box


def _canvas(media: NormalizedImage, display: Display) -> None:
    generation = st.session_state.get(_GENERATION_KEY, 0)
    result = st_canvas(
        fill_color="rgba(232, 23, 93, 0.12)",
        stroke_width=2,
        stroke_color=_STROKE,
        background_image=display.background,
        background_image_fit="contain",
        width=display.canvas_width,
        height=display.canvas_height,
        drawing_mode="rect",
        initial_drawing=st.session_state.get(_INITIAL_KEY),
        key=f"region_canvas_{generation}",
    )
    objects = (result.json_data or {}).get("objects", [])
    rects = [obj for obj in objects if str(obj.get("type", "")).lower() == "rect"]
    latest = rects[-1] if rects else None
    signature = _signature(latest)
    if signature == st.session_state.get(_SEEN_KEY):
        return
    st.session_state[_SEEN_KEY] = signature
    if latest is None:
        return
    fit = CanvasFit.from_component(result.background_fit) if result.background_fit else display.fit
    box = canvas_rect_to_box(latest, fit, media.width, media.height)
    if box is not None:
        _set_box(box, media, display, redraw=False)


def _typed(media: NormalizedImage, display: Display) -> None:
    try:
        box = parse_box(st.session_state.get(_COORDS_KEY), media.width, media.height)
    except InvalidInput as error:
        st.session_state[_ERROR_KEY] = error
        return
    st.session_state.pop(_ERROR_KEY, None)
    _set_box(box, media, display, redraw=True)


def _clear(media: NormalizedImage, display: Display) -> None:
    st.session_state.pop(_ERROR_KEY, None)
    st.session_state.pop(_CONVERSATION_KEY, None)
    _set_box(None, media, display, redraw=True)


def _conversation(media: NormalizedImage, box: Box) -> RegionConversation | None:
    conversation = st.session_state.get(_CONVERSATION_KEY)
    if isinstance(conversation, RegionConversation) and (conversation.media_digest, conversation.box) == (
        media.digest,
        box,
    ):
        return conversation
    return None


def _start_conversation(chosen: ModelClient, media: NormalizedImage, box: Box) -> RegionConversation:
    plan = plan_region(chosen.card, media.image, box, language())
    conversation = RegionConversation(media.digest, box, plan, ChatHistory(f"{media.digest}:{box.as_text()}"))
    st.session_state[_CONVERSATION_KEY] = conversation
    return conversation


def _read_text(media: NormalizedImage, box: Box) -> None:
    """With Tesseract chosen on the OCR page: read the text inside the box, through the serving core."""
    if not ocr.tesseract_chosen():
        return
    if st.button(t("region.read_text"), key="region_read_text", icon=":material/document_scanner:"):
        crop = media.image.crop(box.as_tuple())
        request = ocr_request(FAMILIES["tesseract"], crop, ocr.chosen_hint(), 1, 1)
        with st.spinner(t("ocr.running_tesseract")):
            outcome = model.tesseract_client().generate(request)
        error = model.error_text(outcome.error) if outcome.error is not None else None
        st.session_state[_TEXT_KEY] = (media.digest, box, outcome.text.strip(), error)
    read = st.session_state.get(_TEXT_KEY)
    if isinstance(read, tuple) and read[:2] == (media.digest, box):
        text, error = read[2], read[3]
        if error:
            st.error(error)
        elif text:
            st.code(text, language=None, wrap_lines=True)
        else:
            st.info(t("ocr.no_text"))


def render(chosen: ModelClient, media: NormalizedImage) -> None:
    opts = chat.options(chosen, prefix="region")
    display = display_for(media)
    st.caption(t("region.hint"))
    left, right = st.columns([3, 2], gap="large")
    with left:
        _canvas(media, display)
        if _COORDS_KEY not in st.session_state and isinstance(st.session_state.get(_BOX_KEY), Box):
            st.session_state[_COORDS_KEY] = st.session_state[_BOX_KEY].as_text()  # back from another page
        st.text_input(
            t("region.coords"),
            key=_COORDS_KEY,
            placeholder="x1,y1,x2,y2",
            help=t("region.coords_help", width=media.width, height=media.height),
            on_change=_typed,
            args=(media, display),
        )
        error = st.session_state.get(_ERROR_KEY)
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
            chat.ask(chosen, conversation.history, plan.question, opts, images=plan.images, key="region", from_app=True)
        if not plan.follow_ups:
            return  # a task-token model answers the region task only, without follow-up questions
        question = chat.read_question(st.chat_input(t("region.follow_up"), key="region_input"))
        if question is None:
            return
        chat.ask(chosen, conversation.history, question, opts, images=plan.images, key="region")
