"""The Lab's example ``models.yaml``: it loads, and it lists today's families."""

from __future__ import annotations

from core.lab.config import load_models
from core.registry import find_card
from tests.conftest import ROOT


def test_the_example_models_file_loads_and_names_every_new_family():
    models = load_models(ROOT / "examples" / "lab" / "models.yaml")
    families = {find_card(model.model_id).family for model in models if model.model_id != "tesseract"}
    assert {"qwen3_vl", "qwen3_5", "glm_ocr", "paddleocr_vl", "lighton_ocr", "lfm2_vl", "gemma4"} <= families
    assert {model.task for model in models} == {"ocr", "convert", "extract", "vqa"}
