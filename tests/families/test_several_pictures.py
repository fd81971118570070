"""Several pictures in one question, through every chat family's real processor and generate on tiny models:
the prompt holds each picture's image tokens (three pictures cost three times one), and the stats count them."""

from __future__ import annotations

import pytest
from PIL import Image

from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
from core.families import family_named
from core.registry import create_engine
from core.settings import load_settings

CHAT_FAMILIES = ("smolvlm", "qwen2_5_vl", "qwen3_vl", "qwen3_5", "internvl", "gemma4", "lfm2_vl")


def _stats(engine, pictures: tuple[Image.Image, ...]):
    request = GenerationRequest((ChatMessage(Role.USER, "Compare these pages.", pictures),), SamplingParams(3), 1)
    stream = engine.stream(request)
    "".join(stream)
    return stream.stats


@pytest.mark.parametrize("family", CHAT_FAMILIES)
def test_three_pictures_cost_three_times_one(tiny_models, tmp_path, family):
    settings = load_settings({"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "MODEL_DEVICE": "cpu",
                              "MODEL_QUANT": "none"}, dotenv_path=None)  # fmt: skip
    engine = create_engine(str(tiny_models[family]), settings)
    engine.load()
    try:
        page = Image.new("RGB", (200, 150), "white")
        one = _stats(engine, (page,))
        three = _stats(engine, (page, page.copy(), page.copy()))
    finally:
        engine.unload()
    assert one.image_tokens > 0 and three.image_tokens == 3 * one.image_tokens
    assert three.image_tiles == 3 * one.image_tiles
    assert family_named(family).max_images >= 3  # the Chat page lets these families take several


def test_families_that_read_one_page_say_so():
    assert all(family_named(name).max_images == 1 for name in ("florence2", "docling", "glm_ocr", "tesseract"))
