"""Widgets more than one page draws: a model's state and errors, the model picker, the frame strip, the PDF
page picker and a remembered choice. Each reads the session through :mod:`ui.state` and the serving core
through :mod:`ui.serving`; none belongs to a page.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.documents import render_page
from core.engines.types import Capability, EngineError, ModelCard, ModelUnavailable
from core.media import InvalidInput
from core.serving import LoadState, ModelClient, ModelStatus
from core.video import NormalizedVideo, format_timestamp
from ui import history, pictures, serving, state
from ui.i18n import input_error, language, t

# -- a model's errors and state ---------------------------------------------------------------------------


def error_text(error: EngineError) -> str:
    """One line for an error shown inside an answer or a result."""
    params = {"detail": str(error), **error.params}
    return _with_error_id(t(error.key, **params), error)


def show_engine_error(error: EngineError) -> None:
    key, params = error.key, {"detail": str(error), **error.params}
    if isinstance(error, ModelUnavailable) and not params.get("command"):
        key = "model.dir_missing"
    st.error(_with_error_id(t(key, **params), error))
    if isinstance(error, ModelUnavailable):
        if params.get("command"):
            st.code(str(params["command"]), language="bash")
        st.info(t("model.offline_hint"))


def _with_error_id(message: str, error: EngineError) -> str:
    """An unexpected failure's message ends with the id of the log line that holds its traceback."""
    error_id = error.params.get("error_id")
    return f"{message} {t('app.error_id', error_id=error_id)}" if error_id else message


def abilities(card: ModelCard) -> str:
    return ", ".join(t(f"ability.{a.value}") for a in sorted(card.capabilities, key=lambda a: a.value))


def describe(card: ModelCard) -> str:
    parts = [card.title]
    if card.params_millions:
        parts.append(t("model.params", millions=card.params_millions))
    parts.append(abilities(card))
    if card.licence:
        parts.append(t("model.licence", licence=card.licence))
    return " · ".join(parts)


def title_of(model_id: str) -> str:
    card = serving.card_for(model_id)
    return describe(card) if card is not None else model_id


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


def status_line(chosen: ModelClient, state_words: str | None = None) -> str:
    """The model, where it runs and its state: the one text the sidebar and Home both show."""
    runtime = chosen.runtime
    return t(
        "model.status",
        title=chosen.card.title,
        device=f"{runtime.device} ({runtime.placement})" if runtime.placement else runtime.device,
        dtype="int8" if runtime.quantization == "int8" else runtime.dtype,
        state=state_words or state_text(chosen.status),
    )


# -- the sidebar's model line --------------------------------------------------------------------------------


def sidebar_model_line() -> None:
    """This session's model and its state; a load or a waiting request later rewrites it in place."""
    slot = st.empty()
    state.SIDEBAR_SLOT.set(slot)
    refresh_sidebar()


def refresh_sidebar(state_words: str | None = None) -> None:
    """Write the sidebar's model line again from the model's state now (or ``state_words``, a place in line)."""
    slot = state.SIDEBAR_SLOT.get()
    if slot is None:
        return
    chosen = serving.client()
    try:
        slot.caption(status_line(chosen, state_words))
    except EngineError:
        slot.caption(t("model.unknown", model=chosen.model_id))


def require(capability: Capability | None = None) -> ModelClient:
    """This session's model if it can do ``capability`` (if one is given); otherwise explain and stop the page.

    The weights start loading in the background if they fit without unloading anyone's model, so the
    first question does not wait for the whole load.
    """
    chosen = serving.client()
    try:
        card = chosen.card
    except EngineError as error:
        show_engine_error(error)
        st.stop()
    if capability is not None and not card.can(capability):
        st.warning(t("model.no_ability", model=card.title, ability=t(f"ability.{capability.value}")))
        st.stop()
    try:
        serving.serving().preload(chosen.model_id, may_evict=False)
    except EngineError as error:
        show_engine_error(error)
        st.stop()
    return chosen


def load_with_progress(chosen: ModelClient) -> bool:
    """Load this session's model now, with a progress bar; on failure show why and return False.

    The sidebar line follows the same status at every step, so the two never disagree.
    """
    bars: list = []

    def draw(status: ModelStatus) -> None:
        if not bars:
            bars.append(st.progress(0.0, text=t("model.loading", model=chosen.card.title)))
        # Redrawn on every wake-up, changed or not: that is where Streamlit can stop this run.
        bars[0].progress(status.fraction, text=t(status.step or "model.loading", model=chosen.card.title))
        refresh_sidebar(state_text(status))

    try:
        chosen.load(on_progress=draw)
    except EngineError as error:
        show_engine_error(error)
        return False
    finally:
        for bar in bars:
            bar.empty()
        refresh_sidebar()
    return True


# -- the model picker ------------------------------------------------------------------------------------------

_PICKER_WIDGET = "home_model"


def _switch_model() -> None:
    chosen = (state.PICKER_CHOICES.get() or {}).get(st.session_state[_PICKER_WIDGET])
    if chosen is None:
        # a label of the other language: a browser still showing the picker from before a language switch
        # sent it back with another change; nobody picked a model, so the session keeps its own
        return
    previous = serving.session_model_id()
    try:
        serving.choose(chosen)
    except EngineError as error:
        state.PICKER_ERROR.set(error)
        return
    if previous != chosen:
        st.toast(t("model.switch_note", new=title_of(chosen)))


def picker() -> None:
    """Choose this session's model; other sessions keep theirs."""
    active = serving.session_model_id()
    # The configured model stays on offer after switching away from it.
    labels = {title_of(model_id): model_id for model_id in serving.offered_models(active)}
    state.PICKER_CHOICES.set(labels)
    st.session_state[_PICKER_WIDGET] = title_of(active)
    st.selectbox(t("model.picker"), list(labels), key=_PICKER_WIDGET, help=t("model.picker_help"),
                 on_change=_switch_model)  # fmt: skip
    error = state.PICKER_ERROR.get()
    state.PICKER_ERROR.clear()
    if isinstance(error, EngineError):
        show_engine_error(error)


# -- media ------------------------------------------------------------------------------------------------------


def frame_strip(video: NormalizedVideo, columns: int = 4) -> None:
    """The sampled frames with their timestamps: exactly what the model sees."""
    frames = video.clip.frames
    for start in range(0, len(frames), columns):
        row = st.columns(columns)
        for column, index in zip(row, range(start, min(start + columns, len(frames))), strict=False):
            pictures.show(frames[index], caption=format_timestamp(video.clip.timestamps[index]), target=column)


_PAGE_WIDGET = "home_pdf_page"


def _page_changed(on_media: Callable[[state.Media], None]) -> None:
    document = state.current_document()
    chosen = int(st.session_state[_PAGE_WIDGET])
    if document is None:
        return
    try:
        media = render_page(document, chosen - 1)
    except InvalidInput as error:
        state.PDF_ERROR.set(error)
        return
    on_media(media)
    state.DOCUMENT_PAGE.set(chosen)
    history.remember_page(chosen)


def page_picker(on_media: Callable[[state.Media], None]) -> None:
    """For a PDF: choose the page every other page works on; ``on_media`` takes the newly drawn page."""
    document = state.current_document()
    if document is None:
        return
    # The widget's own key is dropped on page switches; the plain key keeps the chosen page.
    st.session_state[_PAGE_WIDGET] = state.DOCUMENT_PAGE.get() or 1
    st.number_input(t("home.pdf_page", pages=document.page_count), min_value=1, max_value=document.page_count,
                    step=1, key=_PAGE_WIDGET, on_change=_page_changed, args=(on_media,))  # fmt: skip
    error = state.PDF_ERROR.get()
    state.PDF_ERROR.clear()
    if isinstance(error, InvalidInput):
        st.error(input_error(error))


def remembered_choice(labels: dict[str, str], slot: state.Slot[str], title: str, widget_key: str,
                      help_text: str) -> str:  # fmt: skip
    """A horizontal radio over ``labels`` (name -> label) whose choice ``slot`` keeps for the session.

    The widget key follows the UI language so a language switch cannot leave a label that no longer exists.
    """
    remembered = slot.get()
    names = list(labels)
    index = names.index(remembered) if remembered in names else 0
    chosen_label = st.radio(title, list(labels.values()), index=index, horizontal=True,
                            key=f"{widget_key}_{language()}", help=help_text)  # fmt: skip
    name = next(name for name, label in labels.items() if label == chosen_label)
    slot.set(name)
    return name


EXPORT_FORMATS = (  # suffix, label, MIME type, icon
    ("md", "chat.export_md", "text/markdown", ":material/description:"),
    ("json", "chat.export_json", "application/json", ":material/data_object:"),
    ("html", "chat.export_html", "text/html", ":material/html:"),
)


def export_buttons(key: str, stem: str, markdown: str, json_text: str, html: str) -> None:
    """The Markdown, JSON and HTML downloads of an *Export* menu, named ``<stem>.<suffix>``.

    A download does not rerun the page: a rerun could replace the file while the browser still fetches it.
    """
    texts = {"md": markdown, "json": json_text, "html": html}
    for suffix, label, mime, icon in EXPORT_FORMATS:
        st.download_button(t(label), texts[suffix].encode("utf-8"), f"{stem}.{suffix}", mime,
                           key=f"{key}_export_{suffix}", icon=icon, on_click="ignore")  # fmt: skip
