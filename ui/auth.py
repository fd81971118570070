"""Sign-in through Streamlit's own OpenID Connect (``st.login``), when ``[auth]`` is in ``secrets.toml``.

Then every page asks for sign-in first, ``ALLOWED_EMAILS`` / ``ALLOWED_DOMAINS`` say who may enter, the
history belongs to the signed-in user, and the sidebar names them with a sign-out.
"""

from __future__ import annotations

import streamlit as st

from core.settings import Settings


def configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets.toml at all
        return False
    except Exception:  # noqa: BLE001 - a secrets file Streamlit cannot parse: no sign-in, the error is logged there
        return False


def user_email() -> str | None:
    """The signed-in user's e-mail in lower case; None without sign-in or before it."""
    if not configured() or not st.user.is_logged_in:
        return None
    email = st.user.get("email")
    return str(email).strip().lower() if email else None


def allowed(email: str, settings: Settings) -> bool:
    """Whether ``email`` may enter: anyone signed in when neither list is set, else one of the lists names it."""
    if not settings.allowed_emails and not settings.allowed_domains:
        return True
    domain = email.rsplit("@", 1)[-1]
    return email in settings.allowed_emails or domain in settings.allowed_domains
