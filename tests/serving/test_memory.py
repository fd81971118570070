"""The default memory budget and model count, when the settings leave them open."""

from __future__ import annotations

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


def test_free_memory_is_read_from_this_machine():
    free = memory.available_ram_bytes()
    assert 2**20 < free < 2**50


def test_loaded_model_count_defaults_by_device():
    assert memory.max_loaded("cpu", None) == 2
    assert memory.max_loaded("cuda", None) == 3
    assert memory.max_loaded("cpu", 5) == 5
