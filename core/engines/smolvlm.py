"""SmolVLM2 through transformers: AutoProcessor + AutoModelForImageTextToText, safetensors, SDPA.

Split as build inputs -> run (threaded generate) -> the caller parses text. torch and transformers
are imported only here and in the other engine modules.
"""

from __future__ import annotations

import gc
import logging
import threading
from typing import Any

from core.engines.base import ProgressCallback
from core.engines.device import resolve_device, resolve_dtype
from core.engines.loading import download_command, load_local_only
from core.engines.streaming import ThreadedGeneration
from core.engines.tiling import plan_tiles
from core.engines.types import (
    EngineBusy,
    GenerationRequest,
    ModelCard,
    ModelUnavailable,
    Role,
    RuntimeInfo,
    VideoClip,
)
from core.settings import Settings

log = logging.getLogger(__name__)


class SmolVLMEngine:
    """One SmolVLM2 checkpoint. One generate at a time: a second caller gets :class:`EngineBusy`."""

    family = "smolvlm"

    def __init__(self, card: ModelCard, settings: Settings, source: str | None = None) -> None:
        self.card = card
        self._settings = settings
        self._source = source or card.model_id
        choice = resolve_device(settings.device)
        self._runtime = RuntimeInfo(
            device=choice.device,
            dtype=resolve_dtype(settings.dtype, choice.device),
            device_note=choice.note_key,
        )
        if choice.note_key:
            log.warning("MODEL_DEVICE=%s is not available here; running on %s", settings.device, choice.device)
        self._model: Any = None
        self._processor: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def runtime(self) -> RuntimeInfo:
        return self._runtime

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def load(self, on_progress: ProgressCallback | None = None) -> None:
        if self.loaded:
            return
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        report = on_progress or (lambda fraction, step: None)
        source = self._source
        local_only = load_local_only(source, self._settings)
        common: dict[str, Any] = {
            "local_files_only": local_only,
            "cache_dir": str(self._settings.hub_cache_dir),
        }
        if self._settings.hf_token:
            common["token"] = str(self._settings.hf_token)
        try:
            report(0.1, "load.processor")
            processor = AutoProcessor.from_pretrained(source, **common)
            report(0.3, "load.weights" if local_only else "load.download")
            model = AutoModelForImageTextToText.from_pretrained(
                source,
                dtype=getattr(torch, self._runtime.dtype),
                attn_implementation="sdpa",
                use_safetensors=True,
                **common,
            )
        except (OSError, ValueError) as error:
            raise ModelUnavailable(
                str(error),
                model=source,
                cache_dir=str(self._settings.hub_cache_dir),
                command=download_command(source, self._settings),
            ) from error
        report(0.8, "load.device")
        model = model.to(self._runtime.device)  # type: ignore[arg-type]  # transformers' stub is too narrow
        model.eval()
        self._processor, self._model = processor, model
        report(1.0, "load.ready")

    def unload(self) -> None:
        with self._lock:
            self._model = None
            self._processor = None
        gc.collect()
        if self._runtime.device == "cuda":
            import torch

            torch.cuda.empty_cache()

    # -- build inputs ---------------------------------------------------------------------------

    def _tile_side(self) -> tuple[int, int]:
        image_processor = self._processor.image_processor
        return int(image_processor.max_image_size["longest_edge"]), int(image_processor.size["longest_edge"])

    def build_inputs(self, request: GenerationRequest) -> tuple[dict[str, Any], int]:
        """Chat template + processor call; returns tensors on the model's device and the vision passes."""
        conversation: list[dict[str, Any]] = []
        images: list[Any] = []
        clips: list[VideoClip] = []
        for message in request.messages:
            content: list[dict[str, str]] = [{"type": "video"} for _ in message.videos]
            content += [{"type": "image"} for _ in message.images]
            content.append({"type": "text", "text": message.text})
            images.extend(message.images)
            clips.extend(message.videos)
            conversation.append({"role": message.role.value, "content": content})
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
        inputs = self._processor(**kwargs)
        model_dtype = self._model.dtype
        moved: dict[str, Any] = {}
        for name, value in inputs.items():
            if hasattr(value, "to"):
                value = value.to(self._runtime.device)
                if value.is_floating_point():
                    value = value.to(model_dtype)
            moved[name] = value
        return moved, tiles

    # -- run ----------------------------------------------------------------------------------------

    def stream(self, request: GenerationRequest, stop: threading.Event | None = None) -> ThreadedGeneration:
        if not self.loaded:
            self.load()
        if not self._lock.acquire(blocking=False):
            raise EngineBusy("another generation is running")
        try:
            if request.messages[-1].role is not Role.USER:
                raise ValueError("the last message must be the user's")
            inputs, tiles = self.build_inputs(request)
            return ThreadedGeneration(
                self._model,
                self._processor.tokenizer,
                inputs,
                request.sampling.generate_kwargs(),
                stop=stop,
                release=self._lock.release,
                image_tiles=tiles,
            )
        except BaseException:
            self._lock.release()
            raise


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
