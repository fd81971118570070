"""Florence-2: one task token per request (``<OCR>``, ``<CAPTION_TO_PHRASE_GROUNDING>cat`` ...), no chat.

Its answers put coordinates in ``<loc_N>`` tokens, so grounding requests keep special tokens.
"""

from __future__ import annotations

from core.engines.hf import PreparedInputs, TransformersEngine
from core.engines.types import GenerationRequest


class Florence2Engine(TransformersEngine):
    family = "florence2"

    def build_inputs(self, request: GenerationRequest) -> PreparedInputs:
        task = request.messages[-1].text
        images = [image for message in request.messages for image in message.images]
        if not images:
            raise ValueError("Florence-2 needs an image with every request")
        tensors = self._processor(text=task, images=images[0], return_tensors="pt")
        return PreparedInputs(self._move(tensors), 1, images[0].size)
