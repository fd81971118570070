"""Pictures on a page, encoded for the browser once per picture instead of on every rerun.

Given a PIL picture, ``st.image`` encodes it as JPEG at full quality on every run of the script and, when
it is wider than the page, decodes that, shrinks it and encodes it again: about 0.15 s for a 1600×1200
photo on one laptop core, paid before anything below it is drawn, on every click. Here a picture is
encoded once, no wider than it is shown, and ``st.image`` gets bytes it passes on untouched.

A picture must not be drawn on after it was shown (the pages draw boxes on copies): the bytes are kept
for as long as the picture object lives.
"""

from __future__ import annotations

import io
import threading
import weakref
from collections.abc import Sequence
from typing import Literal

import streamlit as st
from PIL import Image

# Streamlit shrinks anything wider than its widest content column to this width.
PAGE_WIDTH = 1460
_ANY_HEIGHT = 1 << 20

# per live picture (by id), its encodings by the box they fit
_encoded: dict[int, dict[tuple[int, int], bytes]] = {}
_lock = threading.Lock()


def _forget(picture_id: int) -> None:
    with _lock:
        _encoded.pop(picture_id, None)


def _encode(picture: Image.Image, width: int, height: int) -> bytes:
    """JPEG (PNG where the picture has transparency, as ``st.image`` would choose), shrunk to fit the box."""
    transparent = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
    if picture.width > width or picture.height > height:
        picture = picture.copy()
        picture.thumbnail((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if transparent:
        picture.save(buffer, "PNG")
    else:
        picture.convert("L" if picture.mode in ("1", "L", "I", "I;16", "F") else "RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def encoded(picture: Image.Image, width: int = PAGE_WIDTH, height: int = _ANY_HEIGHT) -> bytes:
    """The picture as the browser gets it, within ``width`` × ``height``; encoded on the first call only."""
    with _lock:
        known = _encoded.get(id(picture), {}).get((width, height))
    if known is not None:
        return known
    data = _encode(picture, width, height)
    with _lock:
        if id(picture) not in _encoded:
            # a later picture may get the same id once this one is gone: its entries go with it
            weakref.finalize(picture, _forget, id(picture))
        _encoded.setdefault(id(picture), {})[(width, height)] = data
    return data


def show(picture: Image.Image, *, caption: str | None = None, width: int | Literal["stretch", "content"] = "stretch",
         longest_edge: int | None = None, target: object = st) -> None:  # fmt: skip
    """``st.image`` (or ``target.image``: a column) of one picture, encoded once; ``longest_edge`` shrinks it
    to fit a square first (a preview of a tall page)."""
    pixels = width if isinstance(width, int) else PAGE_WIDTH
    edge = longest_edge or _ANY_HEIGHT
    target.image(encoded(picture, min(pixels, edge), edge), caption=caption, width=width)  # type: ignore[attr-defined]


def show_strip(pictures: Sequence[Image.Image], width: int) -> None:
    """Small pictures side by side, ``width`` pixels each."""
    st.image([encoded(picture, width) for picture in pictures], width=width)
