"""Qwen3-VL: a chat-template model that reads text and grounds phrases as JSON ``bbox_2d`` lists.

Format facts and where they come from:
- The model class and processor are transformers' own (``models/qwen3_vl``: ``Qwen3VLForConditionalGeneration``,
  ``Qwen3VLProcessor``); images go through Qwen2-VL's image processor with 16 px patches merged 2 x 2, so the
  processor's ``size`` is a pixel count in 32 px units (``image_processing_qwen2_vl``, ``configuration_qwen3_vl``).
- Its boxes are RELATIVE, 0-1000 on each axis, whatever size the processor gave the image, unlike Qwen2.5-VL's
  absolute pixels of the resized input (the Qwen3-VL release notes and grounding cookbook; the project's
  DESIGN.md table). So the parser needs no input size, and a server may resize the picture freely.

- Video: the frames the app sampled go to its own video processor with their times (``video_kwargs``); the
  processor merges frames in pairs (temporal patch 2) and writes each pair's mean time as ``<t seconds>``
  before its tokens (``processing_qwen3_vl``).

Not here: prefix reuse for follow-ups. Its M-RoPE positions of the text after a picture depend on the
picture's grid (``get_rope_index``), and the cached prefix path re-enters ``generate`` with positions counted
from the cache length, so the follow-up's positions would differ from a full run's; until the prefix path
carries the rope deltas, every turn runs the whole prompt.
"""

from __future__ import annotations

from typing import Any

from core.engines.types import Capability, ModelCard
from core.families.base import MAX_IMAGES, Family
from core.families.qwen2_5_vl import Qwen25VLEngine, parse_qwen
from core.grounding import Detection
from core.settings import Settings

ABILITIES = frozenset({Capability.CHAT, Capability.OCR, Capability.REGION, Capability.GROUNDING, Capability.VIDEO})
SCALE = 1000  # boxes are thousandths of the image's width and height
# About a megapixel on a CPU (1024 visual tokens of 32 x 32 px): the same bound as for Qwen2.5-VL.
MAX_PIXELS = 1024 * 32 * 32


class Qwen3VLEngine(Qwen25VLEngine):
    """Qwen2.5-VL's inputs (same image processor, same pixel bound on 32 px units), and no input size:
    its boxes do not depend on it."""

    family = "qwen3_vl"
    max_pixels = MAX_PIXELS
    takes_video = True

    def _input_size(self, tensors: Any) -> tuple[int, int] | None:
        return None


def parse_relative_boxes(text: str, width: int, height: int, default_label: str = "") -> list[Detection]:
    """``bbox_2d`` lists in 0-1000 -> detections in pixels of a ``width`` x ``height`` image.

    Qwen2.5-VL's parser with a 1000 x 1000 "input": the same forgiving reading of fenced, wrapped or
    cut-off JSON, the same clipping and dropping of degenerate boxes.
    """
    return parse_qwen(text, SCALE, SCALE, width, height, default_label=default_label)


class Qwen3VL(Family):
    max_images = MAX_IMAGES
    name = "qwen3_vl"
    model_types = ("qwen3_vl",)
    name_hints: tuple[str, ...] = ("qwen3-vl",)
    abilities = ABILITIES
    catalogue: tuple[ModelCard, ...] = (
        ModelCard("Qwen/Qwen3-VL-2B-Instruct", name, "Qwen3-VL 2B", 2000, ABILITIES),
        ModelCard("Qwen/Qwen3-VL-4B-Instruct", name, "Qwen3-VL 4B", 4000, ABILITIES),
    )

    def engine(self, card: ModelCard, settings: Settings) -> Qwen3VLEngine:
        return Qwen3VLEngine(card, settings)

    def grounding_prompt(self, phrase: str) -> str:
        return (
            f'Locate every instance of "{phrase}" in the image. Report the bounding boxes in JSON, with '
            f"coordinates relative to the image from 0 to 1000: "
            f'[{{"bbox_2d": [x1, y1, x2, y2], "label": "{phrase}"}}]. Answer [] if there is none.'
        )

    def parse_grounding(
        self, text: str, phrase: str, image_size: tuple[int, int], input_size: tuple[int, int] | None
    ) -> list[Detection]:
        width, height = image_size
        return parse_relative_boxes(text, width, height, default_label=phrase)


FAMILY = Qwen3VL()
