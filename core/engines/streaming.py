"""Run ``model.generate`` on a worker thread and hand its text out piece by piece.

Stopping is cooperative and reaches every phase:
- between tokens, a stopping criterion polls the stop Event, so decoding ends within one token;
- inside a forward pass (the image prefill can take a minute on a CPU), a pre-hook on every layer of
  the model checks the same Event and aborts the pass, so a stop lands within one layer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from core.engines.prefix import PrefixStep
from core.engines.types import EngineError, GenerationFailed, GenerationStats, OcrPage, OutOfMemory

# How long the consumer waits for the next piece before checking whether the worker died.
_POLL_SECONDS = 0.2

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
            return done  # type: ignore[return-value]  # BoolTensor is only a typing alias

    return _StopOnEvent()


def as_engine_error(error: BaseException) -> EngineError:
    """What a failure inside ``generate`` means to the person waiting: out of memory, or the model's own words."""
    import torch

    if isinstance(error, EngineError):
        return error
    if isinstance(error, torch.OutOfMemoryError | MemoryError):
        return OutOfMemory(f"{type(error).__name__}: {error}")
    return GenerationFailed(f"{type(error).__name__}: {error}")


class ThreadedGeneration:
    """A :class:`core.engines.base.GenerationStream` backed by a generate() call on a worker thread.

    ``release`` runs exactly once, after the worker has finished.
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
    ) -> None:
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        self._stop = stop or threading.Event()
        self._release = release
        self._released = False
        self._error: BaseException | None = None
        self._tokens = 0
        self.input_size = input_size
        self.text_layout: OcrPage | None = None  # a model gives text only
        self.stats = GenerationStats(prompt_tokens=int(inputs["input_ids"].shape[-1]), image_tiles=image_tiles)
        self._streamer = TextIteratorStreamer(
            tokenizer, skip_prompt=True, skip_special_tokens=skip_special_tokens, timeout=_POLL_SECONDS
        )
        kwargs = dict(inputs)
        kwargs.update(generate_kwargs)
        kwargs["streamer"] = self._streamer
        kwargs["stopping_criteria"] = StoppingCriteriaList([_stop_criterion(self._stop, self._token_done)])
        self._prefix = prefix  # runs on the worker first: the cached prefix replaces the media
        self._started = started if started is not None else time.perf_counter()
        self._thread = threading.Thread(target=self._work, args=(model, kwargs), name="vlm-generate", daemon=True)
        self._thread.start()

    def _token_done(self, sequence: Any) -> None:
        # Timed here rather than when text arrives: a first token can decode to nothing visible yet.
        self._tokens += 1
        if self.stats.seconds_to_first_token is None:
            self.stats.seconds_to_first_token = time.perf_counter() - self._started
        if self._prefix is not None:
            self._prefix.token(sequence)

    def _work(self, model: Any, kwargs: dict[str, Any]) -> None:
        import torch

        _running.stop = self._stop
        try:
            with torch.inference_mode():
                if self._prefix is not None:
                    kwargs = self._prefix.prepare(kwargs, self.stats)
                model.generate(**kwargs)
        except _Cancelled:
            self._streamer.end()
        except BaseException as error:  # noqa: BLE001 - re-raised on the consumer's thread
            self._error = error
            self._streamer.end()
        finally:
            _running.stop = None
            self.stats.new_tokens = self._tokens
            if self._prefix is not None:
                self._prefix.finished()  # on this thread: nothing runs on the model after it

    def __iter__(self) -> Iterator[str]:
        import queue

        try:
            while True:
                try:
                    piece = next(self._streamer)
                except StopIteration:
                    break
                except queue.Empty:
                    if not self._thread.is_alive() and self._streamer.text_queue.empty():
                        break
                    continue
                if piece:
                    yield piece
            # The streamer ends just before generate() returns: let it return rather than stop it.
            self._thread.join()
        finally:
            self.close()
        if self._error is not None:
            raise as_engine_error(self._error) from self._error

    def close(self) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self.stats.stopped = True
        self._thread.join()
        self.stats.seconds_total = time.perf_counter() - self._started
        if self._stop.is_set():
            self.stats.stopped = True
        if not self._released:
            self._released = True
            if self._release is not None:
                self._release()
