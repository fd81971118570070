"""The int8 single-token decoding step of a Llama decoder as one TorchScript function.

After the lean step (:mod:`core.engines.decode`) most of a token's time on a small model is Python
calling 1,500 small operations one by one, not the operations themselves. TorchScript runs the same
operations, in the same order, with the same arguments, from its C++ interpreter: the kernels are
the ones eager PyTorch calls, so the numbers are identical (``tests/engines/test_decode.py`` compares
greedy answers token for token), and nothing is compiled to machine code, so scripting takes a
second or two, not the minutes ``torch.compile`` took here.

This file has no ``from __future__ import annotations``: TorchScript reads the annotations below.
"""

import warnings
from typing import Any

import torch
from torch import Tensor, nn


class _RmsNorm(nn.Module):
    """``LlamaRMSNorm`` for float32 activations, as the lean step computes it."""

    def __init__(self, norm: Any) -> None:
        super().__init__()
        self.weight = norm.weight
        self.eps = float(norm.variance_epsilon)

    def forward(self, hidden: Tensor) -> Tensor:
        variance = hidden.pow(2).mean(-1, keepdim=True)
        return self.weight * (hidden * torch.rsqrt(variance + self.eps))


def _rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """transformers' ``apply_rotary_pos_emb`` for one tensor: ``x * cos + rotate_half(x) * sin``.

    ``narrow`` rather than ``x[..., half:]``: TorchScript turns each ``:`` of an index into an operation
    of its own, and a step has thousands of them."""
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x.narrow(-1, half, half), x.narrow(-1, 0, half)), dim=-1) * sin


class _Layer(nn.Module):
    """One decoder layer with fused q/k/v and gate/up int8 products, for one new token."""

    def __init__(self, layer: Any) -> None:
        super().__init__()
        attention, mlp = layer.self_attn, layer.mlp
        self.input_norm = _RmsNorm(layer.input_layernorm)
        self.post_attention_norm = _RmsNorm(layer.post_attention_layernorm)
        self.qkv_proj, self.o_proj = attention.qkv_proj, attention.o_proj
        self.gate_up_proj, self.down_proj, self.act_fn = mlp.gate_up_proj, mlp.down_proj, mlp.act_fn
        self.head_dim = int(attention.head_dim)
        self.query_heads = int(attention.qkv_sizes[0]) // self.head_dim
        self.kv_heads = int(attention.qkv_sizes[1]) // self.head_dim
        self.gate_up_sizes: list[int] = [int(mlp.gate_size), int(mlp.gate_up_proj.out_features - mlp.gate_size)]
        self.scaling = float(attention.scaling)

    def forward(self, hidden: Tensor, cos: Tensor, sin: Tensor, keys: Tensor, values: Tensor, length: int) -> Tensor:
        # the fused product's output is the query heads, then the key heads, then the value heads: the
        # rotation of query and key is one elementwise pass over the first two groups
        heads = self.qkv_proj(self.input_norm(hidden)).view(1, 1, -1, self.head_dim).transpose(1, 2)
        rotated = _rotate(heads.narrow(1, 0, self.query_heads + self.kv_heads), cos, sin)
        keys.narrow(2, length, 1).copy_(rotated.narrow(1, self.query_heads, self.kv_heads))
        values.narrow(2, length, 1).copy_(heads.narrow(1, self.query_heads + self.kv_heads, self.kv_heads))
        attended = nn.functional.scaled_dot_product_attention(
            rotated.narrow(1, 0, self.query_heads),
            keys.narrow(2, 0, length + 1),
            values.narrow(2, 0, length + 1),
            dropout_p=0.0,
            scale=self.scaling,
            enable_gqa=True,
        )
        hidden = hidden + self.o_proj(attended.transpose(1, 2).reshape(1, 1, -1))
        gate, up = self.gate_up_proj(self.post_attention_norm(hidden)).split(self.gate_up_sizes, dim=-1)
        return hidden + self.down_proj(self.act_fn(gate) * up)


class _Stack(nn.Module):
    def __init__(self, text_model: Any, layers: list[Any]) -> None:
        super().__init__()
        self.layers = nn.ModuleList([_Layer(layer) for layer in layers])
        self.norm = _RmsNorm(text_model.norm)

    def forward(
        self, hidden: Tensor, cos: Tensor, sin: Tensor, keys: list[Tensor], values: list[Tensor], length: int
    ) -> Tensor:
        for index, layer in enumerate(self.layers):
            hidden = layer(hidden, cos, sin, keys[index], values[index], length)
        return self.norm(hidden)


def script_decoding_step(text_model: Any, layers: list[Any]) -> Any:
    """``step(hidden, cos, sin, keys, values, length) -> normed hidden`` for one token after ``length``
    cached ones; writes the token's key and value at ``length`` of each layer's buffers (which need room
    for it). Raises what TorchScript raises for a layer it cannot script."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript's deprecation notices
        return torch.jit.script(_Stack(text_model, layers).eval())
