"""The memory budget the pool keeps models within, when ``MODEL_MEMORY_GB`` does not set it."""

from __future__ import annotations

import os
from pathlib import Path

# Leave room for the app, the browser sessions' data and the operating system.
RAM_SHARE = 0.75
GPU_SHARE = 0.9
DEFAULT_MAX_LOADED = {"cpu": 2, "mps": 2, "cuda": 3}


def available_ram_bytes() -> int:
    """Memory the system can give without swapping (MemAvailable), else the physical total."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def gpu_memory_bytes() -> int:
    import torch

    return int(torch.cuda.get_device_properties(0).total_memory)


def budget_bytes(device: str, configured_gb: float | None) -> int:
    if configured_gb is not None:
        return int(configured_gb * 2**30)
    if device == "cuda":
        return int(gpu_memory_bytes() * GPU_SHARE)
    return int(available_ram_bytes() * RAM_SHARE)


def max_loaded(device: str, configured: int | None) -> int:
    return configured if configured is not None else DEFAULT_MAX_LOADED.get(device, 2)


def free_memory() -> None:
    """Give back what a failed generation held: Python's garbage now, and the GPU allocator's cached blocks."""
    import gc

    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
