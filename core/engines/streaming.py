"""Run ``model.generate`` on a worker thread and hand its text out piece by piece.

Stopping is cooperative: a stopping criterion polls an Event after every token, so a stopped
generation ends within one decoding step and leaves the model ready for the next request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from core.engines.types import GenerationFailed, GenerationStats

# How long the consumer waits for the next piece before checking whether the worker died.
_POLL_SECONDS = 0.2


def _stop_criterion(stop: threading.Event, on_token: Callable[[], None]) -> Any:
    import torch
    from transformers import StoppingCriteria

    class _StopOnEvent(StoppingCriteria):
        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
            on_token()
            flag = stop.is_set()
            done = torch.full((input_ids.shape[0],), flag, dtype=torch.bool, device=input_ids.device)
            return done  # type: ignore[return-value]  # BoolTensor is only a typing alias

    return _StopOnEvent()


class ThreadedGeneration:
    """A :class:`core.engines.base.GenerationStream` backed by a generate() call on a worker thread.

    ``release`` runs exactly once, after the worker has finished: the engine uses it to free its lock.
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
        prompt_in_output: bool = True,
    ) -> None:
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        self._stop = stop or threading.Event()
        self._release = release
        self._released = False
        self._error: BaseException | None = None
        self.stats = GenerationStats(prompt_tokens=int(inputs["input_ids"].shape[-1]), image_tiles=image_tiles)
        # Decoder-only models return prompt + answer; encoder-decoder ones the answer after a start token.
        self._output_offset = self.stats.prompt_tokens if prompt_in_output else 1
        self._streamer = TextIteratorStreamer(
            tokenizer, skip_prompt=True, skip_special_tokens=skip_special_tokens, timeout=_POLL_SECONDS
        )
        kwargs = dict(inputs)
        kwargs.update(generate_kwargs)
        kwargs["streamer"] = self._streamer
        kwargs["stopping_criteria"] = StoppingCriteriaList([_stop_criterion(self._stop, self._token_done)])
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._work, args=(model, kwargs), name="vlm-generate", daemon=True)
        self._thread.start()

    def _token_done(self) -> None:
        # Timed here rather than when text arrives: a first token can decode to nothing visible yet.
        if self.stats.seconds_to_first_token is None:
            self.stats.seconds_to_first_token = time.perf_counter() - self._started

    def _work(self, model: Any, kwargs: dict[str, Any]) -> None:
        import torch

        try:
            with torch.inference_mode():
                output = model.generate(**kwargs)
            self.stats.new_tokens = int(output.shape[-1]) - self._output_offset
        except BaseException as error:  # noqa: BLE001 - re-raised on the consumer's thread
            self._error = error
            self._streamer.end()

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
            raise GenerationFailed(f"{type(self._error).__name__}: {self._error}") from self._error

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
