"""Int8 weights: when ``MODEL_QUANT`` turns them on, and what a quantized tiny model really runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.engines.quantization import (
    cpu_has_bf16_matrix_units,
    cpu_has_int8_dot,
    cpu_runs_int8_kernels,
    linear_weight_share,
    resolve_quantization,
    vision_bf16_wanted,
)
from core.engines.vision_layers import fused_products_available, is_fused
from core.engines.weights import estimate_model_bytes, local_shapes
from core.lab.config import ConfigError, parse_models
from core.registry import create_engine
from core.serving import ServingCore
from core.settings import Settings, SettingsError, load_settings
from tests.serving.conftest import ask, cpu_settings


@pytest.mark.parametrize(
    ("requested", "device", "int8_kernels", "scheme"),
    [
        ("auto", "cpu", True, "int8"),
        ("auto", "cpu", False, "none"),  # no AVX2 / NEON: int8 would run on slow reference kernels
        ("auto", "cuda", True, "none"),
        ("int8", "cpu", False, "int8"),  # asked for explicitly: honoured
        ("int8", "cuda", True, "none"),
        ("none", "cpu", True, "none"),
    ],
)
def test_auto_means_int8_on_a_cpu_that_runs_int8_kernels(requested, device, int8_kernels, scheme) -> None:
    choice = resolve_quantization(requested, device, int8_kernels=int8_kernels)
    assert choice.scheme == scheme
    if requested == "auto" and scheme == "none":
        assert choice.note  # the log says why


def test_an_unknown_choice_is_refused() -> None:
    with pytest.raises(ValueError, match="MODEL_QUANT"):
        resolve_quantization("int4", "cpu")


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("flags\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    assert cpu_has_int8_dot(info) and cpu_runs_int8_kernels(info)
    info.write_text("flags\t: fpu sse2 avx2\n")
    assert not cpu_has_int8_dot(info) and cpu_runs_int8_kernels(info)
    info.write_text("flags\t: fpu sse2 sse4_2\n")
    assert not cpu_runs_int8_kernels(info)
    assert not cpu_has_int8_dot(tmp_path / "missing") and not cpu_runs_int8_kernels(tmp_path / "missing")
    info.write_text("flags\t: fpu avx2 avx512f avx512_vnni amx_bf16 amx_tile amx_int8\n")
    assert cpu_has_bf16_matrix_units(info)
    info.write_text("flags\t: fpu avx2 avx512f avx512_vnni avx512_bf16\n")  # bf16 vector instructions only
    assert not cpu_has_bf16_matrix_units(info) and not cpu_has_bf16_matrix_units(tmp_path / "missing")


@pytest.mark.parametrize(
    ("setting", "quantization", "device", "units", "wanted"),
    [
        ("auto", "int8", "cpu", True, True),
        ("auto", "int8", "cpu", False, False),  # emulated bf16 would be slower than int8
        ("yes", "int8", "cpu", False, True),
        ("no", "int8", "cpu", True, False),
        ("auto", "none", "cpu", True, False),  # float32 asked for: the encoder stays float32
        ("yes", "none", "cuda", True, False),
    ],
)
def test_the_vision_encoder_runs_in_bf16_only_beside_int8_on_a_cpu(setting, quantization, device, units, wanted):
    assert vision_bf16_wanted(setting, quantization, device, matrix_units=units) is wanted
    assert load_settings({"VISION_BF16": setting}, None).vision_bf16 == setting


def test_model_quant_setting() -> None:
    assert load_settings({}, None).model_quant == "auto"
    assert load_settings({"MODEL_QUANT": "INT8"}, None).model_quant == "int8"
    with pytest.raises(SettingsError, match="MODEL_QUANT"):
        load_settings({"MODEL_QUANT": "int4"}, None)


def test_linear_share_counts_two_dimensional_weights_but_not_embeddings() -> None:
    shapes = {"embed_tokens.weight": [10, 4], "layer.q.weight": [4, 4], "layer.q.bias": [4], "norm.weight": [4]}
    assert linear_weight_share(shapes) == pytest.approx(16 / 64)


def test_the_bf16_share_is_the_smolvlm_tower_s_not_a_tower_nested_elsewhere() -> None:
    """LFM2-VL nests a SigLIP tower under ``model.vision_tower``: its encoder stays int8, so it counts as int8."""
    from core.engines.quantization import VISION_ENCODER_NAMES

    shapes = {"model.vision_model.encoder.layers.0.mlp.fc1.weight": [4, 4],
              "model.vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight": [4, 4],
              "lm_head.weight": [4, 4], "model.norm.weight": [4]}  # fmt: skip
    assert linear_weight_share(shapes, under=VISION_ENCODER_NAMES) == pytest.approx(16 / 52)


def test_int8_estimate_is_smaller_and_follows_the_header(tiny_smolvlm: Path, tmp_path: Path) -> None:
    settings = cpu_settings(tmp_path)
    full = estimate_model_bytes(str(tiny_smolvlm), settings, "float32", None)
    int8 = estimate_model_bytes(str(tiny_smolvlm), settings, "float32", None, "int8")
    share = linear_weight_share(local_shapes(str(tiny_smolvlm), settings) or {})
    assert full and int8 and 0 < share < 1
    assert int8 == pytest.approx(full * (1 - share) + full * share / 4, rel=1e-6)


@pytest.mark.parametrize("vision_bf16", ["no", "yes"])
def test_the_estimate_before_load_is_what_the_loaded_model_takes(tiny_smolvlm: Path, tmp_path: Path, vision_bf16):
    """The pool plans memory with the estimate: the bf16 encoder's linear weights count two bytes, not one."""
    engine = create_engine(str(tiny_smolvlm), cpu_settings(tmp_path, model_quant="int8", vision_bf16=vision_bf16))
    estimate = engine.estimated_bytes()
    engine.load()
    assert estimate == pytest.approx(engine.estimated_bytes(), rel=0.02)  # loaded: counted from the tensors


def test_an_int8_model_is_quantized_at_load_and_still_answers(tiny_smolvlm: Path, tmp_path: Path) -> None:
    serving = ServingCore(cpu_settings(tmp_path, model_quant="int8", vision_bf16="no"))
    try:
        client = serving.client(str(tiny_smolvlm), "me")
        assert client.runtime.quantization == "int8" and client.runtime.dtype == "float32"
        estimate = serving.pool.engine(client.model_id).estimated_bytes()
        fp32 = create_engine(str(tiny_smolvlm), cpu_settings(tmp_path, model_quant="none")).estimated_bytes()
        assert estimate is not None and fp32 is not None and estimate < fp32
        assert client.load()
        model = serving.pool.engine(client.model_id)._model  # type: ignore[attr-defined]
        kinds = {type(module).__module__ for module in model.modules()}
        assert not any(type(m) is torch.nn.Linear for m in model.modules())  # vision and text layers alike
        assert "torch.ao.nn.quantized.dynamic.modules.linear" in kinds
        outcome = client.generate(ask())
        assert outcome.error is None and outcome.stats.new_tokens > 0
        loaded = client.status.bytes
        assert loaded is not None and loaded < fp32  # the pool's real figure counts the packed int8 weights
    finally:
        serving.close()


def test_the_lab_can_run_one_checkpoint_twice_with_and_without_int8(tiny_smolvlm: Path, tmp_path: Path) -> None:
    serving = ServingCore(cpu_settings(tmp_path, model_quant="none"))
    try:
        plain = serving.client(str(tiny_smolvlm), "lab")
        int8 = serving.client(str(tiny_smolvlm), "lab", quantization="int8")
        assert plain.model_id != int8.model_id  # two pool entries
        assert (plain.runtime.quantization, int8.runtime.quantization) == ("none", "int8")
        assert int8.card.model_id == str(tiny_smolvlm)
        assert int8.load() and plain.load()
        assert int8.generate(ask()).error is None
    finally:
        serving.close()


def test_models_yaml_quantization_field() -> None:
    base = {"name": "a", "model_id": "HuggingFaceTB/SmolVLM2-256M-Video-Instruct", "task": "ocr"}
    assert parse_models({"models": [base]})[0].quantization is None
    assert parse_models({"models": [{**base, "quantization": "int8"}]})[0].quantization == "int8"
    with pytest.raises(ConfigError, match="quantization"):
        parse_models({"models": [{**base, "quantization": "int4"}]})


def test_the_default_setting_is_auto() -> None:
    assert Settings().model_quant == "auto"


def _layers_by_kind(model) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {"int8": set(), "bf16": set(), "float32": set()}
    for name, module in model.named_modules():
        if type(module).__module__.startswith("torch.ao.nn.quantized.dynamic"):
            kinds["int8"].add(name)
        elif type(module) is torch.nn.Linear:
            kinds["bf16" if module.weight.dtype == torch.bfloat16 else "float32"].add(name)
    return kinds


def test_a_bf16_vision_encoder_beside_int8_layers_answers_and_is_kept_on_disk_alike(
    tiny_smolvlm: Path, tmp_path: Path
) -> None:
    """VISION_BF16=yes: the encoder's linear layers bf16, every other linear layer int8, the model's dtype
    (the pixels' and image features') still float32; the second load, from the int8 file, is laid out the
    same and answers the same."""
    answers, layouts = [], []
    for _ in range(2):
        engine = create_engine(str(tiny_smolvlm), cpu_settings(tmp_path, model_quant="int8", vision_bf16="yes"))
        engine.load()
        model = engine._model  # type: ignore[attr-defined]
        kinds = _layers_by_kind(model)
        assert kinds["bf16"] and all(name.startswith("model.vision_model.encoder.") for name in kinds["bf16"])
        assert kinds["int8"] >= {"model.connector.modality_projection.proj", "lm_head"} and not kinds["float32"]
        assert model.dtype == torch.float32 and model.model.vision_model.post_layernorm.weight.dtype == torch.bfloat16
        # read back from the file too, its layers fold their GELU and sums into oneDNN's products
        assert all(map(is_fused, model.model.vision_model.encoder.layers)) is fused_products_available()
        answers.append("".join(engine.stream(ask())))
        layouts.append(kinds)
    assert answers[0] == answers[1] and layouts[0] == layouts[1]
    (kept,) = (tmp_path / "hf" / "int8").glob("*.pt")
    # without bf16 the layout differs, so the file is another one (another key), not this one misread
    plain = create_engine(str(tiny_smolvlm), cpu_settings(tmp_path, model_quant="int8", vision_bf16="no"))
    plain.load()
    assert not _layers_by_kind(plain._model)["bf16"]  # type: ignore[attr-defined]
    (other,) = (tmp_path / "hf" / "int8").glob("*.pt")  # one file per model: the bf16 layout's went
    assert other != kept
