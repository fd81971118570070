"""What every page shares: page config, the language switch, navigation and the model status line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.engines.types import EngineError
from core.logs import anonymous, new_error_id
from core.media import InvalidInput, NormalizedImage
from core.settings import Settings
from core.video import NormalizedVideo
from ui import auth, history, serving, state, upload, widgets
from ui.generation import finish_previous
from ui.i18n import LANGUAGES, input_error, language, set_language, t

log = logging.getLogger(__name__)

PAGES = (
    ("Home.py", "nav.home", ":material/home:"),
    ("pages/1_Chat.py", "nav.chat", ":material/chat:"),
    ("pages/2_OCR.py", "nav.ocr", ":material/document_scanner:"),
    ("pages/6_Extract.py", "nav.extract", ":material/fact_check:"),
    ("pages/3_Region.py", "nav.region", ":material/crop_free:"),
    ("pages/4_Detection.py", "nav.detection", ":material/center_focus_strong:"),
    ("pages/5_Lab.py", "nav.lab", ":material/science:"),
    ("pages/7_History.py", "nav.history", ":material/history:"),
)
_HOME = PAGES[0]
HISTORY_PAGE = "pages/7_History.py"
_LANG_WIDGET = "sidebar_lang"
LANG_PARAM = "lang"


def _linked_language() -> str | None:
    """The language the page's link asks for (``?lang=en``), when it is one the app speaks."""
    code = st.query_params.get(LANG_PARAM)
    return code if code in LANGUAGES else None


def _language_changed() -> None:
    set_language(st.session_state[_LANG_WIDGET])


@contextmanager
def page(title_key: str) -> Iterator[None]:
    """Set the page up and run its body; whatever the body raises ends as a message, never a traceback.

    Streamlit's own stop and rerun are not ``Exception``s and pass through. An engine or input error
    that escaped its page shows its own message; anything else is logged with an error id that the
    apology shows, so an operator finds the traceback from a screenshot.
    """
    try:
        setup_page(title_key)
        yield
        widgets.refresh_sidebar()  # the model's state as the page left it: one truth for the sidebar and the page
    except EngineError as error:
        widgets.show_engine_error(error)
    except InvalidInput as error:
        st.error(input_error(error))
    except Exception as error:  # noqa: BLE001 - the last line of defence for this page
        error_id = new_error_id()
        log.error(
            "unexpected error, error id %s",
            error_id,
            exc_info=error,
            extra={"fields": {"session": anonymous(serving.session_id()), "page": title_key.split(".")[0]}},
        )
        st.error(t("app.unexpected", error_id=error_id))


def setup_page(title_key: str) -> None:
    """Call first on every page. Stops the page with a message when the configuration is invalid."""
    st.set_page_config(page_title=f"{t(title_key)} · VLM Studio", page_icon=":material/visibility:", layout="wide")
    current = serving.settings()
    if not state.LANGUAGE.present():
        set_language(_linked_language() or current.ui_lang)
    signed_in = _sign_in_gate(current)
    history.identify()
    if st.query_params.get(LANG_PARAM) != language():
        st.query_params[LANG_PARAM] = language()  # a copied link (the history's ?s= one too) opens in this language
    state.OWNER.set(history.owner() or "")
    with st.sidebar:
        # The widget's own key is dropped on page switches; the plain "lang" key is what persists.
        st.session_state[_LANG_WIDGET] = language()
        st.segmented_control(
            t("lang.label"),
            options=list(LANGUAGES),
            format_func=lambda code: LANGUAGES[code],
            key=_LANG_WIDGET,
            on_change=_language_changed,
        )
        for path, label_key, icon in PAGES:
            if path != HISTORY_PAGE or current.history:
                st.page_link(path, label=t(label_key), icon=icon)
        widgets.sidebar_model_line()
        if signed_in is not None:
            st.caption(t("auth.signed_in_as", email=signed_in))
            st.button(t("auth.sign_out"), key="sidebar_sign_out", on_click=st.logout, icon=":material/logout:")
        history.warn_if_unavailable()
    st.title(t(title_key))
    history.restore(upload.restore)
    # Whatever page this run draws, an answer still unwinding from the previous run is saved first.
    finish_previous()


def _sign_in_gate(current: Settings) -> str | None:
    """With sign-in configured: stop the page until the person signs in and may enter; their e-mail after."""
    if not auth.configured():
        return None
    if not st.user.is_logged_in:
        st.title(t("auth.title"))
        st.info(t("auth.please_sign_in"))
        st.button(t("auth.sign_in"), key="auth_sign_in", on_click=st.login, type="primary", icon=":material/login:")
        st.stop()
    email = auth.user_email()
    if email is None or not auth.allowed(email, current):
        log.warning("sign-in refused for %s", anonymous(email or "no e-mail"))
        st.title(t("auth.title"))
        st.error(t("auth.refused", email=email or "—"))
        st.button(t("auth.sign_out"), key="auth_refused_sign_out", on_click=st.logout, icon=":material/logout:")
        st.stop()
    return email


def require_media(need_key: str = "chat.need_media") -> state.Media:
    """The uploaded image or video; without one, say where to upload it and stop the page."""
    media = state.current_media()
    if media is None:
        st.info(t(need_key))
        st.page_link(_HOME[0], label=t(_HOME[1]), icon=_HOME[2])
        st.stop()
    return media


def require_image(need_key: str = "chat.need_media") -> NormalizedImage:
    """Like :func:`require_media`, for pages that work on a still picture (an image or a PDF page)."""
    media = require_media(need_key)
    if isinstance(media, NormalizedVideo):
        st.info(t("video.not_here"))
        st.page_link(PAGES[1][0], label=t(PAGES[1][1]), icon=PAGES[1][2])
        st.stop()
    return media
