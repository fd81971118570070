"""Turning an upload into the session's media: images directly, PDFs page by page."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from core.documents import PdfDocument, is_pdf, open_pdf, render_page
from core.media import InvalidInput, MediaLimits, load_image
from core.settings import Settings
from ui import state
from ui.i18n import t

_DOCUMENT_KEY = "document"
_PAGE_KEY = "document_page"


def current_document() -> PdfDocument | None:
    document = st.session_state.get(_DOCUMENT_KEY)
    return document if isinstance(document, PdfDocument) else None


def accept(upload: UploadedFile | None, settings: Settings) -> None:
    """Normalise a newly uploaded file once; show a message in the user's language when it is refused."""
    if upload is None or st.session_state.get(state.UPLOAD_ID_KEY) == upload.file_id:
        return
    data = upload.getvalue()
    limits = MediaLimits(max_bytes=settings.max_upload_mb * 2**20)
    try:
        if is_pdf(data[:1024]):
            document = open_pdf(data, upload.name, media=limits)
            media = render_page(document, 0)
        else:
            document = None
            media = load_image(data, upload.name, limits)
    except InvalidInput as error:
        st.error(t(error.key, **error.params))
        return
    state.set_media(media)
    st.session_state[_DOCUMENT_KEY] = document
    st.session_state[_PAGE_KEY] = 1
    st.session_state[state.UPLOAD_ID_KEY] = upload.file_id


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
        st.error(t(error.key, **error.params))


def forget_document() -> None:
    st.session_state.pop(_DOCUMENT_KEY, None)
    st.session_state.pop(_PAGE_KEY, None)
