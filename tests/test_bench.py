"""``python -m core.bench --quick`` as a smoke run: it completes and reports every figure it promises.

Nothing here asserts a speed (timings belong to the benchmark's own output, not to a test).
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_quick_benchmark_runs_end_to_end(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "core.bench", "--quick", "--json", str(out), "--models-dir", str(tmp_path / "models")],
        cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["machine"]["memory_bandwidth_gbs"] > 0
    (result,) = report["results"]
    assert result["model"] == "SmolVLM2-256m"
    rows = {row["config"]: row for row in result["rows"]}
    assert set(rows) == {"app", "baseline"}
    app, baseline = rows["app"], rows["baseline"]
    for row in (app, baseline):
        assert row["load_s"] > 0 and row["peak_rss_gb"] > 0.5  # the real 256M shape, not a toy
        for task in ("describe", "follow_up", "ocr"):
            assert row[task]["first_token_s"] > 0 and row[task]["new_tokens"] > 0
        assert row["decode_share_of_bound"] > 0 and row["decode_bound_tokens_per_s"] > 0
        assert row["vision_gflop_per_tile"] > 100  # SigLIP base on a 512 px tile
    assert app["follow_up"]["reused_tokens"] > 0 and baseline["follow_up"]["reused_tokens"] == 0
    assert baseline["describe"]["tiles"] > app["describe"]["tiles"]  # 17 default tiles against the chat budget
    assert set(result["app_vs_baseline"]) == {"describe_speedup", "follow_up_speedup", "ocr_speedup"}
    assert "describe_le_3s" in result["targets"]
    assert "follow-up s" in done.stdout and "SmolVLM2-256m | baseline |" in done.stdout  # the printed table
