"""Re-using a conversation's KV cache across questions about the same image or video.

A follow-up question repeats the whole conversation, and with it the image tokens, whose encoding is
most of a CPU's time to the first token. So each session keeps, per model, the KV cache of its last
prompt (all but the final token). The next question shares that prompt's tokens up to where it
differs, usually up to its own new turn; that much of the cache is re-used, only the rest is
computed, and the pixels are not encoded again. The cache applies only while the media are the same
(a fingerprint of the source pictures and the processor settings, which includes the tile budget)
and while the shared tokens still cover every media token; otherwise it is computed from scratch.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from core.engines.types import GenerationStats


@dataclass
class PrefixEntry:
    tokens: Any  # 1-D tensor: the last prompt's ids but its final one (they hold every media token)
    media_digest: str  # fingerprint of the media and processor settings behind those tokens
    cache: Any  # the model's KV cache for those tokens (and whatever the answer appended after them)
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


# id(image) -> (a weak reference to it, its digest). PIL images compare by value, so they cannot be
# weak dictionary keys; the reference tells a live image from a new one that reuses a freed id.
_image_digests: dict[int, tuple[weakref.ref[Any], bytes]] = {}
_digest_lock = threading.Lock()


def _forget_digest(key: int) -> None:
    with _digest_lock:
        _image_digests.pop(key, None)


def _image_digest(image: Any) -> bytes:
    """A picture's content hash, computed once per image object (a session re-sends the same object;
    the app never draws on an image it has handed to a model)."""
    with _digest_lock:
        known = _image_digests.get(id(image))
    if known is not None and known[0]() is image:
        return known[1]
    digest = hashlib.blake2b(f"{image.mode}{image.size}".encode(), digest_size=16)
    digest.update(image.tobytes())
    value = digest.digest()
    key = id(image)

    def forget(_: weakref.ref[Any]) -> None:
        _forget_digest(key)

    reference = weakref.ref(image, forget)
    with _digest_lock:
        _image_digests[key] = (reference, value)
    return value


def media_fingerprint(images: list[Any], settings: object) -> str:
    """What the model's pixels depend on: the pictures (or frames) and the processor settings used on them."""
    digest = hashlib.blake2b(repr(settings).encode(), digest_size=16)
    for image in images:
        digest.update(_image_digest(image))
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


def _shared_length(left: Any, right: Any) -> int:
    length = min(len(left), len(right))
    differs = (left[:length] != right[:length]).nonzero()
    return int(differs[0]) if len(differs) else length


def prefix_preparer(
    model: Any,
    tensors: dict[str, Any],
    media_key: str,
    media_inputs: tuple[str, ...],
    media_token_ids: tuple[int, ...],
    slot: PrefixSlot,
) -> Callable[[dict[str, Any], GenerationStats], dict[str, Any]] | None:
    """A step for the generation thread that swaps the media inputs for a copy of a cached prefix.

    The stored prefix is everything but the prompt's last token, so the next question of the same
    conversation (this prompt, the answer, a new question) recomputes only what is new. Answers that
    re-tokenize differently, or a truncated history, share less: the cache is cut back to what is
    shared, and if that no longer covers the media, it is computed again from the pixels.

    None when the prompt has no media prefix to share. The step runs on the generation thread, so a
    Stop during its forward passes interrupts it like any prefill (and nothing is stored).
    """
    end = media_prefix_end(tensors["input_ids"], media_token_ids)
    if end is None:
        return None
    ids, mask = tensors["input_ids"], tensors["attention_mask"]
    keep = ids.shape[1] - 1

    def prepare(kwargs: dict[str, Any], stats: GenerationStats) -> dict[str, Any]:
        import torch

        entry = slot.get()
        shared = 0
        if entry is not None and entry.media_digest == media_key:
            shared = _shared_length(entry.tokens, ids[0, :keep])
        if shared >= end and entry is not None:
            # A copy: the stored entry stays whole even if this request fails half-way through it.
            cache = copy.deepcopy(entry.cache)
            surplus = cache.get_seq_length() - shared
            if surplus > 0:
                cache.crop(-surplus)  # transformers 5: a negative count removes that many tokens
            done = shared
        else:
            media = {name: tensors[name] for name in media_inputs if tensors.get(name) is not None}
            output = model(
                input_ids=ids[:, :end], attention_mask=mask[:, :end], use_cache=True, logits_to_keep=1, **media
            )  # the prefix's logits are never read: logits_to_keep skips the vocabulary projection
            cache, done = output.past_key_values, end
        stats.reused_prompt_tokens = shared if shared >= end else 0
        if done < keep:
            model(
                input_ids=ids[:, done:keep],
                attention_mask=mask[:, :keep],
                past_key_values=cache,
                cache_position=torch.arange(done, keep, device=ids.device),
                use_cache=True,
                logits_to_keep=1,
            )
        slot.put(PrefixEntry(ids[0, :keep].clone(), media_key, cache, cache_bytes(cache)))
        # Generation appends this answer's tokens to the stored cache itself, saving a copy of it (half
        # a gigabyte for the 2.2B model at full tiles); the next question cuts it back to its shared
        # prefix above, so what it appended is never read.
        without_media = {name: value for name, value in kwargs.items() if name not in media_inputs}
        without_media["past_key_values"] = cache
        return without_media

    return prepare
