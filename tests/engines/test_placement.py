"""Big checkpoints over devices with accelerate: budgets, and a real offload of the tiny model on the CPU."""

from __future__ import annotations

import pytest
from PIL import Image

from core.engines.placement import budget_bytes, describe_placement, first_device, parse_max_memory
from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
from core.registry import create_engine
from core.settings import Settings, SettingsError, load_settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0:20GiB,1:20GiB,cpu:64GiB", {0: "20GiB", 1: "20GiB", "cpu": "64GiB"}),
        (" cpu : 300KB ", {"cpu": "300KB"}),
        ("0:1.5GB, disk:100GB", {0: "1.5GB", "disk": "100GB"}),
    ],
)
def test_parse_max_memory(text, expected):
    assert parse_max_memory(text) == expected


@pytest.mark.parametrize("text", ["20GiB", "gpu:20GiB", "0:20", "0:-1GiB", ""])
def test_a_malformed_budget_is_a_settings_error(text):
    with pytest.raises(ValueError):
        parse_max_memory(text)
    if text:
        with pytest.raises(SettingsError) as caught:
            load_settings({"MODEL_MAX_MEMORY": text}, dotenv_path=None)
        assert caught.value.variable == "MODEL_MAX_MEMORY"


def test_budget_and_placement_text():
    assert budget_bytes({0: "1GiB", "cpu": "500MB", "disk": "1TB"}) == 2**30 + 500 * 10**6
    device_map = {"vision": 0, "text.layers.0": 0, "text.layers.1": 1, "lm_head": "cpu", "rest": "disk"}
    assert describe_placement(device_map) == "cuda:0 2, cuda:1 1, cpu 1, disk 1"
    assert first_device(device_map) == "cuda:0"
    assert first_device({"a": "disk"}) == "cpu"


def test_a_small_budget_offloads_the_tiny_model_and_it_still_answers_the_same(tiny_smolvlm, tmp_path):
    request = GenerationRequest(
        (ChatMessage(Role.USER, "What is this?", (Image.new("RGB", (64, 48), "teal"),)),), SamplingParams(8), 1
    )
    common = {"allow_download": False, "device": "cpu", "hf_home": tmp_path, "model_quant": "none"}
    whole = create_engine(str(tiny_smolvlm), Settings(**common))  # type: ignore[arg-type]
    whole.load()
    expected = "".join(whole.stream(request))
    split = create_engine(str(tiny_smolvlm), Settings(model_max_memory="cpu:300KB", **common))  # type: ignore[arg-type]
    assert split.estimated_bytes() == 300_000  # the pool counts what the budget lets into memory
    split.load()
    placement = split.runtime.placement
    assert placement is not None and "cpu" in placement and "disk" in placement  # offload really happened
    assert split.estimated_bytes() < whole.estimated_bytes()  # disk-held weights are not counted
    assert (tmp_path / "offload").is_dir()
    assert "".join(split.stream(request)) == expected
    split.unload()
    whole.unload()
