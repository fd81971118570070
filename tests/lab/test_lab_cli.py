"""The Lab end to end on tiny models: config validation, dry run, a real run, resume, a corrupt document."""

from __future__ import annotations

import json
import threading

import pypdfium2 as pdfium
import pytest
import yaml

from core.extraction.checks import inn_valid
from core.extraction.templates import load_template
from core.lab.__main__ import main
from core.lab.config import ConfigError, parse_models
from core.lab.runner import discover, run
from core.lab.synthetic import write_dataset
from core.serving import Priority, ServingCore
from core.settings import Settings


def _clients(serving: ServingCore):
    return lambda model_id, quant: serving.client(model_id, "lab-test", Priority.BATCH, quantization=quant)


@pytest.fixture
def dataset(tmp_path):
    documents = tmp_path / "docs"
    write_dataset(documents, 3)  # invoice_01.png, invoice_02.pdf (2 pages), invoice_03.png
    return documents


@pytest.fixture
def models_file(tmp_path, tiny_models):
    path = tmp_path / "models.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "models": [
                    {
                        "name": "smol-extract",
                        "model_id": str(tiny_models["smolvlm"]),
                        "task": "extract",
                        "generation": {"max_new_tokens": 16},
                        "status": "chosen",
                        "quantization": "none",
                    },
                    {
                        "name": "qwen-ocr",
                        "model_id": str(tiny_models["qwen2_5_vl"]),
                        "task": "ocr",
                        "quantization": "int8",
                        "generation": {"max_new_tokens": 16},
                    },
                ]
            }
        ),  # fmt: skip
        encoding="utf-8",
    )
    return path


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("MODEL_ID", "MODEL_PATH", "MODEL_DEVICE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("data", "entry", "field"),
    [
        ({}, "-", "models"),  # no models list
        ({"models": []}, "-", "models"),
        ({"models": [{"model_id": "a/b", "task": "ocr"}]}, "0", "name"),
        ({"models": [{"name": "x", "task": "ocr"}]}, "0:x", "model_id"),
        ({"models": [{"name": "x", "model_id": "a/b", "task": "detect"}]}, "0:x", "task"),
        ({"models": [{"name": "x", "model_id": "a/b", "task": "vqa"}]}, "0:x", "questions"),
        ({"models": [{"name": "x", "model_id": "a/b", "task": "ocr", "status": "maybe"}]}, "0:x", "status"),
        ({"models": [{"name": "x", "model_id": "a/b", "task": "ocr", "generation": {"beams": 4}}]}, "0:x",
         "generation"),
        ({"models": [{"name": "x", "model_id": "a/b", "task": "ocr", "generation": {"max_new_tokens": 0}}]}, "0:x",
         "generation"),
        ({"models": [{"name": "x", "model_id": "a/b", "task": "ocr"}, {"name": "x", "model_id": "c/d", "task": "ocr"}]},
         "1:x", "name"),  # the same name twice
        ({"models": [{"name": "a b", "model_id": "a/b", "task": "ocr"}]}, "0:a b", "name"),  # not a safe folder name
    ],
)  # fmt: skip
def test_config_errors_name_the_entry_and_the_field(data, entry, field):
    with pytest.raises(ConfigError) as caught:
        parse_models(data)
    assert (caught.value.entry, caught.value.field_name) == (entry, field)
    assert f"models[{entry}].{field}" in str(caught.value)


def test_invalid_config_exits_2(tmp_path, dataset, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  - name: x\n    task: ocr\n", encoding="utf-8")
    assert main(["run", "--documents", str(dataset), "--models-file", str(bad)]) == 2
    assert "models[0:x].model_id" in capsys.readouterr().err


def test_synthetic_invoices(dataset):
    assert sorted(p.name for p in dataset.iterdir() if p.is_file()) == [
        "invoice_01.png",
        "invoice_02.pdf",
        "invoice_03.png",
    ]
    assert len(pdfium.PdfDocument(str(dataset / "invoice_02.pdf"))) == 2
    cyrillic = json.loads((dataset / "references" / "invoice_02.json").read_text(encoding="utf-8"))
    russian = load_template("invoice-ru")  # a Russian invoice's references hold every field of its template
    assert set(cyrillic) == {item.name for item in russian.fields}
    assert [set(row) for row in cyrillic["lines"]] == [{column.name for column in russian.rows_field.columns}] * 3
    assert inn_valid(cyrillic["seller_inn"]) and inn_valid(cyrillic["buyer_inn"])
    assert any("\u0400" <= char <= "\u04ff" for char in cyrillic["seller"])
    assert "Итого" in (dataset / "references" / "invoice_02.txt").read_text(encoding="utf-8")


def test_dry_run_loads_nothing_and_writes_nothing(tmp_path, dataset, models_file, capsys):
    code = main(["run", "--documents", str(dataset), "--models-file", str(models_file), "--output-dir",
                 str(tmp_path / "results"), "--max-pages", "2", "--dry-run"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "2 models x 4 pages from 3 documents" in out
    assert "invoice_02_p2" in out
    assert not (tmp_path / "results").exists()


def test_dry_run_reports_an_unreadable_document(tmp_path, dataset, models_file, capsys):
    (dataset / "broken.png").write_bytes(b"not an image")
    code = main(["run", "--documents", str(dataset), "--models-file", str(models_file), "--dry-run"])
    assert code == 1
    assert "broken: cannot be read (media.unsupported_format)" in capsys.readouterr().out


def test_real_run_with_a_corrupt_document(tmp_path, dataset, models_file):
    (dataset / "broken.pdf").write_bytes(b"%PDF-1.7 this is not a document")
    results = tmp_path / "results"
    code = main(["run", "--documents", str(dataset), "--models-file", str(models_file), "--output-dir", str(results),
                 "--references", str(dataset / "references"), "--max-pages", "2"])  # fmt: skip
    assert code == 1  # the broken document failed, so the run says so
    (run_dir,) = results.iterdir()
    for model in ("smol-extract", "qwen-ocr"):
        names = sorted(p.name for p in (run_dir / model).iterdir())
        assert names == [
            "broken.json",
            "invoice_01.json",
            "invoice_02_p1.json",
            "invoice_02_p2.json",
            "invoice_03.json",
        ]
        broken = json.loads((run_dir / model / "broken.json").read_text(encoding="utf-8"))
        assert broken["error"] and "pdf.corrupt" in broken["error"]
        good = json.loads((run_dir / model / "invoice_02_p2.json").read_text(encoding="utf-8"))
        assert good["error"] is None and good["page_index"] == 1 and good["new_tokens"] >= 1
        assert set(good) >= {
            "document", "page_index", "model", "prompt", "raw_response", "parsed", "elapsed_seconds",
            "generation_kwargs", "prompt_tokens", "new_tokens", "tokens_per_second", "error",
        }  # fmt: skip
    assert not list(run_dir.rglob("*.tmp"))  # atomic writes leave nothing behind
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    rows = {row["name"]: row for row in report["models"]}
    assert rows["smol-extract"]["failures"] == 1 and rows["smol-extract"]["status"] == "chosen"
    assert set(rows["smol-extract"]["per_field"]) == {"seller", "number", "date", "total"}
    assert rows["qwen-ocr"]["cer"] is not None and rows["qwen-ocr"]["latency_p95_s"] is not None
    assert "| qwen-ocr | int8 | ocr |" in (run_dir / "report.md").read_text(encoding="utf-8")
    assert "| smol-extract | float32 | extract | chosen |" in (run_dir / "report.md").read_text(encoding="utf-8")


def test_resume_after_an_interruption(tmp_path, dataset, models_file, tiny_models):
    from core.lab.config import load_models

    models = load_models(models_file)
    items = discover(dataset, max_pages=1)
    run_dir = tmp_path / "results" / "interrupted"
    stop = threading.Event()

    def interrupt_after_two(done, total, left, what):
        if done == 2:
            stop.set()

    serving = ServingCore(Settings(allow_download=False, hf_home=tmp_path / "hf", device="cpu"))
    try:
        first = run(models, items, run_dir, clients=_clients(serving), progress=interrupt_after_two, stop=stop)
    finally:
        serving.close()
    assert first.cancelled and first.done == 2
    code = main(["run", "--documents", str(dataset), "--models-file", str(models_file), "--resume", str(run_dir),
                 "--device", "cpu"])  # fmt: skip
    assert code == 0
    assert len(list(run_dir.glob("*/*.json"))) == 2 * 3  # every (model, document), none twice
    assert (run_dir / "report.md").is_file()


def test_resume_runs_failed_documents_again(tmp_path, dataset, models_file):
    from core.lab.config import load_models

    models = load_models(models_file)[:1]
    items = discover(dataset, max_pages=1)
    run_dir = tmp_path / "results" / "again"
    failed = run_dir / models[0].name / f"{items[0].stem}.json"
    failed.parent.mkdir(parents=True)
    failed.write_text(json.dumps({"error": "out of memory"}), encoding="utf-8")
    serving = ServingCore(Settings(allow_download=False, hf_home=tmp_path / "hf", device="cpu"))
    try:
        summary = run(models, items, run_dir, clients=_clients(serving))
    finally:
        serving.close()
    assert summary.done == 3 and summary.skipped == 0
    assert json.loads(failed.read_text(encoding="utf-8"))["error"] is None


def test_a_killed_cli_run_leaves_no_half_file_and_resume_completes_it(tmp_path, tiny_models):
    """A real ``python -m core.lab run`` process, killed with SIGKILL while it writes results."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    documents = tmp_path / "many"
    write_dataset(documents, 8)
    models_path = tmp_path / "one.yaml"
    models_path.write_text(yaml.safe_dump({"models": [{
        "name": "smol", "model_id": str(tiny_models["smolvlm"]), "task": "ocr", "quantization": "none",
        "generation": {"max_new_tokens": 200}}]}), encoding="utf-8")  # fmt: skip
    output = tmp_path / "out"
    command = [sys.executable, "-m", "core.lab", "run", "--documents", str(documents), "--models-file",
               str(models_path), "--output-dir", str(output), "--device", "cpu"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(output.glob("*/smol/*.json")):
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)  # no handler, no cleanup: the process just vanishes
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    (run_dir,) = output.iterdir()
    written = list(run_dir.glob("smol/*.json"))
    assert 1 <= len(written) < 8, "killed after the first result and before the last"
    for path in written:
        json.loads(path.read_text(encoding="utf-8"))  # every result file that exists is whole
    assert not (run_dir / "report.json").exists()
    resumed = subprocess.run([*command[:-4], "--resume", str(run_dir), "--device", "cpu"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    results = sorted(run_dir.glob("smol/*.json"))
    assert len(results) == 8 and not list(run_dir.glob("**/.*.tmp"))
    assert all(json.loads(path.read_text(encoding="utf-8"))["error"] is None for path in results)
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert report["models"][0]["results"] == 8 and report["models"][0]["failures"] == 0
