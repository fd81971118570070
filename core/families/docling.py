"""Document converters: Granite-Docling and SmolDocling, Idefics3 models that write DocTags.

They run through the same transformers path as SmolVLM, but with their own processor settings
(512 px tiles, 64 image tokens per tile, up to 2048 px) as their checkpoints save them, their own
prompt, and an answer decoded with its special tokens: DocTags are special tokens in their vocabulary.
They convert pages and do nothing else, so they are not offered as a session's chat model.
"""

from __future__ import annotations

from typing import Any

from core.engines.hf import PreparedInputs, TransformersEngine, chat_conversation
from core.engines.types import Capability, GenerationRequest, ModelCard
from core.families.base import Family
from core.settings import DEFAULT_DOCLING_MODEL, Settings

ABILITIES = frozenset({Capability.CONVERT})
CONVERT_PROMPT = "Convert this page to docling."
GRANITE_DOCLING_ID = DEFAULT_DOCLING_MODEL


class DoclingEngine(TransformersEngine):
    family = "docling"

    def build_inputs(self, request: GenerationRequest) -> PreparedInputs:
        """The checkpoint's chat template and processor as saved: no tile budget of ours is applied."""
        conversation, images, clips = chat_conversation(request)
        if clips or len(images) != 1:
            raise ValueError(f"{self.card.title} converts one page image at a time")
        prompt = self._processor.apply_chat_template(conversation, add_generation_prompt=True)
        tensors: Any = self._processor(text=[prompt], images=[images], return_tensors="pt")
        passes = int(tensors["pixel_values"].shape[1])  # tiles plus the whole-page view
        return PreparedInputs(self._move(tensors), passes)


class Docling(Family):
    name = "docling"
    # Their config.json says idefics3, like SmolVLM's older checkpoints; the name tells them apart.
    model_types = ("idefics3",)
    name_hints = ("docling",)
    abilities = ABILITIES
    in_picker = False  # chosen on the OCR page's structured output and in the Lab
    catalogue = (
        ModelCard(GRANITE_DOCLING_ID, name, "Granite-Docling 258M", 258, ABILITIES, 512),
        ModelCard("ds4sd/SmolDocling-256M-preview", name, "SmolDocling 256M (preview)", 256, ABILITIES, 512),
    )

    def engine(self, card: ModelCard, settings: Settings) -> DoclingEngine:
        return DoclingEngine(card, settings)

    def convert_prompt(self) -> str:
        return CONVERT_PROMPT  # both checkpoints' model cards use this instruction for a whole page


FAMILY = Docling()
