"""``python -m core.extract`` with the tiny models: one JSON per document (a two-page PDF's pages joined), valid
under the template, checks and evidence in it (Tesseract's words, or the model's grounding when its family
grounds); a bad template is refused with its reason."""

from __future__ import annotations

import json
import subprocess
import sys

from core.lab.synthetic import make_invoice, render_invoice, write_dataset
from tests.conftest import ROOT


def _run(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "core.extract", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip


def _small_template(tmp_path):
    path = tmp_path / "small.json"
    path.write_text(json.dumps({"fields": [{"name": "number"}, {"name": "total", "type": "money"},
                                           {"name": "date", "type": "date"}]}), encoding="utf-8")  # fmt: skip
    return path


def test_one_json_per_document_valid_under_the_template(tmp_path, tiny_models):
    picture = tmp_path / "scan.png"
    render_invoice(make_invoice(2)).save(picture)
    [_, pdf] = write_dataset(tmp_path / "docs", 2)  # invoice_02.pdf: the invoice and a page of terms
    done = _run(["--template", str(_small_template(tmp_path)), "--model", str(tiny_models["smolvlm"]), "--output-dir",
                 str(tmp_path / "out"), str(picture), str(pdf)], tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["invoice_02.json", "scan.json"]
    record = json.loads((tmp_path / "out" / "scan.json").read_text(encoding="utf-8"))
    assert record["valid_json"] is True and record["error"] is None
    assert record["document"] == "scan.png" and record["pages"] == [1] and record["template"] == "custom"
    assert set(record["values"]) == {"number", "total", "date"}
    assert isinstance(record["checks"], list) and isinstance(record["evidence"], list)  # Tesseract is installed
    assert all(item["source"] == "words" and item["page"] == 1 for item in record["evidence"])
    document = json.loads((tmp_path / "out" / "invoice_02.json").read_text(encoding="utf-8"))
    assert document["pages"] == [1, 2] and [page["page"] for page in document["per_page"]] == [1, 2]
    assert document["valid_json"] is True


def test_a_grounding_family_locates_the_values_with_its_own_boxes(tmp_path, tiny_models):
    picture = tmp_path / "scan.png"
    render_invoice(make_invoice(2)).save(picture)
    done = _run(["--template", str(_small_template(tmp_path)), "--model", str(tiny_models["qwen2_5_vl"]),
                 "--output-dir", str(tmp_path / "out"), str(picture)], tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "out" / "scan.json").read_text(encoding="utf-8"))
    written = [value for value in record["values"].values() if isinstance(value, str) and value]
    assert [item["value"] for item in record["evidence"]] == written  # one grounding answer per value written
    assert all(item["source"] == "grounding" for item in record["evidence"])


def test_an_unknown_template_is_refused_with_the_known_ones(tmp_path):
    done = _run(["--template", "passport-xx", str(tmp_path / "none.png")], tmp_path)
    assert done.returncode == 2 and "invoice-ru" in done.stderr
