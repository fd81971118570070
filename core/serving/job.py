"""One request's way through the serving core: queued, loading, prefill, decoding, finished.

The scheduler (:mod:`core.serving.scheduler`) makes the job, publishes its place in line, and when its
turn comes runs :meth:`Job.run` on a thread of its own with the engine it hands over: that thread is
the only one the request uses, and the engine generates on it. The line and the model are given back
by the scheduler when the run ends, however it ends: finished, stopped in any phase, failed, or
abandoned by a closed tab. The caller only reads updates and may cancel; it never has to clean up.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from core.engines.base import Engine, GenerationStream
from core.engines.prefix import PrefixSlot
from core.engines.types import (
    EngineError,
    GenerationFailed,
    GenerationRequest,
    GenerationStats,
    OcrPage,
    OutOfMemory,
)
from core.logs import RequestRecord, anonymous, log_request, new_error_id
from core.serving.memory import free_memory
from core.serving.queue import Ticket
from core.serving.repetition import LoopGuard

log = logging.getLogger(__name__)


class Phase(StrEnum):
    QUEUED = "queued"  # waiting for its turn (``position``)
    LOADING = "loading"  # its model is being loaded (``load_fraction``) or waits for memory
    PREFILL = "prefill"  # the model reads the prompt and the image: no token yet
    DECODING = "decoding"
    FINISHED = "finished"


@dataclass(frozen=True)
class JobStatus:
    phase: Phase
    position: int = 0  # 2 = one request ahead (running or waiting)
    behind_own: bool = False  # only this owner's own earlier requests are ahead
    load_fraction: float = 0.0
    load_step: str = ""
    stopping: bool = False


@dataclass
class JobOutcome:
    text: str = ""
    stats: GenerationStats = field(default_factory=GenerationStats)
    stopped: bool = False
    error: EngineError | None = None
    input_size: tuple[int, int] | None = None  # (width, height) of the image as the model saw it
    text_layout: OcrPage | None = None  # an OCR program's words and lines with boxes, beside its text
    looped: bool = False  # stopped by the repetition guard; ``text`` ends where the loop began


_END = object()
UpdateCallback = Callable[[str | None, JobStatus], None]  # a new text piece (or None: a status change), the status


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


class Job:
    def __init__(
        self,
        ticket: Ticket,
        request: GenerationRequest,
        *,
        quantization: str,
        on_cancel: Callable[[Job], None],
        on_end: Callable[[Job], None],
    ) -> None:
        self.ticket = ticket
        self.request = request
        self.done = threading.Event()
        self._quantization = quantization
        self._on_cancel, self._on_end = on_cancel, on_end
        self._stop = threading.Event()
        self._updates: queue.Queue[object] = queue.Queue()
        self._pieces: list[str] = []
        self._status = JobStatus(Phase.QUEUED)
        self._stream: GenerationStream | None = None
        self._error: EngineError | None = None
        self._created = time.monotonic()
        self._queued_s: float | None = None
        self._guard = LoopGuard() if request.repetition_guard else None

    # -- the caller's side -------------------------------------------------------------------------

    @property
    def owner(self) -> str:
        return self.ticket.owner

    @property
    def model_id(self) -> str:
        return self.ticket.model_id

    @property
    def status(self) -> JobStatus:
        return self._status

    def cancel(self) -> None:
        """Stop in whatever phase the job is: it leaves the queue, or ends at the next layer or token."""
        if self.done.is_set() or self._stop.is_set():
            return
        self._stop.set()
        self.publish(self._status)  # the same phase, now marked as stopping
        stream = self._stream
        if stream is not None:
            stream.close()  # a network read ends at once; a model ends at its next layer
        self._on_cancel(self)

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def updates(self, heartbeat_s: float = 0.25) -> Iterator[str | None]:
        """Text pieces as they come, and None whenever the status changed or ``heartbeat_s`` passed.

        The heartbeat lets a UI redraw (and notice a Stop or a closed tab) while nothing else happens.
        """
        while True:
            try:
                item = self._updates.get(timeout=heartbeat_s)
            except queue.Empty:
                yield None
                continue
            if item is _END:
                return
            yield item if isinstance(item, str) else None

    def follow(
        self,
        on_update: UpdateCallback | None = None,
        *,
        stop: threading.Event | None = None,
        heartbeat_s: float = 0.25,
    ) -> JobOutcome:
        """Read the job to its end, handing every piece and status to ``on_update``; the final outcome.

        The one reader of a job's updates, and so the one place that cancels: when ``stop`` is set, or
        when ``on_update`` raises (a page interrupted by a rerun or a closed tab), the job is cancelled
        before the exception goes on, and :meth:`outcome` still gives what was written so far.
        """
        try:
            for piece in self.updates(heartbeat_s):
                if stop is not None and stop.is_set():
                    self.cancel()
                if on_update is not None:
                    on_update(piece, self._status)
        finally:
            self.cancel()  # nothing happens if it finished; otherwise it ends at once in whatever phase
        self.wait()
        return self.outcome()

    def outcome(self) -> JobOutcome:
        """The answer so far (final once ``done`` is set); the stats object keeps filling in until then."""
        stream = self._stream
        finished = stream is not None and self.done.is_set()
        stopped = stream.stats.stopped if finished and stream is not None else self._stop.is_set()
        text = "".join(self._pieces)
        loop = self._guard.loop if self._guard is not None else None
        return JobOutcome(
            text=loop.kept(text) if loop is not None else text,
            stats=stream.stats if stream is not None else GenerationStats(stopped=stopped),
            stopped=stopped,
            error=self._error,
            input_size=stream.input_size if stream is not None else None,
            text_layout=stream.text_layout if finished and stream is not None else None,
            looped=loop is not None,
        )

    # -- the scheduler's side ----------------------------------------------------------------------

    def publish(self, status: JobStatus) -> None:
        if self._stop.is_set() and not status.stopping and status.phase is not Phase.FINISHED:
            status = JobStatus(status.phase, status.position, status.behind_own, stopping=True)
        if status != self._status:
            self._status = status
            self._updates.put(None)

    def run(self, engine: Engine, prefix: PrefixSlot) -> None:
        """Generate with ``engine`` on this thread (the scheduler started it), then tell the scheduler."""
        self._queued_s = time.monotonic() - self._created
        try:
            self.publish(JobStatus(Phase.PREFILL))
            stream = engine.stream(self.request, self._stop, prefix_cache=prefix)
            self._stream = stream
            if self._stop.is_set():
                stream.close()  # cancelled while the inputs were being prepared
            stream.run(self._piece)
        except EngineError as error:
            self._error = error
        except Exception as error:  # noqa: BLE001 - reported to the caller, never lost on this thread
            self._error = GenerationFailed(f"{type(error).__name__}: {error}")
            self._error.__cause__ = error
        finally:
            if self._error is not None:
                self._after_failure(self._error)
            self._on_end(self)

    def fail(self, error: EngineError) -> None:
        """The request cannot run (its model failed to load): the scheduler ends it with ``error``."""
        self._error = error

    def end(self) -> None:
        """The line and the model are given back: the job is over for its caller (the scheduler calls this)."""
        self._log()
        self._status = JobStatus(Phase.FINISHED)
        self.done.set()
        self._updates.put(_END)

    def _piece(self, piece: str) -> None:
        if self._guard is not None and self._guard.loop is not None:
            return  # the loop was caught: what comes before the model sees the stop is not shown
        self._pieces.append(piece)
        self._updates.put(piece)
        if self._guard is not None and self._guard.feed(piece):
            self._stop.set()  # the model ends at its next token, a server's stream at its next read
        if self._status.phase is Phase.PREFILL:
            self.publish(JobStatus(Phase.DECODING))

    def _after_failure(self, error: EngineError) -> None:
        """Free what a failed generation may have left, and give the unexpected an error id (on the runner)."""
        if isinstance(error, OutOfMemory):
            free_memory()
        if isinstance(error, GenerationFailed) and error.__cause__ is not None:
            error.params.setdefault("error_id", new_error_id())
            log.error(
                "generation failed, error id %s",
                error.params["error_id"],
                exc_info=error.__cause__,
                extra={"fields": {"session": anonymous(self.owner), "model": self.model_id}},
            )

    @property
    def error(self) -> EngineError | None:
        return self._error

    def _log(self) -> None:
        stream = self._stream
        stats = stream.stats if stream is not None else GenerationStats()
        error = self._error
        if error is not None:
            outcome = "failed"
        elif stats.stopped or self._stop.is_set():
            outcome = "stopped"
        else:
            outcome = "done"
        error_id = error.params.get("error_id") if error is not None else None
        log_request(
            RequestRecord(
                session=anonymous(self.owner),
                task=self.request.task,
                model=self.model_id,
                quantization=self._quantization,
                outcome=outcome,
                vision_inputs=stats.image_tiles,
                prompt_tokens=stats.prompt_tokens,
                reused_tokens=stats.reused_prompt_tokens,
                new_tokens=stats.new_tokens,
                first_token_s=_rounded(stats.seconds_to_first_token),
                total_s=_rounded(time.monotonic() - self._created),
                queued_s=_rounded(self._queued_s),
                error=error.key if error is not None else None,
                error_id=str(error_id) if error_id is not None else None,
            )
        )
