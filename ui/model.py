"""The one model manager of this server process, and showing its state and errors."""

from __future__ import annotations

import streamlit as st

from core.engines.base import Engine
from core.engines.device import resolve_device
from core.engines.manager import ModelManager
from core.engines.registry import find_card
from core.engines.types import Capability, EngineError, ModelCard, ModelUnavailable
from core.settings import Settings, SettingsError, load_settings
from ui.i18n import t


def settings() -> Settings:
    """Settings for this run; an invalid variable stops the page with a message naming it."""
    try:
        return load_settings()
    except SettingsError as error:
        st.error(t("settings.error", variable=error.variable, value=error.value, allowed=error.allowed))
        st.stop()
        raise  # unreachable: st.stop() raises


@st.cache_resource(show_spinner=False)
def manager() -> ModelManager:
    """Created once per process and shared by every page and session."""
    return ModelManager(settings())


def default_model_id() -> str:
    current = settings()
    return current.model_source(resolve_device(current.device).device)


def active_engine() -> Engine:
    """The active engine (weights not necessarily loaded): the chosen one, else the configured default."""
    shared = manager()
    return shared.engine if shared.engine is not None else shared.activate(default_model_id())


def show_engine_error(error: EngineError) -> None:
    params = {"detail": str(error), **error.params}
    key = error.key
    if isinstance(error, ModelUnavailable) and not params.get("command"):
        key = "model.dir_missing"
    st.error(t(key, **params))
    if isinstance(error, ModelUnavailable):
        if params.get("command"):
            st.code(str(params["command"]), language="bash")
        st.info(t("model.offline_hint"))


def ensure_loaded(engine: Engine) -> bool:
    """Load the weights with a progress bar; on failure show why and return False."""
    if engine.loaded:
        return True
    bar = st.progress(0.0, text=t("model.loading", model=engine.card.title))
    try:
        manager().load(engine.card.model_id, lambda fraction, step: bar.progress(fraction, text=t(step)))
    except EngineError as error:
        bar.empty()
        show_engine_error(error)
        return False
    bar.empty()
    return True


def require(capability: Capability) -> Engine:
    """The loaded active engine if it can do ``capability``; otherwise explain and stop the page."""
    try:
        engine = active_engine()
    except EngineError as error:
        show_engine_error(error)
        st.stop()
    if not engine.card.can(capability):
        st.warning(t("model.no_ability", model=engine.card.title, ability=t(f"ability.{capability.value}")))
        st.stop()
    if not ensure_loaded(engine):
        st.stop()
    return engine


def abilities(card: ModelCard) -> str:
    return ", ".join(t(f"ability.{a.value}") for a in sorted(card.capabilities, key=lambda a: a.value))


def describe(card: ModelCard) -> str:
    parts = [card.title]
    if card.params_millions:
        parts.append(t("model.params", millions=card.params_millions))
    parts.append(abilities(card))
    return " · ".join(parts)


def card_for(model_id: str) -> ModelCard | None:
    try:
        return find_card(model_id)
    except EngineError:
        return None


def status_line(engine: Engine) -> str:
    runtime = engine.runtime
    state = t("model.state_loaded") if engine.loaded else t("model.state_not_loaded")
    return t("model.status", title=engine.card.title, device=runtime.device, dtype=runtime.dtype, state=state)


_PICKER_KEY = "home_model"
_PICKER_CHOICES = "home_model_choices"  # label -> model id, so the widget holds plain strings


def _switch_model() -> None:
    chosen = st.session_state[_PICKER_CHOICES][st.session_state[_PICKER_KEY]]
    previous = manager().engine
    try:
        manager().activate(chosen)
    except EngineError as error:
        st.session_state["home_model_error"] = error
        return
    if previous is not None and previous.card.model_id != chosen:
        st.toast(t("model.switch_note", old=previous.card.title, new=_title(chosen)))


def _title(model_id: str) -> str:
    card = card_for(model_id)
    return describe(card) if card is not None else model_id


def picker() -> None:
    """Choose the server's model; the previous one is unloaded when another is chosen."""
    from core.engines.registry import choices

    active = active_engine().card.model_id
    # The configured model stays on offer after switching away from it.
    offered = (default_model_id(), *settings().extra_model_ids)
    labels = {_title(model_id): model_id for model_id in choices(active, offered)}
    st.session_state[_PICKER_CHOICES] = labels
    st.session_state[_PICKER_KEY] = _title(active)
    st.selectbox(t("model.picker"), list(labels), key=_PICKER_KEY, help=t("model.picker_help"), on_change=_switch_model)
    error = st.session_state.pop("home_model_error", None)
    if isinstance(error, EngineError):
        show_engine_error(error)
