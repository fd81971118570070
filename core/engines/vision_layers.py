"""A bf16 vision encoder's layers with their elementwise passes folded into oneDNN's matrix products.

Once the encoder is in bf16 (:func:`core.engines.quantization.vision_in_bf16`), a SigLIP layer's six
matrix products run on the CPU's matrix units, and what is left costs nearly as much as they do: passes
over every tile's activations for the tanh GELU (3,072 wide for SmolVLM's encoder) and the two residual
sums. oneDNN's linear primitive can apply a GELU or add another tensor as it writes its result
(``torch.ops.mkldnn._linear_pointwise``, what inductor's CPU fusions call), so :func:`fuse_encoder_layers`
gives each layer a forward that does exactly that: same weights, same order of operations, the GELU taken
from the float accumulator instead of the bf16 product (the output is closer to float32's, not further).

The layer still goes through its module call, so hooks on it run; the attention module inside is not
called (its weights are), so a request for the encoder's attention maps would find none: nothing in the
app asks for them. Only the exact SigLIP layer classes of the families whose encoder runs in bf16 are
fused, and only where a probe shows that this torch and CPU run the fused products.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger(__name__)

_FUSED = "_vlm_fused_forward"
# the activation names of the encoders' configs, as oneDNN's GELU algorithm calls them
_GELU_ALGORITHMS = {"gelu_pytorch_tanh": "tanh", "gelu": "none"}


@functools.cache
def fused_products_available() -> bool:
    """Whether this torch runs oneDNN's bf16 linear products with a GELU and with a sum (probed once)."""
    import torch

    if not torch.backends.mkldnn.is_available() or not hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        return False
    try:
        with torch.inference_mode():
            inputs = torch.ones(2, 8, dtype=torch.bfloat16)
            weight, bias = torch.ones(8, 8, dtype=torch.bfloat16), torch.zeros(8, dtype=torch.bfloat16)
            torch.ops.mkldnn._linear_pointwise(inputs, weight, bias, "gelu", [], "tanh")
            torch.ops.mkldnn._linear_pointwise.binary(inputs, inputs, weight, bias, "add")
    except (RuntimeError, NotImplementedError) as error:
        log.info("oneDNN's fused bf16 products do not run here (%s); the vision encoder runs unfused", error)
        return False
    return True


def _siglip_layer_types() -> tuple[type, ...]:
    from transformers.models.idefics3.modeling_idefics3 import Idefics3EncoderLayer
    from transformers.models.smolvlm.modeling_smolvlm import SmolVLMEncoderLayer

    return (SmolVLMEncoderLayer, Idefics3EncoderLayer)


def _gelu_algorithm(layer: Any) -> str | None:
    return _GELU_ALGORITHMS.get(str(getattr(layer.mlp.config, "hidden_act", "")))


def _fusable(layer: Any) -> bool:
    import torch

    # exactly these classes: a subclass may change a step the fused forward repeats
    if type(layer) not in _siglip_layer_types() or _gelu_algorithm(layer) is None:
        return False
    attention, mlp = layer.self_attn, layer.mlp
    linears = (attention.q_proj, attention.k_proj, attention.v_proj, attention.out_proj, mlp.fc1, mlp.fc2)
    return all(type(linear) is torch.nn.Linear and linear.bias is not None for linear in linears)


def _fused_forward(layer: Any) -> Any:
    import torch

    original = type(layer).forward.__get__(layer)
    algorithm = _gelu_algorithm(layer)
    linear, linear_plus = torch.ops.mkldnn._linear_pointwise, torch.ops.mkldnn._linear_pointwise.binary
    attention, mlp = layer.self_attn, layer.mlp

    def forward(hidden_states: Any, attention_mask: Any = None, **kwargs: Any) -> Any:
        # weights are read at each call: a model read back from disk gets its tensors after this is installed
        weights = (attention.q_proj.weight, mlp.fc1.weight)
        if hidden_states.dtype != torch.bfloat16 or hidden_states.device.type != "cpu" or layer.training or any(
            weight.dtype != torch.bfloat16 for weight in weights
        ):  # fmt: skip
            return original(hidden_states, attention_mask, **kwargs)
        batch, positions, width = hidden_states.shape
        normed = layer.layer_norm1(hidden_states)
        heads = (batch, positions, -1, attention.head_dim)
        query, key, value = (
            linear(normed, part.weight, part.bias, "none", [], "").view(heads).transpose(1, 2)
            for part in (attention.q_proj, attention.k_proj, attention.v_proj)
        )
        attended = torch.nn.functional.scaled_dot_product_attention(
            query, key, value, attn_mask=attention_mask, dropout_p=0.0, scale=attention.scale
        )
        attended = attended.transpose(1, 2).reshape(batch, positions, width)
        hidden = linear_plus(attended, hidden_states, attention.out_proj.weight, attention.out_proj.bias, "add")
        widened = linear(layer.layer_norm2(hidden), mlp.fc1.weight, mlp.fc1.bias, "gelu", [], algorithm)
        return linear_plus(widened, hidden, mlp.fc2.weight, mlp.fc2.bias, "add")

    return forward


def fuse_encoder_layers(encoder: Any) -> bool:
    """Give every layer of a bf16 SigLIP ``encoder`` the fused forward; False (nothing changed) when a layer
    is of another kind or the fused products do not run here. Layers already fused stay as they are."""
    layers = list(getattr(encoder, "layers", ()))
    if not layers or not all(_fusable(layer) for layer in layers) or not fused_products_available():
        return False
    for layer in layers:
        if not hasattr(layer, _FUSED):
            layer.forward = _fused_forward(layer)
            setattr(layer, _FUSED, True)
    return True


def is_fused(layer: Any) -> bool:
    return bool(getattr(layer, _FUSED, False))
