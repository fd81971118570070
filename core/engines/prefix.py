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

import hashlib
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Protocol

from core.engines.types import GenerationStats


@dataclass
class PrefixEntry:
    tokens: Any  # 1-D tensor: the last prompt's ids but its final one (they hold every media token)
    media_digest: str  # fingerprint of the media and processor settings behind those tokens
    cache: Any  # the model's KV cache for those tokens (and whatever the answer appended after them)
    nbytes: int
    busy: bool = False  # a generation of its session is using the cache right now


class PrefixSlot(Protocol):
    """Where one session keeps its prefix for one model; the serving core owns the memory behind it."""

    def get(self) -> PrefixEntry | None: ...

    def put(self, entry: PrefixEntry) -> None: ...


def cache_bytes(cache: Any) -> int:
    """The memory a cache holds: its tensors' storages, so room kept for tokens to come counts too."""
    import torch

    storages: dict[int, int] = {}
    for layer in getattr(cache, "layers", ()):
        for value in vars(layer).values():
            if isinstance(value, torch.Tensor) and value.device.type != "meta":
                storage = value.untyped_storage()
                storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


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


def _cut(cache: Any, length: int) -> bool:
    """Keep the first ``length`` positions of every layer; False if a layer holds fewer (then it is unusable).

    Per layer, to an absolute length: a pass stopped half-way leaves the first layers longer than the
    rest, which cutting every layer by one count would get wrong.
    """
    layers = list(getattr(cache, "layers", ()))
    if not layers or any(layer.keys is None or layer.keys.shape[-2] < length for layer in layers):
        return False
    for layer in layers:
        layer.keys = layer.keys[..., :length, :]
        layer.values = layer.values[..., :length, :]
    return True


def _shared_length(left: Any, right: Any) -> int:
    length = min(len(left), len(right))
    differs = (left[:length] != right[:length]).nonzero()
    return int(differs[0]) if len(differs) else length


class PrefixStep:
    """Runs on the generation thread: swaps the media inputs for the session's cached prefix.

    ``prepare`` cuts the stored cache back to what this prompt shares with the last one, or computes
    the media prefix from the pixels when too little is shared, and hands the cache to ``generate``,
    which computes the rest of the prompt and the answer into it. So the cache is never copied; when
    the generation ends the entry records the prompt and the answer (all but the last token, which was
    never run through the model). The entry is marked busy meanwhile, so a second request of the same
    session computes its own prefix instead.

    A Stop during either forward pass interrupts it like any prefill; the entry then still records
    only the tokens every layer of the cache holds.
    """

    def __init__(
        self,
        model: Any,
        tensors: dict[str, Any],
        media_key: str,
        media_inputs: tuple[str, ...],
        end: int,
        slot: PrefixSlot,
    ) -> None:
        self._model, self._tensors, self._key = model, tensors, media_key
        self._media_inputs, self._end, self._slot = media_inputs, end, slot
        self._entry: PrefixEntry | None = None
        self._sequence: Any = None

    def prepare(self, kwargs: dict[str, Any], stats: GenerationStats) -> dict[str, Any]:
        ids, end = self._tensors["input_ids"], self._end
        entry = self._slot.get()
        shared = 0
        if entry is not None and entry.media_digest == self._key and not entry.busy:
            shared = _shared_length(entry.tokens, ids[0, : ids.shape[1] - 1])
        if shared >= end and entry is not None and _cut(entry.cache, shared):
            cache = entry.cache
            entry.tokens, entry.busy = ids[0, :shared].clone(), True
            self._entry = entry
            stats.reused_prompt_tokens = shared
        else:
            media = {name: self._tensors[name] for name in self._media_inputs if self._tensors.get(name) is not None}
            output = self._model(
                input_ids=ids[:, :end],
                attention_mask=self._tensors["attention_mask"][:, :end],
                use_cache=True,
                logits_to_keep=1,  # the prefix's logits are never read: skip the vocabulary projection
                **media,
            )
            cache = output.past_key_values
            if entry is None or not entry.busy:
                self._entry = PrefixEntry(ids[0, :end].clone(), self._key, cache, cache_bytes(cache), busy=True)
                self._slot.put(self._entry)
        without_media = {name: value for name, value in kwargs.items() if name not in self._media_inputs}
        without_media["past_key_values"] = cache  # generate computes the tokens after it into it
        return without_media

    def token(self, sequence: Any) -> None:
        """A token was chosen; ``sequence`` is the prompt and the answer so far, the last token not yet
        run through the model, so the cache holds every position but that one."""
        self._sequence = sequence

    def finished(self) -> None:
        """The generation is over, however it ended: record what the cache now holds, and free it."""
        entry = self._entry
        if entry is None:
            return
        if self._sequence is not None:
            # Recorded with the answer: the next question's history repeats it, so when the answer's
            # text tokenizes back to the same ids, only the new question is computed.
            entry.tokens = self._sequence[0, :-1].clone()
        entry.nbytes = cache_bytes(entry.cache)
        entry.busy = False
        self._slot.put(entry)  # counted again at its new size


def prefix_step(
    model: Any,
    tensors: dict[str, Any],
    media_key: str,
    media_inputs: tuple[str, ...],
    media_token_ids: tuple[int, ...],
    slot: PrefixSlot,
) -> PrefixStep | None:
    """The step for this prompt, or None when it has no media prefix to share."""
    end = media_prefix_end(tensors["input_ids"], media_token_ids)
    return None if end is None else PrefixStep(model, tensors, media_key, media_inputs, end, slot)
