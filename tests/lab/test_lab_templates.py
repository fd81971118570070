"""The Lab's extract task on a template: checked when models.yaml is read, decoded under the schema on the tiny
model (so every answer is valid JSON), scored on the references, valid-JSON % and checks % in the report."""

from __future__ import annotations

import json

import pytest

from core.lab.config import ConfigError, parse_models
from core.lab.report import build_report
from core.lab.runner import discover, run
from core.lab.synthetic import write_dataset
from core.serving import Priority, ServingCore
from core.settings import Settings

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
