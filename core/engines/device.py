"""Turn MODEL_DEVICE / MODEL_DTYPE into what torch will actually use, with a note when we fall back."""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from pathlib import Path


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


@functools.cache
def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The processor's name as the system reports it ("" when it does not)."""
    import platform

    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


@functools.cache
def physical_cores() -> int:
    """The cores this process may run on, each hyper-threaded pair counted once."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cores = set()
    for cpu in allowed:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text().strip(), (topology / "core_id").read_text()))
        except OSError:
            return max(1, len(allowed))  # no topology to read (not Linux): count what is allowed
    return max(1, len(cores))


def configure_cpu_threads() -> tuple[int, int]:
    """One intra-op thread per physical core (a second thread on a sibling only fights for the same
    units) and a single inter-op thread: generation runs one op after another. Returns what torch uses."""
    import torch

    torch.set_num_threads(physical_cores())
    # Once parallel work has started in this process torch refuses a change: keep its setting then.
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    return torch.get_num_threads(), torch.get_num_interop_threads()


def prefill_threads() -> int:
    """The count :func:`configure_cpu_threads` gives torch: each generation sets it for its own prompt.

    Torch keeps one process-wide count besides each thread's own, and a thread takes the process-wide one
    when it first computes: a generation that set its decoding count would otherwise hand it to the next
    runner thread that starts meanwhile.
    """
    return physical_cores()


def decode_threads(requested: int | None, device: str, measured: int | None = None) -> int | None:
    """Torch threads for the decoding steps on a CPU (None: leave the count as it is): the count asked
    for (``DECODE_THREADS``), else the fastest one measured when the model loaded, else one."""
    if device != "cpu":
        return None
    if requested is not None:
        return requested
    return measured if measured is not None else 1
