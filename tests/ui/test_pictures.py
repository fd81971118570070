from __future__ import annotations

import gc
import io

from PIL import Image

from ui import pictures


def _opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_a_wide_photo_is_sent_as_a_jpeg_no_wider_than_the_page():
    shown = _opened(pictures.encoded(Image.new("RGB", (3000, 1500), "teal")))
    assert shown.format == "JPEG"
    assert shown.size == (pictures.PAGE_WIDTH, pictures.PAGE_WIDTH // 2)


def test_a_small_picture_is_never_enlarged_and_transparency_stays():
    shown = _opened(pictures.encoded(Image.new("RGBA", (100, 50), (255, 0, 0, 0))))
    assert shown.format == "PNG" and shown.size == (100, 50) and shown.mode == "RGBA"


def test_a_tall_page_fits_the_longest_edge():
    page = Image.new("L", (1240, 1754), 255)
    shown = _opened(pictures.encoded(page, 1024, 1024))
    assert shown.size == (724, 1024) and shown.mode == "L"


def test_a_picture_is_encoded_once_and_forgotten_with_it(monkeypatch):
    calls = []
    real = pictures._encode
    monkeypatch.setattr(pictures, "_encode", lambda *args: calls.append(args[1:]) or real(*args))
    photo = Image.new("RGB", (800, 600), "maroon")
    first = pictures.encoded(photo)
    assert pictures.encoded(photo) is first
    pictures.encoded(photo, 96)
    assert calls == [(pictures.PAGE_WIDTH, pictures._ANY_HEIGHT), (96, pictures._ANY_HEIGHT)]
    kept = id(photo)
    del photo
    gc.collect()
    assert kept not in pictures._encoded
