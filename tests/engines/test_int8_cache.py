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
    assert not hf.int8_cache.threads_file(before).exists()  # the old revision's thread count went with it


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


def _resident_kb(path: Path) -> int:
    """Resident kB of this process's mappings of ``path`` (from /proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:  # a mapping's header line
            inside = len(fields) == 6 and fields[5] == str(path.resolve())
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux's /proc")
def test_released_file_pages_leave_resident_memory_and_read_back_the_same(tmp_path) -> None:
    import torch

    from core.engines.int8_cache import release_file_pages

    path = tmp_path / "weights.pt"
    torch.save({"weight": torch.arange(8 * 2**20, dtype=torch.int32)}, path)  # 32 MB
    weight = torch.load(path, weights_only=True, mmap=True)["weight"]
    expected = int(weight.sum())  # reads every page
    assert _resident_kb(path) > 30 * 1024
    assert release_file_pages(path) >= 32 * 2**20
    assert _resident_kb(path) < 1024
    assert int(weight.sum()) == expected  # read back from the file on demand


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux's /proc")
def test_a_load_from_the_disk_keeps_none_of_the_file_resident(tiny_smolvlm, tmp_path) -> None:
    first, _ = _load_and_answer(tiny_smolvlm, tmp_path)
    (kept,) = (tmp_path / "int8").glob("*.pt")
    second, engine = _load_and_answer(tiny_smolvlm, tmp_path)
    assert second == first
    # The packed layers hold the file's unpacked weights (mapped) without keeping their pages resident; an
    # answer reads the biases back (a large share of a tiny model's file, 12 % here; 0.1 % of SmolVLM2's).
    assert _resident_kb(kept) * 1024 < kept.stat().st_size / 4


def test_the_decoding_thread_count_is_measured_once_per_int8_file_and_machine(
    tiny_smolvlm, tmp_path, monkeypatch
) -> None:
    asked: list[tuple[int, ...]] = []

    def measured(model, counts):
        asked.append(counts)
        return 2, dict.fromkeys(counts, 0.01)

    monkeypatch.setattr(hf, "fastest_decode_threads", measured)
    monkeypatch.setattr(hf, "prefill_threads", lambda: 2)
    _, first = _load_and_answer(tiny_smolvlm, tmp_path)
    (kept,) = (tmp_path / "int8").glob("*.pt")
    assert asked == [(1, 2)] and hf.int8_cache.threads_file(kept).is_file()
    _, second = _load_and_answer(tiny_smolvlm, tmp_path)
    assert asked == [(1, 2)], "a later load timed the steps again"
    assert second._decode_threads == first._decode_threads == 2

    monkeypatch.setattr(hf, "cpu_model", lambda: "another processor")  # the cache folder moved machines
    _load_and_answer(tiny_smolvlm, tmp_path)
    assert asked == [(1, 2), (1, 2)]
    hf.int8_cache.threads_file(kept).write_text("{not json", encoding="utf-8")
    _load_and_answer(tiny_smolvlm, tmp_path)
    assert len(asked) == 3  # a damaged record is measured again, not an error
