"""The sessions' media-prefix KV caches, under one memory budget (``PREFIX_CACHE_MB``).

Each session keeps at most one prefix per model: the conversation it is having now. When the budget
is exceeded the least recently used prefixes go first; a prefix bigger than the whole budget is not
kept at all (that question still runs, it just computes its prefix again next time). A session's
prefixes go when it ends or clears its media, and a model's when the pool unloads it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from core.engines.prefix import PrefixEntry

_Key = tuple[str, str]  # (owner, model key)


class PrefixCacheStore:
    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[_Key, PrefixEntry] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(entry.nbytes for entry in self._entries.values())

    def keys(self) -> list[_Key]:
        with self._lock:
            return list(self._entries)

    def get(self, owner: str, model_key: str) -> PrefixEntry | None:
        with self._lock:
            entry = self._entries.get((owner, model_key))
            if entry is not None:
                self._entries.move_to_end((owner, model_key))
            return entry

    def put(self, owner: str, model_key: str, entry: PrefixEntry) -> None:
        with self._lock:
            self._entries.pop((owner, model_key), None)
            if entry.nbytes > self.budget_bytes:
                return
            self._entries[(owner, model_key)] = entry
            total = sum(kept.nbytes for kept in self._entries.values())
            while total > self.budget_bytes:
                _, dropped = self._entries.popitem(last=False)
                total -= dropped.nbytes

    def drop_owner(self, owner: str) -> None:
        with self._lock:
            for key in [key for key in self._entries if key[0] == owner]:
                del self._entries[key]

    def drop_model(self, model_key: str) -> None:
        with self._lock:
            for key in [key for key in self._entries if key[1] == model_key]:
                del self._entries[key]

    def slot(self, owner: str, model_key: str) -> PrefixSlotOf:
        return PrefixSlotOf(self, owner, model_key)


@dataclass(frozen=True)
class PrefixSlotOf:
    """One session's place for one model's prefix, as an engine sees it."""

    store: PrefixCacheStore
    owner: str
    model_key: str

    def get(self) -> PrefixEntry | None:
        return self.store.get(self.owner, self.model_key)

    def put(self, entry: PrefixEntry) -> None:
        self.store.put(self.owner, self.model_key, entry)
