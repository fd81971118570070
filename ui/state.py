"""Everything a session keeps between reruns, in one place: typed slots with page-prefixed keys.

Only plain (non-widget) keys survive page switches, so what must outlive a page is kept here; widget
keys stay with their widgets (with the same page prefixes). A page reads and writes its state through
these slots and never through another page's module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import streamlit as st

from core.boxes import Box
from core.documents import PdfDocument
from core.extraction.templates import Template
from core.lab.job import LabJob
from core.media import NormalizedImage
from core.serving import Job
from core.tasks.chat import ChatHistory
from core.tasks.compare import Comparison
from core.tasks.convert import ConvertResult
from core.tasks.detect import DetectionRun
from core.tasks.extract import ExtractRun
from core.tasks.ocr import OcrResult
from core.tasks.region import RegionConversation
from core.video import NormalizedVideo

T = TypeVar("T")
Media = NormalizedImage | NormalizedVideo


class Slot(Generic[T]):
    """One session-state key holding a value of one type; anything else found there reads as absent."""

    def __init__(self, key: str, kind: type[T] | tuple[type, ...]) -> None:
        self.key = key
        self._kind = kind

    def get(self) -> T | None:
        value = st.session_state.get(self.key)
        return value if isinstance(value, self._kind) else None

    def set(self, value: T) -> None:
        st.session_state[self.key] = value

    def clear(self) -> None:
        st.session_state.pop(self.key, None)

    def present(self) -> bool:
        return self.key in st.session_state


def made_once(slot: Slot[tuple], key: object, make: Callable[[], T]) -> T:
    """``make()``'s value for ``key``, made once: ``slot`` keeps the last key with its value, so a rerun of the
    page shows what was drawn without drawing it again, and another key replaces it."""
    held = slot.get()
    if held is not None and held[0] == key:
        return held[1]
    value = make()
    slot.set((key, value))
    return value


# -- the whole app -----------------------------------------------------------------------------------
LANGUAGE = Slot[str]("app_lang", str)
MODEL = Slot[str]("app_model", str)  # the model this session chose on Home
SIDEBAR_SLOT = Slot[Any]("app_sidebar_slot", object)  # this run's sidebar model line, updated in place
SESSION_ALIVE = Slot[Any]("app_session_alive", object)  # dropped with the session: frees its caches
RUNNING = Slot[Job]("app_generation_running", Job)  # this session's answer still being written
PREPARING = Slot[tuple]("app_preparing", tuple)  # (model|picture|tiles, Job): the picture's prefix, computing
# set once that answer's page has saved it: a rerun that interrupted the page waits for this before drawing
RUNNING_SAVED = Slot[threading.Event]("app_generation_saved", threading.Event)

# -- the history (ui.history) ---------------------------------------------------------------------------
OWNER = Slot[str]("app_owner", str)  # whose work this is: "u:<e-mail>" signed in, else "t:<the URL's token>"
HISTORY_TOKEN = Slot[str]("app_history_token", str)  # this person's token (the URL's ?s=), without sign-in
HISTORY_RESTORED = Slot[bool]("app_history_restored", bool)  # where the person was is back in this session
HISTORY_FILE = Slot[str]("app_history_file", str)  # the SHA-256 of the upload on Home, as stored
HISTORY_SAVED = Slot[dict]("app_history_saved", dict)  # page kind -> (item id, the result object it holds)
HISTORY_EDIT = Slot[tuple]("app_history_edit", tuple)  # (kind, text): the correction last stored
HISTORY_PROBLEM = Slot[str]("app_history_problem", str)  # why the history could not be written
HISTORY_OPENED = Slot[str]("app_history_opened", str)  # the item the History page just reopened

# -- Home: the upload and the model picker --------------------------------------------------------------
MEDIA = Slot[Media]("home_media", (NormalizedImage, NormalizedVideo))
DOCUMENT = Slot[PdfDocument]("home_document", PdfDocument)
DOCUMENT_PAGE = Slot[int]("home_document_page", int)  # 1-based
UPLOAD_ID = Slot[str]("home_upload_id", str)
MORE_PICTURES = Slot[tuple]("home_more_pictures", tuple)  # NormalizedImage: photos asked about with the upload
MORE_PICTURES_ID = Slot[str]("home_more_pictures_id", str)  # the uploads they were read from
COMPARISON = Slot[Comparison]("chat_comparison", Comparison)  # the models compared side by side
CHAT_PICTURES = Slot[tuple]("chat_pictures", tuple)  # (key, pictures): the PDF pages drawn for a question
UPLOADER_GENERATION = Slot[int]("home_uploader_generation", int)
PICKER_CHOICES = Slot[dict]("home_model_choices", dict)  # label -> model id, so the widget holds plain strings
PICKER_ERROR = Slot[Exception]("home_model_error", Exception)
VIDEO_FPS = Slot[float]("home_video_fps_choice", (float, int))
VIDEO_FRAMES = Slot[int]("home_video_frames_choice", int)
PDF_ERROR = Slot[Exception]("home_pdf_error", Exception)

# -- Chat ---------------------------------------------------------------------------------------------
CHAT_HISTORY = Slot[ChatHistory]("chat_history", ChatHistory)

# -- OCR ----------------------------------------------------------------------------------------------
OCR_RESULT = Slot[OcrResult]("ocr_result", OcrResult)
OCR_PDF = Slot[tuple]("ocr_pdf", tuple)  # (media digest, stamp, PDF bytes)
OCR_ENGINE = Slot[str]("ocr_engine_choice", str)  # "" for the session's model, else an OCR engine's model id
OCR_OUTPUT = Slot[str]("ocr_output_choice", str)  # plain | structured
CONVERT_RESULT = Slot[ConvertResult]("ocr_convert_result", ConvertResult)
CONVERT_MODEL = Slot[str]("ocr_convert_model_choice", str)

# -- Region -------------------------------------------------------------------------------------------
REGION_BOX = Slot[Box]("region_box", Box)
REGION_CANVAS_GENERATION = Slot[int]("region_canvas_generation", int)
REGION_CANVAS_INITIAL = Slot[dict]("region_canvas_initial", dict)
REGION_CANVAS_SEEN = Slot[str]("region_canvas_seen", str)
REGION_COORDS = Slot[str]("region_coords", str)  # the typed-coordinates widget's own key
REGION_TEXT = Slot[tuple]("region_text", tuple)  # (media digest, box, OcrResult) of "read the text in this box"
REGION_ERROR = Slot[Exception]("region_error", Exception)
REGION_CONVERSATION = Slot[RegionConversation]("region_conversation", RegionConversation)

# -- Detection and Lab ----------------------------------------------------------------------------------
DETECTION = Slot[DetectionRun]("detect_result", DetectionRun)
DETECTION_PICTURE = Slot[tuple]("detect_picture", tuple)  # (key, (annotated picture, its PNG)): made_once
LAB_JOB = Slot[LabJob]("lab_job", LabJob)

# Extract
EXTRACT_RESULT = Slot[ExtractRun]("extract_result", ExtractRun)
EXTRACT_PICTURE = Slot[tuple]("extract_picture", tuple)  # (key, the page with its evidence boxes, or None): made_once
EXTRACT_TEMPLATE = Slot[str]("extract_template_choice", str)  # a shipped template's id, or "own"
EXTRACT_OWN = Slot[Template]("extract_own_template", Template)  # the person's own: edited, pasted or uploaded
EXTRACT_UPLOAD_SEEN = Slot[str]("extract_own_upload_seen", str)  # the template file already read
EXTRACT_EDITOR_APPLIED = Slot[str]("extract_editor_applied", str)  # the field editor's content last applied


def current_media() -> Media | None:
    return MEDIA.get()


def current_document() -> PdfDocument | None:
    return DOCUMENT.get()


def document_of(media: Media) -> PdfDocument | None:
    """The uploaded PDF when ``media`` is one of its pages."""
    document = DOCUMENT.get()
    return document if document is not None and media.digest.startswith(document.digest) else None


def page_count(media: Media) -> int:
    """Pages of the PDF ``media`` is a page of (1 for a picture)."""
    document = document_of(media)
    return document.page_count if document is not None else 1


def chat_history(media: Media, digest: str | None = None) -> ChatHistory:
    """The conversation about ``media`` (or the pictures ``digest`` names); other pictures start a new one."""
    digest = digest or media.digest
    history = CHAT_HISTORY.get()
    if history is None or history.media_digest != digest:
        history = ChatHistory(digest)
        CHAT_HISTORY.set(history)
    return history


def reset_chat(media: Media) -> None:
    CHAT_HISTORY.set(ChatHistory(media.digest))


def uploader_key(prefix: str = "home_uploader") -> str:
    """A new key empties the upload widget, which otherwise keeps showing the old file."""
    return f"{prefix}_{UPLOADER_GENERATION.get() or 0}"


def forget_upload() -> None:
    """Forget the upload, its PDF pages and the conversation about it (the caches are the caller's)."""
    for slot in (
        MEDIA,
        UPLOAD_ID,
        CHAT_HISTORY,
        DOCUMENT,
        DOCUMENT_PAGE,
        MORE_PICTURES,
        MORE_PICTURES_ID,
        CHAT_PICTURES,
    ):
        slot.clear()
    UPLOADER_GENERATION.set((UPLOADER_GENERATION.get() or 0) + 1)
