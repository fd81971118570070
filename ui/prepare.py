"""The picture's image prefix computed while the person reads the page and types (issue: the first answer
before the question is typed).

As soon as a picture is on Home and the session's model is loaded, a one-token request with the Chat
page's first-question shape is queued as batch work; the model's KV cache of the picture then waits in
the session's prefix cache, and the first question only computes its own words. A new picture cancels
the old picture's preparation; a model that keeps no prefixes, or one not loaded yet, is not asked.
"""

from __future__ import annotations

import streamlit as st

from core.engines.types import EngineError, SamplingParams
from core.media import NormalizedImage
from core.serving import ModelClient
from core.tasks import chat as chat_task
from core.tasks.chat import ChatHistory, ChatParams, default_chat_tiles, quick_prompt, tiles_per_picture
from ui import serving, state
from ui.i18n import language


def cancel() -> None:
    """The picture changed or went: its preparation, if still queued or running, is dropped."""
    preparing = state.PREPARING.get()
    if preparing is not None:
        preparing[1].cancel()
        state.PREPARING.clear()


def prepare(media: state.Media | None, chosen: ModelClient | None = None) -> None:
    """Queue ``media``'s prefix for the session's model, once per picture, model and tile budget."""
    if not isinstance(media, NormalizedImage) or not serving.settings().prepare_images:
        return
    history = state.CHAT_HISTORY.get()
    if history is not None and history.media_digest == media.digest and history.turns:
        return  # the conversation's own cache is there already
    chosen = chosen or serving.client()
    try:
        tiles = int(st.session_state.get("chat_tiles") or default_chat_tiles(chosen.runtime.device))
        family = chosen.family
    except EngineError:
        return
    key = f"{chosen.model_id}|{media.digest}|{tiles}"
    preparing = state.PREPARING.get()
    if preparing is not None and preparing[0] == key:
        return
    params = ChatParams(SamplingParams(max_new_tokens=1), tiles_per_picture(tiles, 1), (media.image,))
    request = chat_task.build(family, ChatHistory(media.digest), quick_prompt("brief", language()), params)
    try:
        job = chosen.prepare(request)
    except EngineError:  # a full queue: the question will compute the picture itself
        return
    if job is None:
        return
    cancel()
    state.PREPARING.set((key, job))
