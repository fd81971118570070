"""The lean decoding step and one-thread decoding answer exactly as the original path did."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from core.engines.decode import install_lean_decode, language_model, scripted
from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
from core.registry import create_engine
from core.settings import Settings


def _picture() -> Image.Image:
    image = Image.new("RGB", (320, 240), "gray")
    ImageDraw.Draw(image).ellipse((60, 40, 260, 200), fill="orange")
    return image


def _answer(engine, request: GenerationRequest) -> tuple[str, list[int]]:
    """The answer's text and its token ids (a random model's tokens may decode to no text at all)."""
    import torch
    from transformers import StoppingCriteria

    from core.engines.streaming import ThreadedGeneration

    chosen: list[int] = []

    class Record(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            chosen.append(int(input_ids[0, -1]))
            return torch.zeros(input_ids.shape[0], dtype=torch.bool)

    stream = engine.stream(request)
    assert isinstance(stream, ThreadedGeneration)
    stream._kwargs["stopping_criteria"].append(Record())
    text = "".join(stream)
    assert len(chosen) == stream.stats.new_tokens
    return text, chosen


def _load(model_dir: Path, tmp_path: Path, quantization: str):
    settings = Settings(allow_download=False, hf_home=tmp_path, device="cpu", model_quant=quantization,
                        int8_cache=False)  # fmt: skip
    engine = create_engine(str(model_dir), settings)
    engine.load()
    return engine


def _compare(model_dir: Path, tmp_path: Path, quantization: str, monkeypatch, new_tokens: int,
             min_tokens: int = 1, script: bool = True) -> None:  # fmt: skip
    """The app's decoding path against the one before it: the original forward, no fused int8 products,
    no TorchScript, and torch's thread count left as it was (a second engine, loaded with the lean step
    switched off). ``script=False``: the Python step a model gets when TorchScript cannot script it."""
    import torch

    if not script:
        monkeypatch.setattr("core.engines.decode._script", lambda text_model, layers: None)
    from core.engines import decode

    scripted_steps: list[bool] = []  # whether each scripted step ran (False: it fell back to Python)

    def scripted_step(*args):
        normed = original_step(*args)
        scripted_steps.append(normed is not None)
        return normed

    original_step = decode._scripted_step
    monkeypatch.setattr(decode, "_scripted_step", scripted_step)

    question = ChatMessage(Role.USER, "Describe this image briefly.", (_picture(),))
    request = GenerationRequest((question,), SamplingParams(max_new_tokens=new_tokens), max_tiles=1,
                                keep_special_tokens=True)  # fmt: skip

    engine = _load(model_dir, tmp_path, quantization)
    scripted_steps.clear()  # the steps the load timed (core.engines.decode.fastest_decode_threads)
    attention = language_model(engine._model).layers[0].self_attn
    assert hasattr(attention, "qkv_proj") is (quantization == "int8")  # int8 products fused, float ones not
    assert scripted(engine._model) is (script and quantization == "int8")
    layer_calls: list[int] = []
    language_model(engine._model).layers[0].register_forward_pre_hook(lambda module, args: layer_calls.append(1))
    lean, chosen = _answer(engine, request)
    tokens = len(chosen)
    assert tokens >= min_tokens  # enough decoding steps to tell the paths apart
    assert len(layer_calls) == 1, "the decoding steps went through the original layers"
    assert scripted_steps == ([True] * (tokens - 1) if script and quantization == "int8" else [])

    monkeypatch.setattr("core.engines.hf.decode_threads", lambda requested, device, measured=None: None)
    monkeypatch.setattr("core.engines.hf.install_lean_decode", lambda model: False)
    monkeypatch.setattr("core.engines.hf.fuse_int8_layers", lambda model: False)
    threads = torch.get_num_threads()
    before_engine = _load(model_dir, tmp_path, quantization)
    assert hasattr(language_model(before_engine._model).layers[0].self_attn, "q_proj")
    layer_calls.clear()
    language_model(before_engine._model).layers[0].register_forward_pre_hook(lambda module, args: layer_calls.append(1))
    before = _answer(before_engine, request)
    assert len(layer_calls) == len(before[1])  # the prompt, then one call per token but the last
    assert torch.get_num_threads() == threads
    assert (lean, chosen) == before


@pytest.mark.parametrize(("quantization", "script"), [("none", False), ("int8", True), ("int8", False)])
def test_tiny_model_answers_the_same_on_the_lean_one_thread_path(tiny_smolvlm, tmp_path, monkeypatch, quantization,
                                                                 script):  # fmt: skip
    _compare(tiny_smolvlm, tmp_path, quantization, monkeypatch, new_tokens=24, script=script)


def test_the_256m_shape_answers_the_same_on_the_lean_one_thread_path(tmp_path_factory, tmp_path, monkeypatch):
    from core.tiny_models import REAL_SMOLVLM_SHAPES, build_smolvlm

    model_dir = build_smolvlm(tmp_path_factory.mktemp("smolvlm2-256m"), REAL_SMOLVLM_SHAPES["256m"])
    _compare(model_dir, tmp_path, "int8", monkeypatch, new_tokens=32, min_tokens=16)


def test_the_lean_step_is_installed_once_and_only_on_llama_decoders(tiny_smolvlm, tiny_models) -> None:
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(tiny_smolvlm)
    assert install_lean_decode(model)
    assert not install_lean_decode(model)  # already there
    other = AutoModelForImageTextToText.from_pretrained(tiny_models["docling"])
    assert language_model(other) is not None
    assert install_lean_decode(other) is (type(language_model(other)).__name__ == "LlamaModel")


def test_each_generation_sets_its_own_prefill_and_decoding_threads(tiny_smolvlm, tmp_path) -> None:
    import threading

    import torch

    from core.engines.device import prefill_threads

    before = torch.get_num_threads()
    wanted = (os.cpu_count() or 1) + before + 1  # a count no thread has by default
    settings = Settings(allow_download=False, hf_home=tmp_path, device="cpu", decode_threads=wanted)
    engine = create_engine(str(tiny_smolvlm), settings)
    engine.load()
    seen: list[int] = []  # the generating thread's count at each forward pass: the prompt, then each step
    embed = language_model(engine._model).embed_tokens
    embed.register_forward_pre_hook(lambda module, args: seen.append(torch.get_num_threads()))
    request = GenerationRequest((ChatMessage(Role.USER, "Hi"),), SamplingParams(max_new_tokens=6))
    stream = engine.stream(request)
    torch.set_num_threads(1)  # the process-wide count another generation's decoding may leave behind
    try:
        worker = threading.Thread(target=lambda: list(stream))
        worker.start()
        worker.join()
    finally:
        torch.set_num_threads(before)
    assert stream.stats.new_tokens >= 2
    assert seen == [prefill_threads()] + [wanted] * (stream.stats.new_tokens - 1)


def test_the_cache_grows_into_its_room_and_holds_what_update_would():
    import torch
    from transformers.cache_utils import DynamicCache

    from core.engines.decode import ROOM, _append

    torch.manual_seed(0)
    ours, theirs = DynamicCache(), DynamicCache()
    prompt = torch.randn(1, 3, 7, 8), torch.randn(1, 3, 7, 8)
    for cache in (ours, theirs):
        cache.update(*prompt, 0)
    for step in range(2 * ROOM + 5):  # past the room twice
        key, value = torch.randn(1, 3, 1, 8), torch.randn(1, 3, 1, 8)
        got = _append(ours, 0, key, value)
        wanted = theirs.update(key, value, 0)
        assert torch.equal(got[0], wanted[0]) and torch.equal(got[1], wanted[1])
        if step == ROOM // 2:
            ours.crop(-3)  # something else changed the layer: the room is made again from what is there
            theirs.crop(-3)
    assert ours.get_seq_length() == theirs.get_seq_length() == 7 + 2 * ROOM + 5 - 3
    keys = ours.layers[0].keys
    assert keys.untyped_storage().nbytes() > keys.numel() * keys.element_size()  # written into room, not copied


def test_the_fastest_measured_thread_count_is_chosen(monkeypatch) -> None:
    from core.engines import decode

    timings = {1: [0.030, 0.090, 0.031], 2: [0.021, 0.020, 0.060], 4: [0.025, 0.026, 0.024]}
    monkeypatch.setattr(decode, "_steps_seconds", lambda model, counts: {count: timings[count] for count in counts})
    assert decode.fastest_decode_threads(object(), (1, 2, 4)) == (2, {1: 0.031, 2: 0.021, 4: 0.025})  # medians
    timings[1] = [0.020] * 3
    assert decode.fastest_decode_threads(object(), (1, 2, 4))[0] == 1
    timings[2] = [0.020] * 3
    assert decode.fastest_decode_threads(object(), (1, 2, 4))[0] == 1  # a tie keeps fewer threads


def test_decoding_steps_are_timed_for_real_in_turns_after_a_warm_up(tiny_smolvlm) -> None:
    import torch
    from transformers import AutoModelForImageTextToText

    from core.engines import decode
    from core.engines.quantization import quantize_int8

    model = AutoModelForImageTextToText.from_pretrained(tiny_smolvlm).eval()
    quantize_int8(model)
    assert install_lean_decode(model) and scripted(model)
    before = torch.get_num_threads()
    threads: list[int] = []
    head = model.get_output_embeddings()
    head.register_forward_pre_hook(lambda module, args: threads.append(torch.get_num_threads()))
    times = decode._steps_seconds(model, (1, 2))
    assert all(len(seconds) >= 3 and min(seconds) > 0 for seconds in times.values())
    warm_up, timed = threads[: decode.WARM_UP_STEPS], threads[decode.WARM_UP_STEPS :]
    assert len(warm_up) == decode.WARM_UP_STEPS and len(timed) == len(times[1]) + len(times[2])
    assert timed == [1, 2] * len(times[1])  # every timed step ran on its count, the counts in turns
    assert torch.get_num_threads() == before


def test_a_load_without_decode_threads_decodes_on_the_measured_count(tiny_smolvlm, tmp_path, monkeypatch) -> None:
    import torch

    from core.engines.device import prefill_threads

    asked: list[tuple[int, ...]] = []

    def measured(model, counts):
        asked.append(counts)
        return 3, dict.fromkeys(counts, 0.01)  # a count no thread has by default

    monkeypatch.setattr("core.engines.hf.fastest_decode_threads", measured)
    monkeypatch.setattr("core.engines.hf.prefill_threads", lambda: 2)
    engine = create_engine(str(tiny_smolvlm), Settings(allow_download=False, hf_home=tmp_path, device="cpu"))
    engine.load()
    assert asked == [(1, 2)]
    seen: list[int] = []
    language_model(engine._model).embed_tokens.register_forward_pre_hook(
        lambda module, args: seen.append(torch.get_num_threads())
    )
    stream = engine.stream(GenerationRequest((ChatMessage(Role.USER, "Hi"),), SamplingParams(max_new_tokens=4)))
    list(stream)
    assert stream.stats.new_tokens >= 2
    assert seen[1:] == [3] * (stream.stats.new_tokens - 1) and seen[0] == prefill_threads()

    asked.clear()
    pinned = create_engine(str(tiny_smolvlm), Settings(allow_download=False, hf_home=tmp_path, device="cpu",
                                                       decode_threads=1))  # fmt: skip
    pinned.load()
    assert asked == []  # DECODE_THREADS set: nothing measured
