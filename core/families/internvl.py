"""InternVL (native ``-HF`` checkpoints): tiles like SmolVLM, grounds as ``<ref>label</ref><box>[[...]]</box>``.

Its boxes are normalised to 0-1000 on each axis of the original image.
"""

from __future__ import annotations

import re
from typing import Any

from core.engines.hf import ChatTemplateEngine
from core.engines.types import Capability, GenerationRequest, ModelCard
from core.families.base import MAX_IMAGES, Family
from core.grounding import Detection, deduplicate, to_box
from core.settings import Settings

ABILITIES = frozenset({Capability.CHAT, Capability.OCR, Capability.REGION, Capability.GROUNDING})


class InternVLEngine(ChatTemplateEngine):
    family = "internvl"

    def _image_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        # InternVL cuts the image into up to max_patches tiles plus a thumbnail, like SmolVLM's budget.
        return {"max_patches": request.max_tiles} if request.max_tiles else {}


_ANSWER = re.compile(r"(?:<ref>(.*?)</ref>\s*)?<box>\s*(\[.*?)(?:</box>|$)", re.DOTALL)
_QUAD = re.compile(r"\[\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\]")


def parse_internvl(text: str, width: int, height: int, default_label: str = "") -> list[Detection]:
    detections = []
    for label, boxes in _ANSWER.findall(text):
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


class InternVL(Family):
    max_images = MAX_IMAGES
    name = "internvl"
    model_types = ("internvl",)
    name_hints = ("internvl",)
    abilities = ABILITIES
    catalogue = (ModelCard("OpenGVLab/InternVL3_5-1B-HF", name, "InternVL3.5 1B", 1060, ABILITIES),)

    def engine(self, card: ModelCard, settings: Settings) -> InternVLEngine:
        return InternVLEngine(card, settings)

    def grounding_prompt(self, phrase: str) -> str:
        return f"Please provide the bounding box coordinate of the region this sentence describes: <ref>{phrase}</ref>"

    def parse_grounding(
        self, text: str, phrase: str, image_size: tuple[int, int], input_size: tuple[int, int] | None
    ) -> list[Detection]:
        return parse_internvl(text, *image_size, default_label=phrase)


FAMILY = InternVL()
