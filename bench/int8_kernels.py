"""One linear layer, four ways, on this CPU: which int8 kernel a decoding step (one row) or a prompt (many
rows) should use.

- ``fbgemm``: torch's dynamic int8 layer, what ``MODEL_QUANT=int8`` runs today (its weight packed at load);
- ``int8pack_bf16``: ``torch._weight_int8pack_mm``, int8 weights used as stored (no packing, so nothing to
  do at load), bf16 activations; ``int8pack_f32`` the same with float32 activations;
- ``bf16``: a plain bf16 layer (oneDNN; on the matrix units where the CPU has AMX).

Shapes are SmolVLM2-256M's (576 hidden, 1536 MLP) and 2.2B's (2048, 8192). Microseconds per call, median
of repeated calls; ``max_error`` is the int8pack bf16 result against float32.

    python bench/int8_kernels.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch

SHAPES = {"256m": [(576, 576), (576, 1536), (1536, 576)], "2.2b": [(2048, 2048), (2048, 8192), (8192, 2048)]}


def _median_us(call: Callable[[], object], repeats: int) -> float:
    for _ in range(3):
        call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def _layer_row(weight: torch.Tensor, rows: int) -> dict[str, float]:
    """One layer's times for ``rows`` input rows, the four ways."""
    outputs, inputs = weight.shape
    plain = torch.nn.Linear(inputs, outputs, bias=False)
    plain.weight.data = weight
    fbgemm = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(plain), {torch.nn.Linear}, dtype=torch.qint8)[0]
    scales = weight.abs().amax(dim=1) / 127
    int8 = torch.round(weight / scales[:, None]).to(torch.int8).contiguous()
    bf16 = torch.nn.Linear(inputs, outputs, bias=False).to(torch.bfloat16)
    bf16.weight.data = weight.to(torch.bfloat16)
    x = torch.randn(rows, inputs)
    x16, scales16 = x.to(torch.bfloat16), scales.to(torch.bfloat16)
    repeats = 200 if rows == 1 else 10
    with torch.inference_mode():
        exact = x @ weight.T
        int8pack = torch._weight_int8pack_mm(x16, int8, scales16).float()
        return {
            "fbgemm_us": _median_us(lambda: fbgemm(x), repeats),
            "int8pack_bf16_us": _median_us(lambda: torch._weight_int8pack_mm(x16, int8, scales16), repeats),
            # float32 activations take a slow path: a few calls are enough to see it
            "int8pack_f32_us": _median_us(lambda: torch._weight_int8pack_mm(x, int8, scales), 200 if rows == 1 else 2),
            "bf16_us": _median_us(lambda: bf16(x16), repeats),
            "max_error": (int8pack - exact).abs().max().item(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 400], help="1: a decoding step; 400: a prompt")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for size, shapes in SHAPES.items():
        for inputs, outputs in shapes:
            weight = torch.randn(outputs, inputs)
            for rows in args.rows:
                timed = _layer_row(weight, rows)
                print(json.dumps({"size": size, "in": inputs, "out": outputs, "rows": rows,
                                  **{key: round(value, 1) for key, value in timed.items()}}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
