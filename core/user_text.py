"""Text a person typed (or a model wrote) on its way into a prompt: always text, never control tokens.

Every model family marks structure with tag-like strings: media placeholders the processor expands
(``<image>``, ``<video>``), turn boundaries (``<end_of_utterance>``, ``<|im_start|>``), grounding
markup (``<ref>``, ``<box>``, ``<loc_N>``) and Florence-2's task tokens (``<OCR>``). A tokenizer
turns such a string into its special id wherever it appears, and a processor counts and expands its
placeholders in the whole prompt. So a question containing ``<image>`` crashes the processor, and one
containing ``<end_of_utterance>`` forges a turn.

:func:`prompt_text` is the one way user text enters a prompt. It cleans the text (control characters
out, length capped) and breaks every tag-like string with an invisible zero-width space after ``<``:
no tokenizer matches the broken string as a special token, while the model still reads the same
characters. The person keeps seeing what they typed: pages show :func:`clean_text`'s result.
"""

from __future__ import annotations

import re
import unicodedata

from core.media import InvalidInput

MAX_QUESTION_CHARS = 4000
MAX_PHRASES_CHARS = 500
ECHO_CHARS = 40

# After "<": an optional "/" and "|", a name of letters, digits and _-.:, an optional "|", then ">".
# Covers <image>, </s>, <|im_start|>, <row_1_col_2>, <loc_999>, <CAPTION_TO_PHRASE_GROUNDING>, <global-img>.
_TAG = re.compile(r"<(?=/?\|?[\w.:-]+\|?>)")
# Written by special-token tables as <｜...｜> (full-width bars) in some tokenizers; break those too.
_WIDE_TAG = re.compile(r"<(?=/?｜)")
BREAK = "\u200b"  # zero-width space: invisible, and never part of a special token

# Bidirectional overrides and isolates reorder what is shown without changing what is sent.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_text(raw: str | None, limit: int, *, empty_key: str = "text.empty") -> str:
    """``raw`` without control characters and outer blanks; :class:`InvalidInput` if empty or over ``limit``.

    ``empty_key`` lets a field say in its own words what is missing.
    """
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(char for char in text if _allowed(char)).strip()
    if not text:
        raise InvalidInput(empty_key)
    if len(text) > limit:
        raise InvalidInput("text.too_long", limit=limit, length=len(text))
    return text


def _allowed(char: str) -> bool:
    if char in "\n\t":
        return True
    return unicodedata.category(char) != "Cc" and char not in _BIDI


def neutralise(text: str) -> str:
    """``text`` with every tag-like string broken, so it reaches the model as plain characters.

    Idempotent: a broken tag no longer matches.
    """
    return _WIDE_TAG.sub("<" + BREAK, _TAG.sub("<" + BREAK, text))


def prompt_text(raw: str | None, limit: int, *, empty_key: str = "text.empty") -> str:
    """The one path from typed text to a prompt: :func:`clean_text`, then :func:`neutralise`."""
    return neutralise(clean_text(raw, limit, empty_key=empty_key))


def echo(raw: str, limit: int = ECHO_CHARS) -> str:
    """A short, single-line, control-free copy of bad input, to quote back in an error message."""
    text = " ".join("".join(char for char in raw if _allowed(char)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
