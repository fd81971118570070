"""Draw detections on an image with OpenCV, and export the annotated PNG and the JSON report."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np
from PIL import Image

from core.grounding import Detection

# Distinct, saturated colours (RGB) that stay visible on light and dark backgrounds alike.
PALETTE = (
    (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 190), (0, 128, 128),
)  # fmt: skip


def colour_for(label: str) -> tuple[int, int, int]:
    """The same label always gets the same colour."""
    digest = hashlib.md5(label.lower().encode("utf-8"), usedforsecurity=False).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def line_width(width: int, height: int) -> int:
    return max(2, round(max(width, height) / 400))


def annotate(
    image: Image.Image,
    detections: Sequence[Detection],
    colour_of: Callable[[Detection], tuple[int, int, int]] | None = None,
) -> Image.Image:
    """A copy of ``image`` with each box, its label and score; text sits on a filled tag to stay readable.

    Boxes take their label's colour unless ``colour_of`` picks one (RGB) per detection.
    """
    import cv2

    canvas = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    thickness = line_width(image.width, image.height)
    font_scale = max(0.4, thickness / 3)
    for detection in detections:
        box = detection.box
        colour = (colour_of(detection) if colour_of else colour_for(detection.label))[::-1]  # OpenCV draws in BGR
        cv2.rectangle(canvas, (box.x1, box.y1), (box.x2 - 1, box.y2 - 1), colour, thickness)
        text = detection.label if detection.score is None else f"{detection.label} {detection.score:.2f}"
        if not text:
            continue
        (text_w, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, max(1, thickness // 2))
        top = box.y1 - text_h - baseline - thickness if box.y1 - text_h - baseline - thickness >= 0 else box.y1
        cv2.rectangle(canvas, (box.x1, top), (box.x1 + text_w + 2 * thickness, top + text_h + baseline + thickness),
                      colour, cv2.FILLED)  # fmt: skip
        luminance = 0.299 * colour[2] + 0.587 * colour[1] + 0.114 * colour[0]
        ink = (0, 0, 0) if luminance > 140 else (255, 255, 255)
        cv2.putText(canvas, text, (box.x1 + thickness, top + text_h + thickness // 2), cv2.FONT_HERSHEY_SIMPLEX,
                    font_scale, ink, max(1, thickness // 2), cv2.LINE_AA)  # fmt: skip
    return Image.fromarray(canvas[:, :, ::-1])


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def report(
    *,
    image_name: str,
    width: int,
    height: int,
    model: str,
    query: str,
    detections: Sequence[Detection],
    raw_output: str,
    elapsed_s: float,
    created_at: datetime | None = None,
) -> dict[str, object]:
    """The JSON report: image, model, query, detections in original pixels, the raw model text, timing."""
    return {
        "image": {"name": image_name, "width": width, "height": height},
        "model": model,
        "query": query,
        "detections": [{"label": d.label, "box": list(d.box.as_tuple()), "score": d.score} for d in detections],
        "raw_output": raw_output,
        "elapsed_s": round(elapsed_s, 3),
        "created_at": (created_at or datetime.now(UTC)).isoformat(timespec="seconds"),
    }


def report_json(data: dict[str, object]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
