"""How long the vision encoder takes on a picture's tiles with float32, int8 and bf16 weights, and how close
each output is to float32's. ``bf16_fused`` is what the app runs: bf16 with each layer's GELU and residual
sums inside oneDNN's products (``core.engines.vision_layers``); ``bf16`` the same layers unfused.

On random weights of a SmolVLM2 shape (the encoder alone, ``--tiles`` tiles of 512×512, the process's torch
threads, best of three after a warm-up); prints one JSON line per weight type. With int8 weights on a CPU
the app keeps the encoder in bf16 where the CPU has bf16 matrix units (``VISION_BF16``, README).

    python bench/vision_dtype.py --size 256m
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _float_model(model_dir: Path, hf_home: Path) -> Any:
    """The checkpoint loaded in float32 through the serving core's pool, as the pages load it."""
    from core.serving import ServingCore
    from core.settings import Settings

    settings = Settings(allow_download=False, device="cpu", dtype="float32", model_quant="none", hf_home=hf_home)
    serving = ServingCore(settings)
    serving.client(str(model_dir), "bench").load()
    return serving.pool.engine(str(model_dir))._model  # type: ignore[attr-defined]


def main() -> None:
    import tempfile

    import torch

    from core.bench import SIZES, build_model
    from core.engines.quantization import cpu_has_bf16_matrix_units, quantize_int8, vision_in_bf16

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=[size for size in SIZES if size != "tiny"], default="256m")
    parser.add_argument("--tiles", type=int, default=5, help="4 tiles + overview: the Chat page's CPU default")
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".cache" / "vlm-studio" / "bench")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # torch's deprecation notices of its quantized modules
    with tempfile.TemporaryDirectory(prefix="vlm-vision-") as hf_home:
        model = _float_model(build_model(args.size, args.models_dir), Path(hf_home))
    pixels = torch.randn(args.tiles, 3, 512, 512)

    def timed(prepare) -> tuple[float, torch.Tensor]:
        copied = copy.deepcopy(model).eval()
        prepare(copied)
        tower = copied.model.vision_model
        with torch.inference_mode():
            tower(pixel_values=pixels)
            seconds = []
            for _ in range(3):
                started = time.perf_counter()
                output = tower(pixel_values=pixels).last_hidden_state
                seconds.append(time.perf_counter() - started)
        return min(seconds), output.float()

    reference_s, reference = timed(lambda copied: None)
    rows = {"float32": (reference_s, reference), "int8": timed(quantize_int8),
            "bf16": timed(lambda copied: vision_in_bf16(copied, fuse=False) and quantize_int8(copied)),
            "bf16_fused": timed(lambda copied: vision_in_bf16(copied) and quantize_int8(copied))}  # fmt: skip
    for weights, (seconds, output) in rows.items():
        cosine = torch.nn.functional.cosine_similarity(output.flatten(), reference.flatten(), dim=0)
        print(json.dumps({"size": args.size, "tiles": args.tiles, "encoder_weights": weights,
                          "seconds": round(seconds, 2), "cosine_to_float32": round(float(cosine), 5),
                          "threads": torch.get_num_threads(), "bf16_matrix_units": cpu_has_bf16_matrix_units()}),
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
