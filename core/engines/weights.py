"""How much memory a checkpoint takes once loaded, told before loading it.

A safetensors file starts with a JSON header listing every tensor's dtype and shape, so the parameter
count is known from a few kilobytes, without reading the weights: from a local directory, from the
hub cache, or (when downloads are allowed) from the hub's own metadata of the files.
"""

from __future__ import annotations

import json
import logging
import math
import struct
from pathlib import Path
from typing import Any

from core.settings import Settings

log = logging.getLogger(__name__)

BYTES_PER_PARAMETER = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
# Activations, the KV cache and the processor come on top of the weights.
WORKING_MARGIN = 1.25
_MAX_HEADER_BYTES = 100 * 2**20
# Share of a VLM's parameters in linear layers when the header cannot be read (SmolVLM2: 0.86-0.9).
DEFAULT_LINEAR_SHARE = 0.85
_INDEX = "model.safetensors.index.json"
_SINGLE = "model.safetensors"


def header_shapes(path: Path) -> dict[str, list[int]]:
    """Every tensor's shape in one safetensors file, read from its header alone."""
    with open(path, "rb") as source:
        (length,) = struct.unpack("<Q", source.read(8))
        if not 0 < length <= _MAX_HEADER_BYTES:
            raise ValueError(f"{path} does not start with a safetensors header")
        header = json.loads(source.read(length))
    return {name: entry["shape"] for name, entry in header.items() if name != "__metadata__"}


def header_parameter_count(path: Path) -> int:
    """Parameters in one safetensors file, read from its header alone."""
    return sum(math.prod(shape) for shape in header_shapes(path).values())


def _local_file(source: str, filename: str, settings: Settings) -> Path | None:
    folder = Path(source).expanduser()
    if folder.is_dir():
        candidate = folder / filename
        return candidate if candidate.is_file() else None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(source, filename, cache_dir=str(settings.hub_cache_dir))
    return Path(found) if isinstance(found, str) else None


def local_shapes(source: str, settings: Settings) -> dict[str, list[int]] | None:
    """Tensor shapes of a checkpoint on disk (a directory or the hub cache); None if its files are not there."""
    index = _local_file(source, _INDEX, settings)
    if index is not None:
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        paths = [_local_file(source, shard, settings) for shard in shards]
        if any(path is None for path in paths):
            return None
        return {name: shape for path in paths if path is not None for name, shape in header_shapes(path).items()}
    single = _local_file(source, _SINGLE, settings)
    return header_shapes(single) if single is not None else None


def local_parameter_count(source: str, settings: Settings) -> int | None:
    """Parameters of a checkpoint on disk; None if its files are not there."""
    shapes = local_shapes(source, settings)
    return sum(math.prod(shape) for shape in shapes.values()) if shapes is not None else None


def _hub_parameter_count(source: str, settings: Settings) -> int | None:
    from huggingface_hub import get_safetensors_metadata

    metadata: Any = get_safetensors_metadata(source, token=str(settings.hf_token) or None, timeout=10)
    return int(sum(metadata.parameter_count.values()))


def parameter_count(source: str, settings: Settings) -> int | None:
    try:
        found = local_parameter_count(source, settings)
        if found is None and not settings.offline and not Path(source).expanduser().exists():
            found = _hub_parameter_count(source, settings)
        return found
    except Exception as error:  # noqa: BLE001 - no estimate is a fallback, never a failure to load
        log.info("no parameter count for %s: %s", source, error)
        return None


def bytes_for(parameters: int, dtype: str, *, int8_share: float = 0.0, bf16_share: float = 0.0) -> int:
    """Loaded size with the working margin; ``int8_share`` of the parameters held as int8 instead, and
    ``bf16_share`` as bf16."""
    full = parameters * (1 - int8_share - bf16_share) * BYTES_PER_PARAMETER.get(dtype, 4)
    return int((full + parameters * (int8_share + 2 * bf16_share)) * WORKING_MARGIN)


def estimate_model_bytes(
    source: str,
    settings: Settings,
    dtype: str,
    params_millions: int | None,
    quantization: str = "none",
    *,
    vision_bf16: bool = False,
) -> int | None:
    """The loaded size with its working margin: from the safetensors header, else the catalogue's count.

    With int8, the linear layers' weights count one byte each (their share read from the header), but for
    a vision encoder kept in bf16 (``vision_bf16``), whose layers count two.
    """
    from core.engines.quantization import VISION_ENCODER_NAMES, linear_weight_share

    share, bf16_share = DEFAULT_LINEAR_SHARE, 0.0
    try:
        shapes = local_shapes(source, settings)
    except Exception as error:  # noqa: BLE001 - no estimate is a fallback, never a failure to load
        log.info("no tensor shapes for %s: %s", source, error)
        shapes = None
    if shapes:
        parameters: int | None = sum(math.prod(shape) for shape in shapes.values())
        share = linear_weight_share(shapes)
        if vision_bf16:
            bf16_share = linear_weight_share(shapes, under=VISION_ENCODER_NAMES)
    else:
        parameters = parameter_count(source, settings)
    if parameters is None and params_millions:
        parameters = params_millions * 1_000_000
    if not parameters:
        return None
    if quantization != "int8":
        return bytes_for(parameters, dtype)
    return bytes_for(parameters, dtype, int8_share=share - bf16_share, bf16_share=bf16_share)


def loaded_model_bytes(model: Any) -> int:
    """What a loaded model's parameters, buffers and packed int8 weights really take, with the margin."""
    from core.engines.quantization import int8_shape

    tensors = [*model.parameters(), *model.buffers()]
    total = sum(t.numel() * t.element_size() for t in tensors if t.device.type != "meta")  # meta: on disk
    for module in model.modules():
        shape = int8_shape(module)
        if shape is not None:
            total += shape[0] * shape[1] + 4 * shape[0]  # int8 + per-row scales
    return int(total * WORKING_MARGIN)
