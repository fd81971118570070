"""Int8 weights kept on disk, so a model is quantized once per checkpoint and not at every load.

Quantizing is most of an int8 load (42 of 49 s for SmolVLM2-2.2B on two cores), and it gives the same
weights every time. After the first load the quantized state dict is written to
``HF_HOME/int8/<model>-<key>.pt``, one file per model (under a temporary name, then renamed: a
half-written file is never read). The
key covers what the weights depend on: the checkpoint's folder (for the hub cache, its snapshot: the
revision), its config and weight files' names, sizes and times, the torch version and the scheme.

A later load builds the model's skeleton without initialising it, puts empty int8 layers where the
quantizer would, and loads the saved state with ``weights_only`` (no code runs from the file): the
float checkpoint is never read, so the float weights never count in resident memory either. Greedy
answers are the same as after quantizing (``tests/engines/test_int8_cache.py``).
"""

from __future__ import annotations

import contextlib
import gc
import glob
import hashlib
import json
import logging
import os
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

from core.engines.quantization import KEEP_FLOAT, quantized_names, vision_in_bf16

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


def return_freed_memory() -> None:
    """Hand the heap's free pages back to the system (glibc keeps freed blocks for reuse, so a dropped
    float model would otherwise still count as resident); nothing where there is no glibc."""
    import ctypes

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


MADV_PAGEOUT = 21  # Linux 5.4+: reclaim these pages now; their contents stay what they were


def release_file_pages(path: Path, maps: Path = Path("/proc/self/maps")) -> int:
    """Let go of the resident pages of ``path``'s mappings in this process; how many bytes were advised.

    The packed int8 layers are what the kernels read. torch's packed layers also keep a reference to the
    unpacked int8 weight they were packed from, which here is the cache file mapped privately (nothing
    writes to it): read once while packing, then resident for nothing (2.7 GB for SmolVLM2-2.2B, as much
    as the packed weights). The pages are clean file pages, so the kernel reads them back from the file if
    anything asks for them again (unpacking a layer); nothing else changes. Nothing happens where the
    system has no such advice.
    """
    import ctypes

    target = str(path.resolve())
    ranges = []
    with contextlib.suppress(OSError):
        for line in maps.read_text(encoding="utf-8").splitlines():
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5] == target:
                start, end = (int(bound, 16) for bound in fields[0].split("-"))
                ranges.append((start, end))
    if not ranges:
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    except (OSError, AttributeError):
        return 0
    advised = 0
    for start, end in ranges:
        if libc.madvise(start, end - start, MADV_PAGEOUT) == 0:
            advised += end - start
        else:
            log.debug("pages of %s kept resident: madvise failed (errno %d)", path.name, ctypes.get_errno())
    return advised


def cache_key(folder: Path, variant: str = "") -> str:
    """What the int8 weights of ``folder`` depend on, hashed; ``variant`` names a layout beside the scheme
    (``vision-bf16``: the vision encoder kept in bfloat16)."""
    import torch

    parts: list[Any] = [SCHEME, torch.__version__, sorted(KEEP_FLOAT), str(folder)]
    if variant:
        parts.append(variant)
    for path in sorted(folder.iterdir()):
        if path.suffix in (".json", ".safetensors"):
            status = path.stat()
            parts.append((path.name, status.st_size, status.st_mtime_ns))
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _label(folder: Path) -> str:
    """The model's name in the cache: the folder's, or the hub repository's for a snapshot (named by commit)."""
    return folder.parent.parent.name if folder.parent.name == "snapshots" else folder.name


def cache_file(cache_dir: Path, folder: Path, variant: str = "") -> Path:
    return cache_dir / f"{_label(folder)}-{cache_key(folder, variant)}.pt"


def save(model: Any, path: Path) -> bool:
    """Write ``model``'s int8 state to ``path``; False (and a log line) when the disk refuses."""
    import torch

    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), partial)
        partial.replace(path)
    except OSError as error:
        log.warning("int8 weights not kept on disk (%s): the next load quantizes again", error)
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        return False
    # One file per model: an earlier revision's weights are not read again.
    label = path.name.rsplit("-", 1)[0]
    for older in path.parent.glob(f"{glob.escape(label)}-*.pt"):
        if older != path and len(older.name) == len(path.name):
            with contextlib.suppress(OSError):
                older.unlink()
                threads_file(older).unlink(missing_ok=True)
    return True


def threads_file(path: Path) -> Path:
    """Where the decoding thread count measured for the int8 weights in ``path`` is kept."""
    return path.with_name(f"{path.stem}.threads.json")


def measured_threads(path: Path, machine: dict[str, Any]) -> int | None:
    """The thread count kept beside ``path`` by an earlier load on the same ``machine``; None when there is none."""
    try:
        kept = json.loads(threads_file(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    chosen = kept.get("threads") if isinstance(kept, dict) and kept.get("machine") == machine else None
    return chosen if isinstance(chosen, int) and not isinstance(chosen, bool) and chosen >= 1 else None


def keep_measured_threads(path: Path, machine: dict[str, Any], chosen: int, seconds: dict[int, float]) -> None:
    """Keep a load's measured thread count beside its int8 weights (written whole, then renamed)."""
    target = threads_file(path)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    record = {"machine": machine, "threads": chosen, "seconds_per_step": {str(k): v for k, v in seconds.items()}}
    try:
        partial.write_text(json.dumps(record), encoding="utf-8")
        partial.replace(target)
    except OSError as error:
        log.debug("decoding thread count not kept (%s)", error)
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def _int8_layers(model: Any) -> dict[str, Any]:
    """Empty int8 layers where the quantizer puts them, by name.

    Each is made 1 x 1 and then given its real size: an empty layer of full size would pack a weight of
    zeros only to pack the real one again when the state is loaded.
    """
    import torch

    layers = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation notice of its quantized modules, once per layer
        for name in quantized_names(model):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name)
            layer = getattr(parent, child)
            empty = torch.ao.nn.quantized.dynamic.Linear(1, 1, bias_=layer.bias is not None, dtype=torch.qint8)
            empty.in_features, empty.out_features = layer.in_features, layer.out_features
            setattr(parent, child, empty)
            layers[name] = empty
    return layers


def _load_state(model: Any, state: dict[str, Any]) -> None:
    """``model.load_state_dict(state, strict=True)``, with the int8 layers packed on every core: packing
    their weights for the CPU's kernels is most of the time (torch releases the GIL while it packs)."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    from core.engines.decode import fused_skeleton

    layers = fused_skeleton(model, _int8_layers(model), set(state))
    own: dict[str, OrderedDict[str, Any]] = {name: OrderedDict() for name in layers}
    rest: OrderedDict[str, Any] = OrderedDict()
    for key, value in state.items():
        name = key.partition("._packed_params.")[0] if "._packed_params." in key else key.rpartition(".")[0]
        if name in own:
            own[name][key[len(name) + 1 :]] = value
        else:
            rest[key] = value
    # Each module's entry in the state's metadata carries its format version, which the int8 layers read.
    metadata = getattr(state, "_metadata", {})
    for name, part in own.items():
        part._metadata = {  # type: ignore[attr-defined]
            key[len(name) + 1 :] if key != name else "": value
            for key, value in metadata.items()
            if key == name or key.startswith(f"{name}.")
        }

    def pack(name: str) -> None:
        layers[name].load_state_dict(own[name], strict=True)

    def size(name: str) -> int:
        packed = own[name].get("_packed_params._packed_params")
        return int(packed[0].numel()) if isinstance(packed, tuple) and packed else 0

    # largest first: the head (0.9 s of packing for 2.2B) last in line kept one core idle while it packed
    with ThreadPoolExecutor(max_workers=torch.get_num_threads()) as pool:
        list(pool.map(pack, sorted(layers, key=size, reverse=True)))
    expected = _float_entries(model, set(layers))
    if set(rest) != set(expected):
        missing, unexpected = sorted(set(expected) - set(rest)), sorted(set(rest) - set(expected))
        raise KeyError(f"the saved state does not fit the model: missing {missing[:3]}, unexpected {unexpected[:3]}")
    with torch.no_grad():
        for key, value in rest.items():
            expected[key].copy_(value)


def _float_entries(model: Any, int8_layers: set[str]) -> dict[str, Any]:
    """The parameters and saved buffers of ``model`` outside its int8 layers, by state-dict key."""
    entries = {}
    for module_name, module in model.named_modules():
        if module_name in int8_layers or any(module_name.startswith(f"{layer}.") for layer in int8_layers):
            continue
        prefix = f"{module_name}." if module_name else ""
        for name, parameter in module.named_parameters(recurse=False):
            entries[prefix + name] = parameter
        for name, buffer in module.named_buffers(recurse=False):
            if name not in module._non_persistent_buffers_set:
                entries[prefix + name] = buffer
    return entries


def load(
    path: Path, config: Any, generation_config: Any, dtype: Any, attn_implementation: str, vision_bf16: bool = False
) -> Any | None:
    """The model of ``config`` with the int8 state from ``path``; None when the file cannot be used.
    ``vision_bf16``: the state was kept with the vision encoder in bfloat16 (``quantization.vision_in_bf16``).

    The engine reads the checkpoint's config and generation config (only it reads checkpoints)."""
    import torch
    from transformers import AutoModelForImageTextToText
    from transformers.initialization import no_init_weights

    if not path.is_file():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's own TypedStorage notice while it rebuilds int8 tensors
            state = torch.load(path, weights_only=True, mmap=True)
        with no_init_weights():  # every weight comes from the file: initialising them is wasted time
            model = AutoModelForImageTextToText.from_config(config, dtype=dtype,
                                                            attn_implementation=attn_implementation)  # fmt: skip
        if vision_bf16:  # as when the file was written: a family without a known encoder kept it int8
            vision_in_bf16(model, keep_values=False)  # every value comes from the file
        _load_state(model, state)
    except (OSError, RuntimeError, ValueError, KeyError, AttributeError) as error:
        log.warning("int8 weights on disk not usable (%s): quantizing again", error)
        path.unlink(missing_ok=True)
        return None
    del state
    release_file_pages(path)
    if generation_config is not None:  # None: the checkpoint has none, and the config's defaults stay
        model.generation_config = generation_config
    return model.eval()
