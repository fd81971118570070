"""A Lab run on a background thread, with progress the UI can poll and a way to cancel it."""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image

from core.lab.config import LabModel
from core.lab.report import write_report
from core.lab.runner import ClientFactory, RunSummary, WorkItem, load_page, run
from core.serving import JobStatus


def safe_name(name: str) -> str:
    """A file name without any folder part, other characters than letters, digits, '-', '_' replaced.

    Letters of any script stay, so a document and its reference answers keep matching names.
    """
    base = Path(name.replace("\\", "/")).name
    stem = re.sub(r"[^\w-]", "_", Path(base).stem).strip("_") or "document"
    suffix = re.sub(r"[^\w.]", "", Path(base).suffix.lower())
    return f"{stem[:100]}{suffix}"


def stage_files(files: list[tuple[str, bytes]], folder: Path) -> Path:
    """Write uploaded files under ``folder`` with safe names (a repeated name gets a numeric suffix)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files:
        target = folder / safe_name(name)
        counter = 2
        while target.exists():
            target = folder / f"{target.stem}_{counter}{target.suffix}"
            counter += 1
        target.write_bytes(data)
    return folder


PREVIEW_SIDE = 720  # the per-document view shows the page this big at most


def preview_jpeg(image: Image.Image, side: int = PREVIEW_SIDE) -> bytes:
    thumbnail = image.convert("RGB")
    thumbnail.thumbnail((side, side))
    buffer = io.BytesIO()
    thumbnail.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@dataclass
class LabJob:
    """One run of the Lab page. Its files live in temporary folders that are removed when it ends.

    ``inputs`` is the folder the page staged the uploads in (None for a folder on the server, which
    is never touched). What the page shows afterwards stays in memory: the report and a small preview
    of each document.
    """

    models: list[LabModel]
    items: list[WorkItem]
    references: Path | None
    clients: ClientFactory  # the server's serving core, with this run as a batch owner
    inputs: Path | None = None
    run_dir: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="vlm-lab-")) / datetime.now().strftime("%Y%m%d_%H%M%S")
    )
    previews: dict[str, bytes] = field(default_factory=dict)  # document name -> JPEG
    concurrency: int = 1  # pages at once on a remote server
    done: int = 0
    total: int = 0
    seconds_left: float | None = None
    current: str = ""
    waiting: JobStatus | None = None  # set while the current page waits for interactive users or a load
    waiting_for: str = ""  # the model id that page waits for
    summary: RunSummary | None = None
    report: dict[str, Any] | None = None
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.total = len(self.models) * len(self.items)
        threading.Thread(target=self._work, name="vlm-lab", daemon=True).start()

    def _progress(self, done: int, total: int, left: float | None, what: str) -> None:
        self.done, self.total, self.seconds_left, self.current = done, total, left, what

    def _waiting(self, model_id: str, status: JobStatus | None) -> None:
        self.waiting_for, self.waiting = model_id, status

    def _work(self) -> None:
        try:
            self.summary = run(
                self.models, self.items, self.run_dir, clients=self.clients,
                progress=self._progress, stop=self.stop, on_wait=self._waiting, concurrency=self.concurrency,
            )  # fmt: skip
            self.report = write_report(self.run_dir, self.models, self.references)
            self._keep_previews()
        except Exception as error:  # noqa: BLE001 - shown to the user; the app keeps running
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self._remove_files()
            self.finished.set()

    def _keep_previews(self) -> None:
        for item in self.items:
            try:
                self.previews.setdefault(item.document.name, preview_jpeg(load_page(item)))
            except Exception:  # noqa: BLE001, S112 - a page that cannot be shown still has its answers listed
                continue

    def _remove_files(self) -> None:
        shutil.rmtree(self.run_dir.parent if self.run_dir.parent.name.startswith("vlm-lab-") else self.run_dir,
                      ignore_errors=True)  # fmt: skip
        if self.inputs is not None:
            shutil.rmtree(self.inputs, ignore_errors=True)
