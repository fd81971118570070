from __future__ import annotations

import pytest

from core.engines import device as device_module
from core.engines.device import DeviceChoice, resolve_device, resolve_dtype


@pytest.mark.parametrize(
    ("requested", "cuda", "mps", "expected"),
    [
        ("auto", True, True, DeviceChoice("cuda")),  # cuda first
        ("auto", False, True, DeviceChoice("mps")),  # then mps
        ("auto", False, False, DeviceChoice("cpu")),  # then cpu, silently
        ("cuda", False, False, DeviceChoice("cpu", "device.cuda_missing")),  # asked, absent: fall back and say so
        ("mps", False, False, DeviceChoice("cpu", "device.mps_missing")),
        ("cuda", True, False, DeviceChoice("cuda")),
        ("cpu", True, True, DeviceChoice("cpu")),  # an explicit cpu is honoured even with a GPU
    ],
)
def test_resolve_device(monkeypatch, requested, cuda, mps, expected):
    monkeypatch.setattr(device_module, "_cuda_available", lambda: cuda)
    monkeypatch.setattr(device_module, "_mps_available", lambda: mps)
    assert resolve_device(requested) == expected


@pytest.mark.parametrize(
    ("requested", "device", "expected"),
    [
        ("auto", "cpu", "float32"),
        ("auto", "mps", "float16"),
        ("bfloat16", "cpu", "bfloat16"),
        ("float16", "cuda", "float16"),
    ],
)
def test_resolve_dtype(requested, device, expected):
    assert resolve_dtype(requested, device) == expected


def test_auto_picks_the_best_device_this_machine_has():
    import torch

    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto") == DeviceChoice(expected)  # and no fallback note: nothing was asked for


def test_threads_follow_the_physical_cores_with_one_inter_op_thread():
    import subprocess
    import sys

    from core.engines.device import physical_cores
    from tests.conftest import ROOT

    script = "from core.engines.device import configure_cpu_threads; print(*configure_cpu_threads())"
    printed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    intra, interop = (int(value) for value in printed.stdout.split())
    assert intra == physical_cores() >= 1
    assert interop == 1


def test_cpu_model_reads_the_name_from_cpuinfo(tmp_path):
    from core.engines.device import cpu_model

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Example CPU @ 2.00GHz\nflags\t: avx2\n")
    assert cpu_model(cpuinfo) == "Example CPU @ 2.00GHz"
    assert isinstance(cpu_model(tmp_path / "missing"), str)  # no cpuinfo: the platform's answer, maybe ""
