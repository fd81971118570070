"""The Lab with Tesseract as the classical baseline: real text, real CER, on Russian and English invoices."""

from __future__ import annotations

import json

import pytest
import yaml

from core.lab.__main__ import main
from core.lab.config import ConfigError, parse_models
from core.lab.synthetic import invoice_lines, make_invoice, write_dataset

pytestmark = pytest.mark.usefixtures("offline_lab")


@pytest.mark.parametrize("language", ["ru", "en"])
def test_invoices_in_one_language(language):
    lines = invoice_lines(make_invoice(3, language))
    assert any(word in " ".join(lines) for word in (("Счёт", "Итого") if language == "ru" else ("Invoice", "Total")))


def test_a_tesseract_baseline_beside_a_model(tmp_path, tiny_models):
    documents = tmp_path / "docs"
    write_dataset(documents, 4)  # two English PNGs, two Russian two-page PDFs
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump({"models": [
        {"name": "tesseract-baseline", "engine": "tesseract", "task": "ocr", "languages": "rus+eng"},
        {"name": "smol", "model_id": str(tiny_models["smolvlm"]), "task": "ocr", "quantization": "none",
         "generation": {"max_new_tokens": 16}},
    ]}), encoding="utf-8")  # fmt: skip
    code = main(["run", "--documents", str(documents), "--models-file", str(models), "--output-dir",
                 str(tmp_path / "out"), "--references", str(documents / "references"), "--device", "cpu"])  # fmt: skip
    assert code == 0
    (run_dir,) = (tmp_path / "out").iterdir()
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    rows = {row["name"]: row for row in report["models"]}
    baseline = rows["tesseract-baseline"]
    assert baseline["results"] == 4 and baseline["failures"] == 0  # one page per document
    assert baseline["cer"] < 0.05 and baseline["latency_mean_s"] > 0
    assert rows["smol"]["cer"] > baseline["cer"]  # a random model is the worse reader
    records = [json.loads(path.read_text(encoding="utf-8")) for path in (run_dir / "tesseract-baseline").glob("*.json")]
    texts = " ".join(record["parsed"] for record in records)
    assert "Итого" in texts and "Total" in texts  # both languages read
    assert "| tesseract-baseline | tesseract | ocr |" in (run_dir / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"name": "t", "engine": "tesseract", "task": "extract"}, "task"),
        ({"name": "t", "engine": "tesseract", "task": "ocr", "languages": "rus; eng"}, "languages"),
        ({"name": "t", "engine": "paddle", "task": "ocr", "model_id": "x"}, "engine"),
    ],
)
def test_tesseract_entries_are_checked(entry, field):
    with pytest.raises(ConfigError) as caught:
        parse_models({"models": [entry]})
    assert caught.value.field_name == field
