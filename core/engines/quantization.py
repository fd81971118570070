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

from core.engines.vision_layers import fuse_encoder_layers

log = logging.getLogger(__name__)

CHOICES = ("auto", "none", "int8")
# CPU flags the int8 kernels need (fbgemm/oneDNN on x86 want AVX2 at least; qnnpack on ARM, NEON).
# Measured on an AVX2-only CPU, int8 was faster than float32 at every step (README, Performance);
# VNNI/AMX (int8 dot products) only widen the gap.
_INT8_KERNEL_FLAGS = ("avx2", "avx512f", "asimd")
_INT8_DOT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp")
# bfloat16 matrix units (Intel AMX): oneDNN runs bf16 matrix products on them several times faster than
# fbgemm's int8 ones on the same cores (a vision encoder: 1.8 against 6.3 s, README)
_BF16_MATRIX_FLAGS = ("amx_bf16",)


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


def cpu_has_bf16_matrix_units(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    return bool(_cpu_flags(cpuinfo) & set(_BF16_MATRIX_FLAGS))


def vision_bf16_wanted(setting: str, quantization: str, device: str, *, matrix_units: bool | None = None) -> bool:
    """Whether an int8 model on a CPU keeps its vision encoder in bfloat16 (``VISION_BF16``: auto, yes, no).

    The encoder reads every tile's 1,024 patches at once: compute-bound work, which bf16 matrix units do
    several times faster than int8 vector instructions, and closer to float32 (cosine of the encoder's
    output 0.99995 against 0.9991 for int8 on SmolVLM2-256M). Decoding stays int8: one token at a time is
    bound by memory, where int8 reads half the bytes. Without such units bf16 is emulated and slow."""
    if quantization != "int8" or device != "cpu" or setting == "no":
        return False
    if setting == "yes":
        return True
    return cpu_has_bf16_matrix_units() if matrix_units is None else matrix_units


def vision_tower(model: Any) -> Any | None:
    """The vision encoder of a family whose bf16 encoder is tested (SmolVLM / Idefics3: ``model.vision_model``
    with ``embeddings``, ``encoder`` and ``post_layernorm``); None for any other."""
    tower = getattr(getattr(model, "model", None), "vision_model", None)
    if tower is None or not all(hasattr(tower, part) for part in ("embeddings", "encoder", "post_layernorm")):
        return None
    return tower


def _cast_floats(value: Any, dtype: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.to(dtype)
    return value


def _empty_bf16_parameters(part: Any) -> None:
    """Replace ``part``'s float parameters by empty bf16 ones; buffers (a saved state may lack the ones not
    persistent) keep their values."""
    import torch

    for module in part.modules():
        for name, weight in module.named_parameters(recurse=False):
            if weight.is_floating_point():
                empty = torch.empty_like(weight, dtype=torch.bfloat16)
                module._parameters[name] = torch.nn.Parameter(empty, requires_grad=weight.requires_grad)


def vision_in_bf16(model: Any, *, fuse: bool = True, keep_values: bool = True) -> bool:
    """Run ``model``'s vision encoder layers in bfloat16; False when the family's encoder is not one this is
    tested on. :func:`quantized_names` then leaves their linear layers alone. ``fuse``: the layers' GELU and
    residual sums go into oneDNN's products where this CPU runs them (:mod:`core.engines.vision_layers`).
    ``keep_values=False``: the parameters become empty bf16 tensors (buffers are converted), for a model
    whose every weight is written next (a load from the int8 file): converting 1.6 GB of uninitialised
    float32 memory cost 2.1 s of a SmolVLM2-2.2B load, most of it the kernel handing out pages only to be
    read once.

    The encoder's layers and final norm turn bf16, their input is cast on the way in and the norm's output
    back on the way out, so the connector and the language model see what they saw. The patch embedding
    stays float32 (a small part of the work): transformers takes a model's dtype from its first parameter,
    the patch embedding's, and casts the pixels and image features to it."""
    import torch

    tower = vision_tower(model)
    if tower is None:
        return False
    if next(tower.encoder.parameters()).dtype == torch.bfloat16:
        return True
    if fuse:
        fuse_encoder_layers(tower.encoder)  # its forwards read the weights at each call: bf16 from just below
    dtype = next(tower.embeddings.parameters()).dtype
    for part in (tower.encoder, tower.post_layernorm):
        if not keep_values:
            _empty_bf16_parameters(part)
        part.to(torch.bfloat16)

    def inputs(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        cast = tuple(_cast_floats(value, torch.bfloat16) for value in args)
        return cast, {name: _cast_floats(value, torch.bfloat16) for name, value in kwargs.items()}

    def output(module: Any, args: Any, result: Any) -> Any:
        return _cast_floats(result, dtype)

    tower.encoder.register_forward_pre_hook(inputs, with_kwargs=True)
    tower.post_layernorm.register_forward_hook(output)
    return True


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
        if type(module) is torch.nn.Linear
        and name.rsplit(".", 1)[-1] not in KEEP_FLOAT
        and module.weight.dtype != torch.bfloat16  # kept in bf16 on purpose (vision_in_bf16)
    }


def quantize_int8(model: Any) -> int:
    """Quantize the ``nn.Linear`` layers of ``model`` in place (all but :data:`KEEP_FLOAT` and bf16 ones);
    returns how many."""
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


# the checkpoint names of the encoder layers vision_in_bf16 keeps in bf16 (SmolVLM's and Idefics3's tower); a
# tower nested elsewhere (LFM2-VL's ``model.vision_tower.vision_model``) is another family's, kept int8
VISION_ENCODER_NAMES = "model.vision_model.encoder."


def linear_weight_share(shapes: dict[str, list[int]], *, under: str = "") -> float:
    """The share of parameters that are linear-layer weights (2-D, not embeddings), from tensor shapes;
    ``under``: only those whose name starts with it."""
    total = linear = 0
    for name, shape in shapes.items():
        size = 1
        for side in shape:
            size *= side
        total += size
        if len(shape) == 2 and "embed" not in name and name.startswith(under):
            linear += size
    return linear / total if total else 0.0
