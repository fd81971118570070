from __future__ import annotations

import json
import subprocess
import sys

import pytest
from transformers import AutoModelForImageTextToText, AutoProcessor
from transformers.models.smolvlm.processing_smolvlm import DEFAULT_CHAT_TEMPLATE

from core.tiny_models import REAL_SMOLVLM_SHAPES
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("family", "model_type"),
    [
        ("smolvlm", "smolvlm"),
        ("qwen2_5_vl", "qwen2_5_vl"),
        ("qwen3_vl", "qwen3_vl"),
        ("qwen3_5", "qwen3_5"),
        ("lfm2_vl", "lfm2_vl"),
        ("gemma4", "gemma4"),
        ("internvl", "internvl"),
        ("florence2", "florence2"),
        ("docling", "idefics3"),
        ("glm_ocr", "glm_ocr"),
        ("paddleocr_vl", "paddleocr_vl"),
        ("lighton_ocr", "lighton_ocr"),
    ],
)
def test_cli_builds_a_loadable_model_offline(tmp_path, capsys, family, model_type):
    # the command's own code in this process (a fresh interpreter per family cost 8-10 s of imports each);
    # test_the_cli_runs_as_a_module_with_no_network_settings starts it as a real process once
    from core.tiny_models import main

    out = tmp_path / "tiny"
    assert main(["--family", family, "--out", str(out)]) == 0
    assert "noise" in capsys.readouterr().out
    assert (out / "model.safetensors").is_file()
    assert json.loads((out / "config.json").read_text())["model_type"] == model_type
    processor = AutoProcessor.from_pretrained(out, local_files_only=True)
    model = AutoModelForImageTextToText.from_pretrained(out, local_files_only=True)
    assert model.config.model_type == model_type and processor.tokenizer is not None


def test_the_cli_runs_as_a_module_with_no_network_settings(tmp_path):
    out = tmp_path / "tiny"
    result = subprocess.run(
        [sys.executable, "-m", "core.tiny_models", "--family", "smolvlm", "--out", str(out)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "noise" in result.stdout
    assert json.loads((out / "config.json").read_text())["model_type"] == "smolvlm"


def test_tiny_model_uses_real_classes_and_the_production_template(tiny_smolvlm):
    processor = AutoProcessor.from_pretrained(tiny_smolvlm, local_files_only=True)
    model = AutoModelForImageTextToText.from_pretrained(tiny_smolvlm, local_files_only=True)
    assert type(processor).__name__ == "SmolVLMProcessor"
    assert type(model).__name__ == "SmolVLMForConditionalGeneration"
    assert processor.chat_template == DEFAULT_CHAT_TEMPLATE
    assert model.config.image_token_id == processor.tokenizer.convert_tokens_to_ids("<image>")
    for token in ("<row_1_col_1>", "<row_6_col_6>", "<global-img>", "<fake_token_around_image>"):
        assert processor.tokenizer.convert_tokens_to_ids(token) != processor.tokenizer.unk_token_id


@pytest.mark.parametrize(
    ("size", "tokens_per_tile", "tile"),
    [("256m", 64, 512), ("500m", 64, 512), ("2.2b", 81, 384)],  # the model cards' numbers
)
def test_real_shapes_match_the_published_checkpoints(size, tokens_per_tile, tile):
    shape = REAL_SMOLVLM_SHAPES[size]
    assert shape.image_seq_len == tokens_per_tile
    assert shape.tile == tile
    assert shape.vocab_size == 49280
