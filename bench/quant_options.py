"""Which int8 scheme to use on a CPU: speed and a quality proxy of each, on random weights of a real shape.

For each option the model is loaded through the serving core, quantized in place, and asked one
describe question (1600x1200 image, ``--tiles``): time to the first token and decode tokens/s. The
quality proxy is the cosine similarity of the last position's logits to the float32 model's on the
same inputs. Options that are not installed are reported as such.

    python bench/quant_options.py --size 256m --tiles 4 --new-tokens 32

Needs ``torchao`` and ``optimum-quanto`` for their rows (``pip install torchao optimum-quanto``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.tiny_models import REAL_SMOLVLM_SHAPES, build_smolvlm  # noqa: E402


def _none(model: Any) -> None:
    return None


def _torch_dynamic(model: Any) -> None:
    import torch

    torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


def _torchao(config_name: str) -> Callable[[Any], None]:
    def apply(model: Any) -> None:
        import torchao.quantization as ao

        ao.quantize_(model, getattr(ao, config_name)())

    return apply


def _quanto(activations: bool) -> Callable[[Any], None]:
    def apply(model: Any) -> None:
        from optimum.quanto import freeze, qint8, quantize

        quantize(model, weights=qint8, activations=qint8 if activations else None)
        freeze(model)

    return apply


OPTIONS: dict[str, Callable[[Any], None]] = {
    "float32": _none,
    "torch quantize_dynamic int8 (deprecated)": _torch_dynamic,
    "torchao int8 dynamic activation + int8 weight": _torchao("Int8DynamicActivationInt8WeightConfig"),
    "torchao int8 weight-only": _torchao("Int8WeightOnlyConfig"),
    "optimum-quanto int8 weight-only": _quanto(False),
    "optimum-quanto int8 weight + activation": _quanto(True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Compare int8 schemes on a CPU (random weights of a real shape).")
    parser.add_argument("--size", choices=sorted(REAL_SMOLVLM_SHAPES), default="256m")
    parser.add_argument("--tiles", type=int, default=4)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--only", nargs="*", help="substrings of the option names to run (float32 always runs)")
    args = parser.parse_args()

    import torch
    from PIL import Image

    from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
    from core.serving import ServingCore
    from core.settings import Settings

    image = Image.new("RGB", (1600, 1200), "gray")
    request = GenerationRequest(
        (ChatMessage(Role.USER, "Describe this image briefly.", (image,)),),
        SamplingParams(max_new_tokens=args.new_tokens),
        args.tiles,
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = str(build_smolvlm(Path(scratch) / args.size, REAL_SMOLVLM_SHAPES[args.size]))
        settings = Settings(allow_download=False, device="cpu", dtype="float32", hf_home=Path(scratch) / "hf")
        reference = None
        for name, apply in OPTIONS.items():
            if args.only and name != "float32" and not any(part in name for part in args.only):
                continue  # float32 always runs first: it is the reference of the cosine
            serving = ServingCore(settings)
            try:
                client = serving.client(path, "bench")
                client.load()
                engine: Any = serving.pool.engine(path)
                started = time.perf_counter()
                try:
                    apply(engine._model)
                except ImportError as missing:
                    print(json.dumps({"option": name, "error": f"not installed: {missing.name}"}), flush=True)
                    continue
                quantize_s = time.perf_counter() - started
                inputs = engine.build_inputs(request).tensors
                with torch.inference_mode():
                    logits = engine._model(**inputs).logits[0, -1].float()
                if reference is None:
                    reference = logits
                cosine = float(torch.nn.functional.cosine_similarity(logits, reference, dim=0))
                client.generate(request)  # warm-up: first calls of a new kernel are slower
                outcome = client.generate(request)
                stats = outcome.stats
                print(json.dumps({
                    "option": name, "model": f"SmolVLM2-{args.size}", "tiles": stats.image_tiles,
                    "quantize_s": round(quantize_s, 2), "first_token_s": round(stats.seconds_to_first_token or 0, 2),
                    "decode_tokens_per_s": round(stats.tokens_per_second or 0, 1), "logits_cosine": round(cosine, 4),
                    "error": str(outcome.error) if outcome.error else None,
                }), flush=True)  # fmt: skip
            finally:
                serving.close()


if __name__ == "__main__":
    main()
