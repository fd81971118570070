"""What every transformers-backed adapter shares: device and dtype, loading, threaded streaming.

An adapter subclasses :class:`TransformersEngine` (or :class:`ChatTemplateEngine`) in its family's
module and only says how a request becomes model inputs.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.engines import int8_cache
from core.engines.base import ProgressCallback
from core.engines.decode import fastest_decode_threads, fuse_int8_layers, install_lean_decode, scripted
from core.engines.device import cpu_model, decode_threads, prefill_threads, resolve_device, resolve_dtype
from core.engines.int8_cache import checkpoint_folder
from core.engines.loading import download_command, load_local_only
from core.engines.placement import budget_bytes, describe_placement, first_device, parse_max_memory
from core.engines.prefix import PrefixSlot, prefix_step
from core.engines.quantization import quantize_int8, resolve_quantization, vision_bf16_wanted, vision_in_bf16
from core.engines.streaming import ThreadedGeneration, install_stop_hooks
from core.engines.types import (
    EngineNotLoaded,
    GenerationRequest,
    ModelCard,
    ModelUnavailable,
    PromptTooLong,
    Role,
    RuntimeInfo,
    VideoClip,
)
from core.engines.weights import estimate_model_bytes, loaded_model_bytes
from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class PreparedInputs:
    tensors: dict[str, Any]
    vision_passes: int = 0  # image tiles or video frames the encoder runs on
    input_size: tuple[int, int] | None = None  # (width, height) of the image as the model saw it
    media_key: str | None = None  # fingerprint of the pixels' sources, for re-using a media prefix


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


def context_length(model: Any) -> int | None:
    """How many positions the language model has (its text config's, for composite models)."""
    config = model.config
    for part in (getattr(config, "text_config", None), config):
        value = getattr(part, "max_position_embeddings", None) if part is not None else None
        if isinstance(value, int) and value > 0:
            return value
    return None


def fit_context(generate_kwargs: dict[str, Any], prompt_tokens: int, limit: int | None) -> dict[str, Any]:
    """``generate_kwargs`` with the answer cut to the room left; :class:`PromptTooLong` when there is none."""
    if limit is None:
        return generate_kwargs
    room = limit - prompt_tokens
    if room < 1:
        raise PromptTooLong(f"{prompt_tokens} prompt tokens, context {limit}", tokens=prompt_tokens, limit=limit)
    wanted = int(generate_kwargs.get("max_new_tokens") or room)
    return {**generate_kwargs, "max_new_tokens": min(wanted, room)}


def _gpu_count() -> int:
    import torch

    return int(torch.cuda.device_count())


def video_kwargs(clips: list[VideoClip]) -> dict[str, Any]:
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


def _schema_processors(model: Any, tokenizer: Any, schema: str) -> Any:
    """The logits processor that keeps this answer inside ``schema`` (a fresh one per request: it has state)."""
    from transformers import LogitsProcessorList

    from core.engines.constrained import SchemaConstraint

    eos = model.generation_config.eos_token_id
    eos_ids = [int(token) for token in (eos if isinstance(eos, list) else [eos]) if token is not None]
    return LogitsProcessorList([SchemaConstraint(tokenizer, schema, eos_ids)])


class TransformersEngine:
    """One checkpoint loaded with AutoProcessor + AutoModelForImageTextToText (safetensors, SDPA, no remote code).

    It does not queue or lock: the serving core decides when it runs, and it only ever loads when the
    serving pool tells it to.
    """

    family = ""

    def __init__(self, card: ModelCard, settings: Settings, source: str | None = None) -> None:
        self.card = card
        self._settings = settings
        self._source = source or card.model_id
        choice = resolve_device(settings.device)
        # Split over devices (accelerate) with a memory budget, or over several GPUs when MODEL_DEVICE=auto.
        self._spread = settings.model_max_memory is not None or (
            settings.device == "auto" and choice.device == "cuda" and _gpu_count() > 1
        )
        quant = resolve_quantization("none" if self._spread else settings.model_quant, choice.device)
        if quant.note:
            log.info("MODEL_QUANT=%s on %s: %s (%s)", settings.model_quant, choice.device, quant.scheme, quant.note)
        self._runtime = RuntimeInfo(
            device=choice.device,
            # int8 kernels take float32 activations; the weights are int8 whatever MODEL_DTYPE says
            dtype="float32" if quant.scheme == "int8" else resolve_dtype(settings.dtype, choice.device),
            device_note=choice.note_key,
            quantization=quant.scheme,
        )
        if choice.note_key:
            log.warning("MODEL_DEVICE=%s is not available here; running on %s", settings.device, choice.device)
        self._vision_bf16 = not self._spread and vision_bf16_wanted(settings.vision_bf16, quant.scheme, choice.device)
        self._model: Any = None
        self._decode_threads: int | None = None  # measured at load: core.engines.decode.fastest_decode_threads
        self._processor: Any = None
        self._input_device = choice.device
        self._state_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def runtime(self) -> RuntimeInfo:
        return self._runtime

    def estimated_bytes(self) -> int | None:
        if self._model is not None:
            return loaded_model_bytes(self._model)
        runtime = self._runtime
        estimate = estimate_model_bytes(self._source, self._settings, runtime.dtype, self.card.params_millions,
                                        runtime.quantization, vision_bf16=self._vision_bf16)  # fmt: skip
        if estimate is not None and self._settings.model_max_memory:  # the rest waits on disk
            return min(estimate, budget_bytes(parse_max_memory(self._settings.model_max_memory)))
        return estimate

    def _placement_kwargs(self) -> dict[str, Any]:
        """accelerate's arguments for a model split over devices; none for a model on one device."""
        if not self._spread:
            return {}
        kwargs: dict[str, Any] = {
            "device_map": "auto",
            "offload_folder": str(self._settings.hub_cache_dir.parent / "offload" / Path(self._source).name),
        }
        if self._settings.model_max_memory:
            kwargs["max_memory"] = parse_max_memory(self._settings.model_max_memory)
        return kwargs

    def _int8_folder(self, source: str, local_only: bool) -> Path | None:
        """The checkpoint folder whose int8 weights are kept on disk; None when they are not kept."""
        keep = self._runtime.quantization == "int8" and not self._spread and self._settings.int8_cache
        return checkpoint_folder(source, self._settings.hub_cache_dir) if keep and local_only else None

    def _read_int8(self, folder: Path | None) -> Any | None:
        import torch
        from transformers import AutoConfig, GenerationConfig

        if folder is None:
            return None
        path = self._int8_file(folder)
        if not path.is_file():
            return None
        generation = None
        with contextlib.suppress(OSError):
            generation = GenerationConfig.from_pretrained(folder)
        config = AutoConfig.from_pretrained(folder)
        return int8_cache.load(path, config, generation, getattr(torch, self._runtime.dtype), "sdpa",
                               vision_bf16=self._vision_bf16)  # fmt: skip

    def _int8_file(self, folder: Path) -> Path:
        variant = "vision-bf16" if self._vision_bf16 else ""
        return int8_cache.cache_file(self._settings.hf_home / "int8", folder, variant)

    def _quantize(self, model: Any, source: str, folder: Path | None) -> bool:
        """Quantize ``model`` in place and keep its int8 weights on disk; whether they were kept."""
        if self._vision_bf16 and vision_in_bf16(model):
            log.info("%s: vision encoder in bfloat16 (the CPU's bf16 matrix units; VISION_BF16=no for int8)", source)
        replaced = quantize_int8(model)
        log.info("%s: %d linear layers quantized to int8", source, replaced)
        if not self._spread and fuse_int8_layers(model):  # kept fused: a later load does not fuse again
            log.info("%s: q/k/v and gate/up products fused", source)
        if folder is None or not int8_cache.save(model, self._int8_file(folder)):
            return False
        log.info("%s: int8 weights kept on disk for the next load", source)
        return True

    def _read_back_int8(self, source: str, folder: Path) -> Any:
        model = self._read_int8(folder)
        if model is None:
            raise ModelUnavailable("the int8 weights just written cannot be read back", model=source,
                                   cache_dir=str(self._settings.hf_home / "int8"), command="")  # fmt: skip
        return model.to(self._runtime.device)

    def load(self, on_progress: ProgressCallback | None = None) -> None:
        if self.loaded:
            return
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # progress goes to the UI; a console bar is noise in the log
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
            int8_folder = self._int8_folder(source, local_only)
            quantized = self._read_int8(int8_folder)
            if quantized is not None:
                log.info("%s: int8 weights read from the disk cache", source)
            model = quantized or AutoModelForImageTextToText.from_pretrained(
                source,
                dtype=getattr(torch, self._runtime.dtype),
                attn_implementation="sdpa",
                use_safetensors=True,
                **self._placement_kwargs(),
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
        device_map = getattr(model, "hf_device_map", None)
        if self._spread and device_map:
            self._input_device = first_device(device_map)
            self._runtime = replace(self._runtime, placement=describe_placement(device_map))
            log.info("%s placed over devices: %s", source, self._runtime.placement)
        else:
            model = model.to(self._runtime.device)
        model.eval()
        if self._runtime.quantization == "int8" and quantized is None:
            report(0.9, "load.quantize")
            int8_folder = int8_folder or self._int8_folder(source, True)
            if self._quantize(model, source, int8_folder) and int8_folder is not None:
                # Read back at once: the float checkpoint's pages go with the first model (11.7 GB resident
                # for 2.2B otherwise), and the first load ends in the same state as every later one.
                del model
                int8_cache.return_freed_memory()
                model = self._read_back_int8(source, int8_folder)
        install_stop_hooks(model)
        # a model split over devices runs through accelerate's hooks, which the lean step would skip
        lean = not self._spread and install_lean_decode(model)
        if lean:
            log.info("%s: single-token decoding steps take the lean path%s", source,
                     " as one TorchScript function" if scripted(model) else "")  # fmt: skip
        kept = self._int8_file(int8_folder) if int8_folder else None
        measured = self._measure_decode_threads(model, source, kept) if lean else None
        with self._state_lock:
            self._processor, self._model, self._decode_threads = processor, model, measured
        report(1.0, "load.ready")

    def _measure_decode_threads(self, model: Any, source: str, int8_file: Path | None) -> int | None:
        """The fastest decoding thread count on this machine, unless ``DECODE_THREADS`` says or there is
        no choice (one core, not a CPU). With int8 weights kept on disk the count is kept beside them, so
        a later load on the same machine does not time the steps again (3 s for SmolVLM2-2.2B here)."""
        cores = prefill_threads()
        if self._runtime.device != "cpu" or self._settings.decode_threads is not None or cores < 2:
            return None
        import torch

        machine = {"cpu": cpu_model(), "cores": cores, "torch": torch.__version__, "scripted": scripted(model)}
        kept = int8_cache.measured_threads(int8_file, machine) if int8_file is not None else None
        if kept is not None and int8_file is not None:
            log.info("%s: decoding on %d thread(s), as measured at an earlier load of these int8 weights "
                     "(delete %s to measure again)", source, kept, int8_cache.threads_file(int8_file))  # fmt: skip
            return kept
        chosen, seconds = fastest_decode_threads(model, (1, cores))
        log.info("%s: decoding on %d thread(s) (%s ms per step)", source, chosen,
                 ", ".join(f"{count}: {value * 1000:.1f}" for count, value in seconds.items()))  # fmt: skip
        if int8_file is not None and int8_file.is_file():  # not beside weights the disk refused to keep
            int8_cache.keep_measured_threads(int8_file, machine, chosen, seconds)
        return chosen

    def unload(self) -> None:
        with self._state_lock:
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
                value = value.to(self._input_device)
                if value.is_floating_point():
                    value = value.to(model_dtype)
            moved[name] = value
        return moved

    def build_inputs(self, request: GenerationRequest) -> PreparedInputs:
        raise NotImplementedError

    # Families whose model takes a cache of the image prefix and then the rest of the prompt without
    # the pixels: the inputs that carry the media, and the config fields naming the media tokens.
    prefix_media_inputs: tuple[str, ...] = ()
    prefix_media_token_fields: tuple[str, ...] = ("image_token_id", "video_token_id")

    def _media_token_ids(self) -> tuple[int, ...]:
        config = self._model.config
        found = (getattr(config, name, None) for name in self.prefix_media_token_fields)
        return tuple(int(value) for value in found if value is not None)

    def stream(
        self,
        request: GenerationRequest,
        stop: threading.Event | None = None,
        prefix_cache: PrefixSlot | None = None,
    ) -> ThreadedGeneration:
        with self._state_lock:
            model, processor = self._model, self._processor
        if model is None:
            raise EngineNotLoaded(f"{self.card.model_id} is not loaded; only the serving pool loads models")
        if request.messages[-1].role is not Role.USER:
            raise ValueError("the last message must be the user's")
        started = time.perf_counter()  # the wait the user sees includes preparing the pixels
        prepared = self.build_inputs(request)
        generate_kwargs = fit_context(
            request.sampling.generate_kwargs(), int(prepared.tensors["input_ids"].shape[-1]), context_length(model)
        )
        if request.json_schema is not None:
            generate_kwargs["logits_processor"] = _schema_processors(model, processor.tokenizer, request.json_schema)
        prefix = None
        if prefix_cache is not None and request.reuse_prefix and prepared.media_key and self.prefix_media_inputs:
            prefix = prefix_step(
                model,
                prepared.tensors,
                prepared.media_key,
                self.prefix_media_inputs,
                self._media_token_ids(),
                prefix_cache,
            )
        generation = ThreadedGeneration(
            model,
            processor.tokenizer,
            prepared.tensors,
            generate_kwargs,
            stop=stop,
            image_tiles=prepared.vision_passes,
            skip_special_tokens=not request.keep_special_tokens,
            input_size=prepared.input_size,
            prefix=prefix,
            started=started,
            decode_threads=decode_threads(self._settings.decode_threads, self._runtime.device, self._decode_threads),
        )
        ids = prepared.tensors["input_ids"]
        generation.stats.image_tokens = sum(int((ids == token).sum()) for token in self._media_token_ids())
        return generation


class ChatTemplateEngine(TransformersEngine):
    """A model whose processor takes ``text`` (from its chat template) and ``images`` in one call."""

    template_kwargs: dict[str, Any] = {}  # switches the checkpoint's template takes (thinking off, ...)
    takes_video = False  # its processor takes our sampled frames with their timestamps (:func:`video_kwargs`)

    def _image_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        return {}

    def _input_size(self, tensors: Any) -> tuple[int, int] | None:
        return None

    def _vision_passes(self, tensors: Any, images: list[Any]) -> int:
        return int(tensors["pixel_values"].shape[0])

    def build_inputs(self, request: GenerationRequest) -> PreparedInputs:
        conversation, images, clips = chat_conversation(request)
        if clips and not self.takes_video:
            raise ValueError(f"{self.card.title} is used for images here, not video")
        prompt = self._processor.apply_chat_template(conversation, add_generation_prompt=True, **self.template_kwargs)
        kwargs: dict[str, Any] = {"text": [prompt], "return_tensors": "pt"}
        if images:
            kwargs["images"] = images
            kwargs.update(self._image_kwargs(request))
        if clips:
            kwargs.update(video_kwargs(clips))
        tensors = self._processor(**kwargs)
        passes = self._vision_passes(tensors, images) if images else 0
        passes += sum(len(clip.frames) for clip in clips)
        return PreparedInputs(self._move(tensors), passes, self._input_size(tensors) if images else None)


class PixelBudgetEngine(ChatTemplateEngine):
    """A model whose image processor resizes each picture to a pixel count within ``size`` (Qwen2-VL's way,
    which GLM and PaddleOCR-VL share): the count is capped at :attr:`max_pixels` and the encoder runs
    once per picture."""

    max_pixels: int = 1280 * 28 * 28

    def _image_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        size = dict(getattr(self._processor.image_processor, "size", None) or {})
        longest = int(size.get("longest_edge") or self.max_pixels)  # here this "edge" is a pixel count
        size["longest_edge"] = min(longest, self.max_pixels)
        return {"size": size}

    def _vision_passes(self, tensors: Any, images: list[Any]) -> int:
        return len(images)
