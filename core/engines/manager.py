"""One loaded model per process, shared by every page and session.

The UI keeps a single :class:`ModelManager` (in ``st.cache_resource``). Switching to another model
unloads the previous one first, so two checkpoints never sit in memory together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from core.engines.base import Engine, GenerationStream, ProgressCallback
from core.engines.registry import create_engine
from core.engines.types import EngineBusy, GenerationRequest
from core.settings import Settings

EngineFactory = Callable[[str, Settings], Engine]


class ModelManager:
    def __init__(self, settings: Settings, factory: EngineFactory = create_engine) -> None:
        self.settings = settings
        self._factory = factory
        self._engine: Engine | None = None
        self._switch_lock = threading.Lock()

    @property
    def engine(self) -> Engine | None:
        return self._engine

    def activate(self, model_id: str) -> Engine:
        """Return the engine for ``model_id``, unloading a different one that was active."""
        with self._switch_lock:
            current = self._engine
            if current is not None and current.card.model_id == model_id:
                return current
            engine = self._factory(model_id, self.settings)
            if current is not None:
                current.unload()
            self._engine = engine
            return engine

    def load(self, model_id: str, on_progress: ProgressCallback | None = None) -> Engine:
        engine = self.activate(model_id)
        with self._switch_lock:
            engine.load(on_progress)
        return engine


def stream_when_free(
    engine: Engine,
    request: GenerationRequest,
    stop: threading.Event,
    on_wait: Callable[[], None] | None = None,
    poll_seconds: float = 0.25,
) -> GenerationStream | None:
    """Start a generation, waiting while another session uses the model.

    ``on_wait`` is called once when the model is found busy (the UI says so). Returns None if ``stop``
    is set while waiting.
    """
    told = False
    while not stop.is_set():
        try:
            return engine.stream(request, stop)
        except EngineBusy:
            if not told and on_wait is not None:
                on_wait()
            told = True
            time.sleep(poll_seconds)
    return None
