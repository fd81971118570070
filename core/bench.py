"""``python -m core.bench``: what a user waits for on this machine, against the predecessor demos' way.

Random weights of SmolVLM2's real shapes cost what the real checkpoints cost, so the figures hold for
them without a download. Each model and configuration runs in its own child process (so peak memory
is its own), through the app's serving core, with a 1600x1200 picture:

- ``app``: what the dashboard does — ``MODEL_QUANT`` as configured (``auto``), the Chat page's tile
  budget on a CPU, follow-ups from the session's cached image prefix;
- ``int8`` or ``float32``: the same with the weights ``auto`` did not choose, for comparison;
- ``baseline``: the predecessor demos — the processor's default tiles (17), float32, every question
  recomputed from the pixels.

For each it reports load time and peak memory; the first token of a describe question, of a follow-up
and of an OCR request; prefill and decode speed; the vision encoder's share of the describe wait and
its arithmetic per tile; and decode against the bound set by memory bandwidth (the bytes of weights
read per token). It prints a table and writes JSON. ``--quick`` runs the 256M shape and the app and
baseline configurations only (about three minutes on two cores). ``--sizes qwen3.5-0.8b qwen3-vl-2b glm-ocr``
runs today's families at their published shapes the same way (what a page costs a CPU user).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

SIZES = ("256m", "500m", "2.2b")
# Today's families at their smallest published shapes (core.tiny_models.REAL_SHAPES): run when named.
NEW_SHAPES = ("qwen3.5-0.8b", "qwen3-vl-2b", "glm-ocr")
TEST_SIZE = "tiny"  # the test suite's shape: checks the plumbing in seconds, its figures mean nothing
IMAGE_SIZE = (1600, 1200)
DESCRIBE = "Describe this image briefly."
FOLLOW_UP = "What colours are there?"


@dataclass(frozen=True)
class Config:
    name: str
    quantization: str  # MODEL_QUANT for the child
    chat_tiles: int | None  # None: the processor's default (all tiles)
    reuse_prefix: bool
    ocr_tiles: int | None


def configs(device: str = "cpu") -> dict[str, Config]:
    from core.tasks.chat import default_chat_tiles
    from core.tasks.ocr import OCR_MAX_TILES

    tiles = default_chat_tiles(device)
    return {
        "app": Config("app", "auto", tiles, True, OCR_MAX_TILES),
        "int8": Config("int8", "int8", tiles, True, OCR_MAX_TILES),
        "float32": Config("float32", "none", tiles, True, OCR_MAX_TILES),
        "baseline": Config("baseline", "none", None, False, None),
    }


# -- the machine ------------------------------------------------------------------------------------


def memory_bandwidth_gbs(megabytes: int = 1024, repeats: int = 7) -> float:
    """Read bandwidth with torch's own threads (summing a buffer far larger than the caches), best of
    ``repeats``: decoding streams the weights through the CPU the same way."""
    import torch

    buffer = torch.ones(megabytes * 2**20 // 4)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        buffer.sum()
        best = min(best, time.perf_counter() - started)
    return buffer.numel() * 4 / best / 1e9


def machine() -> dict[str, Any]:
    import torch

    from core.engines.device import configure_cpu_threads, cpu_model, physical_cores
    from core.engines.quantization import cpu_has_int8_dot

    configure_cpu_threads()
    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "physical_cores": physical_cores(),
        "torch_threads": torch.get_num_threads(),
        "int8_dot_instructions": cpu_has_int8_dot(),
        "torch": torch.__version__,
        "memory_bandwidth_gbs": round(memory_bandwidth_gbs(), 1),
    }


# -- one child: one model in one configuration -----------------------------------------------------


def _rss_gb() -> float:
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 2**20
    return 0.0


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kilobytes on Linux


def _language_model(model: Any) -> Any:
    return getattr(model.model, "text_model", None) or model.model.language_model  # Idefics3 / Qwen and GLM


def decode_bytes_per_token(model: Any) -> int:
    """Weight bytes one decoding step reads: every linear layer of the language model and its head."""
    from core.engines.quantization import linear_weight

    weights = (linear_weight(module) for module in [*_language_model(model).modules(), model.lm_head])
    return sum(weight.numel() * weight.element_size() for weight in weights if weight is not None)


def vision_gflops_per_tile(model: Any, tile: int) -> float:
    """Multiply-adds of the vision encoder on one tile, counted from its shape (2 FLOPs each)."""
    from core.engines.quantization import linear_weight

    vision = model.model.vision_model
    config = vision.config
    patches = (tile // config.patch_size) ** 2
    weights = (linear_weight(module) for module in vision.modules())
    linear = sum(weight.numel() for weight in weights if weight is not None)  # in × out per layer
    attention = 2 * patches * patches * config.hidden_size * config.num_hidden_layers
    return 2 * (linear * patches + attention) / 1e9


def _timed(client: Any, request: Any) -> tuple[dict[str, Any], str]:
    outcome = client.generate(request)
    if outcome.error is not None:
        raise RuntimeError(f"generation failed: {outcome.error}")
    stats = outcome.stats
    first = stats.seconds_to_first_token or float("nan")
    return {
        "first_token_s": round(first, 3),
        "prompt_tokens": stats.prompt_tokens,
        "reused_tokens": stats.reused_prompt_tokens,
        "tiles": stats.image_tiles,
        "new_tokens": stats.new_tokens,
        "prefill_tokens_per_s": round((stats.prompt_tokens - stats.reused_prompt_tokens) / first, 1),
        "decode_tokens_per_s": round(stats.tokens_per_second or float("nan"), 2),
    }, outcome.text


def _vision_seconds(engine: Any, request: Any) -> float:
    """The vision encoder alone on the describe request's tiles."""
    import torch

    tensors = engine.build_inputs(request).tensors
    model = engine._model
    # SmolVLM's encoder takes a mask of real pixels; Qwen's and GLM's take the grid of each picture
    second = tensors["pixel_attention_mask"] if "pixel_attention_mask" in tensors else tensors["image_grid_thw"]
    with torch.inference_mode():
        started = time.perf_counter()
        model.model.get_image_features(tensors["pixel_values"], second)
        return time.perf_counter() - started


def _picture() -> Any:
    """The benchmark's 1600 x 1200 picture: a few shapes on grey (the pixels' content costs nothing)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", IMAGE_SIZE, "gray")
    drawing = ImageDraw.Draw(image)
    drawing.rectangle((200, 200, 700, 600), fill="navy")
    drawing.ellipse((900, 300, 1400, 900), fill="orange")
    return image


def _conversation(client: Any, config: Config, image: Any, new_tokens: int) -> tuple[dict[str, Any], ...]:
    """A describe question, its follow-up (history holding the model's own answer, as the Chat page keeps
    it) and an OCR request, each timed; the vision encoder's share is measured by the caller."""
    from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
    from core.tasks import ocr as ocr_task
    from core.tasks.ocr import OCR_MAX_TILES, OcrParams

    sampling = SamplingParams(max_new_tokens=new_tokens)
    opening = ChatMessage(Role.USER, DESCRIBE, (image,))
    describe, answer = _timed(client, GenerationRequest((opening,), sampling, config.chat_tiles,
                                                        reuse_prefix=config.reuse_prefix, task="bench"))  # fmt: skip
    history = (opening, ChatMessage(Role.ASSISTANT, answer), ChatMessage(Role.USER, FOLLOW_UP))
    follow_up, _ = _timed(client, GenerationRequest(history, sampling, config.chat_tiles,
                                                    reuse_prefix=config.reuse_prefix, task="bench"))  # fmt: skip
    read = ocr_task.build(client.family, image, OcrParams("auto", new_tokens, OCR_MAX_TILES))
    ocr, _ = _timed(client, replace(read, max_tiles=config.ocr_tiles))
    if config.ocr_tiles is None:
        ocr["note"] = "processor default tiles"
    return describe, follow_up, ocr


@contextmanager
def scratch_serving(quantization: str) -> Iterator[Any]:
    """A serving core on the CPU with its own ``HF_HOME`` (the int8 weights a load keeps), removed with it:
    each configuration's process measures its own first load and leaves nothing in the temporary folder."""
    from core.serving import ServingCore
    from core.settings import Settings

    scratch = tempfile.mkdtemp(prefix="vlm-bench-")
    serving = ServingCore(Settings(allow_download=False, device="cpu", dtype="float32", model_quant=quantization,
                                   hf_home=Path(scratch)))  # fmt: skip
    try:
        yield serving
    finally:
        serving.close()
        shutil.rmtree(scratch, ignore_errors=True)


def measure(model_dir: str, config: Config, new_tokens: int) -> dict[str, Any]:
    from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams

    with scratch_serving(config.quantization) as serving:
        client = serving.client(model_dir, "bench")
        image = _picture()
        started = time.perf_counter()
        client.load()
        load_s = time.perf_counter() - started
        loaded_gb = _rss_gb()
        engine: Any = serving.pool.engine(model_dir)
        client.generate(GenerationRequest((ChatMessage(Role.USER, "Hi", (image,)),), SamplingParams(2), 1))  # warm-up
        describe, follow_up, ocr = _conversation(client, config, image, new_tokens)
        opening = GenerationRequest((ChatMessage(Role.USER, DESCRIBE, (image,)),), SamplingParams(new_tokens),
                                    config.chat_tiles, task="bench")  # fmt: skip
        vision_s = _vision_seconds(engine, opening)
        model = engine._model
        tiled = getattr(engine._processor.image_processor, "max_image_size", None)  # SmolVLM's fixed tiles
        gflop = vision_gflops_per_tile(model, int(tiled["longest_edge"])) if tiled else None
        runtime = client.runtime
        return {
            "config": config.name,
            "weights": "int8" if runtime.quantization == "int8" else runtime.dtype,
            "load_s": round(load_s, 2),
            "rss_after_load_gb": round(loaded_gb, 2),
            "peak_rss_gb": round(_peak_rss_gb(), 2),
            "describe": describe,
            "follow_up": follow_up,
            "ocr": ocr,
            "vision_encoder_s": round(vision_s, 3),
            "vision_gflop_per_tile": round(gflop, 1) if gflop is not None else None,
            "decode_bytes_per_token": decode_bytes_per_token(model),
        }


# -- side by side with a peer engine (bench/peers/) ------------------------------------------------

PEERS = ("openvino",)
PEER_REPEATS = 3


def describe_repeats(model_dir: str, new_tokens: int, repeats: int) -> dict[str, Any]:
    """The app's int8 path (its CPU tile budget, no prefix re-use) asked the describe question ``repeats``
    times after a warm-up, as ``bench/peers/openvino/run.py`` asks the peer; medians, and the processor's
    ``longest_edge`` for the peer to use."""
    import statistics

    from core.engines.tiling import plan_tiles
    from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams

    config = configs()["int8"]
    with scratch_serving("int8") as serving:
        client = serving.client(model_dir, "bench")
        image = _picture()
        started = time.perf_counter()
        client.load()
        load_s = time.perf_counter() - started
        engine: Any = serving.pool.engine(model_dir)
        tile, model_edge = engine._tile_side()
        longest_edge = plan_tiles(image.width, image.height, tile, config.chat_tiles or 1, model_edge).longest_edge
        question = (ChatMessage(Role.USER, DESCRIBE, (image,)),)
        client.generate(GenerationRequest(question, SamplingParams(2), config.chat_tiles, task="bench"))  # warm-up
        runs = []
        for _ in range(repeats):
            outcome = client.generate(GenerationRequest(question, SamplingParams(new_tokens), config.chat_tiles,
                                                        task="bench"))  # fmt: skip
            if outcome.error is not None:
                raise RuntimeError(f"generation failed: {outcome.error}")
            stats = outcome.stats
            runs.append({"first_token_s": round(stats.seconds_to_first_token or float("nan"), 3),
                         "decode_tokens_per_s": round(stats.tokens_per_second or float("nan"), 2),
                         "new_tokens": stats.new_tokens, "prompt_tokens": stats.prompt_tokens,
                         "image_tokens": stats.image_tokens})  # fmt: skip
        return {
            "engine": "this app: transformers, torch dynamic int8",
            "weights": "int8",
            "load_s": round(load_s, 2),
            "first_token_s": statistics.median(run["first_token_s"] for run in runs),
            "decode_tokens_per_s": statistics.median(run["decode_tokens_per_s"] for run in runs),
            "image_tokens": runs[0]["image_tokens"],
            "prompt_tokens": runs[0]["prompt_tokens"],
            "new_tokens": runs[0]["new_tokens"],
            "runs": runs,
            "longest_edge": longest_edge,
            "decode_bytes_per_token": decode_bytes_per_token(engine._model),
            "peak_rss_gb": round(_peak_rss_gb(), 2),
        }


def peer_python(peer: str) -> Path:
    """The peer's interpreter, its virtual environment made first when missing (``bench/peers/<peer>/setup.sh``)."""
    root = Path(__file__).resolve().parents[1]
    python = root / f".venv-{peer}" / "bin" / "python"
    if not python.is_file():
        print(f"creating the {peer} peer's virtual environment (once; it downloads its packages)", file=sys.stderr)
        subprocess.run(["bash", str(root / "bench" / "peers" / peer / "setup.sh")], check=True, cwd=root,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    return python


def _last_json(command: list[str], timeout_s: float, what: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=root, env=env, check=False)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["failed"]
        return {"engine": what, "error": tail[0]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def side_by_side(size: str, peer: str, new_tokens: int, args: argparse.Namespace,
                 bandwidth_gbs: float) -> dict[str, Any]:  # fmt: skip
    """Ours and the peer's int8 engine on the same checkpoint, picture, tiles and answer length."""
    model_dir = build_model(size, args.models_dir)
    ours = _last_json([sys.executable, "-m", "core.bench", "--peer-child", str(model_dir), str(new_tokens),
                       str(PEER_REPEATS)], args.timeout, "this app")  # fmt: skip
    result: dict[str, Any] = {"model": model_label(size), "ours": ours}
    if "error" in ours:
        return result
    script = Path(__file__).resolve().parents[1] / "bench" / "peers" / peer / "run.py"
    export_dir = args.models_dir / f"{model_dir.name}-{peer}"
    theirs = _last_json([str(peer_python(peer)), str(script), str(model_dir), str(export_dir),
                         "--longest-edge", str(ours["longest_edge"]), "--new-tokens", str(new_tokens),
                         "--repeats", str(PEER_REPEATS)], args.timeout, peer)  # fmt: skip
    result["peer"] = theirs
    result.update(compare_sides(ours, theirs, bandwidth_gbs))
    return result


def compare_sides(ours: dict[str, Any], theirs: dict[str, Any], bandwidth_gbs: float) -> dict[str, Any]:
    """The ratios of two engines' describe answers, or why they cannot be compared."""
    if "error" in theirs:
        return {}
    if theirs["image_tokens"] != ours["image_tokens"]:
        here, there = ours["image_tokens"], theirs["image_tokens"]
        return {"error": f"not the same picture: {here} image tokens here, {there} there"}
    bound = bandwidth_gbs * 1e9 / ours["decode_bytes_per_token"]
    decode = round(ours["decode_tokens_per_s"] / theirs["decode_tokens_per_s"], 2)
    return {
        "decode_ratio": decode,
        "first_token_ratio": round(theirs["first_token_s"] / ours["first_token_s"], 2),
        "decode_share_of_bound": round(ours["decode_tokens_per_s"] / bound, 2),
        "decode_ge_1.2x_peer": decode >= 1.2,
    }


def median_ratios(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model, the median of each ratio over the rounds that compared (each round: ours, then the peer)."""
    import statistics

    summaries = []
    for model in dict.fromkeys(result["model"] for result in results):
        rounds = [result for result in results if result["model"] == model and "decode_ratio" in result]
        if not rounds:
            continue
        decode = round(statistics.median(result["decode_ratio"] for result in rounds), 2)
        summaries.append({
            "model": model, "rounds": len(rounds), "decode_ratio": decode,
            "decode_ratios": [result["decode_ratio"] for result in rounds],
            "first_token_ratio": round(statistics.median(result["first_token_ratio"] for result in rounds), 2),
            "decode_share_of_bound": round(statistics.median(result["decode_share_of_bound"] for result in rounds), 2),
            "decode_ge_1.2x_peer": decode >= 1.2,
        })  # fmt: skip
    return summaries


def _peer_table(results: list[dict[str, Any]]) -> str:
    header = ("model", "engine", "image tokens", "first token s", "decode tok/s", "load s", "peak GB")
    lines = [" | ".join(header), " | ".join("---" for _ in header)]
    for result in results:
        for side in ("ours", "peer"):
            row = result.get(side)
            if row is None:
                continue
            if "error" in row:
                lines.append(f"{result['model']} | {row['engine']} | failed: {row['error']}")
                continue
            cells = (result["model"], row["engine"], row["image_tokens"], row["first_token_s"],
                     row["decode_tokens_per_s"], row["load_s"], row["peak_rss_gb"])  # fmt: skip
            lines.append(" | ".join(str(cell) for cell in cells))
    return "\n".join(lines)


# -- constrained decoding: what the schema costs per token --------------------------------------------

SCHEMA_ANSWER = {
    "number": "INV-2026-0002", "date": "07.11.2026", "seller": "ООО «Ромашка»", "seller_inn": "7707083893",
    "seller_kpp": None, "buyer": None, "buyer_inn": None, "buyer_kpp": None, "bik": None, "account": None,
    "lines": [{"name": "Бумага А4", "quantity": "3", "unit": "шт", "price": "28.70", "amount": "86.10"}],
    "vat_rate": "20", "vat": "14.35", "total": "86.10", "currency": "RUB",
}  # fmt: skip


def _synthetic_tokenizer(vocab_size: int) -> Any:
    """A byte-level BPE tokenizer of ``vocab_size`` trained on random Latin and Cyrillic words: the mask's cost
    depends on the vocabulary's size and shape, and no real tokenizer can be downloaded here."""
    import random
    import string

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    rng = random.Random(0)
    letters = string.ascii_letters + string.digits + "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЭЮЯ.,:-"
    words = max(2000, vocab_size * 80)  # enough text for the merges to reach the size asked for
    corpus = (" ".join("".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(200))
              for _ in range(words // 200))  # fmt: skip
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|end|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    backend.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|end|>")


def schema_overhead(vocab_size: int, logits_width: int = 151_936) -> dict[str, Any]:
    """The per-token cost of decoding under the Russian invoice's schema, with nothing else in the step: the
    processor masks ``logits_width`` scores (Qwen's output layer) at every token of a real answer."""
    import torch

    from core.engines.constrained import SchemaConstraint, schema_text
    from core.extraction.templates import load_template

    tokenizer = _synthetic_tokenizer(vocab_size)
    schema = schema_text(load_template("invoice-ru").json_schema())
    answer = json.dumps(SCHEMA_ANSWER, ensure_ascii=False, separators=(",", ":"))
    tokens = [*tokenizer(answer, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
    started = time.perf_counter()
    first = SchemaConstraint(tokenizer, schema, [tokenizer.eos_token_id])
    first_build_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    processor = SchemaConstraint(tokenizer, schema, [tokenizer.eos_token_id])  # the tokenizer's view is cached
    build_ms = (time.perf_counter() - started) * 1000
    del first
    scores, sequence, steps = torch.zeros(1, logits_width), torch.zeros(1, 8, dtype=torch.long), []
    for token in tokens:
        started = time.perf_counter()
        masked = processor(sequence, scores)
        steps.append((time.perf_counter() - started) * 1000)
        if masked[0, token] != 0:
            raise RuntimeError(f"the schema refused a token of a valid answer: {token}")
        sequence = torch.cat([sequence, torch.tensor([[token]])], dim=1)
    return {
        "vocab": len(tokenizer), "logits": logits_width, "tokens": len(tokens),
        "first_build_ms": round(first_build_ms, 1), "build_ms": round(build_ms, 1),
        "mean_ms_per_token": round(sum(steps) / len(steps), 3), "max_ms_per_token": round(max(steps), 2),
    }  # fmt: skip


# -- the parent: build, run children, report -------------------------------------------------------


def model_label(size: str) -> str:
    return size if size in NEW_SHAPES else f"SmolVLM2-{size}"


def build_model(size: str, models_dir: Path) -> Path:
    """The random-weight model of ``size``, built once and kept in ``models_dir``."""
    from core.tiny_models import REAL_SMOLVLM_SHAPES, TINY_SMOLVLM, build_real_shape, build_smolvlm

    target = models_dir / f"{size}-random" if size in NEW_SHAPES else models_dir / f"smolvlm2-{size}-random"
    if (target / "config.json").is_file() and any(target.glob("model*.safetensors")):
        return target
    started = time.perf_counter()
    if size in NEW_SHAPES:
        build_real_shape(size, target)
    else:
        build_smolvlm(target, TINY_SMOLVLM if size == TEST_SIZE else REAL_SMOLVLM_SHAPES[size])
    print(f"built random-weight {model_label(size)} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return target


def run_child(model_dir: Path, config: Config, new_tokens: int, timeout_s: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "core.bench", "--child", str(model_dir), config.name, str(new_tokens)]
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=root, env=env, check=False)
    if done.returncode != 0:
        return {"config": config.name, "error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def with_bounds(row: dict[str, Any], bandwidth_gbs: float) -> dict[str, Any]:
    if "error" in row:
        return row
    bound = bandwidth_gbs * 1e9 / row["decode_bytes_per_token"]
    row["decode_bound_tokens_per_s"] = round(bound, 1)
    row["decode_share_of_bound"] = round(row["describe"]["decode_tokens_per_s"] / bound, 2)
    vision, first = row["vision_encoder_s"], row["describe"]["first_token_s"]
    row["vision_share_of_describe"] = round(vision / first, 2) if first else None
    per_tile = row["vision_gflop_per_tile"]
    row["vision_gflop_per_s"] = round(per_tile * row["describe"]["tiles"] / vision, 1) if per_tile else None
    return row


def ratios(app: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float | None]:
    """Baseline time over ours for each wait (above 1: we are faster)."""
    found: dict[str, float | None] = {}
    for task in ("describe", "follow_up", "ocr"):
        ours, theirs = app.get(task, {}).get("first_token_s"), baseline.get(task, {}).get("first_token_s")
        found[f"{task}_speedup"] = round(theirs / ours, 1) if ours and theirs else None
    return found


def targets(size: str, app: dict[str, Any]) -> dict[str, bool | None]:
    """The issue's targets on this machine (256M and 500M shapes, as the Chat page reports them)."""
    if "error" in app:
        return {}
    describe, follow = app["describe"]["first_token_s"], app["follow_up"]["first_token_s"]
    checks: dict[str, bool | None] = {
        "follow_up_le_0.3s": follow <= 0.3,
        "follow_up_le_10pct_of_describe": follow <= 0.1 * describe,
        "decode_ge_80pct_of_bound": app["decode_share_of_bound"] >= 0.8,
    }
    if size == "256m":
        checks["describe_le_3s"] = describe <= 3
    if size == "500m":
        checks["describe_le_5s"] = describe <= 5
    return checks


def _table(results: list[dict[str, Any]]) -> str:
    header = ("model", "config", "weights", "load s", "peak GB", "tiles", "describe s", "follow-up s", "OCR s",
              "prefill tok/s", "decode tok/s", "bound tok/s", "of bound", "vision share")  # fmt: skip
    lines = [" | ".join(header), " | ".join("---" for _ in header)]
    for result in results:
        for row in result["rows"]:
            if "error" in row:
                lines.append(f"{result['model']} | {row['config']} | failed: {row['error']}")
                continue
            cells = (result["model"], row["config"], row["weights"], row["load_s"], row["peak_rss_gb"],
                     row["describe"]["tiles"], row["describe"]["first_token_s"], row["follow_up"]["first_token_s"],
                     row["ocr"]["first_token_s"], row["describe"]["prefill_tokens_per_s"],
                     row["describe"]["decode_tokens_per_s"], row["decode_bound_tokens_per_s"],
                     row["decode_share_of_bound"], row["vision_share_of_describe"])  # fmt: skip
            lines.append(" | ".join(str(cell) for cell in cells))
    return "\n".join(lines)


def _one_size(size: str, names: list[str], new_tokens: int, args: argparse.Namespace,
              bandwidth_gbs: float) -> dict[str, Any]:  # fmt: skip
    """Every configuration on one model shape, each in a child process, with the comparisons between them."""
    model_dir = build_model(size, args.models_dir)
    rows = []
    for name in names:
        started = time.perf_counter()
        rows.append(with_bounds(run_child(model_dir, configs()[name], new_tokens, args.timeout), bandwidth_gbs))
        print(f"{model_label(size)} {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    by_name = {row["config"]: row for row in rows}
    result: dict[str, Any] = {"model": model_label(size), "rows": rows}
    if "app" in by_name and "baseline" in by_name:
        result["app_vs_baseline"] = ratios(by_name["app"], by_name["baseline"])
    if "app" in by_name and size not in NEW_SHAPES:  # the speed issue's targets are SmolVLM2's
        result["targets"] = targets(size, by_name["app"])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256M only, app and baseline (a smoke run)")
    parser.add_argument("--sizes", nargs="+", choices=(*SIZES, *NEW_SHAPES, TEST_SIZE),
                        help="model shapes (default: SmolVLM2's three real ones; the new families' when named; "
                             "tiny only tests the plumbing)")  # fmt: skip
    parser.add_argument(
        "--configs", nargs="+", choices=("app", "int8", "float32", "baseline"),
        help="default: app, the weights auto did not choose (int8 or float32), baseline",
    )  # fmt: skip
    parser.add_argument("--new-tokens", type=int, default=32, help="tokens per answer (decode speed)")
    parser.add_argument("--models-dir", type=Path, default=Path.home() / ".cache" / "vlm-studio" / "bench")
    parser.add_argument("--json", type=Path, help="where to write the results (default: bench-<time>.json)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per configuration")
    parser.add_argument("--child", nargs=3, metavar=("MODEL_DIR", "CONFIG", "NEW_TOKENS"), help=argparse.SUPPRESS)
    parser.add_argument("--peer", choices=PEERS,
                        help="only compare the app's int8 describe answers with this engine's on the same checkpoint "
                             "(default sizes 256m and 500m, 64 new tokens, median of 3); the peer gets its own "
                             "virtual environment (bench/peers/<peer>/setup.sh)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1,
                        help="with --peer: compare this many times, ours then the peer's each time, and report the "
                             "median ratio (a shared machine's speed drifts over minutes)")  # fmt: skip
    parser.add_argument("--peer-child", nargs=3, metavar=("MODEL_DIR", "NEW_TOKENS", "REPEATS"), help=argparse.SUPPRESS)
    parser.add_argument("--schema-overhead", type=int, metavar="VOCAB", nargs="?", const=50_000,
                        help="only measure what decoding under a JSON Schema costs per token, on a tokenizer of "
                             "VOCAB tokens (default 50000), and print it")  # fmt: skip
    args = parser.parse_args(argv)

    if args.schema_overhead:
        print(json.dumps(schema_overhead(args.schema_overhead)))
        return 0

    if args.peer_child:
        model_dir, new_tokens, repeats = args.peer_child
        print(json.dumps(describe_repeats(model_dir, int(new_tokens), int(repeats))))
        return 0

    if args.peer:
        return compare_with_peer(args)

    if args.child:
        model_dir, name, new_tokens = args.child
        print(json.dumps(measure(model_dir, configs()[name], int(new_tokens))))
        return 0

    sizes = args.sizes or (["256m"] if args.quick else list(SIZES))
    from core.engines.quantization import resolve_quantization

    other = "float32" if resolve_quantization("auto", "cpu").scheme == "int8" else "int8"
    names = args.configs or (["app", "baseline"] if args.quick else ["app", other, "baseline"])
    new_tokens = 16 if args.quick and args.new_tokens == 32 else args.new_tokens
    about = machine()
    print(json.dumps(about), file=sys.stderr)
    results = [_one_size(size, names, new_tokens, args, about["memory_bandwidth_gbs"]) for size in sizes]

    print(_table(results))
    for result in results:
        speedups, checks = result.get("app_vs_baseline", {}), result.get("targets", {})
        print(f"{result['model']}: baseline/app {json.dumps(speedups)}; targets {json.dumps(checks)}")
    report = {
        "command": "python -m core.bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": datetime.now().isoformat(timespec="seconds"),
        "machine": about,
        "image": list(IMAGE_SIZE),
        "new_tokens": new_tokens,
        "configs": {name: asdict(configs()[name]) for name in names},
        "results": results,
    }
    path = args.json or Path(f"bench-{datetime.now():%Y%m%d_%H%M%S}.json")
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"results: {path}")
    return 0 if all("error" not in row for result in results for row in result["rows"]) else 1


def compare_with_peer(args: argparse.Namespace) -> int:
    sizes = args.sizes or ["256m", "500m"]
    new_tokens = 64 if args.new_tokens == 32 else args.new_tokens  # the 64: decode needs a longer answer
    about = machine()
    print(json.dumps(about), file=sys.stderr)
    results = []
    for size in sizes:
        for round_ in range(1, args.rounds + 1):
            started = time.perf_counter()
            result = side_by_side(size, args.peer, new_tokens, args, about["memory_bandwidth_gbs"])
            results.append({**result, "round": round_})
            print(f"{model_label(size)} with {args.peer}, round {round_}: {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)  # fmt: skip
    print(_peer_table(results))
    summaries = median_ratios(results)
    for result in results:
        if "error" in result:
            print(f"{result['model']}, round {result['round']}: {result['error']}")
    for result in [result for result in results if "decode_ratio" in result] if args.rounds == 1 else summaries:
        rounds = f" (median of {result['rounds']} rounds: {result['decode_ratios']})" if "rounds" in result else ""
        print(f"{result['model']}: decode ours/{args.peer} {result['decode_ratio']}x{rounds} "
              f"(target 1.2x: {'met' if result['decode_ge_1.2x_peer'] else 'not met'}), first token "
              f"{args.peer}/ours {result['first_token_ratio']}x, decode at {result['decode_share_of_bound']:.0%} "
              "of the bandwidth bound")  # fmt: skip
    report = {
        "command": "python -m core.bench " + " ".join(sys.argv[1:]),
        "when": datetime.now().isoformat(timespec="seconds"),
        "machine": about, "image": list(IMAGE_SIZE), "new_tokens": new_tokens, "repeats": PEER_REPEATS,
        "results": results, "medians": summaries,
    }  # fmt: skip
    path = args.json or Path(f"bench-{args.peer}-{datetime.now():%Y%m%d_%H%M%S}.json")
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"results: {path}")
    failed = any("error" in result or "error" in result.get("peer", {}) for result in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
