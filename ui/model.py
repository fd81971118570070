"""This session's model, the process-wide serving core, and showing a model's state and errors.

The serving core is one ``st.cache_resource`` object shared by every session; which model a session
uses lives in that session's own state, so one person's choice never changes another's.
"""

from __future__ import annotations

import weakref
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.engines.device import resolve_device
from core.engines.types import Capability, EngineError, ModelCard, ModelUnavailable
from core.logs import configure_logging
from core.registry import choices, find_card
from core.serving import LoadState, ModelClient, ModelStatus, Priority, ServingCore
from core.settings import Settings, SettingsError, load_settings
from ui.i18n import t

_MODEL_KEY = "session_model"  # a plain key: it survives page switches, unlike widget keys
_PICKER_KEY = "home_model"
_PICKER_CHOICES = "home_model_choices"  # label -> model id, so the widget holds plain strings
_SIDEBAR_KEY = "sidebar_model_slot"
_ALIVE_KEY = "session_alive"


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
    """Who this browser tab is, for the queue (so its own earlier request is recognised as its own).

    Logs never carry it as it is, only :func:`core.logs.anonymous` of it.
    """
    context = get_script_run_ctx()
    return context.session_id if context is not None else "no-session"


def default_model_id() -> str:
    current = settings()
    return current.model_source(resolve_device(current.device).device)


def session_model_id() -> str:
    """The model this session chose on Home; a new session starts with the server's default."""
    chosen = st.session_state.get(_MODEL_KEY)
    return chosen if isinstance(chosen, str) else default_model_id()


def choose(model_id: str) -> None:
    """Use ``model_id`` in this session from now on; raises :class:`UnknownModel` for a model no family runs."""
    find_card(model_id)
    st.session_state[_MODEL_KEY] = model_id


class _SessionAlive:
    """Kept in session state only: when Streamlit drops an ended session, this goes with it."""


def watch_session_end(state: Any, core: ServingCore, owner: str) -> None:
    """Free what the serving core keeps for ``owner`` once ``state`` (its session state) is collected."""
    if _ALIVE_KEY not in state:
        sentinel = _SessionAlive()
        state[_ALIVE_KEY] = sentinel
        weakref.finalize(sentinel, core.forget, owner)


def client(priority: Priority = Priority.INTERACTIVE) -> ModelClient:
    core, owner = serving(), session_id()
    watch_session_end(st.session_state, core, owner)
    return core.client(session_model_id(), owner, priority)


def forget_session_caches() -> None:
    """This session's media changed or went: its cached image prefixes describe nothing any more."""
    serving().forget(session_id())


def show_engine_error(error: EngineError) -> None:
    params = {"detail": str(error), **error.params}
    key = error.key
    if isinstance(error, ModelUnavailable) and not params.get("command"):
        key = "model.dir_missing"
    st.error(_with_error_id(t(key, **params), error))
    if isinstance(error, ModelUnavailable):
        if params.get("command"):
            st.code(str(params["command"]), language="bash")
        st.info(t("model.offline_hint"))


def error_text(error: EngineError) -> str:
    """One line for an error shown inside an answer (the history keeps text, not widgets)."""
    params = {"detail": str(error), **error.params}
    return _with_error_id(t(error.key, **params), error)


def _with_error_id(message: str, error: EngineError) -> str:
    """An unexpected failure's message ends with the id of the log line that holds its traceback."""
    error_id = error.params.get("error_id")
    return f"{message} {t('app.error_id', error_id=error_id)}" if error_id else message


def require(capability: Capability | None = None) -> ModelClient:
    """This session's model if it can do ``capability`` (if one is given); otherwise explain and stop the page.

    The weights start loading in the background if they fit without unloading anyone's model, so the
    first question does not wait for the whole load.
    """
    chosen = client()
    try:
        card = chosen.card
    except EngineError as error:
        show_engine_error(error)
        st.stop()
    if capability is not None and not card.can(capability):
        st.warning(t("model.no_ability", model=card.title, ability=t(f"ability.{capability.value}")))
        st.stop()
    try:
        serving().preload(chosen.model_id, may_evict=False)
    except EngineError as error:
        show_engine_error(error)
        st.stop()
    return chosen


def abilities(card: ModelCard) -> str:
    return ", ".join(t(f"ability.{a.value}") for a in sorted(card.capabilities, key=lambda a: a.value))


def describe(card: ModelCard) -> str:
    parts = [card.title]
    if card.params_millions:
        parts.append(t("model.params", millions=card.params_millions))
    parts.append(abilities(card))
    return " · ".join(parts)


def card_for(model_id: str) -> ModelCard | None:
    """The card the picker shows; the serving core's own for a served model, which says "(server)"."""
    current = settings()
    try:
        if current.engine == "openai" and model_id in current.openai_models:
            return serving().card(model_id)
        return find_card(model_id)
    except EngineError:
        return None


def state_text(status: ModelStatus) -> str:
    if status.state is LoadState.LOADING:
        return t("model.state_loading", percent=round(status.fraction * 100))
    keys = {
        LoadState.READY: "model.state_loaded",
        LoadState.PENDING: "model.state_pending",
        LoadState.UNLOADING: "model.state_unloading",
        LoadState.FAILED: "model.state_failed",
    }
    return t(keys.get(status.state, "model.state_not_loaded"))


def status_line(chosen: ModelClient, state: str | None = None) -> str:
    runtime = chosen.runtime
    return t(
        "model.status",
        title=chosen.card.title,
        device=f"{runtime.device} ({runtime.placement})" if runtime.placement else runtime.device,
        dtype="int8" if runtime.quantization == "int8" else runtime.dtype,
        state=state or state_text(chosen.status),
    )


def remember_sidebar_slot(slot: object) -> None:
    """The sidebar's model line of this run: a waiting request or a load updates it in place."""
    st.session_state[_SIDEBAR_KEY] = slot


def show_in_sidebar(text: str) -> None:
    slot = st.session_state.get(_SIDEBAR_KEY)
    if slot is not None:
        slot.caption(text)


def load_with_progress(chosen: ModelClient) -> bool:
    """Load this session's model now, with a progress bar; on failure show why and return False."""
    bars: list = []

    def draw(status: ModelStatus) -> None:
        if not bars:
            bars.append(st.progress(0.0, text=t("model.loading", model=chosen.card.title)))
        # Redrawn on every wake-up, changed or not: that is where Streamlit can stop this run.
        bars[0].progress(status.fraction, text=t(status.step or "model.loading", model=chosen.card.title))

    try:
        chosen.load(on_progress=draw)
    except EngineError as error:
        show_engine_error(error)
        return False
    finally:
        for bar in bars:
            bar.empty()
    show_in_sidebar(status_line(chosen))
    return True


def _switch_model() -> None:
    chosen = st.session_state[_PICKER_CHOICES][st.session_state[_PICKER_KEY]]
    previous = session_model_id()
    try:
        choose(chosen)
    except EngineError as error:
        st.session_state["home_model_error"] = error
        return
    if previous != chosen:
        st.toast(t("model.switch_note", new=_title(chosen)))


def _title(model_id: str) -> str:
    card = card_for(model_id)
    return describe(card) if card is not None else model_id


def client_for(model_id: str) -> ModelClient:
    """A model other than the session's own (Tesseract, a document converter) through the same core and queue."""
    core, owner = serving(), session_id()
    watch_session_end(st.session_state, core, owner)
    return core.client(model_id, owner)


def tesseract_client() -> ModelClient:
    return client_for("tesseract")


def offered_models(active: str) -> list[str]:
    """The picker's models: what the server serves with ENGINE=openai, else the configured ones and the catalogue."""
    current = settings()
    if current.engine == "openai":
        return choices(active, current.openai_models, remote_only=True)
    return choices(active, (default_model_id(), *current.extra_model_ids))


def picker() -> None:
    """Choose this session's model; other sessions keep theirs."""
    active = session_model_id()
    # The configured model stays on offer after switching away from it.
    labels = {_title(model_id): model_id for model_id in offered_models(active)}
    st.session_state[_PICKER_CHOICES] = labels
    st.session_state[_PICKER_KEY] = _title(active)
    st.selectbox(t("model.picker"), list(labels), key=_PICKER_KEY, help=t("model.picker_help"), on_change=_switch_model)
    error = st.session_state.pop("home_model_error", None)
    if isinstance(error, EngineError):
        show_engine_error(error)
