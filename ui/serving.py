"""This session's way to the serving core: settings, the process-wide core, this session's model and clients.

The serving core is one ``st.cache_resource`` object shared by every session; which model a session
uses lives in that session's own state (:mod:`ui.state`), so one person's choice never changes another's.
No widgets here: :mod:`ui.widgets` draws what these return.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.engines.device import resolve_device
from core.engines.types import EngineError, ModelCard
from core.logs import configure_logging
from core.registry import choices, find_card
from core.serving import ModelClient, Priority, ServingCore
from core.settings import Settings, SettingsError, load_settings
from ui import state
from ui.i18n import t


def settings() -> Settings:
    """Settings for this run; an invalid variable stops the page with a message naming it."""
    try:
        return load_settings()
    except SettingsError as error:
        st.error(t("settings.error", variable=error.variable, value=error.value, allowed=error.allowed))
        st.stop()
        raise  # unreachable: st.stop() raises


@st.cache_resource(show_spinner=False, on_release=lambda serving: serving.close())
def serving() -> ServingCore:
    """Created once per process and shared by every session: it holds no session's choices."""
    current = settings()
    configure_logging(current.log_level, current.log_format)
    return ServingCore(current)


def session_id() -> str:
    """Who this tab's requests belong to, for the queue (its own earlier request is recognised as its own)
    and the cached image prefixes: the history's owner (a signed-in user, or the URL's token, so a refresh
    keeps them), else the browser tab's session.

    Logs never carry it as it is, only :func:`core.logs.anonymous` of it.
    """
    owner = state.OWNER.get()
    if owner:
        return owner
    context = get_script_run_ctx()
    return context.session_id if context is not None else "no-session"


def default_model_id() -> str:
    current = settings()
    return current.model_source(resolve_device(current.device).device)


def session_model_id() -> str:
    """The model this session chose on Home; a new session starts with the server's default."""
    return state.MODEL.get() or default_model_id()


def choose(model_id: str) -> None:
    """Use ``model_id`` in this session from now on; raises :class:`UnknownModel` for a model no family runs."""
    find_card(model_id)
    state.MODEL.set(model_id)


class _SessionAlive:
    """Kept in session state only: when Streamlit drops an ended session, this goes with it."""


_live: dict[str, int] = {}  # owner -> sessions alive: a refreshed tab's new session keeps the owner's caches
_live_lock = threading.Lock()
# A refresh ends the old session, maybe before the new one starts: the owner's caches wait this long for it.
OWNER_GRACE_S = 60.0


def _session_ended(core: ServingCore, owner: str) -> None:
    with _live_lock:
        _live[owner] = _live.get(owner, 1) - 1
        last = _live[owner] <= 0
    if last:
        timer = threading.Timer(OWNER_GRACE_S, _forget_if_gone, args=(core, owner))
        timer.daemon = True
        timer.start()


def _forget_if_gone(core: ServingCore, owner: str) -> None:
    with _live_lock:
        gone = _live.get(owner, 0) <= 0
        if gone:
            _live.pop(owner, None)
    if gone:
        core.forget(owner)


def watch_session_end(session: Any, core: ServingCore, owner: str) -> None:
    """Free what the serving core keeps for ``owner`` once its last session (its session state) is collected."""
    key = f"{state.SESSION_ALIVE.key}:{owner}"
    if key not in session:
        sentinel = _SessionAlive()
        session[key] = sentinel
        with _live_lock:
            _live[owner] = _live.get(owner, 0) + 1
        weakref.finalize(sentinel, _session_ended, core, owner)


def client(priority: Priority = Priority.INTERACTIVE) -> ModelClient:
    """This session's own model."""
    return client_for(session_model_id(), priority)


def client_for(model_id: str, priority: Priority = Priority.INTERACTIVE) -> ModelClient:
    """Any model (an OCR engine, a document converter) through the same core and queue, as this session."""
    core, owner = serving(), session_id()
    watch_session_end(st.session_state, core, owner)
    return core.client(model_id, owner, priority)


def forget_session_caches() -> None:
    """This session's media changed or went: its cached image prefixes describe nothing any more."""
    serving().forget(session_id())


def card_for(model_id: str) -> ModelCard | None:
    """The card the pickers show; the serving core's own for a served model, which says "(server)"."""
    current = settings()
    try:
        if current.engine == "openai" and model_id in current.openai_models:
            return serving().card(model_id)
        return find_card(model_id)
    except EngineError:
        return None


def offered_models(active: str) -> list[str]:
    """The picker's models: what the server serves with ENGINE=openai, else the configured ones and the catalogue."""
    current = settings()
    if current.engine == "openai":
        return choices(active, current.openai_models, remote_only=True)
    return choices(active, (default_model_id(), *current.extra_model_ids))
