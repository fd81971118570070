"""Tiny random-weight models built offline with the real transformers classes.

They exist so the whole product (loading, prompting, generate, streaming, UI) can be exercised
where no weights can be downloaded. Their answers are random tokens: never judge meaning by them.

    python -m core.tiny_models --family smolvlm --out models/tiny-smolvlm
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A few lines of English and Russian so the byte-level BPE learns merges for both scripts.
_CORPUS = [
    "A photo of a cat sitting on a red sofa next to a window.",
    "The image shows a street with cars, people and tall buildings.",
    "Describe the picture briefly. What colour is the car? How many people are there?",
    "Invoice number 42, total amount 1 234.56, date 2026-11-23.",
    "На фотографии кошка сидит на красном диване у окна.",
    "Опиши изображение кратко. Какого цвета машина? Сколько людей на снимке?",
    "Счёт номер 42, итого 1 234,56 рублей, дата 23.11.2026.",
    "User: Assistant: You are provided the following series of frames from a video.",
]

SMOLVLM_SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<end_of_utterance>",
    "<image>",
    "<fake_token_around_image>",
    "<global-img>",
    "<video>",
    *[f"<row_{row}_col_{col}>" for row in range(1, 7) for col in range(1, 7)],
]


@dataclass(frozen=True)
class SmolVLMShape:
    """Sizes of a SmolVLM checkpoint: vision tower, language model, pixel-shuffle factor and vocabulary."""

    vision_hidden: int
    vision_ffn: int
    vision_layers: int
    vision_heads: int
    patch: int
    tile: int
    text_hidden: int
    text_ffn: int
    text_layers: int
    text_heads: int
    text_kv_heads: int
    scale_factor: int
    vocab_size: int | None = None  # None: as many as the trained tokenizer has

    @property
    def image_seq_len(self) -> int:
        return (self.tile // self.patch) ** 2 // self.scale_factor**2


# A small tile keeps CPU tests fast while the tiling logic (longest edge = tiles x tile side) stays the same.
TINY_SMOLVLM = SmolVLMShape(32, 64, 2, 2, 16, 64, 64, 128, 2, 4, 2, 2)
TINY_TILE = TINY_SMOLVLM.tile

# The public checkpoints' shapes. Random weights of these sizes cost what the real models cost, so
# benchmarks can run on them without a download.
REAL_SMOLVLM_SHAPES = {
    "256m": SmolVLMShape(768, 3072, 12, 12, 16, 512, 576, 1536, 30, 9, 3, 4, 49280),
    "500m": SmolVLMShape(768, 3072, 12, 12, 16, 512, 960, 2560, 32, 15, 5, 4, 49280),
    "2.2b": SmolVLMShape(1152, 4304, 27, 16, 14, 384, 2048, 8192, 24, 32, 32, 3, 49280),
}


def _train_tokenizer(special_tokens: list[str], vocab_size: int = 600) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token=None))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_CORPUS * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<end_of_utterance>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        additional_special_tokens=special_tokens[3:],
    )


def build_tiny_smolvlm(out_dir: Path, seed: int = 0) -> Path:
    """Save a tiny random-weight SmolVLM (processor + model + generation config) to ``out_dir``."""
    return build_smolvlm(out_dir, TINY_SMOLVLM, seed)


def build_smolvlm(out_dir: Path, shape: SmolVLMShape, seed: int = 0) -> Path:
    """Save a random-weight SmolVLM of ``shape`` with the real classes and the production chat template."""
    import torch
    from transformers import (
        GenerationConfig,
        SmolVLMConfig,
        SmolVLMForConditionalGeneration,
        SmolVLMImageProcessor,
        SmolVLMProcessor,
        SmolVLMVideoProcessor,
    )
    from transformers.models.smolvlm.processing_smolvlm import DEFAULT_CHAT_TEMPLATE

    torch.manual_seed(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    tokenizer = _train_tokenizer(SMOLVLM_SPECIAL_TOKENS)
    image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    eos_id = tokenizer.convert_tokens_to_ids("<end_of_utterance>")
    pad_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")

    image_processor = SmolVLMImageProcessor(
        size={"longest_edge": 4 * shape.tile},
        max_image_size={"longest_edge": shape.tile},
        do_image_splitting=True,
    )
    video_processor = SmolVLMVideoProcessor(
        size={"longest_edge": shape.tile},
        max_image_size={"longest_edge": shape.tile},
    )
    processor = SmolVLMProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        image_seq_len=shape.image_seq_len,
        chat_template=DEFAULT_CHAT_TEMPLATE,
    )

    bos_id = tokenizer.convert_tokens_to_ids("<|im_start|>")
    config = SmolVLMConfig(  # type: ignore[call-arg]  # pad_token_id is taken through **kwargs
        vision_config={
            "hidden_size": shape.vision_hidden,
            "intermediate_size": shape.vision_ffn,
            "num_hidden_layers": shape.vision_layers,
            "num_attention_heads": shape.vision_heads,
            "image_size": shape.tile,
            "patch_size": shape.patch,
        },
        text_config={
            "model_type": "llama",
            "vocab_size": shape.vocab_size or len(tokenizer),
            "hidden_size": shape.text_hidden,
            "intermediate_size": shape.text_ffn,
            "num_hidden_layers": shape.text_layers,
            "num_attention_heads": shape.text_heads,
            "num_key_value_heads": shape.text_kv_heads,
            "max_position_embeddings": 16384,
            "pad_token_id": pad_id,
            "eos_token_id": eos_id,
            "bos_token_id": bos_id,
        },
        scale_factor=shape.scale_factor,
        image_token_id=image_token_id,
        pad_token_id=pad_id,
        tie_word_embeddings=False,
    )
    model = SmolVLMForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id, bos_token_id=bos_id)

    processor.save_pretrained(out_dir)
    model.save_pretrained(out_dir, safe_serialization=True)
    (out_dir / "TINY_MODEL.json").write_text(
        json.dumps({"family": "smolvlm", "note": "random weights; answers are noise"}, indent=2),
        encoding="utf-8",
    )
    return out_dir


BUILDERS = {"smolvlm": build_tiny_smolvlm}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a tiny random-weight model offline (answers are noise).")
    parser.add_argument("--family", choices=sorted(BUILDERS), required=True)
    parser.add_argument("--out", type=Path, required=True, help="directory to write the model to")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = BUILDERS[args.family](args.out, seed=args.seed)
    print(f"tiny {args.family} model written to {path} (random weights: its answers are noise)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
