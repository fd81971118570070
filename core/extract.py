"""``python -m core.extract --template invoice-ru --model MODEL FILE...``: a template's fields from documents,
one JSON file per page, through the same code as the Extract page (serving core, constrained decoding, typed
values, checks, evidence from Tesseract's words when Tesseract is installed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.engines.device import resolve_device
from core.engines.tesseract import TesseractMissing, check_installed
from core.extraction.evidence import locate_on_page
from core.extraction.templates import TemplateError, load_template
from core.lab.runner import WorkItem, load_page, write_atomically
from core.media import InvalidInput
from core.serving import ServingCore
from core.settings import SettingsError, load_settings
from core.tasks import extract as extract_task
from core.tasks.extract import ExtractParams


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.extract", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="images (JPG, PNG, WebP) or PDFs")
    parser.add_argument("--template", required=True, help="a shipped template (invoice-ru, invoice-en, receipt, "
                                                          "form) or a template / JSON Schema file")  # fmt: skip
    parser.add_argument("--model", help="model id or folder (default: MODEL_ID)")
    parser.add_argument("--output-dir", type=Path, default=Path("extracted"))
    parser.add_argument("--max-pages", type=int, default=1, help="PDF pages per document")
    parser.add_argument("--no-evidence", action="store_true", help="do not look for the values with Tesseract")
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
    evidence = not args.no_evidence
    if evidence:
        try:
            check_installed("rus+eng")
        except TesseractMissing:
            print("note: Tesseract is not installed; values are not located on the page", file=sys.stderr)
            evidence = False
    serving = ServingCore(settings)
    failures = 0
    try:
        model = args.model or settings.model_source(resolve_device(settings.device).device)
        client = serving.client(model, "cli")
        params = ExtractParams(template)
        for path in args.files:
            try:
                items = _pages(path, args.max_pages)
            except (OSError, InvalidInput) as error:
                print(f"{path}: cannot read it ({error})", file=sys.stderr)
                failures += 1
                continue
            for item in items:
                image = load_page(item)
                outcome = client.generate(extract_task.build(client.family, image, params))
                extraction = extract_task.parse(template, outcome, params.bounds)
                found = locate_on_page(template, extraction.values, image) if evidence else None
                record = extract_task.report(extraction, found, document=path.name, page=item.page_index + 1,
                                             model=client.model_id)  # fmt: skip
                target = args.output_dir / f"{item.stem}.json"
                write_atomically(target, record)
                failures += 0 if extraction.valid and extraction.error is None else 1
                print(f"{target}: {'valid' if extraction.valid else 'INVALID'}, "
                      f"{sum(not check.ok for check in extraction.checks)} failed checks", file=sys.stderr)  # fmt: skip
    finally:
        serving.close()
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
