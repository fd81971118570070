"""A decoding step's time with one thread and with every core, alone and beside a second OpenMP team.

GNU OpenMP (torch's, on Linux) gives each thread that runs a parallel operation a team of workers that
lives as long as that thread. While the process holds more OpenMP threads than cores, its workers stop
spinning between operations, so each of a step's ~1,200 small parallel products and ops waits for a
woken thread. This loads a SmolVLM2 shape (random weights, int8, as the app does) and times steps on a
fresh thread, first alone, then with another thread's team alive (what the serving core's long-lived
loader thread used to leave behind). One JSON line per case, milliseconds per step (median).

    python bench/decode_threads.py --size 256m
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _steps_ms(model, counts: tuple[int, ...], prompt: int, steps: int) -> dict[int, float]:
    import torch
    from transformers.cache_utils import DynamicCache

    text_model = model.model.text_model
    result: dict[int, float] = {}
    with torch.inference_mode():
        cache = DynamicCache(config=text_model.config)
        token = model(input_ids=torch.randint(0, 1000, (1, prompt)), past_key_values=cache).logits[:, -1:].argmax(-1)
        for count in counts:
            torch.set_num_threads(count)
            times = []
            for index in range(steps + 3):  # three untimed: TorchScript optimises a function's first calls
                started = time.perf_counter()
                hidden = text_model(input_ids=token, past_key_values=cache, use_cache=True).last_hidden_state
                token = model.lm_head(hidden[:, -1:]).argmax(-1)
                if index >= 3:
                    times.append(time.perf_counter() - started)
            result[count] = round(statistics.median(times) * 1000, 2)
    return result


def _on_a_fresh_thread(work):
    out: list = []
    worker = threading.Thread(target=lambda: out.append(work()))
    worker.start()
    worker.join()
    return out[0]


def main() -> None:
    from core.bench import SIZES, build_model
    from core.engines.device import physical_cores
    from core.serving import ServingCore
    from core.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="256m")
    parser.add_argument("--prompt", type=int, default=400, help="positions in the cache (a picture and a question)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".cache" / "vlm-studio" / "bench")
    args = parser.parse_args()
    model_dir = str(build_model(args.size, args.models_dir))
    with tempfile.TemporaryDirectory(prefix="vlm-bench-") as hf_home:
        serving = ServingCore(Settings(allow_download=False, hf_home=Path(hf_home), device="cpu", model_quant="int8"))
        try:
            serving.client(model_dir, "bench").load()
            model = serving.pool.engine(model_dir)._model  # type: ignore[attr-defined]
            counts = tuple(sorted({1, physical_cores()}))

            def timed() -> dict[int, float]:
                return _steps_ms(model, counts, args.prompt, args.steps)

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
        finally:
            serving.close()
    for case, figures in (("alone", alone), ("beside another OpenMP team", beside)):
        per_count = {f"{count}_threads_ms": value for count, value in figures.items()}
        print(json.dumps({"model": f"SmolVLM2-{args.size}", "case": case, **per_count}), flush=True)


if __name__ == "__main__":
    main()
