"""``python -m core.extract`` on a rendered invoice with the tiny model: one JSON per page, valid under the
template, checks and evidence in it; a bad template is refused with its reason."""

from __future__ import annotations

import json
import subprocess
import sys

from core.lab.synthetic import make_invoice, render_invoice
from tests.conftest import ROOT


def _run(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "core.extract", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip


def test_one_json_per_page_valid_under_the_template(tmp_path, tiny_models):
    page = tmp_path / "invoice_02.png"
    render_invoice(make_invoice(2)).save(page)
    schema_file = tmp_path / "small.json"
    schema_file.write_text(json.dumps({"fields": [{"name": "number"}, {"name": "total", "type": "money"},
                                                  {"name": "date", "type": "date"}]}), encoding="utf-8")  # fmt: skip
    done = _run(["--template", str(schema_file), "--model", str(tiny_models["smolvlm"]), "--output-dir",
                 str(tmp_path / "out"), str(page)], tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "out" / "invoice_02.json").read_text(encoding="utf-8"))
    assert record["valid_json"] is True and record["error"] is None
    assert record["document"] == "invoice_02.png" and record["page"] == 1 and record["template"] == "custom"
    assert set(record["values"]) == {"number", "total", "date"}
    assert isinstance(record["checks"], list) and isinstance(record["evidence"], list)  # Tesseract is installed


def test_an_unknown_template_is_refused_with_the_known_ones(tmp_path):
    done = _run(["--template", "passport-xx", str(tmp_path / "none.png")], tmp_path)
    assert done.returncode == 2 and "invoice-ru" in done.stderr
