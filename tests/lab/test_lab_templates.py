"""The Lab's extract task on a template: checked when models.yaml is read, decoded under the schema on the tiny
model (so every answer is valid JSON), scored on the references, valid-JSON % and checks % in the report."""

from __future__ import annotations

import hashlib
import json

import pytest

from core.extraction.templates import load_template
from core.families.smolvlm import SmolVLMEngine
from core.lab.config import ConfigError, parse_models
from core.lab.report import build_report
from core.lab.runner import discover, load_page, run
from core.lab.synthetic import make_invoice, printed_values, write_dataset
from core.serving import Priority, ServingCore
from core.settings import Settings
from tests.app.conftest import CannedText

ROWS = {"name": "lines", "type": "rows", "columns": [{"name": "name"}, {"name": "quantity", "type": "number"}]}
FIELDS = {
    "title": "Invoice fields",
    "fields": [{"name": "seller"}, {"name": "number"}, {"name": "date", "type": "date"},
               {"name": "total", "type": "money"}, ROWS],
}  # fmt: skip


def _entry(template: str, **extra) -> dict:
    return {"models": [{"name": "smol", "model_id": "x", "task": "extract", "template": template, **extra}]}


def test_a_template_is_checked_when_the_file_is_read(tmp_path):
    assert parse_models(_entry("invoice-ru"))[0].template == "invoice-ru"
    with pytest.raises(ConfigError, match="template_unknown"):
        parse_models(_entry("passport-xx"))
    with pytest.raises(ConfigError, match="extract entries only"):
        parse_models({"models": [{"name": "o", "model_id": "x", "task": "ocr", "template": "invoice-ru"}]})


def test_a_run_on_a_template_writes_valid_json_and_the_report_counts_it(tmp_path, tiny_smolvlm):
    write_dataset(tmp_path / "docs", 2)
    template = tmp_path / "fields.json"
    template.write_text(json.dumps(FIELDS), encoding="utf-8")
    [model] = parse_models({"models": [{"name": "smol", "model_id": str(tiny_smolvlm), "task": "extract",
                                        "template": str(template)}]})  # fmt: skip
    serving = ServingCore(Settings(allow_download=False, hf_home=tmp_path / "hf", device="cpu"))
    try:
        clients = lambda model_id, quant: serving.client(model_id, "lab:test", Priority.BATCH, quantization=quant)  # noqa: E731
        summary = run([model], discover(tmp_path / "docs", max_pages=1), tmp_path / "run", clients=clients)
    finally:
        serving.close()
    assert summary.failed == 0 and summary.done == 2
    records = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((tmp_path / "run" / "smol").iterdir())]
    assert all(record["valid_json"] is True for record in records)
    assert all(set(record["parsed"]) == {"seller", "number", "date", "total", "lines"} for record in records)
    report = build_report(tmp_path / "run", [model], tmp_path / "docs" / "references")
    [row] = report["models"]
    assert row["valid_json_pct"] == 100.0 and "f1" in row and row["failures"] == 0
    assert 0.0 <= row["line_items"] <= 1.0  # scored against the synthetic references' line items
    assert set(row["per_field"]) == {"seller", "number", "date", "total"}


def _key(image) -> str:
    return hashlib.md5(image.tobytes()).hexdigest() + f"{image.size}"


def _printed_answer(invoice, template) -> str:
    """What a perfect reader writes under ``template``: every value as the invoice prints it (dd.mm.yyyy dates,
    amounts without their currency), null where the template asks for something the page lacks."""
    printed = printed_values(invoice)
    rows: dict[int, dict[str, str]] = {}
    for path, value in printed.items():
        if path.startswith("lines."):
            _, index, column = path.split(".")
            rows.setdefault(int(index), {})[column] = value
    answer: dict = {item.name: printed.get(item.name) for item in template.fields if item.type != "rows"}
    answer["lines"] = [{column.name: rows[index].get(column.name) for column in template.rows_field.columns}
                       for index in sorted(rows)]  # fmt: skip
    return json.dumps(answer, ensure_ascii=False)


@pytest.mark.parametrize(("language", "template_id"), [("ru", "invoice-ru"), ("en", "invoice-en")])
def test_the_synthetic_invoices_score_every_field_of_their_template(tmp_path, tiny_smolvlm, monkeypatch, language,
                                                                    template_id):  # fmt: skip
    documents = tmp_path / "docs"
    write_dataset(documents, 2, language)  # a PNG and a two-page PDF
    template = load_template(template_id)
    items = discover(documents, max_pages=1)
    answers = {
        _key(load_page(item)): _printed_answer(make_invoice(int(item.document.stem.split("_")[1]), language), template)
        for item in items
    }  # fmt: skip
    real_stream = SmolVLMEngine.stream

    def stream(self, request, stop=None, prefix_cache=None):  # the real model decodes, the page's values come back
        real = real_stream(self, request, stop, prefix_cache=prefix_cache)
        return CannedText(real, answers[_key(request.messages[-1].images[0])], request)

    monkeypatch.setattr(SmolVLMEngine, "stream", stream)
    [model] = parse_models({"models": [{"name": "reader", "model_id": str(tiny_smolvlm), "task": "extract",
                                        "template": template_id, "quantization": "none"}]})  # fmt: skip
    serving = ServingCore(Settings(allow_download=False, hf_home=tmp_path / "hf", device="cpu"))
    try:
        clients = lambda model_id, quant: serving.client(model_id, "lab:test", Priority.BATCH, quantization=quant)  # noqa: E731
        summary = run([model], items, tmp_path / "run", clients=clients)
    finally:
        serving.close()
    assert summary.failed == 0 and summary.done == 2
    [row] = build_report(tmp_path / "run", [model], documents / "references")["models"]
    scalars = {item.name for item in template.fields if item.type != "rows"}
    assert row["per_field"] == dict.fromkeys(sorted(scalars), 1.0)  # every field of the template, every one right
    assert row["f1"] == 1.0 and row["line_items"] == 1.0  # dates and amounts compared as typed values
    assert row["valid_json_pct"] == 100.0 and row["checks_passed_pct"] == 100.0
