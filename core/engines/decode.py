"""A leaner decoding step for Llama-style language models (SmolVLM's), with the same arithmetic.

One decoding step of a small model on a CPU is hundreds of tiny operations, and eager transformers
wraps each layer in module calls, keyword plumbing, output recorders, an attention-interface lookup
and a causal mask that a single new token does not need. :func:`install_lean_decode` replaces the
language model's ``forward`` with one that, for a single new token on a cache, calls the same
layers' weights and the same functions (``rotate_half``, transformers' SDPA attention, the cache's
``update``) directly; every other call (the prompt, the image, hidden states asked for) goes to the
original ``forward``. With int8 weights, each layer's q/k/v and gate/up products are also fused into
one product each (:func:`_fuse_int8`, for the prompt too, so no weight is held twice). Greedy answers
are token for token those of the original path (``tests/engines/test_decode.py``, on the tiny model and
on SmolVLM2-256M's shape).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

log = logging.getLogger(__name__)

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


def _fuse_int8(layers: list[Any]) -> Any | None:
    """One int8 layer giving what ``layers`` give side by side, number for number; None when they cannot be.

    Dynamic int8 layers quantize their input once per call, so layers reading the same input can share
    that step: their int8 weights are stacked, each output row keeping its own layer's scale (a
    per-channel weight), which is exactly the arithmetic each layer did alone. One call instead of two
    or three is what a decoding step saves: each int8 product costs at least 15 us, however small.
    """
    import torch

    if not all(type(layer) is torch.ao.nn.quantized.dynamic.Linear for layer in layers):
        return None
    pairs = [layer._weight_bias() for layer in layers]
    weights = [weight for weight, _ in pairs]
    if any(weight.qscheme() != torch.per_tensor_affine or weight.q_zero_point() != 0 for weight in weights):
        return None
    biases = [bias for _, bias in pairs]
    if any(bias is None for bias in biases) and any(bias is not None for bias in biases):
        return None
    rows = torch.cat([weight.int_repr() for weight in weights])
    scales = torch.cat([torch.full((weight.shape[0],), weight.q_scale(), dtype=torch.double) for weight in weights])
    stacked = torch._make_per_channel_quantized_tensor(rows, scales, torch.zeros(len(rows), dtype=torch.long), 0)
    bias = None if biases[0] is None else torch.cat(biases)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation notice of its quantized modules
        fused = torch.ao.nn.quantized.dynamic.Linear(1, 1, bias_=bias is not None, dtype=torch.qint8)
    fused.set_weight_bias(stacked, bias)
    fused.in_features, fused.out_features = layers[0].in_features, len(rows)
    fused.version = layers[0].version
    return fused


def _fusable(layer: Any) -> bool:
    import torch

    attention, mlp = layer.self_attn, layer.mlp
    parts = (attention.q_proj, attention.k_proj, attention.v_proj, mlp.gate_proj, mlp.up_proj)
    return all(type(part) is torch.ao.nn.quantized.dynamic.Linear for part in parts)


def _fuse_layer(layer: Any) -> bool:
    """Give an int8 Llama layer one q/k/v product and one gate/up product, used by every forward pass."""
    attention, mlp = layer.self_attn, layer.mlp
    qkv = _fuse_int8([attention.q_proj, attention.k_proj, attention.v_proj])
    gate_up = _fuse_int8([mlp.gate_proj, mlp.up_proj])
    if qkv is None or gate_up is None:
        return False
    _install_fused(layer, qkv, gate_up)
    return True


def _install_fused(layer: Any, qkv: Any, gate_up: Any) -> None:
    attention, mlp = layer.self_attn, layer.mlp
    sizes = [attention.q_proj.out_features, attention.k_proj.out_features, attention.v_proj.out_features]
    attention.qkv_proj, attention.qkv_sizes = qkv, sizes
    attention.forward = _fused_attention_forward(attention)
    del attention.q_proj, attention.k_proj, attention.v_proj  # the fused layer holds their weights now
    mlp.gate_up_proj, mlp.gate_size = gate_up, mlp.gate_proj.out_features
    mlp.forward = _fused_mlp_forward(mlp)
    del mlp.gate_proj, mlp.up_proj


def _llama_layers(model: Any) -> list[Any]:
    text_model = language_model(model)
    if text_model is None or not _is_llama(text_model):
        return []
    return list(text_model.layers[: text_model.config.num_hidden_layers])


def fuse_int8_layers(model: Any) -> bool:
    """Fuse every layer's q/k/v and gate/up int8 products (see :func:`_fuse_int8`); False when they cannot be.

    Reading a packed int8 weight back costs what packing it did (27 s for SmolVLM2-2.2B here), so this runs
    once, before the int8 weights are kept on disk, and a later load reads the fused layers as they are
    (:func:`fused_skeleton`)."""
    layers = _llama_layers(model)
    if not layers or not all(_fusable(layer) for layer in layers):
        return False
    for layer in layers:
        _fuse_layer(layer)
    return True


FUSED_KEYS = (".self_attn.qkv_proj.", ".mlp.gate_up_proj.")


def fused_skeleton(model: Any, int8_layers: dict[str, Any], state_keys: set[str]) -> dict[str, Any]:
    """For a model being read back from int8 weights kept after :func:`fuse_int8_layers`: its empty int8
    layers (by name, as the int8 cache made them) with each layer's q/k/v and gate/up ones replaced by
    one empty fused layer, ready for the saved state. Unchanged when the state holds no fused layer."""
    import torch

    llama_layers = _llama_layers(model)  # other families may name a layer gate_up_proj of their own
    if not llama_layers or not any(marker in key for key in state_keys for marker in FUSED_KEYS):
        return int8_layers
    text_model = language_model(model)
    prefix = next(name for name, module in model.named_modules() if module is text_model)
    layers = dict(int8_layers)
    for index, layer in enumerate(llama_layers):
        parts = {}
        for fused, names in (("self_attn.qkv_proj", ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj")),
                             ("mlp.gate_up_proj", ("mlp.gate_proj", "mlp.up_proj"))):  # fmt: skip
            pieces = [layers.pop(f"{prefix}.layers.{index}.{name}") for name in names]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's deprecation notice of its quantized modules
                empty = torch.ao.nn.quantized.dynamic.Linear(1, 1, bias_=pieces[0].bias() is not None,
                                                             dtype=torch.qint8)  # fmt: skip
            empty.in_features, empty.out_features = pieces[0].in_features, sum(p.out_features for p in pieces)
            layers[f"{prefix}.layers.{index}.{fused}"] = parts[fused] = empty
        _install_fused(layer, parts["self_attn.qkv_proj"], parts["mlp.gate_up_proj"])
    return layers


def _projections(attention: Any, hidden: Any) -> tuple[Any, Any, Any]:
    """Query, key and value from the fused product, each laid out as the separate layers gave them."""
    query, key, value = attention.qkv_proj(hidden).split(attention.qkv_sizes, dim=-1)
    heads = (*hidden.shape[:-1], -1, attention.head_dim)
    return tuple(part.contiguous().view(heads).transpose(1, 2) for part in (query, key, value))


def _fused_attention_forward(attention: Any) -> Any:
    """``LlamaAttention.forward`` with the fused q/k/v product (any number of tokens: the prompt too)."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb, eager_attention_forward

    def forward(hidden_states: Any, position_embeddings: Any = None, attention_mask: Any = None,
                past_key_values: Any = None, **kwargs: Any) -> tuple[Any, Any]:  # fmt: skip
        query, key, value = _projections(attention, hidden_states)
        cos, sin = position_embeddings
        query, key = apply_rotary_pos_emb(query, key, cos, sin)
        if past_key_values is not None:
            key, value = past_key_values.update(key, value, attention.layer_idx)
        interface = ALL_ATTENTION_FUNCTIONS.get_interface(attention.config._attn_implementation,
                                                           eager_attention_forward)  # fmt: skip
        output, weights = interface(attention, query, key, value, attention_mask, dropout=0.0,
                                    scaling=attention.scaling, **kwargs)  # fmt: skip
        output = output.reshape(*hidden_states.shape[:-1], -1).contiguous()
        return attention.o_proj(output), weights

    return forward


def _fused_mlp_forward(mlp: Any) -> Any:
    def forward(hidden: Any) -> Any:
        gate, up = mlp.gate_up_proj(hidden).split([mlp.gate_size, mlp.gate_up_proj.out_features - mlp.gate_size], -1)
        return mlp.down_proj(mlp.act_fn(gate) * up)

    return forward


# Room a layer's cache gets for the tokens to come, in positions: one copy per this many tokens instead of
# one per token (a token's ``cat`` copies the whole cache: 2 ms of a 15 ms step for 256M), and at most this
# many positions unused (6 MB for 256M) beyond what the cache's size reports.
ROOM = 128


def _growing(layer: Any) -> bool:
    """A plain growing cache layer that holds positions already (the prompt's)."""
    from transformers.cache_utils import DynamicLayer

    if type(layer) is not DynamicLayer or not layer.is_initialized:
        return False
    keys: Any = layer.keys
    return bool(keys is not None and keys.numel() > 0)


def _room(cache: Any, index: int) -> tuple[Any, Any, int] | None:
    """The buffers of a plain growing layer with room for one more position, and how many it holds;
    None for any other layer. A buffer is made again (room included) when the cache replaced its
    tensors (a crop) or the room is used up."""
    layers = getattr(cache, "layers", ())
    layer: Any = layers[index] if index < len(layers) else None
    if not _growing(layer):
        return None
    length = layer.keys.shape[-2]
    room = getattr(layer, "_vlm_room", None)
    if room is None or room[2] is not layer.keys or room[0].shape[-2] <= length:
        shape = (*layer.keys.shape[:-2], length + ROOM, layer.keys.shape[-1])
        keys, values = layer.keys.new_empty(shape), layer.values.new_empty(shape)
        keys[..., :length, :].copy_(layer.keys)
        values[..., :length, :].copy_(layer.values)
        layer._vlm_room = room = (keys, values, None)
    return room[0], room[1], length


def _advance(cache: Any, index: int, length: int) -> tuple[Any, Any]:
    """Let a layer's ``keys`` and ``values`` show the position just written after ``length``."""
    layer = cache.layers[index]
    keys, values, _ = layer._vlm_room
    layer.keys, layer.values = keys[..., : length + 1, :], values[..., : length + 1, :]
    layer._vlm_room = (keys, values, layer.keys)
    return layer.keys, layer.values


def _append(cache: Any, index: int, key: Any, value: Any) -> tuple[Any, Any]:
    """``cache.update`` for a plain growing layer, writing into room kept after its positions.

    The layer's ``keys`` and ``values`` stay tensors of exactly its positions (views of a larger buffer),
    so everything else that reads, crops or copies the cache sees what ``update`` would have left.
    """
    room = _room(cache, index)
    if room is None:
        return cache.update(key, value, index)
    keys, values, length = room
    keys[..., length : length + 1, :].copy_(key)
    values[..., length : length + 1, :].copy_(value)
    return _advance(cache, index, length)


def _scripted_step(step: Any, cache: Any, layers: list[Any], hidden: Any, cos: Any, sin: Any) -> Any | None:
    """The whole step through the TorchScript function; None (nothing written) when a layer's cache is
    not a plain growing one or the layers hold different lengths."""
    rooms = [_room(cache, attention.layer_idx) for attention in (layer.self_attn for layer in layers)]
    if any(room is None for room in rooms) or len({room[2] for room in rooms if room is not None}) != 1:
        return None
    keys = [room[0] for room in rooms if room is not None]
    values = [room[1] for room in rooms if room is not None]
    length = rooms[0][2] if rooms[0] is not None else 0
    normed = step(hidden, cos, sin, keys, values, length)
    for layer in layers:
        _advance(cache, layer.self_attn.layer_idx, length)
    return normed


def _lean_forward(text_model: Any, original: Any, step: Any | None) -> Any:
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.modeling_outputs import BaseModelOutputWithPast
    from transformers.models.llama.modeling_llama import rotate_half

    layers = list(text_model.layers[: text_model.config.num_hidden_layers])
    fused = all(hasattr(layer.self_attn, "qkv_proj") for layer in layers)

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
        if step is not None:
            normed = _scripted_step(step, past_key_values, layers, hidden, cos, sin)
            if normed is not None:
                return BaseModelOutputWithPast(last_hidden_state=normed, past_key_values=past_key_values)
        for layer in layers:
            attention = layer.self_attn
            normed = _rms_norm(layer.input_layernorm, hidden)
            if fused:
                query, key, value = _projections(attention, normed)
            else:
                heads = (1, 1, -1, attention.head_dim)
                query = attention.q_proj(normed).view(heads).transpose(1, 2)
                key = attention.k_proj(normed).view(heads).transpose(1, 2)
                value = attention.v_proj(normed).view(heads).transpose(1, 2)
            query = query * cos + rotate_half(query) * sin
            key = key * cos + rotate_half(key) * sin
            key, value = _append(past_key_values, attention.layer_idx, key, value)
            attended, _ = sdpa_attention_forward(attention, query, key, value, None, dropout=0.0,
                                                 scaling=attention.scaling)  # fmt: skip
            hidden = hidden + attention.o_proj(attended.reshape(1, 1, -1))
            normed = _rms_norm(layer.post_attention_layernorm, hidden)
            mlp = layer.mlp
            hidden = hidden + (mlp.forward(normed) if fused else
                               mlp.down_proj(mlp.act_fn(mlp.gate_proj(normed)) * mlp.up_proj(normed)))  # fmt: skip
        return BaseModelOutputWithPast(last_hidden_state=_rms_norm(text_model.norm, hidden),
                                       past_key_values=past_key_values)  # fmt: skip

    forward.scripted = step is not None  # type: ignore[attr-defined]
    return forward


def install_lean_decode(model: Any) -> bool:
    """Give a float32 Llama-style language model the lean single-token step; False when it does not apply."""
    import torch

    text_model = language_model(model)
    if text_model is None or not _is_llama(text_model) or hasattr(text_model, _ORIGINAL):
        return False
    if text_model.norm.weight.dtype != torch.float32:  # the norms above skip the half-precision casts
        return False
    layers = _llama_layers(model)
    step = None
    if all(hasattr(layer.self_attn, "qkv_proj") for layer in layers) or fuse_int8_layers(model):
        step = _script(text_model, layers)
    original = text_model.forward
    setattr(text_model, _ORIGINAL, original)
    text_model.forward = _lean_forward(text_model, original, step)
    return True


def _script(text_model: Any, layers: list[Any]) -> Any | None:
    """The fused int8 step as one TorchScript function; None (the Python step then) when it cannot be."""
    from core.engines.scripted_decode import script_decoding_step

    try:
        return script_decoding_step(text_model, layers)
    except Exception as error:  # noqa: BLE001 - a layer TorchScript cannot read keeps the Python step
        log.warning("decoding steps stay in Python: TorchScript could not script them (%s)", error)
        return None


def scripted(model: Any) -> bool:
    """Whether the model's single-token steps run as one TorchScript function."""
    text_model = language_model(model)
    forward = getattr(text_model, "forward", None)
    return bool(getattr(forward, "scripted", False))


# Untimed steps before any count is timed: TorchScript profiles and optimises a function's first calls
# (the first step of 256M took 460 ms here, the later ones 23), so the count timed first paid for it.
WARM_UP_STEPS = 3


def _steps_seconds(
    model: Any, counts: tuple[int, ...], prompt: int = 16, budget_s: float = 0.5
) -> dict[int, list[float]]:
    """Seconds of decoding steps (the language model and its head) with each torch thread count in ``counts``,
    after a prompt of ``prompt`` zero embeddings and :data:`WARM_UP_STEPS` untimed steps. The counts take
    turns, step by step, so a machine whose speed drifts (a neighbour's load) weighs on each alike; at least
    three rounds, then rounds while about ``budget_s`` lasts, at most twelve."""
    import time

    import torch
    from transformers.cache_utils import DynamicCache

    text_model: Any = language_model(model)
    head = model.get_output_embeddings()
    width = text_model.config.hidden_size
    before = torch.get_num_threads()
    times: dict[int, list[float]] = {count: [] for count in counts}
    try:
        with torch.inference_mode():
            cache = DynamicCache(config=text_model.config)
            text_model(inputs_embeds=torch.zeros(1, prompt, width), past_key_values=cache, use_cache=True)
            token = torch.zeros(1, 1, width)

            def step() -> float:
                started = time.perf_counter()
                head(text_model(inputs_embeds=token, past_key_values=cache, use_cache=True).last_hidden_state)
                return time.perf_counter() - started

            torch.set_num_threads(max(counts))
            for _ in range(WARM_UP_STEPS):
                step()
            spent, rounds = 0.0, 0
            while rounds < 3 or (spent < budget_s and rounds < 12):
                for count in counts:
                    torch.set_num_threads(count)
                    times[count].append(step())
                    spent += times[count][-1]
                rounds += 1
    finally:
        torch.set_num_threads(before)
    return times


def fastest_decode_threads(model: Any, counts: tuple[int, ...]) -> tuple[int, dict[int, float]]:
    """Which torch thread count decodes ``model`` fastest on this machine, and each count's seconds per step.

    Whether a second thread helps depends on the machine more than on the model: on one 2-core server it
    halved a 256M step, on another it slowed it by a fifth (every product handed to a thread costs
    microseconds, and a step is hundreds of small ones). So it is measured once per load, in well under a
    second for the small models.
    """
    import statistics

    seconds = {count: statistics.median(times) for count, times in _steps_seconds(model, counts).items()}
    return min(seconds, key=lambda count: (seconds[count], count)), seconds
