"""Qwen2.5-VL and InternVL: chat-template models that take images with the conversation.

Qwen2.5-VL resizes every image to a pixel count between min and max pixels; the cap keeps memory and
latency bounded, and the size it actually used is reported because its boxes are in those pixels.
"""

from __future__ import annotations

from typing import Any

from core.engines.hf import PreparedInputs, TransformersEngine, chat_conversation
from core.engines.types import GenerationRequest

# About a megapixel: 1280 patches of 28 x 28 px, the cap the model card suggests for small GPUs.
QWEN_MAX_PIXELS = 1280 * 28 * 28


class ChatTemplateEngine(TransformersEngine):
    """A model whose processor takes ``text`` (from its chat template) and ``images`` in one call."""

    def _image_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        return {}

    def _input_size(self, tensors: Any) -> tuple[int, int] | None:
        return None

    def _vision_passes(self, tensors: Any, images: list[Any]) -> int:
        return int(tensors["pixel_values"].shape[0])

    def build_inputs(self, request: GenerationRequest) -> PreparedInputs:
        conversation, images, clips = chat_conversation(request)
        if clips:
            raise ValueError(f"{self.card.title} is used for images here, not video")
        prompt = self._processor.apply_chat_template(conversation, add_generation_prompt=True)
        kwargs: dict[str, Any] = {"text": [prompt], "return_tensors": "pt"}
        if images:
            kwargs["images"] = images
            kwargs.update(self._image_kwargs(request))
        tensors = self._processor(**kwargs)
        passes = self._vision_passes(tensors, images) if images else 0
        return PreparedInputs(self._move(tensors), passes, self._input_size(tensors) if images else None)


class Qwen25VLEngine(ChatTemplateEngine):
    family = "qwen2_5_vl"

    def _image_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        size = dict(getattr(self._processor.image_processor, "size", None) or {})
        longest = int(size.get("longest_edge") or QWEN_MAX_PIXELS)  # for Qwen this "edge" is a pixel count
        size["longest_edge"] = min(longest, QWEN_MAX_PIXELS)
        return {"size": size}

    def _vision_passes(self, tensors: Any, images: list[Any]) -> int:
        return len(images)  # one encoder pass per image, whatever its patch count

    def _input_size(self, tensors: Any) -> tuple[int, int] | None:
        patch = int(getattr(self._processor.image_processor, "patch_size", 14))
        _, rows, columns = (int(value) for value in tensors["image_grid_thw"][0])
        return columns * patch, rows * patch


class InternVLEngine(ChatTemplateEngine):
    family = "internvl"

    def _image_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        # InternVL cuts the image into up to max_patches tiles plus a thumbnail, like SmolVLM's budget.
        return {"max_patches": request.max_tiles} if request.max_tiles else {}
