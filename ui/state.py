"""Session-state keys shared between pages. Only plain (non-widget) keys survive page switches."""

from __future__ import annotations

import streamlit as st

from core.media import NormalizedImage
from core.tasks import ChatHistory
from core.video import NormalizedVideo
from ui import model

Media = NormalizedImage | NormalizedVideo

MEDIA_KEY = "media"
UPLOAD_ID_KEY = "home_upload_id"
UPLOADER_GENERATION_KEY = "home_uploader_generation"
CHAT_HISTORY_KEY = "chat_history"


def current_media() -> Media | None:
    media = st.session_state.get(MEDIA_KEY)
    return media if isinstance(media, NormalizedImage | NormalizedVideo) else None


def set_media(media: Media) -> None:
    model.forget_session_caches()
    st.session_state[MEDIA_KEY] = media


def clear_media() -> None:
    model.forget_session_caches()
    st.session_state.pop(MEDIA_KEY, None)
    st.session_state.pop(UPLOAD_ID_KEY, None)
    st.session_state.pop(CHAT_HISTORY_KEY, None)
    # A new uploader key empties the widget, which otherwise keeps showing the old file.
    st.session_state[UPLOADER_GENERATION_KEY] = st.session_state.get(UPLOADER_GENERATION_KEY, 0) + 1


def uploader_key() -> str:
    return f"home_uploader_{st.session_state.get(UPLOADER_GENERATION_KEY, 0)}"


def chat_history(media: Media) -> ChatHistory:
    """The conversation about ``media``; a different image starts a new one."""
    history = st.session_state.get(CHAT_HISTORY_KEY)
    if not isinstance(history, ChatHistory) or history.media_digest != media.digest:
        history = ChatHistory(media.digest)
        st.session_state[CHAT_HISTORY_KEY] = history
    return history


def reset_chat(media: Media) -> None:
    st.session_state[CHAT_HISTORY_KEY] = ChatHistory(media.digest)
