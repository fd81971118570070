"""The ``t`` lookup in the session's language; the texts are the catalogue in ``locales/`` (:mod:`core.i18n`)."""

from __future__ import annotations

import re

from core import i18n
from core.i18n import LANGUAGES
from core.media import InvalidInput
from ui import state

__all__ = ["LANGUAGES", "input_error", "language", "literal", "ordinal", "set_language", "t"]


def language() -> str:
    return state.LANGUAGE.get() or "ru"


def set_language(code: str) -> None:
    if code in LANGUAGES:
        state.LANGUAGE.set(code)


def t(key: str, **params: object) -> str:
    """The text for ``key`` in the session's language, formatted with ``params``."""
    return i18n.text(key, language(), **params)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def literal(text: str) -> str:
    """``text`` as Streamlit markdown that shows exactly these characters (no links, images, HTML, maths)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def input_error(error: InvalidInput) -> str:
    """The message for refused input; what the person typed and is quoted back stays literal text."""
    params = {name: literal(value) if isinstance(value, str) else value for name, value in error.params.items()}
    return t(error.key, **params)


def ordinal(number: int) -> str:
    """``2`` as "2nd" or "2-й", for places in line."""
    if language() == "ru":
        return f"{number}-й"
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
