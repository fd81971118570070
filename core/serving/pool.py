"""The pool: the only code that loads and unloads weights, so memory stays within one budget.

Several models stay resident while they fit ``MODEL_MEMORY_GB`` and ``MAX_LOADED_MODELS``. What to load
or unload next is decided by the scheduler's loop (:meth:`ModelPool.next_action`), the one place that
decides; the change itself runs on the scheduler's loader thread (:meth:`ModelPool.perform`), one at a
time. ``condition`` guards the slots for readers and wakes those waiting for a model's state.

What may be unloaded to make room: a model that is not generating and that no request earlier in line
than the one asking for room is waiting for, least recently used first. A model with a request
waiting ahead in line, or one that is generating, is never unloaded. (A model wanted only by requests
further back may go: otherwise two people taking turns with two models that do not fit together would
wait on each other for ever.) Idle models also go after ``MODEL_KEEP_ALIVE``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from core.engines.base import Engine
from core.engines.types import REMOTE_DEVICE, EngineError, ModelTooLarge
from core.registry import create_engine
from core.settings import Settings

log = logging.getLogger(__name__)

EngineFactory = Callable[[str, Settings], Engine]
Demand = Callable[[str], "tuple[int, int] | None"]
_NOBODY = (math.inf, math.inf)  # the demand of a load no request is waiting for


class LoadState(StrEnum):
    UNLOADED = "unloaded"
    PENDING = "pending"  # asked for, waiting for memory
    LOADING = "loading"
    READY = "ready"
    UNLOADING = "unloading"
    FAILED = "failed"


_RESIDENT = (LoadState.LOADING, LoadState.READY, LoadState.UNLOADING)
# A model loaded ahead of its first request is kept at least this long, even with a keep-alive of 0.
FIRST_USE_GRACE_S = 60.0


class LoadFailed(EngineError):
    key = "model.load_failed"


@dataclass(frozen=True)
class ModelStatus:
    model_id: str
    state: LoadState
    fraction: float = 0.0
    step: str = ""
    error: EngineError | None = None
    bytes: int | None = None


@dataclass(eq=False)
class _Slot:
    model_id: str
    engine: Engine
    cost: int | None = None
    estimated: bool = False
    state: LoadState = LoadState.UNLOADED
    fraction: float = 0.0
    step: str = ""
    error: EngineError | None = None
    users: int = 0
    used_since_load: bool = False
    last_used: float = 0.0
    requested_at: float = 0.0
    may_evict: bool = True
    unload_when_idle: bool = False


def _remote(slot: _Slot) -> bool:
    return slot.engine.runtime.device == REMOTE_DEVICE


def _gb(size: int | float) -> str:
    gigabytes = size / 2**30
    return f"{gigabytes:.1f}" if gigabytes >= 1 else f"{gigabytes:.2g}"


class ModelPool:
    def __init__(
        self,
        settings: Settings,
        factory: EngineFactory = create_engine,
        *,
        budget_bytes: int,
        max_loaded: int,
        keep_alive_s: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if budget_bytes < 1 or max_loaded < 1:
            raise ValueError("the pool needs a positive memory budget and room for at least one model")
        self.settings = settings
        self.budget_bytes = budget_bytes
        self.max_loaded = max_loaded
        self.keep_alive_s = keep_alive_s
        self.condition = threading.Condition(threading.RLock())
        self.demand: Demand = lambda model_id: None
        self.on_unload: Callable[[str], None] = lambda model_id: None  # what else held state of this model
        self.on_change: Callable[[], None] = lambda: None  # a slot changed: the scheduler looks again
        self._factory = factory
        self._clock = clock
        self._slots: dict[str, _Slot] = {}
        self._busy = False  # a load or unload is under way on the loader thread

    # -- reading -----------------------------------------------------------------------------------

    def _slot(self, model_id: str) -> _Slot:
        with self.condition:
            slot = self._slots.get(model_id)
        if slot is not None:
            return slot
        engine = self._factory(model_id, self.settings)  # no weights read; may import torch the first time
        with self.condition:
            return self._slots.setdefault(model_id, _Slot(model_id, engine))

    def engine(self, model_id: str) -> Engine:
        """The engine object for ``model_id`` (weights not necessarily loaded): for its card and runtime."""
        return self._slot(model_id).engine

    def status(self, model_id: str) -> ModelStatus:
        with self.condition:
            slot = self._slots.get(model_id)
            if slot is None:
                return ModelStatus(model_id, LoadState.UNLOADED)
            return ModelStatus(model_id, slot.state, slot.fraction, slot.step, slot.error, slot.cost)

    def resident(self) -> dict[str, int]:
        """Models holding memory now (loading, loaded or being unloaded) and what each costs."""
        with self.condition:
            return {s.model_id: s.cost or 0 for s in self._slots.values() if s.state in _RESIDENT}

    # -- asking ------------------------------------------------------------------------------------

    def request_load(self, model_id: str, *, may_evict: bool = True) -> None:
        """Ask for ``model_id`` to be loaded; returns at once (watch :meth:`status`).

        ``may_evict=False`` loads only into free room, for a page that merely opened.
        """
        slot = self._slot(model_id)
        if not slot.estimated:
            cost = slot.engine.estimated_bytes()  # reads a file header or asks the hub: outside the lock
            with self.condition:
                if not slot.estimated:  # another caller may have estimated it meanwhile
                    slot.cost, slot.estimated = cost, True
        with self.condition:
            if slot.state in (LoadState.UNLOADED, LoadState.FAILED):
                if slot.cost is not None and slot.cost > self.budget_bytes:
                    slot.state = LoadState.FAILED
                    slot.error = ModelTooLarge(
                        f"{model_id} needs {slot.cost} bytes, the budget is {self.budget_bytes}",
                        model=slot.engine.card.title, need_gb=_gb(slot.cost), budget_gb=_gb(self.budget_bytes),
                    )  # fmt: skip
                else:
                    slot.state, slot.error, slot.may_evict = LoadState.PENDING, None, may_evict
                    slot.fraction, slot.step = 0.0, "load.waiting_memory"
                    slot.requested_at = self._clock()
            elif slot.state is LoadState.PENDING:
                slot.may_evict = slot.may_evict or may_evict
            slot.unload_when_idle = False
        self._changed()

    def begin_use(self, model_id: str) -> Engine:
        """Mark a generation as running on a loaded model: it is not unloaded until :meth:`end_use`."""
        with self.condition:
            slot = self._slots[model_id]
            if slot.state is not LoadState.READY:
                raise RuntimeError(f"{model_id} is {slot.state}, not ready")
            slot.users += 1
            return slot.engine

    def end_use(self, model_id: str) -> None:
        with self.condition:
            slot = self._slots[model_id]
            slot.users -= 1
            slot.used_since_load = True
            slot.last_used = self._clock()
        self._changed()

    def unload_when_idle(self, model_id: str) -> None:
        """Unload ``model_id`` as soon as nobody uses or waits for it (the Lab CLI, between models)."""
        with self.condition:
            slot = self._slots.get(model_id)
            if slot is not None:
                slot.unload_when_idle = True
        self._changed()

    def poke(self) -> None:
        """Look again at what is due (after the clock moved)."""
        self._changed()

    def _changed(self) -> None:
        with self.condition:
            self.condition.notify_all()
        self.on_change()

    def close(self) -> None:
        """Unload everything (server shutdown, end of a CLI run); the scheduler has stopped deciding."""
        for slot in list(self._slots.values()):
            if slot.engine.loaded:
                slot.engine.unload()
            slot.state = LoadState.UNLOADED

    # -- deciding (under the lock) -----------------------------------------------------------------

    def _idle(self, slot: _Slot) -> bool:
        return slot.state is LoadState.READY and slot.users == 0 and self.demand(slot.model_id) is None

    def _keep_alive(self, slot: _Slot) -> float | None:
        if self.keep_alive_s is None:
            return None
        return self.keep_alive_s if slot.used_since_load else max(self.keep_alive_s, FIRST_USE_GRACE_S)

    def _expired(self, slot: _Slot) -> bool:
        if _remote(slot):
            return False  # nothing held here: a served model stays on offer
        keep_alive = self._keep_alive(slot)
        return keep_alive is not None and self._clock() - slot.last_used >= keep_alive

    def _resident(self) -> list[_Slot]:
        """Models holding memory here (a served model holds none and does not count)."""
        return [s for s in self._slots.values() if s.state in _RESIDENT and not _remote(s)]

    def _over_limits(self) -> bool:
        resident = self._resident()
        return sum(s.cost or 0 for s in resident) > self.budget_bytes or len(resident) > self.max_loaded

    def _room_for(self, slot: _Slot) -> list[_Slot] | None:
        """The models to unload so ``slot`` fits ([] when it fits as it is), or None when it cannot fit now."""
        if _remote(slot):
            return []
        resident = self._resident()
        used, count, need = sum(s.cost or 0 for s in resident), len(resident), slot.cost or 0

        def fits() -> bool:
            return used + need <= self.budget_bytes and count + 1 <= self.max_loaded

        if fits():
            return []
        if not slot.may_evict and self.demand(slot.model_id) is None:
            return None
        urgency = self.demand(slot.model_id) or _NOBODY

        def evictable(other: _Slot) -> bool:
            wanted = self.demand(other.model_id)
            return other.state is LoadState.READY and other.users == 0 and (wanted is None or wanted > urgency)

        def eviction_order(other: _Slot) -> tuple[bool, float, float, float]:
            wanted = self.demand(other.model_id)
            if wanted is None:
                return (False, other.last_used, 0.0, 0.0)  # nobody waits: least recently used first
            return (True, 0.0, -wanted[0], -wanted[1])  # waited for later in line: the latest first

        victims: list[_Slot] = []
        for other in sorted(filter(evictable, resident), key=eviction_order):
            victims.append(other)
            used, count = used - (other.cost or 0), count - 1
            if fits():
                return victims
        return None

    def _next_action(self) -> tuple[_Slot | None, list[_Slot]]:
        """(a slot to load or None, the slots to unload first); ``(None, [])`` when nothing is due.

        Called only by the scheduler's loop, under the lock.
        """
        for slot in self._slots.values():
            if self._idle(slot) and (slot.unload_when_idle or self._expired(slot)):
                return None, [slot]
        if self._over_limits():  # a model turned out bigger than its estimate
            idle = sorted((s for s in self._slots.values() if self._idle(s)), key=lambda s: s.last_used)
            if idle:
                return None, idle[:1]
        pending = [s for s in self._slots.values() if s.state is LoadState.PENDING]
        pending.sort(key=lambda s: (self.demand(s.model_id) or _NOBODY, s.requested_at))
        for slot in pending:
            victims = self._room_for(slot)
            if victims is not None:
                return slot, victims
        return None, []

    def seconds_to_next_expiry(self) -> float | None:
        due = [
            slot.last_used + keep_alive - self._clock()
            for slot in self._slots.values()
            if self._idle(slot) and (keep_alive := self._keep_alive(slot)) is not None
        ]
        return max(0.05, min(due)) if due else None

    # -- doing (the scheduler's loader thread) -------------------------------------------------------

    def next_action(self) -> tuple[_Slot | None, list[_Slot]] | None:
        """What to change now, with its slots marked as changing; None when nothing is due or a change runs.

        The scheduler calls this from its loop and hands what it returns to :meth:`perform` on its loader.
        """
        with self.condition:
            if self._busy:
                return None
            load, unload = self._next_action()
            if load is None and not unload:
                return None
            self._busy = True
            for slot in unload:
                slot.state = LoadState.UNLOADING
            if load is not None:
                load.state, load.fraction, load.step = LoadState.LOADING, 0.0, "load.processor"
        self._changed()
        return load, unload

    def perform(self, load: _Slot | None, unload: list[_Slot]) -> None:
        """Make the change :meth:`next_action` chose (on the loader thread: a load takes a while)."""
        try:
            for slot in unload:
                self._unload(slot)
            if load is not None:
                self._load(load)
        finally:
            with self.condition:
                self._busy = False
            self._changed()

    def _unload(self, slot: _Slot) -> None:
        try:
            slot.engine.unload()
            self.on_unload(slot.model_id)
            log.info("unloaded %s", slot.model_id)
        except Exception:  # noqa: BLE001 - an engine that fails to unload must not stop the pool
            log.exception("unloading %s failed", slot.model_id)
        with self.condition:
            slot.state, slot.fraction, slot.unload_when_idle = LoadState.UNLOADED, 0.0, False
        self._changed()

    def _load(self, slot: _Slot) -> None:
        def progress(fraction: float, step: str) -> None:
            with self.condition:
                slot.fraction, slot.step = fraction, step
            self._changed()

        started = time.perf_counter()
        error: EngineError | None = None
        try:
            slot.engine.load(progress)
        except EngineError as failure:
            error = failure
        except Exception as failure:  # noqa: BLE001 - out of memory, a broken checkpoint...: shown, not fatal
            log.exception("loading %s failed", slot.model_id)
            error = LoadFailed(f"{type(failure).__name__}: {failure}", model=slot.engine.card.title)
        cost = slot.engine.estimated_bytes() if error is None else None
        with self.condition:
            if error is not None:
                slot.state, slot.error, slot.fraction = LoadState.FAILED, error, 0.0
            else:
                slot.state, slot.fraction, slot.last_used = LoadState.READY, 1.0, self._clock()
                slot.used_since_load = False
                slot.cost = cost if cost is not None else slot.cost
                log.info("loaded %s in %.1f s (%s GB)", slot.model_id, time.perf_counter() - started, _gb(cost or 0))
        if error is not None:
            slot.engine.unload()  # whatever a half-finished load left behind
