"""The bf16 vision encoder with its GELU and residual sums inside oneDNN's products (core.engines.vision_layers)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from core.engines.quantization import vision_in_bf16
from core.engines.vision_layers import fuse_encoder_layers, fused_products_available, is_fused

needs_fused_products = pytest.mark.skipif(
    not fused_products_available(), reason="this torch / CPU does not run oneDNN's fused bf16 products"
)


@pytest.fixture(scope="module")
def float_model(tiny_smolvlm: Path):
    from transformers import AutoModelForImageTextToText

    return AutoModelForImageTextToText.from_pretrained(tiny_smolvlm, dtype=torch.float32).eval()


def _encoded(model, pixels: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model.model.vision_model(pixel_values=pixels).last_hidden_state.float()


def _pixels(model) -> torch.Tensor:
    side = model.config.vision_config.image_size
    return torch.randn(3, 3, side, side, generator=torch.Generator().manual_seed(0))


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0))


@needs_fused_products
def test_fused_layers_compute_what_the_unfused_bf16_layers_compute(float_model) -> None:
    pixels = _pixels(float_model)
    reference = _encoded(float_model, pixels)
    unfused, fused = copy.deepcopy(float_model), copy.deepcopy(float_model)
    assert vision_in_bf16(unfused, fuse=False) and vision_in_bf16(fused)
    layers = fused.model.vision_model.encoder.layers
    assert all(is_fused(layer) for layer in layers)
    assert not any(is_fused(layer) for layer in unfused.model.vision_model.encoder.layers)
    plain, folded = _encoded(unfused, pixels), _encoded(fused, pixels)
    # bf16 rounding apart (the fused GELU reads the float accumulator), the same numbers
    assert torch.allclose(folded, plain, atol=0.05, rtol=0.02)
    assert _cosine(folded, plain) > 0.9999
    assert _cosine(folded, reference) >= _cosine(plain, reference) - 1e-4


def _weights_that_matter(layer, generator: torch.Generator) -> None:
    for linear in (module for module in layer.modules() if isinstance(module, torch.nn.Linear)):
        scale = linear.in_features**-0.5
        linear.weight.data = (torch.randn(linear.weight.shape, generator=generator) * scale).bfloat16()
        linear.bias.data = (torch.randn(linear.bias.shape, generator=generator) * 0.1).bfloat16()
    for norm in (layer.layer_norm1, layer.layer_norm2):
        norm.weight.data = (1 + torch.randn(norm.weight.shape, generator=generator) * 0.3).bfloat16()


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@needs_fused_products
def test_each_fused_layer_computes_its_class_forward_with_weights_that_matter(float_model) -> None:
    """The tiny model's random layers barely change their input, which would hide a wrong step; here each
    product is drawn to matter (unit-scale outputs), so a swapped projection, a lost GELU or residual sum,
    or the wrong norm is far outside bf16's rounding."""
    model = copy.deepcopy(float_model)
    vision_in_bf16(model)
    generator = torch.Generator().manual_seed(2)
    for layer in model.model.vision_model.encoder.layers:
        _weights_that_matter(layer, generator)
        hidden = torch.randn(2, 16, layer.embed_dim, generator=generator).bfloat16()
        with torch.inference_mode():
            fused, plain = layer(hidden, None).float(), type(layer).forward(layer, hidden, None).float()
        assert is_fused(layer)
        assert _relative(fused, plain) < 0.01
        assert _relative(hidden.float(), plain) > 0.3  # the layer's own part is far above the rounding


@needs_fused_products
def test_padding_patches_are_masked_as_the_unfused_layer_masks_them(float_model) -> None:
    """A picture smaller than its tile leaves patches of padding: the encoder passes a mask of them, and
    attention must not read them."""
    model = copy.deepcopy(float_model)
    vision_in_bf16(model)
    layer = model.model.vision_model.encoder.layers[0]
    generator = torch.Generator().manual_seed(3)
    _weights_that_matter(layer, generator)
    hidden = torch.randn(2, 16, layer.embed_dim, generator=generator).bfloat16()
    real = torch.ones(2, 1, 16, 16, dtype=torch.bool)
    real[..., 10:] = False  # the last six patches are padding (the mask the encoder builds: batch, 1, query, key)
    with torch.inference_mode():
        fused, plain = layer(hidden, real).float(), type(layer).forward(layer, hidden, real).float()
        unmasked = type(layer).forward(layer, hidden, None).float()
    assert _relative(fused, plain) < 0.01
    assert _relative(unmasked, plain) > 0.05  # the padding would have changed the result


@needs_fused_products
def test_a_fused_layer_runs_its_own_forward_again_on_float32_weights(float_model) -> None:
    """Weights put back in float32 (nothing in the app does; a guard, not a path): the layer's class forward,
    number for number."""
    pixels = _pixels(float_model)
    model = copy.deepcopy(float_model)
    assert fuse_encoder_layers(model.model.vision_model.encoder)
    assert torch.equal(_encoded(model, pixels), _encoded(float_model, pixels))


def test_an_encoder_with_another_activation_is_left_alone(float_model) -> None:
    model = copy.deepcopy(float_model)
    encoder = model.model.vision_model.encoder
    encoder.layers[0].mlp.config.hidden_act = "quick_gelu"  # the copy's config, shared by its layers
    before = [layer.forward for layer in encoder.layers]
    assert not fuse_encoder_layers(encoder)
    assert [layer.forward for layer in encoder.layers] == before and not any(map(is_fused, encoder.layers))


def test_layers_of_another_class_are_left_alone(float_model) -> None:
    model = copy.deepcopy(float_model)
    encoder = model.model.vision_model.encoder
    encoder.layers[1].__class__ = type("Changed", (type(encoder.layers[1]),), {})
    assert not fuse_encoder_layers(encoder) and not any(map(is_fused, encoder.layers))


def test_a_layout_made_without_its_values_takes_a_saved_state_and_encodes_alike(float_model) -> None:
    """``keep_values=False`` (a load from the int8 file) lays the encoder out in bf16 without converting the
    values it is about to overwrite; given the saved state it encodes exactly as the converted one."""
    converted = copy.deepcopy(float_model)
    vision_in_bf16(converted)
    skeleton = copy.deepcopy(float_model)
    for weight in skeleton.model.vision_model.encoder.parameters():
        weight.data.fill_(float("nan"))  # what an uninitialised skeleton may hold
    vision_in_bf16(skeleton, keep_values=False)
    tower = skeleton.model.vision_model
    assert {weight.dtype for weight in (*tower.encoder.parameters(), *tower.post_layernorm.parameters())} == {
        torch.bfloat16
    }
    skeleton.load_state_dict(converted.state_dict(), strict=True)
    pixels = _pixels(float_model)
    assert torch.equal(_encoded(skeleton, pixels), _encoded(converted, pixels))
