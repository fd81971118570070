"""The strings catalogue: one gettext ``.po`` file per language under ``locales/``, read with Babel.

Each message's ``msgid`` is a stable key (``chat.stop``) and its ``msgstr`` the text, with ``{name}``
placeholders filled by :func:`text`. Translators edit the ``.po`` files with any gettext tool; a test
checks that both languages have every key with the same placeholders. Core code uses it for the few
texts that reach a model in the reader's language (quick prompts, the region prompt); the UI for all else.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"
LANGUAGES = {"ru": "Русский", "en": "English"}
FALLBACK = "en"


@cache
def catalogue(language: str) -> dict[str, str]:
    """Every key of ``language`` and its text (empty translations left out, so the fallback shows)."""
    from babel.messages.pofile import read_po

    path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        read = read_po(source, locale=language)
    return {str(message.id): str(message.string) for message in read if message.id and message.string}


def text(key: str, language: str, **params: object) -> str:
    """The text for ``key`` in ``language`` (English when it has none; the key itself when neither has it)."""
    found = catalogue(language).get(key) if language in LANGUAGES else None
    found = found or catalogue(FALLBACK).get(key)
    if found is None:
        return key
    return found.format_map(_Params(params))


def placeholders(message: str) -> set[str]:
    """The ``{name}`` fields of a message."""
    return {field for _, field, _, _ in string.Formatter().parse(message) if field}


class _Params(dict[str, object]):
    """Format parameters where a missing one reads as a dash: a message never fails for want of a detail."""

    def __missing__(self, name: str) -> object:
        return "—"


def problems(catalogues: dict[str, dict[str, str]]) -> list[str]:
    """What a translator must fix: a key missing (or empty) in one language, or placeholders that differ."""
    found = []
    keys = sorted(set().union(*(set(texts) for texts in catalogues.values())))
    for key in keys:
        present = {language: texts[key] for language, texts in catalogues.items() if texts.get(key, "").strip()}
        for language in sorted(set(catalogues) - set(present)):
            found.append(f"{key}: no {language} text")
        fields = {language: placeholders(message) for language, message in present.items()}
        if len({frozenset(names) for names in fields.values()}) > 1:
            found.append(f"{key}: placeholders differ {dict(sorted(fields.items()))}")
    return found
