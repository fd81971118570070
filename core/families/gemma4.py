"""Gemma 4 (Google): small multimodal chat models (E2B, E4B: "effective" 2B and 4B with per-layer embeddings).

Format facts and where they come from:
- Classes: transformers' ``models/gemma4`` (``Gemma4ForConditionalGeneration``, ``Gemma4Processor`` with its image,
  video and audio front ends). A picture becomes a variable number of soft tokens (280 by default) from 16 px
  patches pooled 3 x 3, wrapped in ``<|image>`` … ``<image|>``; one encoder pass per picture.
- Prompt: turns ``<|turn>user\\n`` … ``<turn|>``, the picture as ``\\n\\n<|image|>\\n\\n`` inside the text, the
  answer after ``<|turn>model\\n``; with thinking off (the default) the template closes an empty thought
  channel ``<|channel>thought\\n<channel|>`` (the checkpoint's template, as llama.cpp keeps a copy of it).
- Video: the frames the app sampled, with their times, go to its video processor (``video_kwargs``), which
  writes each frame as ``mm:ss`` and its image tokens (``processing_gemma4``).
- No box format is documented for it, so it is not offered for detection.
"""

from __future__ import annotations

from core.engines.hf import ChatTemplateEngine
from core.engines.types import Capability, ModelCard
from core.families.base import MAX_IMAGES, THINKING_OFF, Family
from core.settings import Settings

ABILITIES = frozenset({Capability.CHAT, Capability.OCR, Capability.REGION, Capability.VIDEO})


class Gemma4Engine(ChatTemplateEngine):
    family = "gemma4"
    template_kwargs = THINKING_OFF
    takes_video = True


class Gemma4(Family):
    max_images = MAX_IMAGES
    chat_template_kwargs = THINKING_OFF
    name = "gemma4"
    model_types = ("gemma4",)
    name_hints = ("gemma-4", "gemma4")
    abilities = ABILITIES
    catalogue = (
        # effective parameters, as the names say; per-layer input embeddings come on top of them
        ModelCard("google/gemma-4-E2B-it", name, "Gemma 4 E2B", 2000, ABILITIES),
        ModelCard("google/gemma-4-E4B-it", name, "Gemma 4 E4B", 4000, ABILITIES),
    )

    def engine(self, card: ModelCard, settings: Settings) -> Gemma4Engine:
        return Gemma4Engine(card, settings)


FAMILY = Gemma4()
