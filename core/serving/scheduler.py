"""The scheduler: one loop that owns the queue and the pool's decisions (the shape of Ollama's ``sched.go``).

Everything that can change who runs next arrives in the loop's inbox as an event: a request submitted
or cancelled, a generation ended, a model loaded or unloaded, the clock reaching a keep-alive. After
each batch of events the loop decides, in one place: what the pool loads or unloads next (done on the
loader thread), which waiting requests start (each gets its engine and a runner thread of its own),
and what every waiting request is told about its place in line. A request never touches the queue or
the pool; an event is never lost, because the inbox is a queue, not a condition to be notified.

Threads: this loop and one loader for the whole server; one runner per request while it generates.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.engines.types import EngineError, GenerationRequest, ServerBusy
from core.logs import RequestRecord, anonymous, log_request
from core.serving.job import Job, JobStatus, Phase
from core.serving.pool import LoadState, ModelPool
from core.serving.prefix_cache import PrefixCacheStore
from core.serving.queue import FairQueue, Priority

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Submit:
    owner: str
    lane: str
    model_id: str
    priority: Priority
    request: GenerationRequest
    quantization: str
    reply: queue.SimpleQueue[Job | EngineError]


_POKE, _CLOSE = "poke", "close"


class Scheduler:
    def __init__(self, pool: ModelPool, line: FairQueue, prefixes: PrefixCacheStore) -> None:
        self.pool, self.queue, self.prefixes = pool, line, prefixes
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._loads: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._waiting: list[Job] = []  # in queue order; the loop's own
        self._jobs: list[Job] = []  # every job not ended, for jobs_of (read under _jobs_lock)
        self._jobs_lock = threading.Lock()
        self.pool.demand = self.queue.first_demand
        self.pool.on_change = self.poke
        self._loop_thread = threading.Thread(target=self._loop, name="vlm-scheduler", daemon=True)
        self._loader_thread = threading.Thread(target=self._loader, name="vlm-loader", daemon=True)
        self._loop_thread.start()
        self._loader_thread.start()

    # -- what callers send -----------------------------------------------------------------------------

    def submit(
        self, model_id: str, request: GenerationRequest, *, owner: str, priority: Priority, lane: str, quantization: str
    ) -> Job:
        """A place in line for ``request``; :class:`ServerBusy` at once when the line is full."""
        reply: queue.SimpleQueue[Job | EngineError] = queue.SimpleQueue()
        self._inbox.put(_Submit(owner, lane, model_id, priority, request, quantization, reply))
        answer = reply.get()
        if isinstance(answer, EngineError):
            raise answer
        return answer

    def poke(self) -> None:
        """Something changed (a model's state, the clock): decide again."""
        self._inbox.put(_POKE)

    def jobs_of(self, owner: str) -> list[Job]:
        return [job for job in self.jobs_of_everyone() if job.owner == owner]

    def jobs_of_everyone(self) -> list[Job]:
        """Every request that has not ended, oldest first."""
        with self._jobs_lock:
            return sorted(self._jobs, key=lambda job: job.ticket.sequence)

    def close(self) -> None:
        self._inbox.put(_CLOSE)
        self._loop_thread.join(timeout=60)
        self._loads.put(None)
        self._loader_thread.join(timeout=60)

    # -- the loop ------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            try:
                event = self._inbox.get(timeout=self.pool.seconds_to_next_expiry())
            except queue.Empty:
                event = _POKE  # a keep-alive ran out
            events = [event]
            while not self._inbox.empty():  # take everything that arrived, then decide once
                events.append(self._inbox.get_nowait())
            if _CLOSE in events:
                self._shut_down(events)
                return
            for item in events:
                self._guarded(self._handle, item)
            self._guarded(self._decide)

    def _guarded(self, step: Callable[..., None], *args: object) -> None:
        """A bug in one step is logged; the loop goes on serving everyone else."""
        try:
            step(*args)
        except Exception:  # noqa: BLE001 - the loop must never die
            log.exception("scheduler step failed")

    def _handle(self, event: object) -> None:
        if isinstance(event, _Submit):
            self._enter(event)
        elif isinstance(event, tuple) and event[0] == "cancel":
            self._cancelled(event[1])
        elif isinstance(event, tuple) and event[0] == "end":
            self._ended(event[1])

    def _enter(self, submit: _Submit) -> None:
        try:
            ticket = self.queue.enter(submit.owner, submit.lane, submit.model_id, submit.priority)
        except ServerBusy as busy:
            log_request(RequestRecord(anonymous(submit.owner), submit.request.task, submit.model_id,
                                      submit.quantization, "rejected", error=busy.key))  # fmt: skip
            submit.reply.put(busy)
            return
        job = Job(ticket, submit.request, quantization=submit.quantization,
                  on_cancel=lambda job: self._inbox.put(("cancel", job)),
                  on_end=lambda job: self._inbox.put(("end", job)))  # fmt: skip
        self._waiting.append(job)
        self._waiting.sort(key=lambda waiting: waiting.ticket.order)
        with self._jobs_lock:
            self._jobs.append(job)
        submit.reply.put(job)

    def _cancelled(self, job: Job) -> None:
        """A request still in line leaves at once; a running one ends at its next layer and reports then."""
        if job in self._waiting:
            self._waiting.remove(job)
            self.queue.leave(job.ticket)
            self._finish(job)

    def _ended(self, job: Job) -> None:
        self.queue.leave(job.ticket)
        self.pool.end_use(job.model_id)
        if job.error is not None:
            self.prefixes.drop_owner(job.owner)  # a cache cut short by the failure is not re-usable
        self._finish(job)

    def _finish(self, job: Job) -> None:
        with self._jobs_lock:
            if job in self._jobs:
                self._jobs.remove(job)
        job.end()

    def _decide(self) -> None:
        action = self.pool.next_action()
        if action is not None:
            self._loads.put(action)
        for job in list(self._waiting):
            model = self.pool.status(job.model_id)
            if model.state is LoadState.FAILED and model.error is not None:
                self._waiting.remove(job)
                self.queue.leave(job.ticket)
                job.fail(model.error)
                self._finish(job)
            elif model.state is LoadState.UNLOADED:  # unloaded after an earlier request: ask again
                self.pool.request_load(job.model_id)
            elif model.state is LoadState.READY and self.queue.is_next(job.ticket):
                self._start(job)
        for job in self._waiting:
            job.publish(self._waiting_status(job))

    def _start(self, job: Job) -> None:
        self._waiting.remove(job)
        self.queue.start(job.ticket)
        engine = self.pool.begin_use(job.model_id)
        prefix = self.prefixes.slot(job.owner, job.model_id)
        threading.Thread(target=job.run, args=(engine, prefix), name=f"vlm-run-{job.ticket.sequence}",
                         daemon=True).start()  # fmt: skip

    def _waiting_status(self, job: Job) -> JobStatus:
        """Queued behind others (its place counts the ones running), or first with its model loading."""
        ahead = self.queue.ahead(job.ticket)
        if not ahead:
            model = self.pool.status(job.model_id)
            return JobStatus(Phase.LOADING, load_fraction=model.fraction, load_step=model.step)
        return JobStatus(Phase.QUEUED, position=len(ahead) + 1,
                         behind_own=all(other.owner == job.owner for other in ahead))  # fmt: skip

    def _shut_down(self, events: list[object]) -> None:
        for item in events:
            if isinstance(item, _Submit):
                item.reply.put(ServerBusy("the server is shutting down", limit=0))
        for job in list(self._waiting):
            self._waiting.remove(job)
            self.queue.leave(job.ticket)
            job.cancel()
            self._finish(job)

    # -- the loader --------------------------------------------------------------------------------------------

    def _loader(self) -> None:
        """Loads and unloads, one at a time, as the loop decided; each reports back through the pool's poke."""
        while (action := self._loads.get()) is not None:
            load, unload = action
            try:
                on_a_thread_that_ends(self.pool.perform, load, unload)
            except Exception:  # noqa: BLE001 - a failed change is the pool's to report; the loader goes on
                log.exception("loading or unloading failed")


def on_a_thread_that_ends(work: Callable[..., object], *args: object) -> None:
    """Run ``work(*args)`` on a thread of its own and wait for it; its exception is raised here.

    Each thread that runs a parallel torch operation gets its own OpenMP team, which lives as long as the
    thread. A load (packing int8 weights, timing the decoding threads) is such work; on the long-lived
    loader thread its team outlived it, and with two teams in the process GNU OpenMP counts more of its
    threads than cores and stops its workers spinning between operations: each of a decoding step's
    ~1,200 small parallel operations then waited for a sleeping worker to wake, and two threads decoded
    SmolVLM2-256M at 24–27 ms a step instead of 12–14 (``bench/decode_threads.py``). A runner's thread
    already ends with its request; a load's now ends with the load.
    """
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work(*args)
        except BaseException as error:  # noqa: BLE001 - raised again on the waiting thread
            failure.append(error)

    worker = threading.Thread(target=run, name="vlm-load", daemon=True)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
