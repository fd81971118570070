"""The image processor's output kept per picture, so a follow-up does not cut and normalise its tiles again.

A question about a picture already asked about re-uses the picture's KV cache (core/engines/prefix.py),
yet the processor still resizes, tiles and normalises the pixels to build the prompt (about 0.06 s for
4 tiles + overview on two cores). :class:`RememberedPixels` stands in for the processor's image
processor: while :meth:`RememberedPixels.remembering` names the pictures' fingerprint (which covers the
processor settings), an output computed for that fingerprint is handed out again, as a fresh dict
around the same tensors, which nothing downstream writes into.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

KEPT = 4  # pictures per model: the few conversations a server runs at once


class RememberedPixels:
    def __init__(self, inner: Any, kept: int = KEPT) -> None:
        self._inner = inner
        self._kept: OrderedDict[str, Any] = OrderedDict()
        self._limit = kept
        self._lock = threading.Lock()
        self._asking = threading.local()  # the fingerprint of the call on this thread, if any
        self.computed = 0  # outputs computed rather than handed out again

    @contextmanager
    def remembering(self, key: str | None) -> Iterator[None]:
        self._asking.key = key
        try:
            yield
        finally:
            self._asking.key = None

    def __call__(self, images: Any, **kwargs: Any) -> Any:
        key = getattr(self._asking, "key", None)
        if key is not None:
            with self._lock:
                found = self._kept.get(key)
                if found is not None:
                    self._kept.move_to_end(key)
            if found is not None:
                return type(found)(dict(found))  # the processor may pop from it; the tensors are shared
        output = self._inner(images, **kwargs)
        self.computed += 1
        if key is not None:
            with self._lock:
                self._kept[key] = type(output)(dict(output))
                while len(self._kept) > self._limit:
                    self._kept.popitem(last=False)
        return output

    def __getattr__(self, name: str) -> Any:  # everything else is the image processor's own
        return getattr(self._inner, name)


def remembered_pixels(processor: Any) -> RememberedPixels:
    """``processor``'s image processor, made to remember its outputs (once; later calls return the same)."""
    current = processor.image_processor
    if isinstance(current, RememberedPixels):
        return current
    remembered = RememberedPixels(current)
    processor.image_processor = remembered
    return remembered
