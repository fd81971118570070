"""The Lab's convert task: document models on invoices, scored by Markdown similarity and table accuracy."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import yaml

from core.families.docling import DoclingEngine
from core.lab.__main__ import main
from core.lab.config import ConfigError, parse_models
from core.lab.metrics import markdown_tables
from core.lab.report import build_report, report_markdown
from core.lab.synthetic import invoice_markdown, invoice_table, make_invoice, render_invoice, write_dataset
from tests.app.conftest import CannedText

pytestmark = pytest.mark.usefixtures("offline_lab")


def _doctags(index: int, with_table: bool = True) -> str:
    """What a perfect converter would write for invoice ``index`` (locations are plausible, not measured)."""
    invoice = make_invoice(index)
    paragraphs = invoice_markdown(invoice).strip().split("\n\n")
    table_at = next(number for number, part in enumerate(paragraphs) if part.startswith("|"))
    table = "<otsl><loc_40><loc_100><loc_460><loc_170>" + "".join(
        "".join(("<ched>" if number == 0 else "<fcel>") + cell for cell in row) + "<nl>"
        for number, row in enumerate(invoice_table(invoice))
    ) + "</otsl>"  # fmt: skip
    texts = lambda parts: "".join(f"<text><loc_40><loc_55><loc_300><loc_65>{part}</text>" for part in parts)  # noqa: E731
    return (
        f"<doctag><section_header_level_1><loc_40><loc_30><loc_300><loc_45>{invoice.seller}</section_header_level_1>"
        + texts(paragraphs[1:table_at])
        + (table if with_table else "")
        + texts(paragraphs[table_at + 1 :])
        + "</doctag>"
    )


def _images_to_answers(indices: list[int], with_table: bool) -> dict[str, str]:
    return {hashlib.md5(render_invoice(make_invoice(i)).tobytes()).hexdigest(): _doctags(i, with_table)
            for i in indices}  # fmt: skip


def _can_by_model(monkeypatch, answers_by_model: dict[str, dict[str, str]]) -> None:
    """Each copy of the tiny converter answers from its own table, keyed by the page's pixels."""
    real_stream = DoclingEngine.stream

    def stream(self, request, stop=None, prefix_cache=None):
        real = real_stream(self, request, stop, prefix_cache=prefix_cache)
        answers = answers_by_model.get(self.card.model_id)
        if answers is None:
            return real
        image = request.messages[-1].images[0]
        return CannedText(real, answers[hashlib.md5(image.tobytes()).hexdigest()], request)

    monkeypatch.setattr(DoclingEngine, "stream", stream)


def _run(tmp_path, entries, documents, *extra):
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump({"models": entries}), encoding="utf-8")
    code = main(["run", "--documents", str(documents), "--models-file", str(models), "--output-dir",
                 str(tmp_path / "out"), "--references", str(documents / "references"), "--device", "cpu",
                 *extra])  # fmt: skip
    assert code == 0
    (run_dir,) = (tmp_path / "out").iterdir()
    return run_dir, json.loads((run_dir / "report.json").read_text(encoding="utf-8"))


def test_two_converters_compared_on_the_invoices_tables(tmp_path, tiny_docling, monkeypatch):
    documents = tmp_path / "docs"
    write_dataset(tmp_path / "all", 3)
    (documents / "references").mkdir(parents=True)
    for stem in ("invoice_01", "invoice_03"):  # the PNG invoices: their pixels key the canned answers
        shutil.copy(tmp_path / "all" / f"{stem}.png", documents)
        shutil.copy(tmp_path / "all" / "references" / f"{stem}.md", documents / "references")
    tables_kept = shutil.copytree(tiny_docling, tmp_path / "good-docling")
    tables_lost = shutil.copytree(tiny_docling, tmp_path / "tableless-docling")
    _can_by_model(monkeypatch, {str(tables_kept): _images_to_answers([1, 3], True),
                                str(tables_lost): _images_to_answers([1, 3], False)})  # fmt: skip
    run_dir, report = _run(tmp_path, [
        {"name": "keeps-tables", "model_id": str(tables_kept), "task": "convert", "quantization": "none",
         "generation": {"max_new_tokens": 8}},
        {"name": "loses-tables", "model_id": str(tables_lost), "task": "convert", "quantization": "none",
         "generation": {"max_new_tokens": 8}},
    ], documents)  # fmt: skip
    rows = {row["name"]: row for row in report["models"]}
    assert rows["keeps-tables"]["table_accuracy"] == 1.0 and rows["loses-tables"]["table_accuracy"] == 0.0
    assert rows["keeps-tables"]["text_similarity"] > 0.95 > rows["loses-tables"]["text_similarity"]
    assert rows["keeps-tables"]["accuracy"] == rows["keeps-tables"]["text_similarity"]
    record = json.loads((run_dir / "keeps-tables" / "invoice_01.json").read_text(encoding="utf-8"))
    assert record["prompt"] == "Convert this page to docling." and record["raw_response"].startswith("<doctag>")
    assert len(markdown_tables(record["parsed"])) == 1
    text = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "## Documents to Markdown" in text and "| keeps-tables | 1.000 | 1.000 |" in text


def test_the_tiny_converter_runs_every_page_of_the_dataset_unscripted(tmp_path, tiny_docling):
    documents = tmp_path / "docs"
    write_dataset(documents, 2)  # invoice_01.png, invoice_02.pdf (2 pages)
    run_dir, report = _run(tmp_path, [{"name": "tiny", "model_id": str(tiny_docling), "task": "convert",
                                       "quantization": "none", "generation": {"max_new_tokens": 12}}], documents,
                           "--max-pages", "5")  # fmt: skip
    (row,) = report["models"]
    assert row["results"] == 3 and row["failures"] == 0
    assert 0.0 <= row["text_similarity"] < 0.5  # noise against a real invoice
    assert row["table_accuracy"] == 0.0  # every reference has a table; noise has none that matches
    records = sorted((run_dir / "tiny").glob("*.json"))
    assert [path.name for path in records] == ["invoice_01.json", "invoice_02_p1.json", "invoice_02_p2.json"]


def test_a_document_is_scored_on_all_its_pages_joined(tmp_path):
    run_dir, references = tmp_path / "run", tmp_path / "refs"
    (run_dir / "conv").mkdir(parents=True)
    references.mkdir()
    (references / "contract.md").write_text("## Page one\n\nFirst.\n\n## Page two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    pages = {0: "## Page one\n\nFirst.\n", 1: "## Page two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"}
    for index, markdown in pages.items():
        record = {"document": "contract.pdf", "page_index": index, "task": "convert", "parsed": markdown,
                  "error": None, "elapsed_seconds": 1.0, "weights": "float32"}  # fmt: skip
        (run_dir / "conv" / f"contract_p{index + 1}.json").write_text(json.dumps(record))
    (model,) = parse_models({"models": [{"name": "conv", "model_id": "x-docling", "task": "convert"}]})
    row = build_report(run_dir, [model], references)["models"][0]
    assert row["text_similarity"] == 1.0 and row["table_accuracy"] == 1.0
    assert model.generation.max_new_tokens == 4096  # a page of DocTags needs room


def test_convert_is_a_known_task_and_others_are_not():
    with pytest.raises(ConfigError, match="must be one of ocr, extract, vqa, convert"):
        parse_models({"models": [{"name": "x", "model_id": "m", "task": "markdown"}]})


def test_pages_the_repetition_guard_stopped_are_counted_per_model(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "reader").mkdir(parents=True)
    for index, looped in enumerate([True, False, True]):
        record = {"document": f"doc{index}.png", "page_index": 0, "task": "ocr", "parsed": "text", "error": None,
                  "elapsed_seconds": 1.0, "weights": "float32", "looped": looped}  # fmt: skip
        (run_dir / "reader" / f"doc{index}.json").write_text(json.dumps(record))
    (model,) = parse_models({"models": [{"name": "reader", "model_id": "x", "task": "ocr"}]})
    report = build_report(run_dir, [model], None)
    assert report["models"][0]["loops"] == 2
    assert "| loops |" in report_markdown(report) and "| 0 | 2 |" in report_markdown(report)
