"""The Lab CLI on a remote OpenAI-compatible server: pages sent concurrently, results as in a sequential run."""

from __future__ import annotations

import json

import yaml

from core.lab.__main__ import main
from core.lab.synthetic import write_dataset
from tests.engines.test_remote import local_engines, served, server  # noqa: F401 - fixtures


def _results(run_dir):
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(run_dir.glob("*/*.json"))}


def test_concurrent_pages_give_the_same_results_as_one_at_a_time(server, tiny_models, tmp_path, monkeypatch):  # noqa: F811
    documents = tmp_path / "docs"
    write_dataset(documents, 6)
    name = str(tiny_models["smolvlm"])
    models = tmp_path / "models.yaml"
    entry = {"name": "served-smol", "model_id": name, "task": "extract", "generation": {"max_new_tokens": 24}}
    models.write_text(yaml.safe_dump({"models": [entry]}), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for variable, value in {"ENGINE": "openai", "OPENAI_BASE_URL": server.url, "OPENAI_MODEL": name,
                            "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}.items():  # fmt: skip
        monkeypatch.setenv(variable, value)
    server.script.seconds_per_event = 0.05  # with the model's own time, pages sent together overlap on the server

    def lab(concurrency: int, out: str):
        code = main(["run", "--documents", str(documents), "--models-file", str(models), "--output-dir",
                     str(tmp_path / out), "--concurrency", str(concurrency), "--device", "cpu"])  # fmt: skip
        assert code in (0, 1)  # 1: a random model's answers fail some fields, which is not a run failure
        (run_dir,) = (tmp_path / out).iterdir()
        return run_dir

    sequential = lab(1, "one")
    assert server.log.most_in_flight == 1
    server.log.most_in_flight = 0
    concurrent = lab(4, "four")
    assert server.log.most_in_flight >= 2  # the server really had several pages at once
    first, second = _results(sequential), _results(concurrent)
    assert len(first) == 6  # one page of each document
    assert first.keys() == second.keys()
    for key in first:
        assert first[key]["error"] is None
        assert first[key]["raw_response"] == second[key]["raw_response"], key
        assert first[key]["parsed"] == second[key]["parsed"]
    report_one = json.loads((sequential / "report.json").read_text(encoding="utf-8"))["models"][0]
    report_four = json.loads((concurrent / "report.json").read_text(encoding="utf-8"))["models"][0]
    assert report_one["results"] == report_four["results"] and report_one.get("f1") == report_four.get("f1")
