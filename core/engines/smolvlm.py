"""SmolVLM2: tiles for images, SmolVLM's own video prompt (frames with timestamps) for clips."""

from __future__ import annotations

from typing import Any

from core.engines.hf import PreparedInputs, TransformersEngine, chat_conversation
from core.engines.tiling import plan_tiles
from core.engines.types import GenerationRequest, VideoClip


class SmolVLMEngine(TransformersEngine):
    family = "smolvlm"

    # -- build inputs ---------------------------------------------------------------------------

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
        if images:
            tile, model_edge = self._tile_side()
            budget = request.max_tiles or (model_edge // tile) ** 2
            plans = [plan_tiles(im.width, im.height, tile, budget, model_edge) for im in images]
            kwargs["images"] = [images]
            kwargs["size"] = {"longest_edge": min(plan.longest_edge for plan in plans)}
            tiles = sum(plan.tiles for plan in plans)
        if clips:
            kwargs.update(_video_kwargs(clips))
            tiles = sum(len(clip.frames) for clip in clips)
        return PreparedInputs(self._move(self._processor(**kwargs)), tiles)


def _video_kwargs(clips: list[VideoClip]) -> dict[str, Any]:
    """Frames we sampled ourselves, with metadata that makes the processor print their real timestamps.

    The processor derives a frame's time as index / fps; with fps = 1000 the "index" is simply the
    timestamp in milliseconds, which keeps uneven sampling exact.
    """
    import numpy as np
    from transformers.video_utils import VideoMetadata

    videos = []
    metadata = []
    for clip in clips:
        size = clip.frames[0].size
        frames = [frame if frame.size == size else frame.resize(size) for frame in clip.frames]
        videos.append(np.stack([np.asarray(frame.convert("RGB")) for frame in frames]))
        metadata.append(
            VideoMetadata(
                total_num_frames=len(frames),
                fps=1000.0,
                duration=clip.duration_s,
                frames_indices=[round(stamp * 1000) for stamp in clip.timestamps],
            )
        )
    return {"videos": videos, "video_metadata": metadata, "do_sample_frames": False}
