"""Int8 weights kept on disk, so a model is quantized once per checkpoint and not at every load.

Quantizing is most of an int8 load (42 of 49 s for SmolVLM2-2.2B on two cores), and it gives the same
weights every time. After the first load the quantized state dict is written under
``HF_HOME/int8/<key>.pt`` (a temporary name, then a rename: a half-written file is never read). The
key covers what the weights depend on: the checkpoint's folder (for the hub cache, its snapshot: the
revision), its config and weight files' names, sizes and times, the torch version and the scheme.

A later load builds the model's skeleton without initialising it, puts empty int8 layers where the
quantizer would, and loads the saved state with ``weights_only`` (no code runs from the file): the
float checkpoint is never read, so the float weights never count in resident memory either. Greedy
answers are the same as after quantizing (``tests/engines/test_int8_cache.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

from core.engines.quantization import KEEP_FLOAT, quantized_names

log = logging.getLogger(__name__)

SCHEME = "torch-dynamic-int8-per-tensor/1"  # change when quantize_int8 changes what it produces


def checkpoint_folder(source: str, hub_cache_dir: Path) -> Path | None:
    """The folder holding ``source``'s config and weights: a local path, or its snapshot in the hub cache."""
    local = Path(source).expanduser()
    if local.is_dir():
        return local.resolve()
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(source, "config.json", cache_dir=str(hub_cache_dir))
    return Path(found).parent if isinstance(found, str) else None


def cache_key(folder: Path) -> str:
    import torch

    parts: list[Any] = [SCHEME, torch.__version__, sorted(KEEP_FLOAT), str(folder)]
    for path in sorted(folder.iterdir()):
        if path.suffix in (".json", ".safetensors"):
            status = path.stat()
            parts.append((path.name, status.st_size, status.st_mtime_ns))
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def cache_file(cache_dir: Path, folder: Path) -> Path:
    return cache_dir / f"{folder.name}-{cache_key(folder)}.pt"


def save(model: Any, path: Path) -> bool:
    """Write ``model``'s int8 state to ``path``; False (and a log line) when the disk refuses."""
    import torch

    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), partial)
        partial.replace(path)
        return True
    except OSError as error:
        log.warning("int8 weights not kept on disk (%s): the next load quantizes again", error)
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        return False


def load(path: Path, folder: Path, dtype: Any, attn_implementation: str) -> Any | None:
    """The model of ``folder`` with the int8 state from ``path``; None when the file cannot be used."""
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText, GenerationConfig
    from transformers.initialization import no_init_weights

    if not path.is_file():
        return None
    try:
        state = torch.load(path, weights_only=True, mmap=True)
        config = AutoConfig.from_pretrained(folder)
        with no_init_weights():  # every weight comes from the file: initialising them is wasted time
            model = AutoModelForImageTextToText.from_config(config, dtype=dtype,
                                                            attn_implementation=attn_implementation)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's deprecation notice of its quantized modules, once per layer
            for name in quantized_names(model):
                parent_name, _, child = name.rpartition(".")
                parent = model.get_submodule(parent_name)
                layer = getattr(parent, child)
                empty = torch.ao.nn.quantized.dynamic.Linear(
                    layer.in_features, layer.out_features, bias_=layer.bias is not None, dtype=torch.qint8
                )
                setattr(parent, child, empty)
            model.load_state_dict(state, strict=True)
    except (OSError, RuntimeError, ValueError, KeyError, AttributeError) as error:
        log.warning("int8 weights on disk not usable (%s): quantizing again", error)
        path.unlink(missing_ok=True)
        return None
    with contextlib.suppress(OSError):  # none in the checkpoint: the config's defaults, as from_pretrained has
        model.generation_config = GenerationConfig.from_pretrained(folder)
    return model.eval()
