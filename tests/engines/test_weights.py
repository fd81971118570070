"""Memory estimates from safetensors headers, before any weight is read."""

from __future__ import annotations

import json
import shutil
import struct

from core.engines.weights import WORKING_MARGIN, bytes_for, estimate_model_bytes, header_parameter_count
from core.registry import create_engine
from core.settings import Settings


def _settings(tmp_path, **overrides):
    overrides.setdefault("model_quant", "none")  # float32 sizes; int8 sizes are tests/engines/test_quantization.py's
    return Settings(allow_download=False, hf_home=tmp_path / "hf", device="cpu", **overrides)


def test_the_header_gives_exactly_the_parameters_the_loaded_model_has(tiny_smolvlm, tmp_path):
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(tiny_smolvlm)
    real = sum(p.numel() for p in model.parameters())
    assert header_parameter_count(tiny_smolvlm / "model.safetensors") == real
    engine = create_engine(str(tiny_smolvlm), _settings(tmp_path))
    assert engine.estimated_bytes() == int(real * 4 * WORKING_MARGIN)  # float32 on a CPU


def test_sharded_checkpoints_add_up_their_shards(tiny_smolvlm, tmp_path):
    sharded = tmp_path / "sharded"
    sharded.mkdir()
    for name, shard in (("a", "one.safetensors"), ("b", "two.safetensors")):
        header = {name: {"dtype": "F32", "shape": [10, 20], "data_offsets": [0, 800]}, "__metadata__": {}}
        encoded = json.dumps(header).encode()
        (sharded / shard).write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"\0" * 800)
    (sharded / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "one.safetensors", "b": "two.safetensors"}}), encoding="utf-8"
    )
    assert estimate_model_bytes(str(sharded), _settings(tmp_path), "bfloat16", None) == bytes_for(400, "bfloat16")


def test_the_hub_cache_is_read_the_same_way(tiny_smolvlm, tmp_path):
    snapshot = tmp_path / "hf" / "hub" / "models--org--tiny" / "snapshots" / "abc"
    shutil.copytree(tiny_smolvlm, snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("abc", encoding="utf-8")
    found = estimate_model_bytes("org/tiny", _settings(tmp_path), "float16", None)
    assert found == bytes_for(header_parameter_count(tiny_smolvlm / "model.safetensors"), "float16")


def test_without_files_offline_the_catalogue_count_is_used(tmp_path):
    settings = _settings(tmp_path)
    assert estimate_model_bytes("HuggingFaceTB/SmolVLM2-256M-Video-Instruct", settings, "float32", 256) == bytes_for(
        256_000_000, "float32"
    )
    assert estimate_model_bytes("someone/unknown", settings, "float32", None) is None


def test_a_file_that_is_not_safetensors_gives_no_estimate(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"\xff" * 64)
    assert estimate_model_bytes(str(tmp_path), _settings(tmp_path), "float32", None) is None
