"""``python -m core.extract --template invoice-ru --model MODEL FILE...``: a template's fields from documents,
one JSON file per document (a PDF's pages joined: each field from the first page that has it, the line items of
all pages), through the same code as the Extract page: serving core, constrained decoding, typed values, checks,
and each value located on its page by the model's own grounding when its family grounds, otherwise among
Tesseract's words when Tesseract is installed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from core.engines.device import resolve_device
from core.engines.tesseract import TesseractMissing, check_installed
from core.engines.types import Capability
from core.extraction.evidence import Evidence, locate_on_page
from core.extraction.templates import Template, TemplateError, load_template
from core.lab.runner import WorkItem, load_page, write_atomically
from core.media import InvalidInput
from core.serving import ModelClient, ServingCore
from core.settings import SettingsError, load_settings
from core.tasks import extract as extract_task
from core.tasks.extract import ExtractParams, ExtractRun, PageExtraction

Locator = Callable[[dict[str, Any] | None, Image.Image], list[Evidence] | None]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.extract", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="images (JPG, PNG, WebP) or PDFs")
    parser.add_argument("--template", required=True, help="a shipped template (invoice-ru, invoice-en, receipt, "
                                                          "form) or a template / JSON Schema file")  # fmt: skip
    parser.add_argument("--model", help="model id or folder (default: MODEL_ID)")
    parser.add_argument("--output-dir", type=Path, default=Path("extracted"))
    parser.add_argument("--max-pages", type=int, default=50, help="PDF pages per document (default 50)")
    parser.add_argument("--no-evidence", action="store_true", help="do not look for the values on the page")
    return parser


def _pages(path: Path, max_pages: int) -> list[WorkItem]:
    from core.documents import is_pdf, open_pdf

    data = path.read_bytes()
    pages = min(open_pdf(data, path.name).page_count, max_pages) if is_pdf(data[:1024]) else 1
    return [WorkItem(path, index, pages) for index in range(pages)]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        template = load_template(args.template)
        settings = load_settings()
    except (TemplateError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    serving = ServingCore(settings)
    failures = 0
    try:
        model = args.model or settings.model_source(resolve_device(settings.device).device)
        client = serving.client(model, "cli")
        locate = _locator(client, template, evidence=not args.no_evidence)
        params = ExtractParams(template)
        for path in args.files:
            try:
                items = _pages(path, args.max_pages)
            except (OSError, InvalidInput) as error:
                print(f"{path}: cannot read it ({error})", file=sys.stderr)
                failures += 1
                continue
            run = ExtractRun(template, client.model_id, [f"{path.name}-p{item.page_index + 1}" for item in items])
            for item, digest in zip(items, run.page_digests, strict=True):
                try:
                    image = load_page(item)
                except InvalidInput as error:  # a damaged page: the pages before it are kept, and it is named
                    run.failed_page, run.page_error = item.page_index + 1, error
                    break
                outcome = client.generate(extract_task.build(client.family, image, params))
                extraction = extract_task.parse(template, outcome, params.bounds)
                found = locate(extraction.values, image) if outcome.error is None else None
                run.pages.append(PageExtraction(item.page_index + 1, digest, extraction, found))
                if run.ended:
                    break
            target = args.output_dir / f"{path.stem}.json"
            record = extract_task.report(run, document=path.name)
            write_atomically(target, record)
            failures += 0 if run.valid and not run.ended else 1
            failed_checks = sum(not check["ok"] for check in record["checks"])
            if run.failed_page is not None:
                print(f"{path}: page {run.failed_page} cannot be read ({run.page_error})", file=sys.stderr)
            print(f"{target}: {len(run.pages)} page(s), {'valid' if run.valid else 'INVALID'}, "
                  f"{failed_checks} failed checks", file=sys.stderr)  # fmt: skip
    finally:
        serving.close()
    return 1 if failures else 0


def _locator(client: ModelClient, template: Template, *, evidence: bool) -> Locator:
    """How values are found on a page: the model's grounding when its family grounds, else Tesseract's words."""
    if not evidence:
        return lambda values, image: None
    if client.card.can(Capability.GROUNDING):
        return lambda values, image: extract_task.ground_values(client, template, values, image)
    try:
        check_installed("rus+eng")
    except TesseractMissing:
        print("note: Tesseract is not installed; values are not located on the page", file=sys.stderr)
        return lambda values, image: None
    return lambda values, image: locate_on_page(template, values, image)


if __name__ == "__main__":
    raise SystemExit(main())
