"""SmolVLM2 (and any Idefics3 checkpoint): tiles for images, SmolVLM's own video prompt for clips.

It chats, reads text and describes regions from a crop, but cannot locate objects reliably, so it has
no grounding: Detection sends the user to a grounding family.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from core.engines.hf import PreparedInputs, TransformersEngine, chat_conversation, video_kwargs
from core.engines.pixels import remembered_pixels
from core.engines.prefix import media_fingerprint
from core.engines.remote import RemoteImage, shrink_to_edge
from core.engines.tiling import plan_tiles
from core.engines.types import Capability, GenerationRequest, ModelCard
from core.families.base import MAX_IMAGES, Family
from core.settings import Settings

ABILITIES = frozenset({Capability.CHAT, Capability.VIDEO, Capability.OCR, Capability.REGION})
DEFAULT_GRID = 4  # the checkpoints' longest_edge is 4 tiles (2048 px at 512, 1536 at 384)


class SmolVLMEngine(TransformersEngine):
    family = "smolvlm"
    # Frames of a video are images to Idefics3, so one media token covers both.
    prefix_media_inputs = ("pixel_values", "pixel_attention_mask")

    def _tile_side(self) -> tuple[int, int]:
        image_processor = self._processor.image_processor
        return int(image_processor.max_image_size["longest_edge"]), int(image_processor.size["longest_edge"])

    def build_inputs(self, request: GenerationRequest) -> PreparedInputs:
        """Chat template + processor call, with the image resized to the request's tile budget."""
        conversation, images, clips = chat_conversation(request)
        if images and clips:
            raise ValueError("SmolVLM takes images or a video in one conversation, not both")
        prompt = self._processor.apply_chat_template(conversation, add_generation_prompt=True)

        kwargs: dict[str, Any] = {"text": [prompt], "return_tensors": "pt"}
        tiles = 0
        key = None
        if images:
            tile, model_edge = self._tile_side()
            budget = request.max_tiles or (model_edge // tile) ** 2
            plans = [plan_tiles(im.width, im.height, tile, budget, model_edge) for im in images]
            kwargs["images"] = [images]
            kwargs["size"] = {"longest_edge": min(plan.longest_edge for plan in plans)}
            tiles = sum(plan.tiles for plan in plans)
            key = media_fingerprint(images, ("images", kwargs["size"]))
        if clips:
            kwargs.update(video_kwargs(clips))
            tiles = sum(len(clip.frames) for clip in clips)
            key = media_fingerprint([frame for clip in clips for frame in clip.frames], ("video", clips[0].timestamps))
        with remembered_pixels(self._processor).remembering(key if images else None):
            tensors = self._processor(**kwargs)
        return PreparedInputs(self._move(tensors), tiles, media_key=key)


class SmolVLM(Family):
    max_images = MAX_IMAGES
    name = "smolvlm"
    model_types = ("smolvlm", "idefics3")
    name_hints = ("smolvlm",)
    abilities = ABILITIES
    catalogue = (
        ModelCard("HuggingFaceTB/SmolVLM2-2.2B-Instruct", name, "SmolVLM2 2.2B", 2250, ABILITIES, 384),
        ModelCard("HuggingFaceTB/SmolVLM2-500M-Video-Instruct", name, "SmolVLM2 500M Video", 507, ABILITIES, 512),
        ModelCard("HuggingFaceTB/SmolVLM2-256M-Video-Instruct", name, "SmolVLM2 256M Video", 256, ABILITIES, 512),
    )

    def engine(self, card: ModelCard, settings: Settings) -> SmolVLMEngine:
        return SmolVLMEngine(card, settings)

    def remote_image(self, image: Image.Image, max_tiles: int | None, card: ModelCard) -> RemoteImage:
        """Resized to the longest edge the tile budget allows, as the local processor call does."""
        tile = card.tile_px or 512
        model_edge = DEFAULT_GRID * tile
        plan = plan_tiles(image.width, image.height, tile, max_tiles or DEFAULT_GRID**2, model_edge)
        return RemoteImage(shrink_to_edge(image, plan.longest_edge), None)


FAMILY = SmolVLM()
