"""Chat latency of SmolVLM2 per tile budget, on random weights of the real shapes.

Random weights of the real shapes cost what the real checkpoints cost, so this measures the speed a
user will see without downloading anything. It goes through the app's own serving core (the pool
loads the model; each request queues, then runs the processor, the tile plan and a threaded generate)
and prints one JSON line per tile budget: tiles encoded, prompt tokens, seconds to the first token,
decode tokens/s and the total.

    python bench/chat_latency.py --size 500m --budgets 1 4 16 --new-tokens 32
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.tiny_models import REAL_SMOLVLM_SHAPES, build_smolvlm  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="SmolVLM2 chat latency per tile budget (random weights).")
    parser.add_argument("--size", choices=sorted(REAL_SMOLVLM_SHAPES), default="500m")
    parser.add_argument("--budgets", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--image", type=int, nargs=2, default=[1600, 1200], metavar=("W", "H"))
    args = parser.parse_args()

    import torch
    from PIL import Image

    from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
    from core.serving import ServingCore
    from core.settings import Settings

    image = Image.new("RGB", tuple(args.image), "gray")
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        path = build_smolvlm(Path(scratch) / args.size, REAL_SMOLVLM_SHAPES[args.size])
        print(f"built random-weight SmolVLM2-{args.size} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        settings = Settings(
            model_id=str(path), allow_download=False, device="cpu", dtype="float32", hf_home=Path(scratch) / "hf"
        )  # its int8 weights go with the model
        serving = ServingCore(settings)
        client = serving.client(str(path), "bench")
        client.load()
        warmup = GenerationRequest((ChatMessage(Role.USER, "Hi", (image,)),), SamplingParams(max_new_tokens=2), 1)
        client.generate(warmup)
        for budget in args.budgets:
            request = GenerationRequest(
                (ChatMessage(Role.USER, "Describe this image briefly.", (image,)),),
                SamplingParams(max_new_tokens=args.new_tokens),
                budget,
            )
            outcome = client.generate(request)
            if outcome.error is not None:
                raise SystemExit(f"generation failed: {outcome.error}")
            stats = outcome.stats
            row = {
                "model": f"SmolVLM2-{args.size} (random weights)",
                "image": f"{args.image[0]}x{args.image[1]}",
                "max_tiles": budget,
                "tiles_encoded": stats.image_tiles,
                "prompt_tokens": stats.prompt_tokens,
                "first_token_s": round(stats.seconds_to_first_token or float("nan"), 2),
                "new_tokens": stats.new_tokens,
                "decode_tokens_per_s": round(stats.tokens_per_second or float("nan"), 1),
                "total_s": round(stats.seconds_total, 2),
                "torch_threads": torch.get_num_threads(),
            }
            print(json.dumps(row), flush=True)
        serving.close()


if __name__ == "__main__":
    main()
