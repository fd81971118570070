"""One box type in ORIGINAL image pixels, and the pure conversions into and out of it.

A box is ``x1, y1, x2, y2`` with ``x1 < x2`` and ``y1 < y2``, measured on pixel edges of the image
the user uploaded (0 .. width, 0 .. height), whatever size it is shown at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from core.media import InvalidInput
from core.user_text import echo

MIN_BOX_SIDE = 4
_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+[.,][0-9]*|[.,][0-9]+)")
# Fabric's origin names -> share of the object's size between its anchor and its left/top edge.
_ORIGIN_SHARE = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}


@dataclass(frozen=True)
class Box:
    x1: int
    y1: int
    x2: int
    y2: int

    def __post_init__(self) -> None:
        if not (self.x1 < self.x2 and self.y1 < self.y2):
            raise ValueError(f"a box needs x1 < x2 and y1 < y2, got {self.as_text()}")

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1

    def as_text(self) -> str:
        return f"{self.x1},{self.y1},{self.x2},{self.y2}"

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x1, self.y1, self.x2, self.y2)


def parse_box(text: str | None, image_width: int, image_height: int, min_side: int = MIN_BOX_SIDE) -> Box:
    """Parse ``x1,y1,x2,y2`` strictly; every kind of mistake raises :class:`InvalidInput` with its own key."""
    raw = (text or "").strip()
    if not raw:
        raise InvalidInput("region.empty")
    parts = [part.strip() for part in raw.split(",")]
    if len(parts) != 4 or any(not part for part in parts):
        raise InvalidInput("region.count", found=len([part for part in parts if part]))
    numbers = [_coordinate(part) for part in parts]
    x1, y1, x2, y2 = numbers
    if min(numbers) < 0:
        raise InvalidInput("region.negative")
    if x1 >= x2 or y1 >= y2:
        raise InvalidInput("region.order")
    if x2 > image_width or y2 > image_height:
        raise InvalidInput("region.out_of_bounds", width=image_width, height=image_height)
    if x2 - x1 < min_side or y2 - y1 < min_side:
        raise InvalidInput("region.too_small", min_side=min_side)
    return Box(x1, y1, x2, y2)


def _coordinate(part: str) -> int:
    """One typed coordinate: a plain integer, or the mistake it is (other digits, a fraction, not a number)."""
    if _INTEGER.fullmatch(part):
        return int(part)
    if any(char.isdigit() and not ("0" <= char <= "9") for char in part):
        raise InvalidInput("region.unicode_digits", value=echo(part))
    if _FLOAT.fullmatch(part):
        raise InvalidInput("region.float", value=echo(part))
    raise InvalidInput("region.not_number", value=echo(part))


@dataclass(frozen=True)
class CanvasFit:
    """How the background picture sits on the canvas: canvas px = natural px x scale + offset.

    ``natural_*`` is the size of the picture given to the canvas (often a downscaled copy of the image).
    """

    natural_width: float
    natural_height: float
    scale_x: float
    scale_y: float
    offset_x: float = 0.0
    offset_y: float = 0.0

    @classmethod
    def contain(
        cls, canvas_width: float, canvas_height: float, natural_width: float, natural_height: float
    ) -> CanvasFit:
        """The fit a ``contain`` background gets: aspect kept, centred."""
        scale = min(canvas_width / natural_width, canvas_height / natural_height)
        return cls(
            natural_width,
            natural_height,
            scale,
            scale,
            (canvas_width - natural_width * scale) / 2,
            (canvas_height - natural_height * scale) / 2,
        )

    @classmethod
    def from_component(cls, fit: Mapping[str, float]) -> CanvasFit:
        """From streamlit-drawable-canvas's ``background_fit`` dict."""
        return cls(
            fit["natural_width"],
            fit["natural_height"],
            fit["scale_x"],
            fit["scale_y"],
            fit["offset_x"],
            fit["offset_y"],
        )


def canvas_rect_to_box(rect: Mapping[str, object], fit: CanvasFit, image_width: int, image_height: int) -> Box | None:
    """A Fabric rect (canvas pixels, possibly scaled or moved after drawing) as a box in original pixels.

    The rect is clipped to the image; None when nothing of it lies on the image.
    """
    scale_x = float(rect.get("scaleX", 1) or 1)  # type: ignore[arg-type]
    scale_y = float(rect.get("scaleY", 1) or 1)  # type: ignore[arg-type]
    width = float(rect.get("width", 0)) * scale_x  # type: ignore[arg-type]
    height = float(rect.get("height", 0)) * scale_y  # type: ignore[arg-type]
    left = float(rect.get("left", 0)) - _ORIGIN_SHARE.get(str(rect.get("originX", "left")), 0.0) * width  # type: ignore[arg-type]
    top = float(rect.get("top", 0)) - _ORIGIN_SHARE.get(str(rect.get("originY", "top")), 0.0) * height  # type: ignore[arg-type]
    if width < 0:  # dragged leftwards
        left, width = left + width, -width
    if height < 0:
        top, height = top + height, -height

    to_image_x = image_width / fit.natural_width
    to_image_y = image_height / fit.natural_height
    x1 = (left - fit.offset_x) / fit.scale_x * to_image_x
    y1 = (top - fit.offset_y) / fit.scale_y * to_image_y
    x2 = (left + width - fit.offset_x) / fit.scale_x * to_image_x
    y2 = (top + height - fit.offset_y) / fit.scale_y * to_image_y
    clipped = (
        max(0, min(image_width, round(x1))),
        max(0, min(image_height, round(y1))),
        max(0, min(image_width, round(x2))),
        max(0, min(image_height, round(y2))),
    )
    if clipped[0] >= clipped[2] or clipped[1] >= clipped[3]:
        return None
    return Box(*clipped)


def box_to_canvas_rect(box: Box, fit: CanvasFit, image_width: int, image_height: int) -> dict[str, float]:
    """The inverse of :func:`canvas_rect_to_box`: where a box in original pixels lies on the canvas."""
    to_natural_x = fit.natural_width / image_width
    to_natural_y = fit.natural_height / image_height
    left = box.x1 * to_natural_x * fit.scale_x + fit.offset_x
    top = box.y1 * to_natural_y * fit.scale_y + fit.offset_y
    return {
        "left": left,
        "top": top,
        "width": box.width * to_natural_x * fit.scale_x,
        "height": box.height * to_natural_y * fit.scale_y,
    }


def crop_with_margin(box: Box, image_width: int, image_height: int, ratio: float = 0.15, minimum: int = 8) -> Box:
    """The box grown by a context margin on every side (``ratio`` of its size, at least ``minimum`` px)."""
    margin_x = max(minimum, round(box.width * ratio))
    margin_y = max(minimum, round(box.height * ratio))
    return Box(
        max(0, box.x1 - margin_x),
        max(0, box.y1 - margin_y),
        min(image_width, box.x2 + margin_x),
        min(image_height, box.y2 + margin_y),
    )
