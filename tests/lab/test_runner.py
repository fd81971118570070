"""A Lab run cancelled in the middle of an answer writes nothing for that page, and a resume runs it again."""

from __future__ import annotations

import json
import threading

import pytest

from core.engines.types import SamplingParams
from core.lab.config import LabModel
from core.lab.job import LabJob
from core.lab.runner import discover, run
from core.lab.synthetic import write_dataset
from core.serving import Priority, ServingCore
from core.settings import Settings


@pytest.fixture
def serving(tmp_path):
    core = ServingCore(Settings(allow_download=False, hf_home=tmp_path / "hf", device="cpu"))
    yield core
    core.close()


@pytest.fixture
def setup(tmp_path, tiny_smolvlm):
    write_dataset(tmp_path / "docs", 3)
    items = discover(tmp_path / "docs", max_pages=1)
    model = LabModel("smol", str(tiny_smolvlm), "ocr", generation=SamplingParams(max_new_tokens=400))
    return items, model


def _clients(core):
    return lambda model_id, quant: core.client(model_id, "lab:test", Priority.BATCH, quantization=quant)


def test_cancel_mid_answer_then_resume(serving, setup, tmp_path):
    items, model = setup
    run_dir = tmp_path / "run"
    stop = threading.Event()
    written: list[int] = []
    seen_running: list[int] = []

    def progress(done, total, left, what):
        written.append(done)

    def on_wait(model_id, status):
        # status None: the page's answer is being generated. Cancel the second page mid-answer.
        if status is None and len(written) == 1:
            seen_running.append(1)
            if len(seen_running) == 5:
                stop.set()

    first = run([model], items, run_dir, clients=_clients(serving), progress=progress, stop=stop, on_wait=on_wait)
    assert first.cancelled and first.done == 1 and first.failed == 0
    saved = sorted(p.name for p in (run_dir / "smol").iterdir())
    assert saved == [f"{items[0].stem}.json"]  # nothing for the page that was cut off, not even a failure

    resumed = run([model], items, run_dir, clients=_clients(serving))
    assert not resumed.cancelled and resumed.skipped == 1 and resumed.done == 2

    # The re-run page holds the whole answer: the same as an uninterrupted run of it gives.
    clean_dir = tmp_path / "clean"
    run([model], items[1:2], clean_dir, clients=_clients(serving))
    resumed_page = json.loads((run_dir / "smol" / f"{items[1].stem}.json").read_text(encoding="utf-8"))
    clean_page = json.loads((clean_dir / "smol" / f"{items[1].stem}.json").read_text(encoding="utf-8"))
    assert resumed_page["error"] is None
    assert resumed_page["raw_response"] == clean_page["raw_response"]
    assert resumed_page["new_tokens"] == clean_page["new_tokens"]


def test_cancelling_while_waiting_is_not_a_failure(serving, setup, tmp_path):
    items, model = setup
    stop = threading.Event()
    stop.set()  # cancelled before the first page got its turn
    summary = run([model], items, tmp_path / "run", clients=_clients(serving), stop=stop)
    assert summary.cancelled and summary.failed == 0 and summary.done == 0
    assert not (tmp_path / "run" / "smol").exists()


def test_a_lab_job_reports_when_it_waits_for_people(serving, setup, tmp_path, tiny_smolvlm):
    from tests.serving.conftest import Gate, ask

    items, model = setup
    serving.client(str(tiny_smolvlm), "person").load()
    gate = Gate(serving.pool.engine(str(tiny_smolvlm)))
    person = serving.submit(str(tiny_smolvlm), ask(), owner="person")
    assert gate.entered.wait(10)
    job = LabJob([model], items[:1], None, _clients(serving))
    job.start()
    waited = threading.Event()

    def watch():
        while not job.finished.is_set():
            if job.waiting is not None and job.waiting.position == 2:
                waited.set()
                return
            job.finished.wait(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    watcher.join(10)
    assert waited.is_set(), "the Lab page shows that it waits behind a person's request"
    assert job.waiting_for == str(tiny_smolvlm)
    gate.release()
    assert person.wait(20) and job.finished.wait(60)
    assert job.error is None and job.summary.done == 1
