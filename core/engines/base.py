"""The one small Protocol every model adapter implements (local transformers today, a remote server later).

Only the serving pool (``core.serving.pool``) calls ``load`` and ``unload``; everything else asks the
serving core for a generation and never holds an engine across requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from core.engines.prefix import PrefixSlot
from core.engines.types import GenerationRequest, GenerationStats, ModelCard, OcrPage, RuntimeInfo

ProgressCallback = Callable[[float, str], None]
"""Called with a fraction in [0, 1] and a step key (``load.processor``, ``load.weights``...) while loading."""


class GenerationStream(Protocol):
    """Iterate to receive text pieces as they are produced; ``stats`` is final once iteration ends."""

    stats: GenerationStats
    input_size: tuple[int, int] | None  # (width, height) of the image as the model saw it, when it saw one
    text_layout: OcrPage | None  # an OCR program's words and lines with boxes, final once iteration ends

    def run(self, emit: Callable[[str], None]) -> None:
        """Generate on the calling thread, handing each piece of text to ``emit``; raises the engine's error."""

    def __iter__(self) -> Iterator[str]:
        """The same work on a worker thread, its pieces yielded (benchmarks, tests, the CLI)."""
        ...

    def close(self) -> None:
        """Stop generating, from any thread; an iterated stream also waits until the model is free again."""


@runtime_checkable
class Engine(Protocol):
    card: ModelCard

    @property
    def loaded(self) -> bool: ...

    @property
    def runtime(self) -> RuntimeInfo: ...

    def estimated_bytes(self) -> int | None:
        """Memory the loaded model takes, known before loading where possible (None: cannot tell)."""
        ...

    def load(self, on_progress: ProgressCallback | None = None) -> None: ...

    def unload(self) -> None: ...

    def stream(
        self,
        request: GenerationRequest,
        stop: threading.Event | None = None,
        prefix_cache: PrefixSlot | None = None,
    ) -> GenerationStream:
        """Start generating; pieces of text arrive through the returned stream.

        ``prefix_cache`` is where this session keeps its media prefix for this model; an engine that
        cannot re-use one ignores it (see :mod:`core.engines.prefix`).

        Setting ``stop`` (or closing the stream) ends generation early. Raises
        :class:`core.engines.types.EngineNotLoaded` when the weights are not loaded: an engine never
        loads itself.
        """
        ...


class WeightlessEngine:
    """What an engine without local weights shares (a model server, a program): its card, runtime and a flag
    for "checked and ready" in place of loaded weights. Subclasses set ``_runtime`` and do the checking in load.
    """

    def __init__(self, card: ModelCard, runtime: RuntimeInfo) -> None:
        self.card = card
        self._runtime = runtime
        self._loaded = False

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def runtime(self) -> RuntimeInfo:
        return self._runtime

    def unload(self) -> None:
        self._loaded = False
