"""Streaming one model answer into the page through the serving core, with Stop, whichever page asks.

Streamlit interrupts a running script with an exception at its next UI call when anything reruns it
(Stop, a new question, leaving the page) or when the tab is closed. The job's updates come at least
every heartbeat, even while the request waits in line or the model reads the image, and each redraws
the page, so that interruption comes within a fraction of a second; the job (its one reader,
:meth:`core.serving.Job.follow`) is then cancelled, and ``on_finish`` gets the partial outcome.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import streamlit as st

from core.engines.types import EngineError, GenerationRequest
from core.serving import JobOutcome, JobStatus, ModelClient, Phase
from ui import state, widgets
from ui.i18n import ordinal, t

HEARTBEAT_S = 0.25
# How long a new run waits for this session's stopped answer to end before drawing the page anyway.
_STOPPING_WAIT_S = 5.0
CURSOR = " ▌"


def finish_previous() -> None:
    """Stop this session's previous request, if it is still going, and say so while it ends.

    Its partial answer is already saved; waiting here keeps the session from queueing behind itself.
    """
    running = state.RUNNING.get()
    saved = state.RUNNING_SAVED.get()
    if running is None or (running.done.is_set() and (saved is None or saved.is_set())):
        return
    running.cancel()
    note = st.empty()
    note.caption(f"⏹ {t('generation.stopping_previous')}")
    running.wait(_STOPPING_WAIT_S)
    if saved is not None:  # the interrupted run may still be saving what it had: this run draws from that
        saved.wait(_STOPPING_WAIT_S)
    note.empty()


def describe_wait(status: JobStatus, model_title: str, waiting_text: str, seconds: float) -> str:
    """What the person sees while no text comes: their place in line, the load, or the model thinking."""
    if status.stopping:
        return t("generation.stopping")
    if status.phase is Phase.QUEUED:
        if status.behind_own:
            return t("queue.own_previous")
        return t("queue.position", position=ordinal(status.position))
    if status.phase is Phase.LOADING:
        if status.load_step == "load.waiting_memory":
            return t("load.waiting_memory")
        return t("queue.loading", model=model_title, percent=round(status.load_fraction * 100))
    return t("generation.elapsed", text=waiting_text, seconds=int(seconds))


def _sidebar_state(status: JobStatus) -> str | None:
    if status.phase is Phase.QUEUED:
        return t("queue.sidebar_position", position=ordinal(status.position))
    if status.phase in (Phase.PREFILL, Phase.DECODING):
        return t("queue.sidebar_running")
    return None


def stream_into(
    chosen: ModelClient,
    request: GenerationRequest,
    *,
    key: str,
    show: Callable[[str], None],
    on_finish: Callable[[JobOutcome], None],
    waiting_text: str,
) -> None:
    """Generate, calling ``show`` with the text so far; ``on_finish`` always runs, even when stopped."""
    stop_slot = st.empty()
    stop_slot.button(t("chat.stop"), key=f"{key}_stop", icon=":material/stop_circle:")
    status_slot = st.empty()
    status_slot.caption(waiting_text)
    try:
        job = chosen.submit(request)
    except EngineError as error:  # the queue is full, or the model cannot be run
        stop_slot.empty()
        status_slot.empty()
        on_finish(JobOutcome(error=error))
        return
    saved = threading.Event()
    state.RUNNING.set(job)
    state.RUNNING_SAVED.set(saved)
    title = chosen.card.title
    started = time.monotonic()
    pieces: list[str] = []

    def redraw(piece: str | None, status: JobStatus) -> None:
        if piece:
            pieces.append(piece)
            show("".join(pieces))
            return
        if status.phase is Phase.DECODING and not status.stopping:
            status_slot.empty()
        else:
            status_slot.caption(describe_wait(status, title, waiting_text, time.monotonic() - started))
        sidebar = _sidebar_state(status)
        if sidebar is not None:
            widgets.refresh_sidebar(sidebar)

    try:
        job.follow(redraw, heartbeat_s=HEARTBEAT_S)
    finally:
        try:
            on_finish(job.outcome())
        finally:
            saved.set()
    stop_slot.empty()
    status_slot.empty()
    widgets.refresh_sidebar()
