"""Run every model over every document page; one JSON file per (model, document, page), written atomically."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from core.documents import PdfLimits, is_pdf, open_pdf, render_page
from core.engines.types import REMOTE_DEVICE, EngineError, GenerationRequest
from core.lab.config import LabModel
from core.media import InvalidInput, MediaLimits, load_image
from core.serving import JobOutcome, JobStatus, ModelClient, Phase
from core.serving.core import split_model_key
from core.settings import Settings
from core.tasks import LAB_TASKS

DOCUMENT_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".pdf")
# (model id, quantization or None for MODEL_QUANT) -> that model through the serving core
ClientFactory = Callable[[str, "str | None"], ModelClient]
Progress = Callable[[int, int, float | None, str], None]  # done, total, seconds left (estimate), what
Waiting = Callable[[str, JobStatus | None], None]  # model id, and its request's status while it waits (None: runs)


@dataclass(frozen=True)
class WorkItem:
    document: Path
    page_index: int  # 0-based; 0 for an image
    pages: int  # pages of the document taken (1 for an image)

    @property
    def stem(self) -> str:
        return self.document.stem if self.pages == 1 else f"{self.document.stem}_p{self.page_index + 1}"


def discover(documents: Path, max_pages: int, limit: int | None = None) -> list[WorkItem]:
    """Pages to run, in name order. A document that cannot be opened still gets an item: its error is recorded."""
    items: list[WorkItem] = []
    for path in sorted(p for p in Path(documents).iterdir() if p.suffix.lower() in DOCUMENT_SUFFIXES):
        pages = 1
        if path.suffix.lower() == ".pdf":
            try:
                pages = min(open_pdf(path.read_bytes(), path.name).page_count, max_pages)
            except InvalidInput:
                pages = 1
        items.extend(WorkItem(path, index, pages) for index in range(pages))
        if limit is not None and len({item.document for item in items}) >= limit:
            break
    return items


def load_page(item: WorkItem) -> Image.Image:
    data = item.document.read_bytes()
    if is_pdf(data[:1024]):
        return render_page(open_pdf(data, item.document.name, PdfLimits()), item.page_index).image
    return load_image(data, item.document.name, MediaLimits()).image


def write_text_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as sink:
            sink.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, payload: dict[str, Any]) -> None:
    write_text_atomically(path, json.dumps(payload, ensure_ascii=False, indent=2))


class Cancelled(Exception):  # noqa: N818 - a state, not a fault
    """The run was stopped during this page: nothing is written for it, so a resume runs it again."""


def _generate(
    client: ModelClient, request: GenerationRequest, stop: threading.Event, on_wait: Waiting | None
) -> JobOutcome:
    def report(piece: str | None, status: JobStatus) -> None:
        if on_wait is not None:
            waiting = status.phase in (Phase.QUEUED, Phase.LOADING)
            on_wait(split_model_key(client.model_id)[0], status if waiting else None)

    outcome = client.generate(request, stop=stop, on_update=report)
    if outcome.stopped and not outcome.looped:  # the run's Stop; a loop the guard ended is an answer
        raise Cancelled
    if outcome.error is not None:
        raise outcome.error
    return outcome


def _weights(client: ModelClient) -> str:
    runtime = client.runtime
    return "int8" if runtime.quantization == "int8" else runtime.dtype


def _new_record(client: ModelClient, model: LabModel, item: WorkItem) -> dict[str, Any]:
    return {
        "document": item.document.name,
        "page_index": item.page_index,
        "model": model.name,
        "model_id": model.model_id,
        "weights": _weights(client),
        "task": model.task,
        "prompt": None,
        "raw_response": None,
        "parsed": None,
        "elapsed_seconds": 0.0,
        "generation_kwargs": model.generation.generate_kwargs(),
        "prompt_tokens": 0,
        "new_tokens": 0,
        "tokens_per_second": None,
        "error": None,
    }


def run_item(
    client: ModelClient, model: LabModel, item: WorkItem, stop: threading.Event, on_wait: Waiting | None = None
) -> dict[str, Any] | None:
    """The result record of one page, or None when the run was stopped before the page's answers were complete.

    The task's module makes the requests and reads the answers; this only runs them and keeps the record.
    """
    record = _new_record(client, model, item)
    started = time.perf_counter()
    try:
        image = load_page(item)
        task, family, options = LAB_TASKS[model.task], client.family, model.options
        outcomes = [_generate(client, request, stop, on_wait) for request in task.lab_requests(family, image, options)]
        answer = task.lab_answer(family, image, options, outcomes)
        record["prompt"], record["raw_response"], record["parsed"] = answer.prompt, answer.raw, answer.parsed
        record.update(answer.extra)
        record["prompt_tokens"] = sum(outcome.stats.prompt_tokens for outcome in outcomes)
        record["new_tokens"] = sum(outcome.stats.new_tokens for outcome in outcomes)
        record["looped"] = any(outcome.looped for outcome in outcomes)
    except Cancelled:
        return None
    except EngineError as error:
        record["error"] = f"{type(error).__name__}: {error}"
    except (InvalidInput, OSError, ValueError, RuntimeError) as error:
        record["error"] = f"{type(error).__name__}: {getattr(error, 'key', None) or error}"
    elapsed = time.perf_counter() - started
    record["elapsed_seconds"] = round(elapsed, 3)
    if record["new_tokens"] and elapsed > 0:
        record["tokens_per_second"] = round(record["new_tokens"] / elapsed, 2)
    return record


def _already_done(path: Path) -> bool:
    """A result that exists and holds no error; failed or half-written ones are run again."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("error") is None
    except (OSError, ValueError):
        return False


@dataclass
class RunSummary:
    run_dir: Path
    done: int = 0
    skipped: int = 0
    failed: int = 0
    cancelled: bool = False


def _load_failed(model: LabModel, item: WorkItem, error: Exception) -> dict[str, Any]:
    return {
        "document": item.document.name,
        "page_index": item.page_index,
        "model": model.name,
        "model_id": model.model_id,
        "task": model.task,
        "error": f"model did not load: {error}",
    }


@dataclass
class _Run:
    """What every model's part of a run shares."""

    run_dir: Path
    stop: threading.Event
    tally: _Tally
    on_wait: Waiting | None
    concurrency: int

    def path(self, model: LabModel, item: WorkItem) -> Path:
        return self.run_dir / model.name / f"{item.stem}.json"


def run(
    models: list[LabModel],
    items: list[WorkItem],
    run_dir: Path,
    *,
    clients: ClientFactory,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    on_wait: Waiting | None = None,
    release: Callable[[str], None] | None = None,
    concurrency: int = 1,
) -> RunSummary:
    """Run everything not already in ``run_dir`` (so the same call resumes an interrupted run).

    Models load through the serving core behind ``clients``; ``release`` (the CLI's) unloads each one
    once its pages are done, where a shared server leaves that to the pool. ``concurrency`` pages are
    sent at once to a model on a remote server, which batches them; a local model reads one at a time.
    """
    for leftover in run_dir.glob("**/.*.tmp"):  # a killed run's unfinished writes; their pages run again
        leftover.unlink(missing_ok=True)
    summary = RunSummary(run_dir)
    shared = _Run(run_dir, stop or threading.Event(), _Tally(summary, len(models) * len(items), progress), on_wait,
                  concurrency)  # fmt: skip
    for model in models:
        pending = [item for item in items if not _already_done(shared.path(model, item))]
        shared.tally.skip(len(items) - len(pending))
        if not pending:
            continue
        try:
            client = clients(model.model_id, model.quantization)
            loaded = client.load(stop=shared.stop)
        except EngineError as error:  # a model that cannot load fails its documents, the run goes on
            for item in pending:
                write_atomically(shared.path(model, item), _load_failed(model, item, error))
                shared.tally.failed_to_load()
            continue
        if not loaded or not _run_model(shared, client, model, pending):
            summary.cancelled = True
            return summary
        if release is not None:
            release(client.model_id)
    return summary


def _run_model(shared: _Run, client: ModelClient, model: LabModel, pending: list[WorkItem]) -> bool:
    """Every pending page of one loaded model; False when the run was stopped first."""

    def one(item: WorkItem) -> bool:
        """Run and save one page; False when the run was stopped before it was done."""
        if shared.stop.is_set():
            return False
        started = time.perf_counter()
        record = run_item(client, model, item, shared.stop, shared.on_wait)
        if record is None:
            return False
        write_atomically(shared.path(model, item), record)
        shared.tally.record(record, time.perf_counter() - started, f"{model.name} / {item.stem}")
        return True

    workers = shared.concurrency if client.runtime.device == REMOTE_DEVICE else 1
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vlm-lab") as pool:
            return all(list(pool.map(one, pending)))
    return all(one(item) for item in pending)  # stops at the first page a Stop interrupted


class _Tally:
    """Counts and progress of a run, updated from one thread or several."""

    def __init__(self, summary: RunSummary, total: int, progress: Progress | None) -> None:
        self._summary, self._total, self._progress = summary, total, progress
        self._position = 0
        self._timings: list[float] = []
        self._lock = threading.Lock()

    def skip(self, count: int) -> None:
        with self._lock:
            self._summary.skipped += count
            self._position += count

    def failed_to_load(self) -> None:
        with self._lock:
            self._summary.failed += 1
            self._position += 1

    def record(self, record: dict[str, Any], seconds: float, what: str) -> None:
        with self._lock:
            self._position += 1
            self._timings.append(seconds)
            self._summary.failed += record["error"] is not None
            self._summary.done += record["error"] is None
            position = self._position
            left = (self._total - position) * (sum(self._timings) / len(self._timings))
        if self._progress is not None:
            self._progress(position, self._total, left, what)


def settings_for_device(settings: Settings, device: str) -> Settings:
    return settings.model_copy(update={"device": device})
