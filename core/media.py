"""Sniff, validate and normalise uploaded images into plain RGB pictures the models can take.

Every rejection raises :class:`InvalidInput` with a message key and parameters; the UI turns the key
into text in the user's language, so this module stays free of UI concerns.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

# Decide the format from the first bytes, never from the file name.
_SIGNATURES: tuple[tuple[str, bytes, int], ...] = (
    ("JPEG", b"\xff\xd8\xff", 0),
    ("PNG", b"\x89PNG\r\n\x1a\n", 0),
    ("WEBP", b"WEBP", 8),
)
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP")


class InvalidInput(ValueError):
    """A file the app refuses; ``key`` names the reason, ``params`` fill the translated message."""

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(f"{key}: {params}" if params else key)


@dataclass(frozen=True)
class MediaLimits:
    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 60_000_000  # about 7700 x 7700; above this Pillow's decode alone costs gigabytes
    min_side: int = 2
    max_aspect_ratio: float = 20.0


@dataclass(frozen=True)
class NormalizedImage:
    """The upload after normalisation: what every page works on."""

    image: Image.Image
    name: str
    source_format: str
    source_mode: str
    digest: str

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


def sniff_image_format(head: bytes) -> str | None:
    for name, magic, offset in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            if name == "WEBP" and head[:4] != b"RIFF":
                continue
            return name
    return None


def check_size(data: bytes, max_bytes: int) -> None:
    """Refuse an empty upload or one over the limit (every kind of upload goes through here)."""
    if not data:
        raise InvalidInput("media.empty")
    if len(data) > max_bytes:
        raise InvalidInput("media.too_large", size_mb=round(len(data) / 2**20, 1), limit_mb=round(max_bytes / 2**20))


def load_image(data: bytes, name: str = "image", limits: MediaLimits | None = None) -> NormalizedImage:
    """Validate ``data`` and return an upright RGB copy; raise :class:`InvalidInput` otherwise."""
    limits = limits or MediaLimits()
    check_size(data, limits.max_bytes)
    detected = sniff_image_format(data[:16])
    if detected is None:
        raise InvalidInput("media.unsupported_format", allowed="JPEG, PNG, WebP")

    try:
        with warnings.catch_warnings():
            # Pillow only warns between max_pixels and 2x; treat the warning as the error it should be.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data), formats=[detected])
            width, height = picture.size
            check_geometry(width, height, limits)
            picture.load()
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput("media.too_many_pixels", limit_mp=limits.max_pixels // 1_000_000) from None
    except (OSError, SyntaxError, ValueError) as error:
        if "truncated" in str(error).lower():
            raise InvalidInput("media.truncated") from None
        raise InvalidInput("media.corrupt") from None

    source_mode = picture.mode
    upright = ImageOps.exif_transpose(picture) or picture
    rgb = to_rgb(upright)
    check_geometry(rgb.width, rgb.height, limits)
    return NormalizedImage(
        image=rgb,
        name=name,
        source_format=detected,
        source_mode=source_mode,
        digest=hashlib.sha256(data).hexdigest()[:16],
    )


def check_geometry(width: int, height: int, limits: MediaLimits) -> None:
    if width * height > limits.max_pixels:
        raise InvalidInput("media.too_many_pixels", limit_mp=limits.max_pixels // 1_000_000)
    if min(width, height) < limits.min_side:
        raise InvalidInput("media.too_small", width=width, height=height, min_side=limits.min_side)
    if max(width, height) / min(width, height) > limits.max_aspect_ratio:
        raise InvalidInput("media.bad_aspect", width=width, height=height, max_ratio=int(limits.max_aspect_ratio))


def to_rgb(picture: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB: transparency onto white, 16-bit scaled, CMYK through Pillow."""
    mode = picture.mode
    if mode == "RGB":
        return picture.copy()
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _wide_gray_to_rgb(picture)
    if mode == "P":
        picture = picture.convert("RGBA" if "transparency" in picture.info else "RGB")
        if picture.mode == "RGB":
            return picture
    if mode in ("LA", "PA", "La", "RGBa"):
        picture = picture.convert("RGBA")
    if picture.mode == "L" and "transparency" in picture.info:
        picture = picture.convert("RGBA")
    if picture.mode == "RGBA":
        background = Image.new("RGB", picture.size, (255, 255, 255))
        background.paste(picture, mask=picture.getchannel("A"))
        return background
    return picture.convert("RGB")


def _wide_gray_to_rgb(picture: Image.Image) -> Image.Image:
    values = np.asarray(picture, dtype=np.float64)
    if picture.mode.startswith("I;16"):
        scaled = values / 257.0
    else:
        # 32-bit int or float: stretch the range actually used; a flat image becomes mid grey.
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255.0 if high > low else np.full_like(values, 128.0)
    gray = Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))
    return gray.convert("RGB")
