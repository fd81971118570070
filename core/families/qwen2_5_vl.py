"""Qwen2.5-VL: chat-template model that grounds phrases as JSON ``bbox_2d`` lists.

Its processor resizes every image to a pixel count between min and max pixels; the cap keeps memory
and latency bounded. Boxes come in ABSOLUTE pixels of that resized input, so the size it actually
used travels with the answer and the parser scales back to the original image.
"""

from __future__ import annotations

import math
from typing import Any

from PIL import Image

from core.engines.hf import PixelBudgetEngine
from core.engines.remote import RemoteImage
from core.engines.types import Capability, ModelCard
from core.families.base import MAX_IMAGES, Family
from core.grounding import Detection, deduplicate, json_objects, numbers, to_box
from core.settings import Settings

ABILITIES = frozenset({Capability.CHAT, Capability.OCR, Capability.REGION, Capability.GROUNDING})
# About a megapixel: 1280 patches of 28 x 28 px, the cap the model card suggests for small GPUs.
QWEN_MAX_PIXELS = 1280 * 28 * 28


class Qwen25VLEngine(PixelBudgetEngine):
    family = "qwen2_5_vl"
    max_pixels = QWEN_MAX_PIXELS  # the processor's own bound, lowered to this

    def _input_size(self, tensors: Any) -> tuple[int, int] | None:
        patch = int(getattr(self._processor.image_processor, "patch_size", 14))
        _, rows, columns = (int(value) for value in tensors["image_grid_thw"][0])
        return columns * patch, rows * patch


def parse_qwen(
    text: str, input_width: int, input_height: int, width: int, height: int, default_label: str = ""
) -> list[Detection]:
    """``input_*`` is the size the processor actually fed the model (``image_grid_thw`` x 14)."""
    scale_x, scale_y = width / input_width, height / input_height
    detections = []
    for item in json_objects(text):
        coordinates = numbers(item.get("bbox_2d", item.get("bbox")))
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


QWEN_FACTOR = 28  # patch 14 x merge 2
QWEN_MIN_PIXELS = 56 * 56


def qwen_input_size(width: int, height: int, max_pixels: int = QWEN_MAX_PIXELS) -> tuple[int, int]:
    """The size Qwen2.5-VL's processor gives an image: sides in whole 28 px units, pixels within bounds."""
    factor = QWEN_FACTOR
    new_width, new_height = (max(factor, round(side / factor) * factor) for side in (width, height))
    if new_width * new_height > max_pixels:
        beta = math.sqrt(width * height / max_pixels)
        new_width = max(factor, math.floor(width / beta / factor) * factor)
        new_height = max(factor, math.floor(height / beta / factor) * factor)
    elif new_width * new_height < QWEN_MIN_PIXELS:
        beta = math.sqrt(QWEN_MIN_PIXELS / (width * height))
        new_width, new_height = (math.ceil(side * beta / factor) * factor for side in (width, height))
    return new_width, new_height


class Qwen25VL(Family):
    max_images = MAX_IMAGES
    name = "qwen2_5_vl"
    model_types = ("qwen2_5_vl",)
    name_hints = ("qwen2.5-vl",)
    abilities = ABILITIES
    catalogue = (ModelCard("Qwen/Qwen2.5-VL-3B-Instruct", name, "Qwen2.5-VL 3B", 3750, ABILITIES),)

    def engine(self, card: ModelCard, settings: Settings) -> Qwen25VLEngine:
        return Qwen25VLEngine(card, settings)

    def remote_image(self, image: Image.Image, max_tiles: int | None, card: ModelCard) -> RemoteImage:
        """Already at the size the server's processor keeps, so boxes in its pixels scale back exactly."""
        size = qwen_input_size(image.width, image.height)
        picture = image if image.size == size else image.resize(size, Image.Resampling.BICUBIC)
        return RemoteImage(picture, size)

    def grounding_prompt(self, phrase: str) -> str:
        return (
            f'Locate every instance of "{phrase}" in the image. Report the bounding boxes in JSON: '
            f'[{{"bbox_2d": [x1, y1, x2, y2], "label": "{phrase}"}}]. Answer [] if there is none.'
        )

    def parse_grounding(
        self, text: str, phrase: str, image_size: tuple[int, int], input_size: tuple[int, int] | None
    ) -> list[Detection]:
        width, height = image_size
        input_width, input_height = input_size or image_size
        return parse_qwen(text, input_width, input_height, width, height, default_label=phrase)


FAMILY = Qwen25VL()
