"""Int8 weights on a CPU: when to use them, and how a model is quantized once, at load.

The scheme is dynamic int8: every ``nn.Linear`` (vision encoder, connector and language model) keeps
int8 weights with one scale per output channel, and activations are quantized per call, so matrix
products run on the CPU's int8 kernels (oneDNN / fbgemm). Embeddings and norms stay float32.

Why ``torch.ao.quantization.quantize_dynamic`` and not torchao or optimum-quanto, although torch has
deprecated it: measured with ``bench/quant_options.py`` on the real shape of SmolVLM2-256M, it is the
only int8 option that made the first token faster than float32 in eager mode on a CPU; torchao's
dynamic int8 ran 4x slower than float32 without ``torch.compile``, and both weight-only schemes
(torchao, quanto) were slower than float32 at decoding. The README's Performance section has the
table. When a torch release drops it, :func:`int8_available` turns false and ``auto`` falls back to
float32 with a log line, so the app keeps working.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CHOICES = ("auto", "none", "int8")
# CPU flags the int8 kernels need (fbgemm/oneDNN on x86 want AVX2 at least; qnnpack on ARM, NEON).
# Measured on an AVX2-only CPU, int8 was faster than float32 at every step (README, Performance);
# VNNI/AMX (int8 dot products) only widen the gap.
_INT8_KERNEL_FLAGS = ("avx2", "avx512f", "asimd")
_INT8_DOT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp")


@dataclass(frozen=True)
class QuantChoice:
    scheme: str  # "int8" | "none"
    note: str = ""  # why auto decided as it did, for the log and the settings check


def _cpu_flags(cpuinfo: Path) -> set[str]:
    try:
        return set(cpuinfo.read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        return set()


def cpu_has_int8_dot(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Int8 dot-product instructions (VNNI, AMX, ARM dotprod): reported by the benchmark."""
    return bool(_cpu_flags(cpuinfo) & set(_INT8_DOT_FLAGS))


def cpu_runs_int8_kernels(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """The vector instructions torch's int8 kernels need; unknown (no /proc/cpuinfo) counts as no."""
    return bool(_cpu_flags(cpuinfo) & set(_INT8_KERNEL_FLAGS))


def int8_available() -> bool:
    import torch

    quantization = getattr(torch.ao, "quantization", None)
    engines = set(torch.backends.quantized.supported_engines)
    return hasattr(quantization, "quantize_dynamic") and bool(engines & {"x86", "fbgemm", "onednn", "qnnpack"})


def resolve_quantization(requested: str, device: str, *, int8_kernels: bool | None = None) -> QuantChoice:
    """``auto``: int8 on a CPU that runs torch's int8 kernels, none elsewhere (GPUs run bf16/fp16)."""
    if requested not in CHOICES:
        raise ValueError(f"MODEL_QUANT must be one of {', '.join(CHOICES)}, not {requested!r}")
    if requested == "none":
        return QuantChoice("none")
    if device != "cpu":
        note = "int8 here is a CPU path; the GPU runs bf16/fp16"
        return QuantChoice("none", note)
    if not int8_available():
        return QuantChoice("none", "this torch has no dynamic int8 quantization")
    if requested == "int8":
        return QuantChoice("int8")
    if int8_kernels if int8_kernels is not None else cpu_runs_int8_kernels():
        return QuantChoice("int8", "int8 kernels run on this CPU")
    return QuantChoice("none", "the CPU lacks the vector instructions of the int8 kernels (AVX2 / NEON)")


# Linear layers that their model's code reads as a tensor (``patch_embedding.weight.dtype`` in SigLIP2's NaFlex
# embeddings, LFM2-VL's encoder; ``input_proj.weight.dtype`` in Gemma 4's patch embedder): a quantized layer's
# ``weight`` is a method, so these stay in float. Every family's int8 test runs its encoder, which finds new ones.
KEEP_FLOAT = ("patch_embedding", "input_proj")


def quantized_names(model: Any) -> set[str]:
    """The layers :func:`quantize_int8` turns into int8 ones."""
    import torch

    return {
        name
        for name, module in model.named_modules()
        # exactly Linear: subclasses such as attention's NonDynamicallyQuantizableLinear are read as tensors too
        if type(module) is torch.nn.Linear and name.rsplit(".", 1)[-1] not in KEEP_FLOAT
    }


def quantize_int8(model: Any) -> int:
    """Quantize the ``nn.Linear`` layers of ``model`` in place (all but :data:`KEEP_FLOAT`); returns how many."""
    import warnings

    import torch

    names = quantized_names(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation notice, once per layer
        spec = {name: torch.ao.quantization.default_dynamic_qconfig for name in names}
        torch.ao.quantization.quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True)
    return len(names)


def int8_shape(module: Any) -> tuple[int, int] | None:
    """(out, in) of a quantized linear layer, read without unpacking its weight (which costs what packing
    did: seconds for a 2B model); None for any other module."""
    if type(module).__module__.startswith("torch.ao.nn.quantized") and callable(getattr(module, "weight", None)):
        return int(module.out_features), int(module.in_features)
    return None


def int8_weight(module: Any) -> Any | None:
    """The packed int8 weight of a quantized linear layer; None for any other module."""
    if type(module).__module__.startswith("torch.ao.nn.quantized") and callable(getattr(module, "weight", None)):
        return module.weight()
    return None


def linear_weight(module: Any) -> Any | None:
    """The weight of a linear layer, float or int8; None for any other module."""
    import torch

    return module.weight if isinstance(module, torch.nn.Linear) else int8_weight(module)


def linear_weight_share(shapes: dict[str, list[int]]) -> float:
    """The share of parameters that are linear-layer weights (2-D, not embeddings), from tensor shapes."""
    total = linear = 0
    for name, shape in shapes.items():
        size = 1
        for side in shape:
            size *= side
        total += size
        if len(shape) == 2 and "embed" not in name:
            linear += size
    return linear / total if total else 0.0
