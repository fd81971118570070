"""A leaner decoding step for Llama-style language models (SmolVLM's), with the same arithmetic.

One decoding step of a small model on a CPU is hundreds of tiny operations, and eager transformers
wraps each layer in module calls, keyword plumbing, output recorders, an attention-interface lookup
and a causal mask that a single new token does not need. :func:`install_lean_decode` replaces the
language model's ``forward`` with one that, for a single new token on a cache, calls the same
layers' weights and the same functions (``rotate_half``, transformers' SDPA attention, the cache's
``update``) directly; every other call (the prompt, the image, hidden states asked for) goes to the
original ``forward``. Greedy answers are token for token those of the original path
(``tests/engines/test_decode.py``, on the tiny model and on SmolVLM2-256M's shape).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

_ORIGINAL = "_vlm_original_forward"


def language_model(model: Any) -> Any | None:
    """The decoder stack of a composite model (SmolVLM's ``text_model``), or None when there is none."""
    inner = getattr(model, "model", None)
    return getattr(inner, "text_model", None) or getattr(inner, "language_model", None)


def _is_llama(text_model: Any) -> bool:
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaModel

    # exactly these classes: a subclass may change a step this forward repeats
    return type(text_model) is LlamaModel and all(type(layer) is LlamaDecoderLayer for layer in text_model.layers)


def _rms_norm(norm: Any, hidden: Any) -> Any:
    """``LlamaRMSNorm`` for float32 activations (the CPU's dtype), as its forward computes it."""
    import torch

    variance = hidden.pow(2).mean(-1, keepdim=True)
    return norm.weight * (hidden * torch.rsqrt(variance + norm.variance_epsilon))


def _lean_forward(text_model: Any, original: Any) -> Any:
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.modeling_outputs import BaseModelOutputWithPast
    from transformers.models.llama.modeling_llama import rotate_half

    layers = list(text_model.layers[: text_model.config.num_hidden_layers])

    def forward(
        input_ids: Any = None,
        attention_mask: Any = None,
        position_ids: Any = None,
        past_key_values: Any = None,
        inputs_embeds: Any = None,
        use_cache: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        one_token = (inputs_embeds if inputs_embeds is not None else input_ids).shape[:2] == (1, 1)
        plain = not any(kwargs.get(name) for name in ("output_hidden_states", "output_attentions"))
        masked = attention_mask is not None and not bool(attention_mask.all())
        if not (one_token and plain and past_key_values is not None and not masked and text_model.training is False):
            return original(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                            past_key_values=past_key_values, inputs_embeds=inputs_embeds, use_cache=use_cache,
                            **kwargs)  # fmt: skip
        hidden = inputs_embeds if inputs_embeds is not None else text_model.embed_tokens(input_ids)
        if position_ids is None:
            position_ids = torch.tensor([[past_key_values.get_seq_length()]], device=hidden.device)
        cos, sin = text_model.rotary_emb(hidden, position_ids=position_ids)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        for layer in layers:
            attention = layer.self_attn
            normed = _rms_norm(layer.input_layernorm, hidden)
            heads = (1, 1, -1, attention.head_dim)
            query = attention.q_proj(normed).view(heads).transpose(1, 2)
            key = attention.k_proj(normed).view(heads).transpose(1, 2)
            value = attention.v_proj(normed).view(heads).transpose(1, 2)
            query = query * cos + rotate_half(query) * sin
            key = key * cos + rotate_half(key) * sin
            key, value = past_key_values.update(key, value, attention.layer_idx)
            attended, _ = sdpa_attention_forward(attention, query, key, value, None, dropout=0.0,
                                                 scaling=attention.scaling)  # fmt: skip
            hidden = hidden + attention.o_proj(attended.reshape(1, 1, -1))
            normed = _rms_norm(layer.post_attention_layernorm, hidden)
            mlp = layer.mlp
            hidden = hidden + mlp.down_proj(mlp.act_fn(mlp.gate_proj(normed)) * mlp.up_proj(normed))
        return BaseModelOutputWithPast(last_hidden_state=_rms_norm(text_model.norm, hidden),
                                       past_key_values=past_key_values)  # fmt: skip

    return forward


def install_lean_decode(model: Any) -> bool:
    """Give a float32 Llama-style language model the lean single-token step; False when it does not apply."""
    import torch

    text_model = language_model(model)
    if text_model is None or not _is_llama(text_model) or hasattr(text_model, _ORIGINAL):
        return False
    if text_model.norm.weight.dtype != torch.float32:  # the norms above skip the half-precision casts
        return False
    original = text_model.forward
    setattr(text_model, _ORIGINAL, original)
    text_model.forward = _lean_forward(text_model, original)
    return True


@contextmanager
def original_decode(model: Any) -> Any:
    """The model's own forward for the time being (what the lean step is compared with)."""
    text_model = language_model(model)
    original = getattr(text_model, _ORIGINAL, None)
    if text_model is None or original is None:
        yield
        return
    lean = text_model.forward
    text_model.forward = original
    try:
        yield
    finally:
        text_model.forward = lean
