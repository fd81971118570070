"""``python -m core.lab run ...``: compare models on a folder of documents (see ``run --help``)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from core.lab.config import ConfigError, LabModel, load_models
from core.lab.report import write_report
from core.lab.runner import RunSummary, WorkItem, discover, load_page, run, settings_for_device
from core.logs import configure_logging
from core.media import InvalidInput
from core.serving import Priority, ServingCore
from core.settings import Settings, SettingsError, load_settings


def _progress(done: int, total: int, left: float | None, what: str) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    eta = "--:--" if left is None else f"{int(left // 60):02d}:{int(left % 60):02d}"
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} ETA {eta} {what[:40]:<40}")
    sys.stderr.flush()


def _stop_on_interrupt(stop: threading.Event) -> Callable[[], None]:
    """The first Ctrl-C stops the run, dropping the page being read; a second one quits at once.

    Returns what puts the previous handler back.
    """

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        sys.stderr.write("\nstopping: the page being read will not be saved (Ctrl-C again to quit at once)\n")

    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach the main thread only (a test calling main() from a worker)
    previous = signal.signal(signal.SIGINT, handler)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    return restore


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.lab", description="VLM Lab: compare models on documents.")
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("run", help="run models over documents and write a report")
    command.add_argument("--documents", type=Path, required=True, help="folder of JPG/PNG/WebP/PDF documents")
    command.add_argument("--models-file", type=Path, required=True, help="models.yaml with a 'models:' list")
    command.add_argument("--output-dir", type=Path, default=Path("results"))
    command.add_argument("--max-pages", type=int, default=1, help="PDF pages per document")
    command.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    command.add_argument("--references", type=Path, help="folder of <document>.json / <document>.txt answers")
    command.add_argument("--dry-run", action="store_true", help="check the config and documents; load nothing")
    command.add_argument("--limit", type=int, help="only the first N documents")
    command.add_argument("--resume", type=Path, help="an earlier run directory to complete")
    command.add_argument(
        "--concurrency", type=int, default=1,
        help="pages sent at once to a model on a remote server (ENGINE=openai); local models read one at a time",
    )  # fmt: skip
    return parser


def _arguments_problem(args: argparse.Namespace) -> str | None:
    if not args.documents.is_dir():
        return f"no such folder: {args.documents}"
    if args.max_pages < 1 or args.concurrency < 1 or (args.limit is not None and args.limit < 1):
        return "--max-pages, --concurrency and --limit must be at least 1"
    return None


def _dry_run(models: list[LabModel], items: list[WorkItem]) -> int:
    """Say what would run and whether each page can be read; load nothing."""
    for model in models:
        print(f"  {model.name}: {model.model_id} ({model.task}, {model.status})")
    unreadable = 0
    for item in items:
        try:
            load_page(item)
            print(f"  {item.stem}")
        except InvalidInput as error:
            unreadable += 1
            print(f"  {item.stem}: cannot be read ({error.key})")
    return 1 if unreadable else 0


def _run_all(settings: Settings, models: list[LabModel], items: list[WorkItem], run_dir: Path,
             concurrency: int) -> RunSummary:  # fmt: skip
    """Every model over every page through a serving core of this process; Ctrl-C stops after the page."""
    serving = ServingCore(settings)
    stop = threading.Event()
    restore_interrupt = _stop_on_interrupt(stop)
    try:
        return run(
            models, items, run_dir, progress=_progress, stop=stop, release=serving.release, concurrency=concurrency,
            clients=lambda model_id, quant: serving.client(model_id, "lab-cli", Priority.BATCH, quantization=quant),
        )  # fmt: skip
    finally:
        restore_interrupt()
        serving.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        models = load_models(args.models_file)
        settings = settings_for_device(load_settings(), args.device)
    except (ConfigError, SettingsError) as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    problem = _arguments_problem(args)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    items = discover(args.documents, args.max_pages, args.limit)
    if not items:
        print(f"no documents (JPG, PNG, WebP, PDF) in {args.documents}", file=sys.stderr)
        return 2
    print(f"{len(models)} models x {len(items)} pages from {len({i.document for i in items})} documents")
    if args.dry_run:
        return _dry_run(models, items)

    run_dir = args.resume or args.output_dir / datetime.now().strftime("%Y%m%d_%H%M%S")
    summary = _run_all(settings, models, items, run_dir, args.concurrency)
    sys.stderr.write("\n")
    if summary.cancelled:
        print(f"interrupted: the page being read was not saved; finish with --resume {run_dir}", file=sys.stderr)
        return 130
    report = write_report(run_dir, models, args.references)
    for row in report["models"]:
        print(f"{row['name']}: accuracy {row.get('accuracy')}, failures {row['failures']}")
    print(f"done {summary.done}, skipped {summary.skipped}, failed {summary.failed}; report: {run_dir / 'report.md'}")
    return 1 if summary.failed or any(row["failures"] for row in report["models"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
