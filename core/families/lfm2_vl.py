"""LFM2-VL (Liquid AI): fast small chat models (450M, 1.6B) on a hybrid convolution + attention decoder.

Format facts and where they come from:
- Classes: transformers' ``models/lfm2_vl`` (``Lfm2VlForConditionalGeneration``, ``Lfm2VlProcessor``,
  ``Lfm2VlImageProcessor``): a SigLIP2 NaFlex encoder on 16 px patches, pixel-unshuffled by 2; a large picture
  is cut into 512 px tiles (2 to 10) plus a thumbnail, each tile 64-256 tokens, as the processor's defaults
  and transformers' LFM2-VL page give them. The tile budget maps onto ``max_tiles``.
- Prompt: ChatML turns after ``<|startoftext|>``, the picture as ``<image>`` (the model card's template).
- Licence: the LFM Open License v1.0 (the model card), not an OSI licence, so the picker shows it.
- No grounding format is documented for it, so it is not offered for detection.
"""

from __future__ import annotations

from typing import Any

from core.engines.hf import ChatTemplateEngine
from core.engines.types import Capability, GenerationRequest, ModelCard
from core.families.base import MAX_IMAGES, Family
from core.settings import Settings

ABILITIES = frozenset({Capability.CHAT, Capability.OCR, Capability.REGION})
LICENCE = "LFM Open License v1.0"
MIN_TILES = 2  # the processor splits a picture into at least this many tiles when it splits at all


class Lfm2VlEngine(ChatTemplateEngine):
    family = "lfm2_vl"

    def _image_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        if not request.max_tiles:
            return {}
        if request.max_tiles < MIN_TILES:
            return {"do_image_splitting": False}  # one pass over the picture, resized
        return {"max_tiles": request.max_tiles}


class Lfm2Vl(Family):
    max_images = MAX_IMAGES
    name = "lfm2_vl"
    model_types = ("lfm2_vl",)
    name_hints = ("lfm2-vl", "lfm2_vl", "lfm2.5-vl")
    abilities = ABILITIES
    catalogue = (
        ModelCard("LiquidAI/LFM2-VL-450M", name, "LFM2-VL 450M", 450, ABILITIES, tile_px=512, licence=LICENCE),
        ModelCard("LiquidAI/LFM2-VL-1.6B", name, "LFM2-VL 1.6B", 1600, ABILITIES, tile_px=512, licence=LICENCE),
    )

    def engine(self, card: ModelCard, settings: Settings) -> Lfm2VlEngine:
        return Lfm2VlEngine(card, settings)

    def card_for(self, model_id: str, title: str) -> ModelCard:
        return ModelCard(model_id, self.name, title, None, self.abilities, tile_px=512, licence=LICENCE)


FAMILY = Lfm2Vl()
