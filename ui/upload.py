"""Turning an upload into the session's media: images directly, PDFs page by page, videos as sampled frames."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import streamlit as st
from PIL import Image
from streamlit.runtime.uploaded_file_manager import UploadedFile

from core.documents import PdfDocument, is_pdf, open_pdf, page_digest, render_page
from core.engines.types import EngineError
from core.media import InvalidInput, MediaLimits, NormalizedImage, load_image
from core.settings import Settings
from core.video import NormalizedVideo, Sampling, VideoLimits, decode_video, looks_like_playlist, sniff_video
from ui import history, pictures, prepare, serving, state, widgets
from ui.i18n import input_error, literal, t

# On a CPU every frame is a pass of the vision encoder (1-2 s): keep the default clip short there.
_CPU_FRAMES, _GPU_FRAMES = 8, 64


def sampling() -> Sampling:
    """How videos are sampled: the session's choice, the session model's video edge."""
    chosen = serving.client()
    try:
        device, tile = chosen.runtime.device, chosen.card.tile_px
    except EngineError:  # an unknown model is explained on Home; sample as for a CPU meanwhile
        device, tile = "cpu", None
    fps = state.VIDEO_FPS.get()
    frames = state.VIDEO_FRAMES.get()
    return Sampling(
        fps=float(fps if fps is not None else 1.0),
        max_frames=int(frames if frames is not None else _CPU_FRAMES if device == "cpu" else _GPU_FRAMES),
        frame_edge=tile or 512,
    )


def _is_video(head: bytes) -> bool:
    return sniff_video(head) is not None or looks_like_playlist(head)


def use_media(media: state.Media) -> None:
    """Make ``media`` what every page works on; the model's cached prefixes of the old one go."""
    prepare.cancel()
    serving.forget_session_caches()
    state.MEDIA.set(media)


def accept(upload: UploadedFile | None, settings: Settings) -> None:
    """Normalise a newly uploaded file once; show a message in the user's language when it is refused."""
    if upload is None:
        return
    head = upload.getvalue()[:1024]
    plan = sampling()
    upload_id = f"{upload.file_id}:{plan}" if _is_video(head) else upload.file_id
    if state.UPLOAD_ID.get() == upload_id:
        return
    data = upload.getvalue()
    try:
        media, document = open_media(data, upload.name, settings)
    except InvalidInput as error:
        st.error(input_error(error))
        return
    _use(media, document, 1)
    state.UPLOAD_ID.set(upload_id)
    history.remember_upload(data, upload.name)


def open_media(data: bytes, name: str, settings: Settings, page: int = 1) -> tuple[state.Media, PdfDocument | None]:
    """The media ``data`` makes (a picture, page ``page`` of a PDF, or a video's sampled frames) and its PDF."""
    head = data[:1024]
    limits = MediaLimits(max_bytes=settings.max_upload_mb * 2**20)
    if _is_video(head):
        video_limits = VideoLimits(
            max_bytes=settings.max_video_mb * 2**20,
            max_duration_s=settings.max_video_seconds,
            max_side=settings.max_video_side,
        )
        with st.spinner(t("video.decoding")):
            return decode_video(data, name, sampling(), video_limits), None
    if is_pdf(head):
        document = open_pdf(data, name, media=limits)
        return render_page(document, min(max(page, 1), document.page_count) - 1), document
    return load_image(data, name, limits), None


def _use(media: state.Media, document: PdfDocument | None, page: int, *, keep_caches: bool = False) -> None:
    if keep_caches:
        state.MEDIA.set(media)
    else:
        use_media(media)
    if document is not None:
        state.DOCUMENT.set(document)
    else:
        state.DOCUMENT.clear()
    state.DOCUMENT_PAGE.set(min(page, document.page_count) if document is not None else 1)


def reopen(data: bytes, name: str, page: int, *, keep_caches: bool = False) -> None:
    """A stored upload back as the session's media (the History page reopening it); a refused one is said."""
    try:
        media, document = open_media(data, name, serving.settings(), page)
    except InvalidInput as error:
        st.error(input_error(error))
        return
    _use(media, document, page, keep_caches=keep_caches)
    state.UPLOAD_ID.clear()  # the upload widget is empty: whatever is uploaded next is new


def restore(data: bytes, name: str, page: int) -> None:
    """Where the person was, back in a new session (a refresh): the image prefix cached for them still holds."""
    reopen(data, name, page, keep_caches=True)


def accept_more(uploads: list[UploadedFile] | None, settings: Settings) -> None:
    """More photos to ask about together with the upload in Chat; a refused one is named, the others kept."""
    uploads = uploads or []
    signature = ",".join(upload.file_id for upload in uploads)
    if state.MORE_PICTURES_ID.get() == signature:
        return
    limits = MediaLimits(max_bytes=settings.max_upload_mb * 2**20)
    pictures = []
    for upload in uploads:
        try:
            pictures.append(load_image(upload.getvalue(), upload.name, limits))
        except InvalidInput as error:
            st.error(f"{literal(upload.name)}: {input_error(error)}")
    state.MORE_PICTURES.set(tuple(pictures))
    state.MORE_PICTURES_ID.set(signature)


Page = tuple[int, str, Callable[[], Image.Image]]  # the document's page number, its digest, how to draw it


def pages_to_read(media: NormalizedImage, everything: bool) -> list[Page]:
    """The page on show, or every page of its PDF; a page is drawn only when its turn comes."""
    document = state.document_of(media)
    if not everything or document is None:
        number = (state.DOCUMENT_PAGE.get() or 1) if document is not None else 1
        return [(number, media.digest, lambda: media.image)]
    return [(index + 1, page_digest(document, index), partial(lambda d, i: render_page(d, i).image, document, index))
            for index in range(document.page_count)]  # fmt: skip


def _remember(widget_key: str, slot: state.Slot) -> None:
    slot.set(st.session_state[widget_key])


def sampling_settings() -> None:
    """Video sampling, under advanced settings; changing it decodes the clip again."""
    current = sampling()
    with st.expander(t("video.sampling")):
        st.session_state["home_video_fps"] = current.fps
        st.slider(
            t("video.fps"), 0.25, 4.0, step=0.25, key="home_video_fps",
            on_change=_remember, args=("home_video_fps", state.VIDEO_FPS),
        )  # fmt: skip
        st.session_state["home_video_frames"] = current.max_frames
        st.slider(
            t("video.max_frames"), 1, 64, key="home_video_frames", help=t("video.max_frames_help"),
            on_change=_remember, args=("home_video_frames", state.VIDEO_FRAMES),
        )  # fmt: skip


def clear() -> None:
    """Forget the upload, its PDF pages and the conversations about it."""
    prepare.cancel()
    serving.forget_session_caches()
    state.forget_upload()
    history.forget_upload()


def show(media: state.Media) -> None:
    """The current upload as Home shows it: the picture (with the PDF page picker) or the frame strip."""
    if isinstance(media, NormalizedVideo):
        st.caption(
            t("home.video_info", name=media.name, width=media.width, height=media.height,
              seconds=f"{media.duration_s:.1f}", format=media.container,
              frames=len(media.clip.frames), decoded=media.decoded_frames)
        )  # fmt: skip
        widgets.frame_strip(media, columns=6)
        return
    widgets.page_picker(use_media)
    pictures.show(media.image, width="content", longest_edge=1024)
    st.caption(
        t("home.image_info", name=media.name, width=media.width, height=media.height, format=media.source_format)
    )
