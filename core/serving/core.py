"""The serving core: the pool of loaded models, a fair, bounded queue and the scheduler that owns both.

Pages, the Lab and the CLI all ask it for generations through a :class:`ModelClient` (a model id, an
owner and a priority). It never stores which model a session chose: that belongs to the session.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from core.engines.base import Engine
from core.engines.device import configure_cpu_threads, resolve_device
from core.engines.types import REMOTE_DEVICE, GenerationRequest, ModelCard, RuntimeInfo
from core.families import Family
from core.registry import create_engine, family_of
from core.serving import memory
from core.serving.job import Job, JobOutcome, UpdateCallback
from core.serving.pool import EngineFactory, LoadState, ModelPool, ModelStatus
from core.serving.prefix_cache import PrefixCacheStore
from core.serving.queue import FairQueue, Priority
from core.serving.scheduler import Scheduler
from core.settings import Settings

log = logging.getLogger(__name__)
_QUANT_MARK = "@quant="


def model_key(model_id: str, quantization: str | None = None) -> str:
    """The pool's name for a model run with a quantization other than MODEL_QUANT's (the Lab lists the
    same checkpoint twice to measure what int8 costs); the plain id when it follows the setting."""
    return f"{model_id}{_QUANT_MARK}{quantization}" if quantization else model_id


def split_model_key(key: str) -> tuple[str, str | None]:
    model_id, mark, quantization = key.rpartition(_QUANT_MARK)
    return (model_id, quantization) if mark else (key, None)


def _keyed(factory: EngineFactory) -> EngineFactory:
    def create(key: str, settings: Settings) -> Engine:
        model_id, quantization = split_model_key(key)
        chosen = settings.model_copy(update={"model_quant": quantization}) if quantization else settings
        return factory(model_id, chosen)

    return create


class ServingCore:
    def __init__(
        self,
        settings: Settings,
        factory: EngineFactory = create_engine,
        *,
        budget_bytes: int | None = None,
        max_loaded: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.device = resolve_device(settings.device).device
        if self.device == "cpu":
            intra, interop = configure_cpu_threads()
            log.info("torch on the CPU: %d intra-op threads, %d inter-op", intra, interop)
        self.pool = ModelPool(
            settings,
            _keyed(factory),
            budget_bytes=budget_bytes or memory.budget_bytes(self.device, settings.model_memory_gb),
            max_loaded=max_loaded or memory.max_loaded(self.device, settings.max_loaded_models),
            keep_alive_s=settings.model_keep_alive_s,
            clock=clock,
        )
        self.condition = self.pool.condition  # notified whenever a model's state changes
        self.queue = FairQueue(settings.max_queue, self._capacity, settings.max_queued_per_user)
        self.prefixes = PrefixCacheStore(settings.prefix_cache_mb * 2**20)
        self.pool.on_unload = self.prefixes.drop_model
        self.scheduler = Scheduler(self.pool, self.queue, self.prefixes)

    def _capacity(self, lane: str) -> int:
        """Generations at once: MAX_PARALLEL on a local device, REMOTE_PARALLEL per served model."""
        return self.settings.remote_parallel if lane.startswith(REMOTE_DEVICE) else self.settings.max_parallel

    @staticmethod
    def lane(model_id: str, runtime: RuntimeInfo) -> str:
        """A local device is one line for all its models; each served model has a line of its own."""
        return f"{REMOTE_DEVICE}:{model_id}" if runtime.device == REMOTE_DEVICE else runtime.device

    def card(self, model_id: str) -> ModelCard:
        """What ``model_id`` is and can do; :class:`UnknownModel` when no family runs it.

        Read from the pool's engine object, made once per model, so a page redrawing its status line
        several times a second does not read the checkpoint's config.json each time.
        """
        return self.pool.engine(model_id).card

    def runtime(self, model_id: str) -> RuntimeInfo:
        return self.pool.engine(model_id).runtime

    def status(self, model_id: str) -> ModelStatus:
        return self.pool.status(model_id)

    def preload(self, model_id: str, *, may_evict: bool = True) -> None:
        self.pool.request_load(model_id, may_evict=may_evict)

    def submit(
        self, model_id: str, request: GenerationRequest, *, owner: str, priority: Priority = Priority.INTERACTIVE
    ) -> Job:
        """Queue a generation; :class:`ServerBusy` at once when the queue is full."""
        runtime = self.pool.engine(model_id).runtime
        self.pool.request_load(model_id)  # may read a checkpoint's header: here, not on the scheduler's loop
        return self.scheduler.submit(model_id, request, owner=owner, priority=priority,
                                     lane=self.lane(model_id, runtime), quantization=runtime.quantization)  # fmt: skip

    def prepare(self, model_id: str, request: GenerationRequest, *, owner: str) -> Job | None:
        """Compute ``request``'s image prefix for ``owner`` before they ask: a one-token answer, queued as
        batch work (behind every person's request), that leaves the prefix in the owner's cache for their
        question to re-use. None when the model keeps no image prefixes or is not loaded yet."""
        engine = self.pool.engine(model_id)
        if not getattr(engine, "prefix_media_inputs", ()) or self.status(model_id).state is not LoadState.READY:
            return None
        one_token = replace(request.sampling, max_new_tokens=1, do_sample=False)
        warm = replace(request, sampling=one_token, task="prepare", repetition_guard=False)
        return self.submit(model_id, warm, owner=owner, priority=Priority.BATCH)

    def jobs_of(self, owner: str) -> list[Job]:
        """The owner's requests that have not ended yet, oldest first."""
        return self.scheduler.jobs_of(owner)

    def cancel_owner(self, owner: str) -> None:
        for job in self.jobs_of(owner):
            job.cancel()

    def forget(self, owner: str) -> None:
        """Free what ``owner`` keeps between requests (its media prefixes): its media changed or it left."""
        self.prefixes.drop_owner(owner)

    def release(self, model_id: str) -> None:
        """Unload ``model_id`` once nobody uses or waits for it."""
        self.pool.unload_when_idle(model_id)

    def client(
        self,
        model_id: str,
        owner: str,
        priority: Priority = Priority.INTERACTIVE,
        *,
        quantization: str | None = None,
    ) -> ModelClient:
        """``quantization`` (``int8`` / ``none``) overrides MODEL_QUANT for this model, as a separate pool entry."""
        return ModelClient(self, model_key(model_id, quantization), owner, priority)

    def close(self) -> None:
        """Stop every request (each ends at its next layer), then the scheduler, then unload everything."""
        jobs = self.scheduler.jobs_of_everyone()
        for job in jobs:
            job.cancel()
        for job in jobs:
            job.wait(30)
        self.scheduler.close()
        self.pool.close()


@dataclass(frozen=True)
class ModelClient:
    """One model as one owner sees it: its card and state, and generations through the queue.

    ``model_id`` is the pool's key: the checkpoint's id, with a quantization mark when one was asked for.
    """

    serving: ServingCore
    model_id: str
    owner: str
    priority: Priority = Priority.INTERACTIVE

    @property
    def card(self) -> ModelCard:
        return self.serving.card(self.model_id)

    @property
    def runtime(self) -> RuntimeInfo:
        return self.serving.runtime(self.model_id)

    @property
    def family(self) -> Family:
        """The family that answers every question about this model's prompts and output."""
        return family_of(self.card)

    @property
    def status(self) -> ModelStatus:
        return self.serving.status(self.model_id)

    def submit(self, request: GenerationRequest) -> Job:
        return self.serving.submit(self.model_id, request, owner=self.owner, priority=self.priority)

    def prepare(self, request: GenerationRequest) -> Job | None:
        """This owner's image prefix for ``request``, computed in the background (:meth:`ServingCore.prepare`)."""
        return self.serving.prepare(self.model_id, request, owner=self.owner)

    def generate(
        self,
        request: GenerationRequest,
        *,
        stop: threading.Event | None = None,
        on_update: UpdateCallback | None = None,
        heartbeat_s: float = 0.25,
    ) -> JobOutcome:
        """Run ``request`` to the end (or until ``stop``); ``on_update`` sees every piece and status change.

        If ``on_update`` raises, the request is cancelled before the exception goes on.
        """
        return self.submit(request).follow(on_update, stop=stop, heartbeat_s=heartbeat_s)

    def load(
        self,
        *,
        stop: threading.Event | None = None,
        on_progress: Callable[[ModelStatus], None] | None = None,
        poll_s: float = 0.25,
    ) -> bool:
        """Load the model now (unloading idle ones if needed) and wait; False when ``stop`` was set first.

        ``on_progress`` sees the model's status at every wake-up, outside the serving lock (a page redraws
        its progress bar there). Raises the model's :class:`EngineError` when it cannot be loaded.
        """
        self.serving.preload(self.model_id)
        while not (stop is not None and stop.is_set()):
            status = self.serving.status(self.model_id)
            if status.state is LoadState.READY:
                return True
            if status.state is LoadState.FAILED and status.error is not None:
                raise status.error
            if status.state is LoadState.UNLOADED:
                self.serving.preload(self.model_id)
            if on_progress is not None:
                on_progress(status)
            with self.serving.condition:
                self.serving.condition.wait(poll_s)
        return False
