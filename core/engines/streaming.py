"""Run ``model.generate`` and hand its text out piece by piece.

Every stream does its work in ``run(emit)``, on the calling thread: the serving core's runner thread for a
request, so one request uses one thread. Iterating a stream (benchmarks, tests, the CLI) runs the same
``run`` on a worker of its own and yields what it emits.

Stopping is cooperative and reaches every phase:
- between tokens, a stopping criterion polls the stop Event, so decoding ends within one token;
- inside a forward pass (the image prefill can take a minute on a CPU), a pre-hook on every layer of
  the model checks the same Event and aborts the pass, so a stop lands within one layer.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from core.engines.prefix import PrefixStep
from core.engines.types import EngineError, GenerationFailed, GenerationStats, OcrPage, OutOfMemory

# The stop Event of the generation running on this thread, read by the layer hooks.
_running = threading.local()


class _Cancelled(Exception):  # noqa: N818 - internal control flow, never shown
    """Raised inside a forward pass when its generation was asked to stop."""


def _check_stop(module: Any, args: Any) -> None:
    stop = getattr(_running, "stop", None)
    if stop is not None and stop.is_set():
        raise _Cancelled


def install_stop_hooks(model: Any) -> int:
    """Let a stop request interrupt a forward pass at the next layer; returns the number of layers hooked.

    Every element of an ``nn.ModuleList`` is a layer (vision encoder blocks, decoder layers), whatever
    the family calls them. Outside a generation the hook finds no Event and costs one attribute lookup.
    """
    import torch

    hooked = 0
    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList):
            for layer in module:
                layer.register_forward_pre_hook(_check_stop)
                hooked += 1
    return hooked


def _stop_criterion(stop: threading.Event, on_token: Callable[[Any], None]) -> Any:
    import torch
    from transformers import StoppingCriteria

    class _StopOnEvent(StoppingCriteria):
        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
            on_token(input_ids)
            flag = stop.is_set()
            done = torch.full((input_ids.shape[0],), flag, dtype=torch.bool, device=input_ids.device)
            return done

    return _StopOnEvent()


def as_engine_error(error: BaseException) -> EngineError:
    """What a failure inside ``generate`` means to the person waiting: out of memory, or the model's own words."""
    import torch

    if isinstance(error, EngineError):
        return error
    if isinstance(error, torch.OutOfMemoryError | MemoryError):
        return OutOfMemory(f"{type(error).__name__}: {error}")
    return GenerationFailed(f"{type(error).__name__}: {error}")


Emit = Callable[[str], None]
_END = object()


class RunnableStream:
    """What every stream shares: ``run(emit)`` does the work; iterating runs it on a worker and yields its pieces.

    Subclasses set ``stats``, ``input_size``, ``text_layout``, ``_stop`` and ``_started`` (when the person
    started waiting) and implement ``_run``.
    """

    stats: GenerationStats
    _stop: threading.Event
    _started: float
    _worker: threading.Thread | None = None
    _finished = False

    def _run(self, emit: Emit) -> None:
        raise NotImplementedError

    def run(self, emit: Emit) -> None:
        """Generate on this thread, handing each piece of text to ``emit``; raises the engine's error."""
        try:
            self._run(emit)
        finally:
            self._finished = True
            if self._stop.is_set():
                self.stats.stopped = True
            self.stats.seconds_total = time.perf_counter() - self._started

    def __iter__(self) -> Iterator[str]:
        pieces: queue.SimpleQueue[object] = queue.SimpleQueue()
        failure: list[BaseException] = []

        def work() -> None:
            try:
                self.run(pieces.put)
            except BaseException as error:  # noqa: BLE001 - re-raised on the consumer's thread
                failure.append(error)
            finally:
                pieces.put(_END)

        self._worker = threading.Thread(target=work, name="vlm-stream", daemon=True)
        self._worker.start()
        while (item := pieces.get()) is not _END:
            yield str(item)
        self._worker.join()
        if failure:
            raise failure[0]

    def close(self) -> None:
        """Stop generating (if still running) and, for an iterated stream, wait until the model is free again.

        Safe from any thread: the work sees the stop Event at its next token or layer.
        """
        if not self._finished:
            self._stop.set()
            self.stats.stopped = True
            self._interrupt()
        worker = self._worker
        if worker is not None and worker.is_alive():
            worker.join()

    def _interrupt(self) -> None:
        """Unblock work that waits on something the stop Event does not reach (a network read)."""


class _Emitter:
    """transformers' streamer interface, handing finished text to ``emit`` on the generating thread."""

    def __init__(self, tokenizer: Any, emit: Emit, skip_special_tokens: bool) -> None:
        from transformers import TextStreamer

        class Streamer(TextStreamer):
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                if text:
                    emit(text)

        self.streamer = Streamer(tokenizer, skip_prompt=True, skip_special_tokens=skip_special_tokens)


class ThreadedGeneration(RunnableStream):
    """A :class:`core.engines.base.GenerationStream` backed by one ``generate()`` call.

    ``release`` runs exactly once, after the generation has finished.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        inputs: dict[str, Any],
        generate_kwargs: dict[str, Any],
        stop: threading.Event | None = None,
        release: Callable[[], None] | None = None,
        image_tiles: int = 0,
        skip_special_tokens: bool = True,
        input_size: tuple[int, int] | None = None,
        prefix: PrefixStep | None = None,
        started: float | None = None,
        decode_threads: int | None = None,
    ) -> None:
        from transformers import StoppingCriteriaList

        self._stop = stop or threading.Event()
        self._release = release
        self._released = False
        self._tokens = 0
        self._model, self._tokenizer, self._skip_special = model, tokenizer, skip_special_tokens
        self.input_size = input_size
        self.text_layout: OcrPage | None = None  # a model gives text only
        self.stats = GenerationStats(prompt_tokens=int(inputs["input_ids"].shape[-1]), image_tiles=image_tiles)
        self._kwargs = dict(inputs)
        self._kwargs.update(generate_kwargs)
        self._kwargs["stopping_criteria"] = StoppingCriteriaList([_stop_criterion(self._stop, self._token_done)])
        self._prefix = prefix  # runs first: the cached prefix replaces the media
        self._decode_threads = decode_threads
        self._threads_before: int | None = None
        self._started = started if started is not None else time.perf_counter()

    def _token_done(self, sequence: Any) -> None:
        # Timed here rather than when text arrives: a first token can decode to nothing visible yet.
        self._tokens += 1
        if self.stats.seconds_to_first_token is None:
            self.stats.seconds_to_first_token = time.perf_counter() - self._started
            self._enter_decoding()
        if self._prefix is not None:
            self._prefix.token(sequence)

    def _enter_prefill(self) -> None:
        # Each generation sets its own counts: torch's per-thread count starts from a process-wide one that
        # another generation's decoding may have changed (core.engines.device.prefill_threads).
        if self._decode_threads is None:
            return
        import torch

        from core.engines.device import prefill_threads

        self._threads_before = torch.get_num_threads()
        torch.set_num_threads(prefill_threads())

    def _enter_decoding(self) -> None:
        # Torch's thread count is per calling thread (OpenMP), so this changes only this generation's runner.
        if self._decode_threads is None:
            return
        import torch

        torch.set_num_threads(self._decode_threads)

    def _leave_decoding(self) -> None:
        if self._threads_before is not None:
            import torch

            torch.set_num_threads(self._threads_before)
            self._threads_before = None

    def _run(self, emit: Emit) -> None:
        import torch

        kwargs = dict(self._kwargs)
        kwargs["streamer"] = _Emitter(self._tokenizer, emit, self._skip_special).streamer
        _running.stop = self._stop
        self._enter_prefill()
        try:
            with torch.inference_mode():
                if self._prefix is not None:
                    kwargs = self._prefix.prepare(kwargs, self.stats)
                self._model.generate(**kwargs)
        except _Cancelled:
            pass
        except BaseException as error:  # noqa: BLE001 - the person waiting reads what it means
            raise as_engine_error(error) from error
        finally:
            _running.stop = None
            self._leave_decoding()
            self.stats.new_tokens = self._tokens
            if self._prefix is not None:
                self._prefix.finished()  # on this thread: nothing runs on the model after it
            if not self._released:
                self._released = True
                if self._release is not None:
                    self._release()
