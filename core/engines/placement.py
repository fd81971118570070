"""Big checkpoints across devices: accelerate's ``device_map="auto"`` with a per-device memory budget.

A model that does not fit one GPU is split layer by layer over the GPUs, and what still does not fit
is kept in CPU memory (or, past that, on disk) and brought in for each forward pass. The serving
pool then counts only what sits in memory, and the status line says where the layers went.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from core.settings import parse_max_memory

__all__ = ["budget_bytes", "describe_placement", "first_device", "parse_max_memory"]

_UNITS = {"kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def budget_bytes(budgets: dict[int | str, str]) -> int:
    """The memory the budgets allow outside the disk."""
    total = 0
    for device, size in budgets.items():
        if device == "disk":
            continue
        match = re.match(r"(\d+(?:\.\d+)?)([KMGT]i?B)", size, re.IGNORECASE)
        assert match is not None
        total += int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    return total


def describe_placement(device_map: dict[str, Any]) -> str:
    """``{"a": 0, "b": 0, "c": "cpu"}`` -> ``"cuda:0 2 parts, cpu 1"``: where the layers went, in order."""
    counts = Counter(_device_name(device) for device in device_map.values())
    return ", ".join(f"{device} {count}" for device, count in counts.items())


def first_device(device_map: dict[str, Any]) -> str:
    """Where inputs go: the first device in memory that holds part of the model (the CPU if none)."""
    for device in device_map.values():
        name = _device_name(device)
        if name != "disk":
            return name
    return "cpu"


def _device_name(device: Any) -> str:
    return f"cuda:{device}" if isinstance(device, int) else str(device)
