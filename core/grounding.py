"""Grounding output of each model family, turned into detections in ORIGINAL image pixels.

Every parser is pure and forgiving: truncated or malformed output yields the boxes that can be read,
garbage is skipped, boxes are clipped to the image, degenerate ones dropped and duplicates removed.
"""

from __future__ import annotations

import json
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


# --- Florence-2: "label<loc_x1><loc_y1><loc_x2><loc_y2>..." with 1000 bins per axis ---------------------
_FLORENCE_PHRASE = re.compile(r"([^<>]*?)((?:<loc_\d{1,4}>){4,})")
_FLORENCE_LOC = re.compile(r"<loc_(\d{1,4})>")


def _florence_coordinate(bin_index: int, size: int) -> float:
    return (min(bin_index, 999) + 0.5) / 1000 * size


def parse_florence(text: str, width: int, height: int, default_label: str = "") -> list[Detection]:
    cleaned = re.sub(r"</?s>|<pad>|<od>|</od>", "", text)
    detections: list[Detection] = []
    for phrase, locations in _FLORENCE_PHRASE.findall(cleaned):
        label = phrase.strip() or default_label
        bins = [int(value) for value in _FLORENCE_LOC.findall(locations)]
        for start in range(0, len(bins) - 3, 4):
            x1, y1, x2, y2 = bins[start : start + 4]
            box = to_box(
                _florence_coordinate(x1, width),
                _florence_coordinate(y1, height),
                _florence_coordinate(x2, width),
                _florence_coordinate(y2, height),
                width,
                height,
            )
            if box is not None:
                detections.append(Detection(label, box))
    return deduplicate(detections)


def florence_region(box: Box, width: int, height: int) -> str:
    """A box in original pixels as Florence-2's four location tokens (the bin that holds each edge)."""

    def to_bin(value: int, size: int) -> int:
        return max(0, min(999, int(value / size * 1000)))

    return "".join(
        f"<loc_{to_bin(v, s)}>" for v, s in ((box.x1, width), (box.y1, height), (box.x2, width), (box.y2, height))
    )


# --- Qwen2.5-VL: JSON list of {"bbox_2d": [x1, y1, x2, y2], "label": ...} in pixels of the resized input ---
_OBJECT = re.compile(r"\{[^{}]*\}")


def json_objects(text: str) -> list[dict]:
    """Every complete JSON object in ``text``: the list may be fenced, truncated or surrounded by prose."""
    body = re.sub(r"```(?:json)?", "", text)
    try:
        parsed = json.loads(body.strip())
        if isinstance(parsed, dict):
            return [parsed]
        if isinstance(parsed, list):
            return [item for item in parsed if isinstance(item, dict)]
    except ValueError:
        pass
    objects = []
    for match in _OBJECT.finditer(body):
        try:
            item = json.loads(match.group(0))
        except ValueError:
            continue
        if isinstance(item, dict):
            objects.append(item)
    return objects


def _numbers(value: object) -> list[float] | None:
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        return None


def parse_qwen(
    text: str, input_width: int, input_height: int, width: int, height: int, default_label: str = ""
) -> list[Detection]:
    """``input_*`` is the size the processor actually fed the model (``image_grid_thw`` x 14)."""
    scale_x, scale_y = width / input_width, height / input_height
    detections = []
    for item in json_objects(text):
        coordinates = _numbers(item.get("bbox_2d", item.get("bbox")))
        if coordinates is None:
            continue
        x1, y1, x2, y2 = coordinates
        box = to_box(x1 * scale_x, y1 * scale_y, x2 * scale_x, y2 * scale_y, width, height)
        if box is None:
            continue
        label = str(item.get("label") or default_label).strip()
        score = item.get("score")
        detections.append(Detection(label, box, float(score) if isinstance(score, int | float) else None))
    return deduplicate(detections)


# --- InternVL: <ref>label</ref><box>[[x1, y1, x2, y2], ...]</box>, 0-1000 normalised ---------------------
_INTERNVL = re.compile(r"(?:<ref>(.*?)</ref>\s*)?<box>\s*(\[.*?)(?:</box>|$)", re.DOTALL)
_QUAD = re.compile(r"\[\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\]")


def parse_internvl(text: str, width: int, height: int, default_label: str = "") -> list[Detection]:
    detections = []
    for label, boxes in _INTERNVL.findall(text):
        for x1, y1, x2, y2 in _QUAD.findall(boxes):
            box = to_box(
                float(x1) / 1000 * width,
                float(y1) / 1000 * height,
                float(x2) / 1000 * width,
                float(y2) / 1000 * height,
                width,
                height,
            )
            if box is not None:
                detections.append(Detection((label or default_label).strip(), box))
    return deduplicate(detections)


def split_phrases(text: str) -> list[str]:
    """``"cat, red car"`` -> ``["cat", "red car"]``: trimmed, empty parts and repeats dropped."""
    seen: list[str] = []
    for part in re.split(r"[,;\n]", text or ""):
        phrase = " ".join(part.split())
        if phrase and phrase.lower() not in (p.lower() for p in seen):
            seen.append(phrase)
    return seen
