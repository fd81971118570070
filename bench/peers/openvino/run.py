"""Time the OpenVINO peer on a checkpoint the way ``core.bench`` times the app (run in the peer's own venv).

``python -m core.bench --peer openvino`` calls this with the peer's interpreter; it prints one JSON line:

    .venv-openvino/bin/python bench/peers/openvino/run.py MODEL_DIR EXPORT_DIR --longest-edge 1024 \
        --new-tokens 64 --repeats 3 --weights int8

The checkpoint is exported once per weight format into ``EXPORT_DIR`` (optimum-intel; NNCF compresses the
weights to int8 at export) and loaded with ``OVModelForVisualCausalLM``: ``openvino_genai.VLMPipeline``
does not take SmolVLM. The picture and question are the app's (``core.bench``), the processor gets the
same ``longest_edge`` the app's tile budget chose, and the image-token count is reported so the parent
can prove both engines read the same tiles. Times: the first token from the processor call on, decode
as (new tokens - 1) over the time after the first token, as the app's stats count them.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

IMAGE_SIZE = (1600, 1200)
DESCRIBE = "Describe this image briefly."


def picture() -> Any:
    """``core.bench._picture``, repeated here: this interpreter cannot import the app (other transformers)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", IMAGE_SIZE, "gray")
    drawing = ImageDraw.Draw(image)
    drawing.rectangle((200, 200, 700, 600), fill="navy")
    drawing.ellipse((900, 300, 1400, 900), fill="orange")
    return image


def export(model_dir: Path, export_dir: Path, weights: str) -> tuple[Path, float | None]:
    """The OpenVINO IR of ``model_dir`` in ``weights`` (int8 or float32), exported once; seconds it took."""
    target = export_dir / weights
    if (target / "openvino_language_model.xml").is_file():
        return target, None
    from optimum.intel import OVModelForVisualCausalLM

    started = time.perf_counter()
    model = OVModelForVisualCausalLM.from_pretrained(
        str(model_dir), export=True, load_in_8bit=weights == "int8", compile=False
    )
    model.save_pretrained(str(target))
    return target, time.perf_counter() - started


def processor_folder(model_dir: Path, export_dir: Path) -> Path:
    """The checkpoint's processor files as this transformers reads them: transformers 5 names the fast
    tokenizer ``TokenizersBackend`` and lists its added special tokens as ``extra_special_tokens``, which
    4.x calls ``PreTrainedTokenizerFast`` and ``additional_special_tokens`` (the tokenizer.json is the same)."""
    target = export_dir / "processor"
    target.mkdir(parents=True, exist_ok=True)
    for source in model_dir.iterdir():
        if source.suffix in (".json", ".jinja") and not source.name.startswith("model"):
            text = source.read_text(encoding="utf-8")
            if source.name == "tokenizer_config.json":
                config = json.loads(text)
                config["tokenizer_class"] = "PreTrainedTokenizerFast"
                config.pop("backend", None)
                if isinstance(config.get("extra_special_tokens"), list):
                    config["additional_special_tokens"] = config.pop("extra_special_tokens")
                text = json.dumps(config)
            (target / source.name).write_text(text, encoding="utf-8")
    return target


class FirstToken:
    """A stopping criterion that only notes when the first and last tokens came."""

    def __init__(self, started: float) -> None:
        self.started, self.first, self.tokens = started, None, 0

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        self.tokens += 1
        if self.first is None:
            self.first = time.perf_counter()
        return torch.zeros(input_ids.shape[0], dtype=torch.bool)


def one_answer(model: Any, processor: Any, image: Any, longest_edge: int, new_tokens: int) -> dict[str, Any]:
    from transformers import StoppingCriteriaList

    conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": DESCRIBE}]}]
    started = time.perf_counter()
    prompt = processor.apply_chat_template(conversation, add_generation_prompt=True)
    inputs = processor(text=[prompt], images=[image], size={"longest_edge": longest_edge}, return_tensors="pt")
    timer = FirstToken(started)
    model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                   stopping_criteria=StoppingCriteriaList([timer]))  # fmt: skip
    ended = time.perf_counter()
    image_token = processor.tokenizer.convert_tokens_to_ids("<image>")
    first = (timer.first or ended) - started
    return {
        "first_token_s": round(first, 3),
        "decode_tokens_per_s": round((timer.tokens - 1) / (ended - started - first), 2) if timer.tokens > 1 else None,
        "new_tokens": timer.tokens,
        "prompt_tokens": int(inputs["input_ids"].shape[-1]),
        "image_tokens": int((inputs["input_ids"] == image_token).sum()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--longest-edge", type=int, required=True, help="the processor's size the app chose")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--weights", choices=("int8", "float32"), default="int8")
    args = parser.parse_args()

    from importlib.metadata import version

    import openvino
    from optimum.intel import OVModelForVisualCausalLM
    from transformers import AutoProcessor

    ir_dir, export_s = export(args.model_dir, args.export_dir, args.weights)
    started = time.perf_counter()
    model = OVModelForVisualCausalLM.from_pretrained(str(ir_dir))
    load_s = time.perf_counter() - started
    processor = AutoProcessor.from_pretrained(str(processor_folder(args.model_dir, args.export_dir)))
    image = picture()
    one_answer(model, processor, image, args.longest_edge, 2)  # warm-up, as the app's bench does
    runs = [one_answer(model, processor, image, args.longest_edge, args.new_tokens) for _ in range(args.repeats)]
    print(json.dumps({
        "engine": f"OpenVINO {openvino.__version__} (optimum-intel {version('optimum-intel')}, "
                  f"transformers {version('transformers')})",
        "weights": args.weights,
        "export_s": round(export_s, 1) if export_s is not None else None,
        "load_s": round(load_s, 2),
        "first_token_s": statistics.median(run["first_token_s"] for run in runs),
        "decode_tokens_per_s": statistics.median(run["decode_tokens_per_s"] for run in runs),
        "image_tokens": runs[0]["image_tokens"],
        "prompt_tokens": runs[0]["prompt_tokens"],
        "new_tokens": runs[0]["new_tokens"],
        "runs": runs,
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
