"""``python -m core.bench`` on the tiny shape: the benchmark's plumbing, end to end, in seconds.

It completes and reports every figure it promises; nothing here asserts a speed (timings belong to the
benchmark's own output). The real shapes take minutes: they are ``core.bench``'s own job, not a test's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.conftest import ROOT


def test_benchmark_runs_end_to_end_on_the_tiny_shape(tmp_path):
    out = tmp_path / "bench.json"
    scratch = tmp_path / "tmp"  # each configuration's process keeps its int8 weights here while it runs
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "core.bench", "--sizes", "tiny", "--configs", "app", "baseline", "--new-tokens", "4",
         "--json", str(out), "--models-dir", str(tmp_path / "models")],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False, env={**os.environ, "TMPDIR": str(scratch)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert not list(scratch.glob("vlm-bench-*"))  # and removes them when it ends
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["machine"]["memory_bandwidth_gbs"] > 0 and report["new_tokens"] == 4
    (result,) = report["results"]
    assert result["model"] == "SmolVLM2-tiny"
    rows = {row["config"]: row for row in result["rows"]}
    assert set(rows) == {"app", "baseline"}
    app, baseline = rows["app"], rows["baseline"]
    for row in (app, baseline):
        assert row["load_s"] > 0 and row["peak_rss_gb"] > 0
        for task in ("describe", "follow_up", "ocr"):
            assert row[task]["first_token_s"] > 0 and row[task]["new_tokens"] > 0
        assert row["decode_bound_tokens_per_s"] > 0 and row["decode_share_of_bound"] >= 0  # a tiny share: 2 layers
        assert row["vision_gflop_per_tile"] >= 0 and row["vision_encoder_s"] > 0  # counted, and timed
    assert app["follow_up"]["reused_tokens"] > 0 and baseline["follow_up"]["reused_tokens"] == 0
    assert baseline["describe"]["tiles"] > app["describe"]["tiles"]  # the default tiles against the chat budget
    assert set(result["app_vs_baseline"]) == {"describe_speedup", "follow_up_speedup", "ocr_speedup"}
    assert "follow_up_le_0.3s" in result["targets"] and "describe_le_3s" not in result["targets"]
    assert "follow-up s" in done.stdout and "SmolVLM2-tiny | baseline |" in done.stdout  # the printed table


def test_schema_overhead_measures_a_valid_answer_token_by_token():
    """The constrained-decoding figure's plumbing on a small vocabulary; it raises if the schema refused a token
    of the valid answer it replays."""
    from core.bench import schema_overhead

    figures = schema_overhead(2000, logits_width=4096)
    assert figures["vocab"] == 2000 and figures["tokens"] > 50
    assert figures["mean_ms_per_token"] > 0 and figures["build_ms"] <= figures["first_build_ms"]


def test_the_peer_comparison_gets_the_longest_edge_that_reproduces_the_apps_image_tokens(tiny_smolvlm):
    """What ``--peer`` hands the peer: the processor called the peer's way with that edge reads the same tiles."""
    from transformers import AutoProcessor

    from core.bench import DESCRIBE, _picture, describe_repeats

    ours = describe_repeats(str(tiny_smolvlm), new_tokens=3, repeats=2)
    assert len(ours["runs"]) == 2 and ours["decode_bytes_per_token"] > 0 and ours["load_s"] > 0
    processor = AutoProcessor.from_pretrained(tiny_smolvlm)
    conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": DESCRIBE}]}]
    prompt = processor.apply_chat_template(conversation, add_generation_prompt=True)
    inputs = processor(text=[prompt], images=[_picture()], size={"longest_edge": ours["longest_edge"]},
                       return_tensors="pt")  # fmt: skip
    image_token = processor.tokenizer.convert_tokens_to_ids("<image>")
    assert int((inputs["input_ids"] == image_token).sum()) == ours["image_tokens"] > 0
    assert int(inputs["input_ids"].shape[-1]) == ours["prompt_tokens"]


def test_engines_are_compared_only_on_the_same_picture():
    from core.bench import compare_sides

    ours = {"image_tokens": 320, "decode_tokens_per_s": 60.0, "first_token_s": 4.0, "decode_bytes_per_token": 10**8}
    theirs = {"image_tokens": 320, "decode_tokens_per_s": 50.0, "first_token_s": 2.0}
    assert compare_sides(ours, theirs, bandwidth_gbs=20.0) == {
        "decode_ratio": 1.2, "first_token_ratio": 0.5, "decode_share_of_bound": 0.3, "decode_ge_1.2x_peer": True,
    }  # fmt: skip
    assert "not the same picture" in compare_sides(ours, {**theirs, "image_tokens": 64}, 20.0)["error"]
    assert compare_sides(ours, {"error": "export failed"}, 20.0) == {}


def test_rounds_are_summed_up_by_their_median_ratios():
    from core.bench import median_ratios

    def compared(model: str, decode: float, first: float) -> dict:
        return {"model": model, "decode_ratio": decode, "first_token_ratio": first, "decode_share_of_bound": 0.3}

    results = [compared("256m", 1.3, 0.5), compared("256m", 0.9, 0.4), compared("256m", 1.25, 0.6),
               {"model": "256m", "error": "not the same picture"}, compared("500m", 1.1, 0.5),
               {"model": "2.2b", "error": "export failed"}]  # fmt: skip
    summaries = median_ratios(results)
    assert [summary["model"] for summary in summaries] == ["256m", "500m"]  # a model no round compared has none
    assert summaries[0]["rounds"] == 3 and summaries[0]["decode_ratios"] == [1.3, 0.9, 1.25]
    assert summaries[0]["decode_ratio"] == 1.25 and summaries[0]["first_token_ratio"] == 0.5
    assert summaries[0]["decode_ge_1.2x_peer"] and not summaries[1]["decode_ge_1.2x_peer"]


def test_the_browser_benchmarks_read_the_request_lines_the_server_writes(tmp_path):
    """bench/first_answer.py takes the server's own wait and first-token figures from its request log:
    written here by the app's logger, so a change of the line's format turns this red, not the benchmark."""
    import io
    import logging

    sys.path.insert(0, str(ROOT / "bench"))
    from app_server import answered_requests

    from core.logs import RequestRecord, configure_logging, log_request

    loggers = [logging.getLogger(name) for name in ("core", "ui", "vlm_studio.requests")]
    before = [(logger, list(logger.handlers), logger.level, logger.propagate) for logger in loggers]
    stream = io.StringIO()
    configure_logging(stream=stream)
    written = time.time()
    try:
        log_request(RequestRecord("s1", "prepare", "m", "int8", "done", 5, 350, 0, 1, 3.25, 3.3, 0.0))
        log_request(RequestRecord("s1", "chat", "m", "int8", "done", 0, 370, 349, 32, 0.11, 1.9, 2.5))
        log_request(RequestRecord("s2", "chat", "m", "int8", "failed", error="engine.out_of_memory"))
    finally:  # the loggers as they were: other tests read them through pytest's caplog
        for logger, handlers, level, propagate in before:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
    log = tmp_path / "server.log"
    log.write_text(stream.getvalue(), encoding="utf-8")
    chat = answered_requests(log)
    submitted = chat[0].pop("submitted_at")
    assert chat == [{"queued_s": 2.5, "engine_first_token_s": 0.11, "engine_total_s": 1.9}]
    # on this script's clock: the line was written just now, and the request began total_s before it
    assert written - 1.9 - 0.01 <= submitted <= time.time() - 1.9
    (prepare,) = answered_requests(log, task="prepare")
    assert {name: value for name, value in prepare.items() if name != "submitted_at"} == {
        "queued_s": 0.0,
        "engine_first_token_s": 3.25,
        "engine_total_s": 3.3,
    }
