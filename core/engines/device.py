"""Turn MODEL_DEVICE / MODEL_DTYPE into what torch will actually use, with a note when we fall back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # "cpu" | "cuda" | "mps"
    note_key: str | None = None  # strings-table key explaining a fallback, if any


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(requested: str) -> DeviceChoice:
    """auto picks cuda, then mps, then cpu; an unavailable explicit choice falls back to cpu with a note."""
    if requested == "auto":
        if _cuda_available():
            return DeviceChoice("cuda")
        if _mps_available():
            return DeviceChoice("mps")
        return DeviceChoice("cpu")
    if requested == "cuda" and not _cuda_available():
        return DeviceChoice("cpu", "device.cuda_missing")
    if requested == "mps" and not _mps_available():
        return DeviceChoice("cpu", "device.mps_missing")
    return DeviceChoice(requested)


def resolve_dtype(requested: str, device: str) -> str:
    """auto: bf16 on a bf16-capable GPU, fp16 on other GPUs and mps, fp32 on CPU (bf16 is slower there)."""
    if requested != "auto":
        return requested
    if device == "cuda":
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if device == "mps":
        return "float16"
    return "float32"
