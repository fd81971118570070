from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.media import InvalidInput, MediaLimits, load_image, sniff_image_format, to_rgb
from tests.conftest import image_bytes


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_supported_formats_load_as_rgb(fmt):
    media = load_image(image_bytes((64, 48), "red", fmt), "photo")
    assert media.source_format == fmt
    assert media.image.mode == "RGB"
    assert (media.width, media.height) == (64, 48)
    assert len(media.digest) == 16


def test_format_comes_from_content_not_name():
    media = load_image(image_bytes(fmt="PNG"), "holiday.jpg")
    assert media.source_format == "PNG"


@pytest.mark.parametrize(
    "data",
    [
        b"just some text pretending to be a picture",  # text renamed to .png
        b"GIF89a" + b"\x00" * 64,  # GIF: a real image format we do not take
        b"%PDF-1.7\n" + b"\x00" * 64,  # a document
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # RIFF, but audio rather than WebP
    ],
)
def test_unsupported_content_is_refused(data):
    with pytest.raises(InvalidInput) as caught:
        load_image(data, "x.png")
    assert caught.value.key == "media.unsupported_format"


def test_empty_file():
    with pytest.raises(InvalidInput) as caught:
        load_image(b"")
    assert caught.value.key == "media.empty"


def test_file_over_the_upload_limit():
    data = image_bytes((64, 64))
    with pytest.raises(InvalidInput) as caught:
        load_image(data, limits=MediaLimits(max_bytes=len(data) - 1))
    assert caught.value.key == "media.too_large"
    assert caught.value.params["limit_mb"] == 0


def test_truncated_file():
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    data = buffer.getvalue()
    with pytest.raises(InvalidInput) as caught:
        load_image(data[: len(data) // 2])
    assert caught.value.key in ("media.truncated", "media.corrupt")


def test_corrupt_body_after_valid_signature():
    data = image_bytes((64, 64), fmt="PNG")
    with pytest.raises(InvalidInput) as caught:
        load_image(data[:16] + b"\x00" * 200)
    assert caught.value.key in ("media.corrupt", "media.truncated")


def test_decompression_bomb_is_refused_before_decoding():
    # 6000 x 6000 of one colour compresses to a few kilobytes but decodes to 36 MP.
    data = image_bytes((6000, 6000), "white", "PNG")
    assert len(data) < 200_000
    with pytest.raises(InvalidInput) as caught:
        load_image(data, limits=MediaLimits(max_pixels=10_000_000))
    assert caught.value.key == "media.too_many_pixels"


@pytest.mark.parametrize(
    ("size", "key"),
    [
        ((1, 1), "media.too_small"),  # a single pixel
        ((1, 50), "media.too_small"),  # one pixel wide
        ((400, 4), "media.bad_aspect"),  # 100:1 strip
        ((4, 400), "media.bad_aspect"),  # the same, standing up
    ],
)
def test_degenerate_geometry(size, key):
    with pytest.raises(InvalidInput) as caught:
        load_image(image_bytes(size))
    assert caught.value.key == key


def test_exif_orientation_is_applied():
    picture = Image.new("RGB", (80, 40), "blue")
    exif = picture.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif)
    media = load_image(buffer.getvalue())
    assert (media.width, media.height) == (40, 80)


def test_rgba_is_composited_onto_white():
    picture = Image.new("RGBA", (10, 10), (255, 0, 0, 0))  # fully transparent red
    picture.putpixel((0, 0), (255, 0, 0, 255))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    media = load_image(buffer.getvalue())
    assert media.source_mode == "RGBA"
    assert media.image.getpixel((5, 5)) == (255, 255, 255)
    assert media.image.getpixel((0, 0)) == (255, 0, 0)


def test_palette_with_transparency_is_composited_onto_white():
    picture = Image.new("P", (8, 8), 0)
    picture.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    picture.putpixel((1, 1), 1)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", transparency=0)
    media = load_image(buffer.getvalue())
    assert media.image.getpixel((0, 0)) == (255, 255, 255)
    assert media.image.getpixel((1, 1)) == (255, 0, 0)


def test_cmyk_jpeg_becomes_rgb():
    buffer = io.BytesIO()
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(buffer, "JPEG", quality=95)
    media = load_image(buffer.getvalue())
    assert media.source_mode == "CMYK"
    red, green, blue = media.image.getpixel((8, 8))
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_png_is_scaled_not_clipped():
    values = np.full((8, 8), 32896, dtype=np.uint16)  # about half of 65535
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, "PNG")
    media = load_image(buffer.getvalue())
    assert media.source_mode.startswith("I")
    assert media.image.getpixel((0, 0)) == (128, 128, 128)


@pytest.mark.parametrize("mode", ["L", "LA", "1", "RGB", "I", "F"])
def test_to_rgb_handles_modes(mode):
    assert to_rgb(Image.new(mode, (4, 4))).mode == "RGB"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0" + b"\x00" * 12, "JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, "PNG"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "WEBP"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", None),
        (b"", None),
    ],
)
def test_sniff(head, expected):
    assert sniff_image_format(head) == expected
