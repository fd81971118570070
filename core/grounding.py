"""Detections in ORIGINAL image pixels and the pure helpers every family's grounding parser shares.

The parsers themselves live with their family (``core.families``). Each is forgiving: truncated or
malformed output yields the boxes that can be read, garbage is skipped, boxes are clipped to the
image, degenerate ones dropped and duplicates removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.boxes import Box

MIN_SIDE_PX = 2
DUPLICATE_IOU = 0.9


@dataclass(frozen=True)
class Detection:
    label: str
    box: Box
    score: float | None = None


def iou(a: Box, b: Box) -> float:
    inter_w = min(a.x2, b.x2) - max(a.x1, b.x1)
    inter_h = min(a.y2, b.y2) - max(a.y1, b.y1)
    if inter_w <= 0 or inter_h <= 0:
        return 0.0
    inter = inter_w * inter_h
    return inter / (a.width * a.height + b.width * b.height - inter)


def to_box(x1: float, y1: float, x2: float, y2: float, width: int, height: int) -> Box | None:
    """Order, clip and round; None when less than ``MIN_SIDE_PX`` is left on a side."""
    left, right = sorted((x1, x2))
    top, bottom = sorted((y1, y2))
    left, right = max(0.0, min(width, left)), max(0.0, min(width, right))
    top, bottom = max(0.0, min(height, top)), max(0.0, min(height, bottom))
    box = (round(left), round(top), round(right), round(bottom))
    if box[2] - box[0] < MIN_SIDE_PX or box[3] - box[1] < MIN_SIDE_PX:
        return None
    return Box(*box)


def deduplicate(detections: list[Detection]) -> list[Detection]:
    """Drop a detection that repeats an earlier one of the same label (IoU above ``DUPLICATE_IOU``)."""
    kept: list[Detection] = []
    for detection in detections:
        if not any(k.label == detection.label and iou(k.box, detection.box) > DUPLICATE_IOU for k in kept):
            kept.append(detection)
    return kept


# --- helpers for JSON answers ---------------------------------------------------------------------


def json_objects(text: str) -> list[dict]:
    """The JSON objects in a model's answer, outermost first, repaired by ``json-repair``.

    The answer may be fenced, wrapped in prose, hold several objects or a list of them, or be cut
    off by the token limit: a truncated object keeps the fields it has.
    """
    import json_repair

    found = json_repair.loads(text)
    items = found if isinstance(found, list) else [found]
    return [item for item in items if isinstance(item, dict)]


def numbers(value: object) -> list[float] | None:
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        return None


def split_phrases(text: str) -> list[str]:
    """``"cat, red car"`` -> ``["cat", "red car"]``: trimmed, empty parts and repeats dropped."""
    seen: list[str] = []
    for part in re.split(r"[,;\n]", text or ""):
        phrase = " ".join(part.split())
        if phrase and phrase.lower() not in (p.lower() for p in seen):
            seen.append(phrase)
    return seen
