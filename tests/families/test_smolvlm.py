"""The SmolVLM2 adapter on a tiny random model: real processor, real generate, real streaming."""

from __future__ import annotations

import threading

import pytest
from PIL import Image

from core.engines.tiling import plan_tiles
from core.engines.types import (
    ChatMessage,
    EngineNotLoaded,
    GenerationRequest,
    ModelUnavailable,
    Role,
    SamplingParams,
    VideoClip,
)
from core.families.smolvlm import SmolVLMEngine
from core.registry import create_engine
from core.settings import Settings
from core.tiny_models import TINY_TILE


@pytest.fixture(scope="module")
def engine(tiny_smolvlm, tmp_path_factory):
    settings = Settings(
        model_id=str(tiny_smolvlm), allow_download=False, hf_home=tmp_path_factory.mktemp("hf"), device="cpu"
    )
    built = create_engine(str(tiny_smolvlm), settings)
    built.load()
    yield built
    built.unload()


def _request(text="What is in the picture?", size=(300, 200), max_new_tokens=12, max_tiles=4, sampling=False):
    image = Image.new("RGB", size, "orange")
    return GenerationRequest(
        (ChatMessage(Role.USER, text, (image,)),),
        SamplingParams(max_new_tokens=max_new_tokens, do_sample=sampling),
        max_tiles=max_tiles,
    )


def test_engine_loads_safetensors_with_sdpa_and_no_remote_code(engine):
    model = engine._model
    assert model.config._attn_implementation == "sdpa"
    assert type(model).__module__.startswith("transformers.models.smolvlm")  # a class shipped with transformers
    assert not model.training


def test_engine_reports_device_dtype_and_abilities(engine):
    assert isinstance(engine, SmolVLMEngine)
    assert engine.loaded
    assert engine.runtime.device == "cpu"
    assert engine.runtime.dtype == "float32"
    assert engine.card.family == "smolvlm"


def test_generate_streams_text_and_counts_tokens(engine):
    stream = engine.stream(_request(max_new_tokens=12))
    pieces = list(stream)
    assert len(pieces) >= 2, "text should arrive in several pieces, not at once"
    assert all(isinstance(piece, str) for piece in pieces)
    assert 1 <= stream.stats.new_tokens <= 12
    assert stream.stats.prompt_tokens > 0
    assert stream.stats.seconds_to_first_token is not None
    assert not stream.stats.stopped


def test_greedy_decoding_is_repeatable(engine):
    first = "".join(engine.stream(_request(max_new_tokens=10)))
    second = "".join(engine.stream(_request(max_new_tokens=10)))
    assert first == second


def test_sampling_settings_reach_generate(engine, monkeypatch):
    model = engine._model
    seen: list[dict] = []
    real_generate = model.generate

    def recording_generate(**kwargs):  # records, then runs the real generate
        seen.append({name: kwargs.get(name) for name in ("do_sample", "temperature", "top_p", "max_new_tokens")})
        return real_generate(**kwargs)

    monkeypatch.setattr(model, "generate", recording_generate)
    request = GenerationRequest(
        _request().messages, SamplingParams(max_new_tokens=8, do_sample=True, temperature=0.35, top_p=0.8), 4
    )
    stream = engine.stream(request)
    list(stream)
    assert seen == [{"do_sample": True, "temperature": 0.35, "top_p": 0.8, "max_new_tokens": 8}]
    assert 1 <= stream.stats.new_tokens <= 8
    greedy = engine.stream(_request(max_new_tokens=4))
    list(greedy)
    assert seen[-1]["do_sample"] is False and seen[-1]["temperature"] is None


@pytest.mark.parametrize(("size", "max_tiles"), [((300, 200), 1), ((300, 200), 4), ((250, 60), 16), ((100, 260), 9)])
def test_tile_budget_matches_what_the_processor_builds(engine, size, max_tiles):
    request = _request(size=size, max_tiles=max_tiles)
    prepared = engine.build_inputs(request)
    inputs, tiles = prepared.tensors, prepared.vision_passes
    plan = plan_tiles(*size, tile=TINY_TILE, max_grid=max_tiles, model_longest_edge=4 * TINY_TILE)
    assert tiles == plan.tiles
    assert inputs["pixel_values"].shape[1] == plan.tiles


def test_multi_turn_conversation_uses_the_chat_template(engine):
    image = Image.new("RGB", (120, 90), "teal")
    request = GenerationRequest(
        (
            ChatMessage(Role.USER, "Describe it.", (image,)),
            ChatMessage(Role.ASSISTANT, "A teal square."),
            ChatMessage(Role.USER, "What colour?"),
        ),
        SamplingParams(max_new_tokens=5),
    )
    inputs = engine.build_inputs(request).tensors
    prompt = engine._processor.tokenizer.decode(inputs["input_ids"][0])
    assert prompt.startswith("<|im_start|>User:")
    assert "Assistant: A teal square.<end_of_utterance>" in prompt
    assert prompt.rstrip().endswith("What colour?<end_of_utterance>\nAssistant:")
    stream = engine.stream(request)
    list(stream)
    assert stream.stats.prompt_tokens == inputs["input_ids"].shape[-1]  # that prompt is what was generated from
    assert 1 <= stream.stats.new_tokens <= 5


def test_stop_event_ends_generation_early_and_the_next_one_works(engine):
    stop = threading.Event()
    stream = engine.stream(_request(max_new_tokens=2000, sampling=True), stop)
    for received, _ in enumerate(stream, start=1):
        if received == 2:
            stop.set()
    assert stream.stats.stopped
    assert stream.stats.new_tokens < 2000
    assert list(engine.stream(_request(max_new_tokens=4)))


def test_closing_the_stream_stops_generation(engine):
    stream = engine.stream(_request(max_new_tokens=2000, sampling=True))
    iterator = iter(stream)
    next(iterator)
    stream.close()
    assert stream.stats.stopped
    assert stream.stats.new_tokens < 2000


def test_an_unloaded_engine_refuses_to_stream_and_does_not_load_itself(tiny_smolvlm, tmp_path):
    settings = Settings(model_id=str(tiny_smolvlm), allow_download=False, hf_home=tmp_path, device="cpu")
    engine = create_engine(str(tiny_smolvlm), settings)
    with pytest.raises(EngineNotLoaded):
        engine.stream(_request())
    assert not engine.loaded


def test_missing_model_offline_names_model_cache_and_command(tmp_path):
    settings = Settings(model_id="HuggingFaceTB/SmolVLM2-256M-Video-Instruct", allow_download=False, hf_home=tmp_path)
    engine = create_engine(settings.model_id or "", settings)
    with pytest.raises(ModelUnavailable) as caught:
        engine.load()
    params = caught.value.params
    assert params["model"] == "HuggingFaceTB/SmolVLM2-256M-Video-Instruct"
    assert params["cache_dir"] == str(tmp_path / "hub")
    assert params["command"].startswith("hf download HuggingFaceTB/SmolVLM2-256M-Video-Instruct")
    assert not engine.loaded


def test_missing_local_directory(tmp_path):
    settings = Settings(allow_download=False, hf_home=tmp_path)
    engine = SmolVLMEngine(
        create_engine("HuggingFaceTB/SmolVLM2-256M-Video-Instruct", settings).card,
        settings,
        source=str(tmp_path / "nowhere"),
    )
    with pytest.raises(ModelUnavailable) as caught:
        engine.load()
    assert caught.value.params["command"] == ""


def test_cuda_requested_without_gpu_falls_back_to_cpu_with_a_note(tiny_smolvlm, tmp_path, caplog):
    import logging

    settings = Settings(model_id=str(tiny_smolvlm), allow_download=False, hf_home=tmp_path, device="cuda")
    ours = logging.getLogger("core")  # the app's logging setup may stop it propagating to caplog's root handler
    ours.addHandler(caplog.handler)
    try:
        engine = create_engine(str(tiny_smolvlm), settings)
    finally:
        ours.removeHandler(caplog.handler)
    assert engine.runtime.device == "cpu"
    assert engine.runtime.device_note == "device.cuda_missing"
    assert engine.runtime.dtype == "float32"
    assert "MODEL_DEVICE=cuda is not available" in caplog.text


def test_unload_frees_the_weights(tiny_smolvlm, tmp_path):
    settings = Settings(model_id=str(tiny_smolvlm), allow_download=False, hf_home=tmp_path, device="cpu")
    engine = create_engine(str(tiny_smolvlm), settings)
    engine.load()
    assert engine.loaded
    engine.unload()
    assert not engine.loaded


def _clip(frames=3):
    pictures = tuple(Image.new("RGB", (96, 64), color) for color in ("red", "green", "blue", "white")[:frames])
    return VideoClip(pictures, tuple(float(i) for i in range(frames)), duration_s=frames - 0.5)


def test_video_prompt_has_frame_timestamps_and_duration(engine):
    request = GenerationRequest((ChatMessage(Role.USER, "What happens?", videos=(_clip(3),)),), SamplingParams(4))
    prepared = engine.build_inputs(request)
    inputs, passes = prepared.tensors, prepared.vision_passes
    prompt = engine._processor.tokenizer.decode(inputs["input_ids"][0]).replace("<image>", "")
    assert "You are provided the following series of three frames from a 0:00:02 [H:MM:SS] video." in prompt
    for stamp in ("00:00", "00:01", "00:02"):
        assert f"Frame from {stamp}:" in prompt
    assert passes == 3
    assert inputs["pixel_values"].shape[1] == 3


def test_generate_on_a_video_clip_streams_an_answer(engine):
    history = (
        ChatMessage(Role.USER, "What happens?", videos=(_clip(4),)),
        ChatMessage(Role.ASSISTANT, "Colours change."),
        ChatMessage(Role.USER, "Which colour is last?"),
    )
    stream = engine.stream(GenerationRequest(history, SamplingParams(6)))
    assert list(stream)
    assert stream.stats.image_tiles == 4


def test_images_and_video_together_are_refused(engine):
    message = ChatMessage(Role.USER, "?", images=(Image.new("RGB", (32, 32)),), videos=(_clip(2),))
    with pytest.raises(ValueError):
        engine.build_inputs(GenerationRequest((message,), SamplingParams(2)))
