"""The default memory budget and model count, when the settings leave them open."""

from __future__ import annotations

from pathlib import Path

from core.serving import memory


def test_a_configured_budget_wins():
    assert memory.budget_bytes("cpu", 6.5) == int(6.5 * 2**30)
    assert memory.budget_bytes("cuda", 0.25) == 2**28


def test_on_a_cpu_the_budget_is_a_share_of_the_free_memory(monkeypatch):
    monkeypatch.setattr(memory, "available_ram_bytes", lambda: 16 * 2**30)
    assert memory.budget_bytes("cpu", None) == int(16 * 2**30 * memory.RAM_SHARE)


def test_on_a_gpu_the_budget_is_a_share_of_its_memory(monkeypatch):
    monkeypatch.setattr(memory, "gpu_memory_bytes", lambda: 80 * 2**30)
    assert memory.budget_bytes("cuda", None) == int(80 * 2**30 * memory.GPU_SHARE)


def _meminfo(field: str) -> int:
    for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/meminfo")


def test_free_memory_is_what_the_system_can_give_not_the_total():
    free, total = memory.available_ram_bytes(), _meminfo("MemTotal")
    # MemAvailable, read moments apart: the fallback (all physical memory) would be far above it.
    assert abs(free - _meminfo("MemAvailable")) < 512 * 2**20
    assert free < total


def test_without_meminfo_the_physical_total_is_used(monkeypatch):
    def unreadable(self, *args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(memory.Path, "read_text", unreadable)
    total = memory.os.sysconf("SC_PAGE_SIZE") * memory.os.sysconf("SC_PHYS_PAGES")
    assert memory.available_ram_bytes() == total


def test_loaded_model_count_defaults_by_device():
    assert memory.max_loaded("cpu", None) == 2
    assert memory.max_loaded("cuda", None) == 3
    assert memory.max_loaded("cpu", 5) == 5
