"""What several people asking at once see, through the app's serving core, on random weights of a real shape.

It loads a SmolVLM2-shaped model through the pool (timed), then lets ``--sessions`` people ask one
question each at the same moment and prints one JSON line per person: the place in line they were
first given, how long they waited for their turn, their first token and their last. With
``--switch`` it also times two people taking turns with two models when only one fits.

    python bench/serving_load.py --size 500m --sessions 4 --new-tokens 16 --tiles 1
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.tiny_models import REAL_SMOLVLM_SHAPES, build_smolvlm  # noqa: E402


def _person(serving: Any, model: str, request: Any, index: int, barrier: threading.Barrier, rows: list) -> None:
    """One session asking at the same moment as the others: its place in line, wait and timings."""
    from core.serving import Phase

    barrier.wait()
    asked = time.perf_counter()
    job = serving.submit(model, request(), owner=f"person-{index}")
    first_place = None
    turn = None
    for _ in job.updates(0.05):
        status = job.status
        if first_place is None and status.phase is Phase.QUEUED:
            first_place = status.position
        if turn is None and status.phase in (Phase.PREFILL, Phase.DECODING):
            turn = time.perf_counter() - asked
    stats = job.outcome().stats
    rows.append({
        "person": index, "first_place_in_line": first_place or 1, "waited_for_turn_s": round(turn or 0.0, 2),
        "first_token_s": round((turn or 0.0) + (stats.seconds_to_first_token or 0.0), 2),
        "done_s": round(time.perf_counter() - asked, 2), "new_tokens": stats.new_tokens,
    })  # fmt: skip


def _turns_with_reload(settings: Any, path: Path, scratch: str, size: str, request: Any) -> None:
    """Two people taking turns with two models that do not fit together: each turn reloads."""
    from core.serving import ServingCore

    other = Path(scratch) / f"{size}-copy"
    shutil.copytree(path, other)
    turns = ServingCore(settings, max_loaded=1)
    turns.client(str(path), "ann").load()
    for owner, model in (("bob", other), ("ann", path), ("bob", other)):
        asked = time.perf_counter()
        outcome = turns.client(str(model), owner).generate(request())
        print(json.dumps({"event": "turn_with_reload", "person": owner, "seconds": round(
            time.perf_counter() - asked, 2), "error": str(outcome.error) if outcome.error else None}),
              flush=True)  # fmt: skip
    turns.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serving core under several simultaneous sessions.")
    parser.add_argument("--size", choices=sorted(REAL_SMOLVLM_SHAPES), default="500m")
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--tiles", type=int, default=1)
    parser.add_argument("--switch", action="store_true", help="also time turns between two models that do not fit")
    args = parser.parse_args()

    from PIL import Image

    from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
    from core.serving import ServingCore
    from core.settings import Settings

    image = Image.new("RGB", (1600, 1200), "gray")

    def request() -> GenerationRequest:
        return GenerationRequest(
            (ChatMessage(Role.USER, "Describe this image briefly.", (image,)),),
            SamplingParams(max_new_tokens=args.new_tokens),
            args.tiles,
        )

    with tempfile.TemporaryDirectory() as scratch:
        path = build_smolvlm(Path(scratch) / args.size, REAL_SMOLVLM_SHAPES[args.size])
        settings = Settings(allow_download=False, device="cpu", dtype="float32", hf_home=Path(scratch) / "hf")
        serving = ServingCore(settings)
        started = time.perf_counter()
        serving.client(str(path), "bench").load()
        print(json.dumps({"event": "load", "model": f"SmolVLM2-{args.size}", "seconds": round(
            time.perf_counter() - started, 2)}), flush=True)  # fmt: skip
        serving.client(str(path), "bench").generate(request())  # warm-up

        rows: list[dict] = []
        barrier = threading.Barrier(args.sessions)
        threads = [threading.Thread(target=_person, args=(serving, str(path), request, i, barrier, rows))
                   for i in range(args.sessions)]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for row in sorted(rows, key=lambda r: r["done_s"]):
            print(json.dumps({"event": "session", "sessions": args.sessions, "tiles": args.tiles, **row}), flush=True)
        serving.close()
        if args.switch:
            _turns_with_reload(settings, path, scratch, args.size, request)


if __name__ == "__main__":
    main()
