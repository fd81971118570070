"""Florence-2: one task token per request (``<OCR>``, ``<CAPTION_TO_PHRASE_GROUNDING>cat`` ...), no chat.

Coordinates come and go as ``<loc_N>`` tokens, 1000 bins per axis of the original image, so grounding
requests keep special tokens in the decoded answer.
"""

from __future__ import annotations

import re

from core.boxes import Box
from core.engines.hf import PreparedInputs, TransformersEngine
from core.engines.types import Capability, GenerationRequest, ModelCard
from core.families.base import Family
from core.grounding import Detection, deduplicate, to_box
from core.settings import Settings

ABILITIES = frozenset({Capability.OCR, Capability.REGION, Capability.GROUNDING})


class Florence2Engine(TransformersEngine):
    family = "florence2"

    def build_inputs(self, request: GenerationRequest) -> PreparedInputs:
        task = request.messages[-1].text
        images = [image for message in request.messages for image in message.images]
        if not images:
            raise ValueError("Florence-2 needs an image with every request")
        tensors = self._processor(text=task, images=images[0], return_tensors="pt")
        return PreparedInputs(self._move(tensors), 1, images[0].size)


_PHRASE = re.compile(r"([^<>]*?)((?:<loc_\d{1,4}>){4,})")
_LOCATION = re.compile(r"<loc_(\d{1,4})>")


def _coordinate(bin_index: int, size: int) -> float:
    return (min(bin_index, 999) + 0.5) / 1000 * size


def parse_florence(text: str, width: int, height: int, default_label: str = "") -> list[Detection]:
    cleaned = re.sub(r"</?s>|<pad>|<od>|</od>", "", text)
    detections: list[Detection] = []
    for phrase, locations in _PHRASE.findall(cleaned):
        label = phrase.strip() or default_label
        bins = [int(value) for value in _LOCATION.findall(locations)]
        for start in range(0, len(bins) - 3, 4):
            x1, y1, x2, y2 = bins[start : start + 4]
            box = to_box(
                _coordinate(x1, width), _coordinate(y1, height), _coordinate(x2, width), _coordinate(y2, height),
                width, height,
            )  # fmt: skip
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


class Florence2(Family):
    name = "florence2"
    model_types = ("florence2",)
    name_hints = ("florence-2",)
    abilities = ABILITIES
    catalogue = (
        ModelCard("florence-community/Florence-2-base", name, "Florence-2 base", 230, ABILITIES),
        ModelCard("florence-community/Florence-2-large", name, "Florence-2 large", 770, ABILITIES),
    )

    def engine(self, card: ModelCard, settings: Settings) -> Florence2Engine:
        return Florence2Engine(card, settings)

    def ocr_prompt(self, language_hint: str = "auto", element: str = "text") -> str:
        super().ocr_prompt(language_hint, element)  # the same checks of the hint and the element
        return "<OCR>"  # a bare task token: nothing may be added to it, not even a language hint

    def native_region_prompt(self, box: Box, width: int, height: int) -> str | None:
        return "<REGION_TO_DESCRIPTION>" + florence_region(box, width, height)

    def grounding_prompt(self, phrase: str) -> str:
        return f"<CAPTION_TO_PHRASE_GROUNDING>{phrase}"

    def parse_grounding(
        self, text: str, phrase: str, image_size: tuple[int, int], input_size: tuple[int, int] | None
    ) -> list[Detection]:
        return parse_florence(text, *image_size, default_label=phrase)


FAMILY = Florence2()
