"""Streaming one model answer into the page, with a Stop button, whichever page asks.

Streamlit interrupts a running script with an exception at its next UI call when anything reruns it
(Stop, a new question, leaving the page). ``stream_into`` turns that into a clean stop: the partial
answer is handed to ``on_finish`` and the model is freed before the exception goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st

from core.engines.base import Engine
from core.engines.manager import stream_when_free
from core.engines.types import EngineError, GenerationRequest, GenerationStats
from ui.i18n import t

_RUNNING_KEY = "generation_running"
# Long enough for a stopped generation to finish its current decoding step, even on a slow CPU.
_FINISH_TIMEOUT_S = 60.0
CURSOR = " ▌"


@dataclass
class Outcome:
    text: str = ""
    stopped: bool = False
    error: str | None = None
    stats: GenerationStats = field(default_factory=GenerationStats)


@dataclass(frozen=True)
class _Running:
    stop: threading.Event
    finished: threading.Event


def finish_previous() -> None:
    """Stop this session's previous generation, if any, and wait until its result is saved.

    Streamlit may start the next run while the old one is still unwinding on its own thread;
    without this wait the new run would render before the old answer is stored.
    """
    running = st.session_state.get(_RUNNING_KEY)
    if isinstance(running, _Running):
        running.stop.set()
        running.finished.wait(_FINISH_TIMEOUT_S)


def stream_into(
    engine: Engine,
    request: GenerationRequest,
    *,
    key: str,
    show: Callable[[str], None],
    on_finish: Callable[[Outcome], None],
    waiting_text: str,
) -> None:
    """Generate, calling ``show`` with the text so far; ``on_finish`` always runs, even when stopped."""
    stop_slot = st.empty()
    stop_slot.button(t("chat.stop"), key=f"{key}_stop", icon=":material/stop_circle:")
    status = st.empty()
    status.caption(waiting_text)
    stop = threading.Event()
    running = _Running(stop, threading.Event())
    st.session_state[_RUNNING_KEY] = running
    waited_since = time.monotonic()

    def show_busy() -> None:
        status.info(t("engine.busy", seconds=int(time.monotonic() - waited_since)))

    outcome = Outcome(stopped=True)
    pieces: list[str] = []
    stream = None
    try:
        stream = stream_when_free(engine, request, stop, on_wait=show_busy)
        if stream is not None:
            status.empty()
            for piece in stream:
                pieces.append(piece)
                show("".join(pieces))
            outcome.stopped = stream.stats.stopped
    except EngineError as error:
        outcome.error = t("engine.failed", detail=str(error))
        outcome.stopped = False
    finally:
        stop.set()
        if stream is not None:
            stream.close()
            outcome.stats = stream.stats
        outcome.text = "".join(pieces)
        try:
            on_finish(outcome)
        finally:
            running.finished.set()
    stop_slot.empty()
    status.empty()
