"""Int8 weights kept on disk: the second load reads them instead of quantizing, and answers the same."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

import core.engines.hf as hf
from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
from core.registry import create_engine
from core.settings import Settings


def _request() -> GenerationRequest:
    image = Image.new("RGB", (200, 150), "gray")
    ImageDraw.Draw(image).rectangle((20, 20, 120, 90), fill="navy")
    question = ChatMessage(Role.USER, "What is in the picture?", (image,))
    return GenerationRequest((question,), SamplingParams(max_new_tokens=16), max_tiles=2, keep_special_tokens=True)


@pytest.fixture
def quantizations(monkeypatch) -> list[int]:
    """How many times a load quantized (the real quantizer, counted)."""
    calls: list[int] = []
    real = hf.quantize_int8

    def counted(model):
        calls.append(1)
        return real(model)

    monkeypatch.setattr(hf, "quantize_int8", counted)
    return calls


def _load_and_answer(model_dir: Path, hf_home: Path, **settings) -> tuple[str, object]:
    engine = create_engine(str(model_dir), Settings(allow_download=False, hf_home=hf_home, device="cpu",
                                                    model_quant="int8", **settings))  # fmt: skip
    engine.load()
    return "".join(engine.stream(_request())), engine


def test_the_second_load_reads_the_int8_weights_and_answers_the_same(
    tiny_smolvlm, tmp_path, quantizations, monkeypatch
):
    import core.engines.decode as decode

    fusions: list[int] = []
    real_fuse = decode._fuse_int8
    monkeypatch.setattr(decode, "_fuse_int8", lambda layers: fusions.append(1) or real_fuse(layers))
    first, _ = _load_and_answer(tiny_smolvlm, tmp_path)
    assert len(quantizations) == 1
    assert fusions, "the first load fused the q/k/v and gate/up products before keeping them"
    (kept,) = (tmp_path / "int8").glob("*.pt")
    assert not list((tmp_path / "int8").glob("*.part"))

    fusions.clear()
    second, engine = _load_and_answer(tiny_smolvlm, tmp_path)
    assert len(quantizations) == 1, "the second load quantized again"
    assert not fusions, "the second load fused again instead of reading the fused layers"
    attention = decode.language_model(engine._model).layers[0].self_attn
    assert hasattr(attention, "qkv_proj") and not hasattr(attention, "q_proj") and decode.scripted(engine._model)
    assert second == first
    assert engine.runtime.quantization == "int8" and engine.estimated_bytes() is not None
    assert list((tmp_path / "int8").glob("*.pt")) == [kept]


def test_a_changed_checkpoint_is_quantized_again_and_replaces_the_old_file(
    tiny_smolvlm, tmp_path, tmp_path_factory, quantizations
):
    import shutil

    copy = tmp_path_factory.mktemp("changed") / "model"
    shutil.copytree(tiny_smolvlm, copy)
    _load_and_answer(copy, tmp_path)
    (before,) = (tmp_path / "int8").glob("*.pt")
    config = copy / "config.json"
    stamp = config.stat().st_mtime_ns + 10**9
    os.utime(config, ns=(stamp, stamp))  # a new revision of the same folder
    _load_and_answer(copy, tmp_path)
    assert len(quantizations) == 2
    (after,) = (tmp_path / "int8").glob("*.pt")
    assert after != before and after.name.startswith("model-")


def test_a_damaged_file_is_replaced_and_the_answer_unchanged(tiny_smolvlm, tmp_path, quantizations):
    first, _ = _load_and_answer(tiny_smolvlm, tmp_path)
    (kept,) = (tmp_path / "int8").glob("*.pt")
    kept.write_bytes(kept.read_bytes()[:1000])  # cut short, as by a full disk in another process
    again, _ = _load_and_answer(tiny_smolvlm, tmp_path)
    assert len(quantizations) == 2 and again == first
    assert kept.stat().st_size > 1000  # written whole again


def test_nothing_is_kept_when_switched_off_or_when_the_folder_cannot_be_made(tiny_smolvlm, tmp_path, quantizations):
    _load_and_answer(tiny_smolvlm, tmp_path / "off", int8_cache=False)
    assert not (tmp_path / "off" / "int8").exists()
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "int8").write_text("a file where the folder should be")
    answer, engine = _load_and_answer(tiny_smolvlm, blocked)
    assert engine.loaded and len(quantizations) == 2
