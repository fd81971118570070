"""Turning an upload into the session's media: images directly, PDFs page by page."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from core.documents import PdfDocument, is_pdf, open_pdf, render_page
from core.engines.types import EngineError
from core.media import InvalidInput, MediaLimits, load_image, thumbnail
from core.settings import Settings
from core.video import NormalizedVideo, Sampling, VideoLimits, decode_video, looks_like_playlist, sniff_video
from ui import chat, model, state
from ui.i18n import input_error, t

_FPS_KEY = "video_fps"
_FRAMES_KEY = "video_max_frames"
# On a CPU every frame is a pass of the vision encoder (1-2 s): keep the default clip short there.
_CPU_FRAMES, _GPU_FRAMES = 8, 64

_DOCUMENT_KEY = "document"
_PAGE_KEY = "document_page"


def current_document() -> PdfDocument | None:
    document = st.session_state.get(_DOCUMENT_KEY)
    return document if isinstance(document, PdfDocument) else None


def sampling() -> Sampling:
    """How videos are sampled: the session's choice, the session model's video edge."""
    chosen = model.client()
    try:
        device, tile = chosen.runtime.device, chosen.card.tile_px
    except EngineError:  # an unknown model is explained on Home; sample as for a CPU meanwhile
        device, tile = "cpu", None
    default_frames = _CPU_FRAMES if device == "cpu" else _GPU_FRAMES
    return Sampling(
        fps=float(st.session_state.get(_FPS_KEY, 1.0)),
        max_frames=int(st.session_state.get(_FRAMES_KEY, default_frames)),
        frame_edge=tile or 512,
    )


def _is_video(head: bytes) -> bool:
    return sniff_video(head) is not None or looks_like_playlist(head)


def accept(upload: UploadedFile | None, settings: Settings) -> None:
    """Normalise a newly uploaded file once; show a message in the user's language when it is refused."""
    if upload is None:
        return
    head = upload.getvalue()[:1024]
    plan = sampling()
    upload_id = f"{upload.file_id}:{plan}" if _is_video(head) else upload.file_id
    if st.session_state.get(state.UPLOAD_ID_KEY) == upload_id:
        return
    data = upload.getvalue()
    limits = MediaLimits(max_bytes=settings.max_upload_mb * 2**20)
    try:
        if _is_video(head):
            document = None
            with st.spinner(t("video.decoding")):
                media = decode_video(
                    data,
                    upload.name,
                    plan,
                    VideoLimits(
                        max_bytes=settings.max_video_mb * 2**20,
                        max_duration_s=settings.max_video_seconds,
                        max_side=settings.max_video_side,
                    ),
                )
        elif is_pdf(head):
            document = open_pdf(data, upload.name, media=limits)
            media = render_page(document, 0)
        else:
            document = None
            media = load_image(data, upload.name, limits)
    except InvalidInput as error:
        st.error(input_error(error))
        return
    state.set_media(media)
    st.session_state[_DOCUMENT_KEY] = document
    st.session_state[_PAGE_KEY] = 1
    st.session_state[state.UPLOAD_ID_KEY] = upload_id


def _remember(widget_key: str, plain_key: str) -> None:
    st.session_state[plain_key] = st.session_state[widget_key]


def sampling_settings() -> None:
    """Video sampling, under advanced settings; changing it decodes the clip again."""
    current = sampling()
    with st.expander(t("video.sampling")):
        st.session_state["home_video_fps"] = current.fps
        st.slider(
            t("video.fps"), 0.25, 4.0, step=0.25, key="home_video_fps",
            on_change=_remember, args=("home_video_fps", _FPS_KEY),
        )  # fmt: skip
        st.session_state["home_video_frames"] = current.max_frames
        st.slider(
            t("video.max_frames"), 1, 64, key="home_video_frames", help=t("video.max_frames_help"),
            on_change=_remember, args=("home_video_frames", _FRAMES_KEY),
        )  # fmt: skip


def _page_changed() -> None:
    document = current_document()
    chosen = int(st.session_state["home_pdf_page"])
    if document is None:
        return
    try:
        media = render_page(document, chosen - 1)
    except InvalidInput as error:
        st.session_state["home_pdf_error"] = error
        return
    state.set_media(media)
    st.session_state[_PAGE_KEY] = chosen


def page_picker() -> None:
    """For a PDF: choose the page every other page works on."""
    document = current_document()
    if document is None:
        return
    # The widget's own key is dropped on page switches; the plain key keeps the chosen page.
    st.session_state["home_pdf_page"] = int(st.session_state.get(_PAGE_KEY, 1))
    st.number_input(
        t("home.pdf_page", pages=document.page_count),
        min_value=1,
        max_value=document.page_count,
        step=1,
        key="home_pdf_page",
        on_change=_page_changed,
    )
    error = st.session_state.pop("home_pdf_error", None)
    if isinstance(error, InvalidInput):
        st.error(input_error(error))


def clear() -> None:
    """Forget the upload, its PDF pages and the conversations about it."""
    state.clear_media()
    st.session_state.pop(_DOCUMENT_KEY, None)
    st.session_state.pop(_PAGE_KEY, None)


def show(media: state.Media) -> None:
    """The current upload as Home shows it: the picture (with the PDF page picker) or the frame strip."""
    if isinstance(media, NormalizedVideo):
        st.caption(
            t("home.video_info", name=media.name, width=media.width, height=media.height,
              seconds=f"{media.duration_s:.1f}", format=media.container,
              frames=len(media.clip.frames), decoded=media.decoded_frames)
        )  # fmt: skip
        chat.frame_strip(media, columns=6)
        return
    page_picker()
    st.image(thumbnail(media.image, 1024), width="content")
    st.caption(
        t("home.image_info", name=media.name, width=media.width, height=media.height, format=media.source_format)
    )
