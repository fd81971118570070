"""The small chat families without grounding (LFM2-VL, Gemma 4) on tiny models with their real classes."""

from __future__ import annotations

import pytest
from PIL import Image

from core.engines.types import Capability, ChatMessage, GenerationRequest, Role, SamplingParams
from core.families.gemma4 import Gemma4Engine
from core.families.lfm2_vl import LICENCE, Lfm2VlEngine
from core.registry import choices, create_engine, find_card
from core.settings import load_settings

ENGINES = {"lfm2_vl": Lfm2VlEngine, "gemma4": Gemma4Engine}


def _settings(tmp_path, **extra):
    return load_settings({"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", **extra}, dotenv_path=None)


@pytest.fixture(scope="module")
def engines(tiny_models, tmp_path_factory):
    built = {}
    for family in ENGINES:
        # MODEL_QUANT=int8: the CPU path people get by default must run these encoders too
        settings = _settings(tmp_path_factory.mktemp("hf"), MODEL_DEVICE="cpu", MODEL_QUANT="int8")
        built[family] = create_engine(str(tiny_models[family]), settings)
        built[family].load()
    yield built
    for engine in built.values():
        engine.unload()


def _ask(image: Image.Image, max_tiles: int | None = None, question: str = "What is written here?"):
    return GenerationRequest((ChatMessage(Role.USER, question, (image,)),), SamplingParams(4), max_tiles)


@pytest.mark.parametrize("family", ENGINES)
def test_a_tiny_folder_loads_as_its_family_and_answers_through_real_generate(engines, family):
    engine = engines[family]
    assert type(engine) is ENGINES[family] and engine.card.family == family
    assert engine.runtime.quantization == "int8"
    stream = engine.stream(_ask(Image.new("RGB", (320, 240), "teal")))
    list(stream)
    assert stream.stats.new_tokens >= 1 and stream.stats.image_tiles >= 1


def test_lfm2_vl_prompt_for_one_image_and_one_question(engines):
    engine = engines["lfm2_vl"]
    prepared = engine.build_inputs(_ask(Image.new("RGB", (400, 300))))
    prompt = engine._processor.tokenizer.decode(prepared.tensors["input_ids"][0])
    assert prompt.startswith("<|startoftext|><|im_start|>user\n<|image_start|><image>")
    assert prompt.endswith("<|image_end|>What is written here?<|im_end|>\n<|im_start|>assistant\n")
    assert prepared.vision_passes == 1  # a picture smaller than one 512 px tile is not split


def test_lfm2_vl_tile_budget_bounds_the_encoder_passes(engines):
    engine = engines["lfm2_vl"]
    page = Image.new("RGB", (1600, 1200))
    passes = {tiles: engine.build_inputs(_ask(page, tiles)).vision_passes for tiles in (1, 4, 8)}
    assert passes[1] == 1  # no splitting: the picture resized once
    assert 1 < passes[4] <= 5 and passes[4] < passes[8] <= 9  # tiles within the budget, plus the thumbnail


def test_lfm2_vl_cards_show_the_licence_and_offer_no_grounding():
    for model_id in ("LiquidAI/LFM2-VL-450M", "LiquidAI/LFM2-VL-1.6B"):
        card = find_card(model_id)
        assert card.family == "lfm2_vl" and card.licence == LICENCE
        assert card.can(Capability.CHAT) and not card.can(Capability.GROUNDING)
        assert model_id in choices("HuggingFaceTB/SmolVLM2-256M-Video-Instruct")


def test_gemma4_prompt_for_one_image_and_one_question(engines):
    engine = engines["gemma4"]
    prepared = engine.build_inputs(_ask(Image.new("RGB", (640, 480))))
    prompt = engine._processor.tokenizer.decode(prepared.tensors["input_ids"][0])
    assert prompt.startswith("<bos><|turn>user\n\n\n<|image>")
    assert 200 < prompt.count("<|image|>") <= 280  # soft tokens for a 4:3 picture, within the default budget
    assert prompt.endswith("<image|>\n\nWhat is written here?<turn|>\n<|turn>model\n<|channel>thought\n<channel|>")
    assert prepared.vision_passes == 1


def test_gemma4_is_a_chat_model_without_grounding():
    card = find_card("google/gemma-4-E2B-it")
    assert card.family == "gemma4" and card.can(Capability.CHAT) and not card.can(Capability.GROUNDING)


def test_gemma4_video_frames_are_written_with_their_times(engines):
    from core.engines.types import VideoClip

    engine = engines["gemma4"]
    frames = tuple(Image.new("RGB", (320, 240), colour) for colour in ("red", "green", "blue"))
    clip = VideoClip(frames, (0.0, 61.0, 125.0), 130.0)
    prepared = engine.build_inputs(GenerationRequest((ChatMessage(Role.USER, "What happens?", (), (clip,)),)))
    prompt = engine._processor.tokenizer.decode(prepared.tensors["input_ids"][0])
    assert "00:00 <|image>" in prompt and "01:01 <|image>" in prompt and "02:05 <|image>" in prompt
    assert prepared.vision_passes == 3
