"""What every transformers-backed adapter shares: device and dtype, loading, the lock, threaded streaming.

An adapter subclasses :class:`TransformersEngine` and only says how a request becomes model inputs.
"""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass
from typing import Any

from core.engines.base import ProgressCallback
from core.engines.device import resolve_device, resolve_dtype
from core.engines.loading import download_command, load_local_only
from core.engines.streaming import ThreadedGeneration
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


@dataclass
class PreparedInputs:
    tensors: dict[str, Any]
    vision_passes: int = 0  # image tiles or video frames the encoder runs on
    input_size: tuple[int, int] | None = None  # (width, height) of the image as the model saw it


def chat_conversation(request: GenerationRequest) -> tuple[list[dict[str, Any]], list[Any], list[VideoClip]]:
    """The request as chat-template messages (media placeholders first), plus its images and clips in order."""
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
    return conversation, images, clips


class TransformersEngine:
    """One checkpoint loaded with AutoProcessor + AutoModelForImageTextToText (safetensors, SDPA, no remote code).

    One generate at a time: a second caller gets :class:`EngineBusy`.
    """

    family = ""

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

    def _move(self, inputs: Any) -> dict[str, Any]:
        """Tensors onto the model's device; floating ones in the model's dtype."""
        model_dtype = self._model.dtype
        moved: dict[str, Any] = {}
        for name, value in inputs.items():
            if hasattr(value, "to"):
                value = value.to(self._runtime.device)
                if value.is_floating_point():
                    value = value.to(model_dtype)
            moved[name] = value
        return moved

    def build_inputs(self, request: GenerationRequest) -> PreparedInputs:
        raise NotImplementedError

    def stream(self, request: GenerationRequest, stop: threading.Event | None = None) -> ThreadedGeneration:
        if not self.loaded:
            self.load()
        if not self._lock.acquire(blocking=False):
            raise EngineBusy("another generation is running")
        try:
            if request.messages[-1].role is not Role.USER:
                raise ValueError("the last message must be the user's")
            prepared = self.build_inputs(request)
            generation = ThreadedGeneration(
                self._model,
                self._processor.tokenizer,
                prepared.tensors,
                request.sampling.generate_kwargs(),
                stop=stop,
                release=self._lock.release,
                image_tiles=prepared.vision_passes,
                skip_special_tokens=not request.keep_special_tokens,
                prompt_in_output=not self._model.config.is_encoder_decoder,
            )
            generation.stats.input_size = prepared.input_size
            return generation
        except BaseException:
            self._lock.release()
            raise
