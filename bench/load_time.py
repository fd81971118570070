"""How long an int8 load takes, the first time (quantize, keep on disk) and the next (read the kept weights).

Each load runs in a fresh process through the serving core's pool, on random weights of a SmolVLM2
shape, with an empty ``HF_HOME`` for the first; it prints one JSON line per load: seconds, resident memory
after the load (anonymous and file pages) and the int8 weights' size. torch and transformers are imported
before the clock starts, as a running server has them (``imports_s`` says what that took).

    python bench/load_time.py --size 2.2b
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _resident() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            fields[name] = round(int(value.split()[0]) / 2**20, 2)
    return fields


def child(model_dir: str, hf_home: str) -> None:
    started = time.perf_counter()
    # A running server imported the libraries when it started; a load only pays for them once per process.
    import torch  # noqa: F401
    from transformers import AutoModelForImageTextToText, AutoProcessor  # noqa: F401

    from core.serving import ServingCore
    from core.settings import Settings

    imports = time.perf_counter() - started
    serving = ServingCore(Settings(allow_download=False, hf_home=Path(hf_home), device="cpu", model_quant="int8"))
    started = time.perf_counter()
    serving.client(model_dir, "bench").load()  # the pool loads it, as for the pages
    seconds = time.perf_counter() - started
    engine = serving.pool.engine(model_dir)
    resident = _resident()
    print(json.dumps({"load_s": round(seconds, 2), "imports_s": round(imports, 2), "resident_gb": resident.get("VmRSS"),
                      "anonymous_gb": resident.get("RssAnon"), "file_pages_gb": resident.get("RssFile"),
                      "int8_weights_gb": round((engine.estimated_bytes() or 0) / 2**30, 2)}))  # fmt: skip


def main() -> None:
    from core.bench import SIZES, build_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="2.2b")
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".cache" / "vlm-studio" / "bench")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    model_dir = build_model(args.size, args.models_dir)
    with tempfile.TemporaryDirectory(prefix="vlm-load-") as hf_home:
        for load in ("first (quantize and keep)", "next (from the disk)"):
            done = subprocess.run([sys.executable, __file__, "--child", str(model_dir), hf_home], cwd=ROOT,
                                  capture_output=True, text=True, check=True)  # fmt: skip
            row = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps({"model": f"SmolVLM2-{args.size}", "load": load, **row}), flush=True)


if __name__ == "__main__":
    main()
