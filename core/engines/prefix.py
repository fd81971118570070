"""Re-using the KV cache of a conversation's media prefix across questions about the same image or video.

A follow-up question repeats the whole conversation, and with it the image tokens, whose encoding is
most of a CPU's time to the first token. The prompt up to the last media token is the same from
question to question as long as the media, the tile budget and the earlier turns are, so its KV cache
is computed once (with ``pixel_values``) and each question generates from a copy of it, without the
pixels. Whether a stored prefix still applies is decided by comparing its token ids and a digest of
the pixels the processor produced: a new image, another tile budget or a truncated history all change
one of them.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from core.engines.types import GenerationStats


@dataclass
class PrefixEntry:
    tokens: Any  # 1-D tensor: the prompt's ids up to and including the last media token
    media_digest: str
    cache: Any  # the model's KV cache after exactly those tokens
    nbytes: int


class PrefixSlot(Protocol):
    """Where one session keeps its prefix for one model; the serving core owns the memory behind it."""

    def get(self) -> PrefixEntry | None: ...

    def put(self, entry: PrefixEntry) -> None: ...


def cache_bytes(cache: Any) -> int:
    import torch

    total = 0
    for layer in getattr(cache, "layers", ()):
        for value in vars(layer).values():
            if isinstance(value, torch.Tensor):
                total += value.numel() * value.element_size()
    return total


def media_digest(tensors: dict[str, Any], names: tuple[str, ...]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for name in names:
        value = tensors.get(name)
        if value is not None:
            digest.update(f"{name}{tuple(value.shape)}{value.dtype}".encode())
            digest.update(value.detach().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()


def media_prefix_end(input_ids: Any, media_token_ids: tuple[int, ...]) -> int | None:
    """Index just past the last media token, or None when there is none or nothing follows it."""
    import torch

    ids = input_ids[0]
    positions = torch.isin(ids, torch.tensor(media_token_ids, device=ids.device)).nonzero()
    if len(positions) == 0:
        return None
    end = int(positions[-1]) + 1
    return end if end < len(ids) else None


def prefix_preparer(
    model: Any,
    tensors: dict[str, Any],
    media_inputs: tuple[str, ...],
    media_token_ids: tuple[int, ...],
    slot: PrefixSlot,
) -> Callable[[dict[str, Any], GenerationStats], dict[str, Any]] | None:
    """A step for the generation thread that swaps the media inputs for a copy of the prefix's cache.

    None when the prompt has no media prefix to share. The step runs on the generation thread, so a
    Stop during the prefix's own forward pass interrupts it like any prefill (and nothing is stored).
    """
    end = media_prefix_end(tensors["input_ids"], media_token_ids)
    if end is None:
        return None

    def prepare(kwargs: dict[str, Any], stats: GenerationStats) -> dict[str, Any]:
        prefix = tensors["input_ids"][0, :end]
        digest = media_digest(tensors, media_inputs)
        entry = slot.get()
        reused = entry is not None and entry.media_digest == digest and _same(entry.tokens, prefix)
        if not reused:
            media = {name: tensors[name] for name in media_inputs if tensors.get(name) is not None}
            output = model(
                input_ids=tensors["input_ids"][:, :end],
                attention_mask=tensors["attention_mask"][:, :end],
                use_cache=True,
                logits_to_keep=1,  # the prefix's logits are never read: skip the vocabulary projection
                **media,
            )
            cache = output.past_key_values
            entry = PrefixEntry(prefix.clone(), digest, cache, cache_bytes(cache))
            slot.put(entry)
        assert entry is not None
        stats.reused_prompt_tokens = end if reused else 0
        without_media = {name: value for name, value in kwargs.items() if name not in media_inputs}
        without_media["past_key_values"] = copy.deepcopy(entry.cache)  # the stored prefix stays as it was
        return without_media

    return prepare


def _same(left: Any, right: Any) -> bool:
    return bool(left.shape == right.shape and (left == right).all())
