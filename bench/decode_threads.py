"""A decoding step's time with one thread and with every core, alone and beside a second OpenMP team.

GNU OpenMP (torch's, on Linux) gives each thread that runs a parallel operation a team of workers that
lives as long as that thread. While the process holds more OpenMP threads than cores, its workers stop
spinning between operations, so each of a step's ~1,200 small parallel products and ops waits for a
woken thread. This loads a SmolVLM2 shape (random weights, int8, as the app does) and times steps on a
fresh thread, first alone, then with another thread's team alive (what the serving core's long-lived
loader thread used to leave behind), the counts taking turns step by step as a load times them
(``core.engines.decode``). One JSON line per case, milliseconds per step (median).

    python bench/decode_threads.py --size 256m
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _steps_ms(model, counts: tuple[int, ...], prompt: int) -> dict[int, float]:
    """The median step per thread count, timed as a load times them (the counts take turns step by step)."""
    from core.engines.decode import _steps_seconds

    times = _steps_seconds(model, counts, prompt=prompt)
    return {count: round(statistics.median(seconds) * 1000, 2) for count, seconds in times.items()}


def _on_a_fresh_thread(work):
    out: list = []
    worker = threading.Thread(target=lambda: out.append(work()))
    worker.start()
    worker.join()
    return out[0]


def main() -> None:
    from core.bench import SIZES, build_model, scratch_serving
    from core.engines.device import physical_cores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="256m")
    parser.add_argument("--prompt", type=int, default=400, help="positions in the cache (a picture and a question)")
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".cache" / "vlm-studio" / "bench")
    args = parser.parse_args()
    model_dir = str(build_model(args.size, args.models_dir))
    with scratch_serving("int8") as serving:
        serving.client(model_dir, "bench").load()
        model = serving.pool.engine(model_dir)._model  # type: ignore[attr-defined]
        counts = tuple(sorted({1, physical_cores()}))

        def timed() -> dict[int, float]:
            return _steps_ms(model, counts, args.prompt)

        alone = _on_a_fresh_thread(timed)
        release = threading.Event()

        def other_team() -> None:
            import torch

            torch.set_num_threads(max(counts))
            torch.randn(512, 512) @ torch.randn(512, 512)  # one parallel product: its team now lives
            release.wait()

        holder = threading.Thread(target=other_team, daemon=True)
        holder.start()
        time.sleep(0.5)
        beside = _on_a_fresh_thread(timed)
        release.set()
        holder.join()
    for case, figures in (("alone", alone), ("beside another OpenMP team", beside)):
        per_count = {f"{count}_threads_ms": value for count, value in figures.items()}
        print(json.dumps({"model": f"SmolVLM2-{args.size}", "case": case, **per_count}), flush=True)


if __name__ == "__main__":
    main()
