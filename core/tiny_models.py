"""Tiny random-weight models built offline with the real transformers classes.

They exist so the whole product (loading, prompting, generate, streaming, UI) can be exercised
where no weights can be downloaded. Their answers are random tokens: never judge meaning by them.

    python -m core.tiny_models --family smolvlm --out models/tiny-smolvlm
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field, replace
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


def _train_backend(special_tokens: list[str], vocab_size: int = 600, unk: str | None = None) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE(unk_token=unk))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_CORPUS * 4, trainer=trainer)
    return backend


def _train_tokenizer(special_tokens: list[str], vocab_size: int = 600) -> Any:
    from transformers import PreTrainedTokenizerFast

    backend = _train_backend(special_tokens, vocab_size)
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


def _smolvlm_processor(tokenizer: Any, shape: SmolVLMShape) -> Any:
    """The checkpoints' processor settings at ``shape``'s tile: 4 x 4 tiles at most, video frames one tile each."""
    from transformers import SmolVLMImageProcessor, SmolVLMProcessor, SmolVLMVideoProcessor
    from transformers.models.smolvlm.processing_smolvlm import DEFAULT_CHAT_TEMPLATE

    image_processor = SmolVLMImageProcessor(
        size={"longest_edge": 4 * shape.tile},
        max_image_size={"longest_edge": shape.tile},
        do_image_splitting=True,
    )
    video_processor = SmolVLMVideoProcessor(
        size={"longest_edge": shape.tile},
        max_image_size={"longest_edge": shape.tile},
    )
    return SmolVLMProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        image_seq_len=shape.image_seq_len,
        chat_template=DEFAULT_CHAT_TEMPLATE,
    )


def build_smolvlm(out_dir: Path, shape: SmolVLMShape, seed: int = 0) -> Path:
    """Save a random-weight SmolVLM of ``shape`` with the real classes and the production chat template."""
    from transformers import GenerationConfig, SmolVLMConfig, SmolVLMForConditionalGeneration

    out_dir = _start(out_dir, seed)

    tokenizer = _train_tokenizer(SMOLVLM_SPECIAL_TOKENS)
    image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    eos_id = tokenizer.convert_tokens_to_ids("<end_of_utterance>")
    pad_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    processor = _smolvlm_processor(tokenizer, shape)

    bos_id = tokenizer.convert_tokens_to_ids("<|im_start|>")
    config = SmolVLMConfig(
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

    return _save(out_dir, processor, model, "smolvlm")


# A ChatML-style template with image placeholders, as Qwen2.5-VL and InternVL checkpoints ship one.
def _chatml_template(image_placeholder: str, video_placeholder: str) -> str:
    return (
        "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
        "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
        "{% for part in message['content'] %}"
        f"{{% if part['type'] == 'image' %}}{image_placeholder}"
        f"{{% elif part['type'] == 'video' %}}{video_placeholder}"
        "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
        "{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )


def _start(out_dir: Path, seed: int) -> Path:
    """The builder's folder, made; the random weights seeded so a build is repeatable."""
    import torch

    torch.manual_seed(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def _token_ids(tokenizer: Any, tokens: list[str]) -> dict[str, int]:
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in tokens}
    return {token: value for token, value in ids.items() if isinstance(value, int)}


def _save(out_dir: Path, processor: Any, model: Any, family: str) -> Path:
    processor.save_pretrained(out_dir)
    model.save_pretrained(out_dir, safe_serialization=True)
    (out_dir / "TINY_MODEL.json").write_text(
        json.dumps({"family": family, "note": "random weights; answers are noise"}, indent=2), encoding="utf-8"
    )
    return out_dir


@dataclass(frozen=True)
class RealShape:
    """A published checkpoint's sizes laid over a tiny builder's config: random weights that cost what the
    real model costs (``core.bench``). The tokenizer stays the tiny one; the embedding has the real vocabulary."""

    text: dict[str, Any] = field(default_factory=dict)
    vision: dict[str, Any] = field(default_factory=dict)
    size: dict[str, int] | None = None  # the image processor's pixel bounds
    tied: bool = False  # input and output embeddings shared


def _merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **changes}
    if "rope_parameters" in changes:
        merged["rope_parameters"] = {**base.get("rope_parameters", {}), **changes["rope_parameters"]}
    return merged


QWEN_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                       "<|image_pad|>", "<|video_pad|>"]  # fmt: skip
QWEN_TEMPLATE = _chatml_template(
    "<|vision_start|><|image_pad|><|vision_end|>", "<|vision_start|><|video_pad|><|vision_end|>"
)


def _qwen_tokenizer() -> tuple[Any, dict[str, int]]:
    """A tokenizer with Qwen's chat and vision tokens (Qwen2.5-VL and Qwen3-VL share them), and their ids."""
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_backend(QWEN_SPECIAL_TOKENS), eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    return tokenizer, _token_ids(tokenizer, QWEN_SPECIAL_TOKENS)


def _qwen_text_config(tokenizer: Any, ids: dict[str, int], head_dim: int | None = None,
                      mrope_interleaved: bool = False) -> dict[str, Any]:  # fmt: skip
    """A two-layer Qwen language model with M-RoPE (3D positions for text, images and video)."""
    rope: dict[str, Any] = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]}
    if mrope_interleaved:
        rope["mrope_interleaved"] = True
    config: dict[str, Any] = {
        "vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 8192, "rope_parameters": rope,
        "bos_token_id": ids["<|im_start|>"], "eos_token_id": ids["<|im_end|>"], "pad_token_id": ids["<|endoftext|>"],
    }  # fmt: skip
    if head_dim is not None:
        config["head_dim"] = head_dim
    return config


def _qwen_media_tokens(ids: dict[str, int]) -> dict[str, Any]:
    return {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
    }


def build_tiny_qwen2_5_vl(out_dir: Path, seed: int = 0) -> Path:
    """Qwen2.5-VL: real processor (Qwen2VLImageProcessor, 14 px patches merged 2x2) and model classes."""
    from transformers import (
        GenerationConfig,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    out_dir = _start(out_dir, seed)
    tokenizer, ids = _qwen_tokenizer()
    min_pixels, max_pixels = 28 * 28 * 4, 28 * 28 * 64
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(
            patch_size=14, merge_size=2, temporal_patch_size=2, min_pixels=min_pixels, max_pixels=max_pixels
        ),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(min_pixels=min_pixels, max_pixels=max_pixels),
        chat_template=QWEN_TEMPLATE,
    )
    config = Qwen2_5_VLConfig(
        vision_config={"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
                       "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 56,
                       "fullatt_block_indexes": [1]},
        text_config=_qwen_text_config(tokenizer, ids),
        **_qwen_media_tokens(ids),
    )  # fmt: skip
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    return _save(out_dir, processor, model, "qwen2_5_vl")


def build_tiny_qwen3_vl(out_dir: Path, seed: int = 0, shape: RealShape | None = None) -> Path:
    """Qwen3-VL with the real classes: 16 px patches merged 2 x 2 (32 px per visual token), DeepStack, M-RoPE.

    The chat template is the ChatML form with Qwen's vision placeholders, as for Qwen2.5-VL; the
    checkpoint's own template is yet to be copied in from its published files (not reachable here).
    """
    from transformers import (
        GenerationConfig,
        Qwen2VLImageProcessor,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    out_dir = _start(out_dir, seed)
    tokenizer, ids = _qwen_tokenizer()
    size = {"shortest_edge": 32 * 32 * 4, "longest_edge": 32 * 32 * 64}  # pixel counts, in 32 px units
    shape = shape or RealShape()
    size = shape.size or size
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2, size=size),
        tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(size=size),
        chat_template=QWEN_TEMPLATE,
    )
    config = Qwen3VLConfig(
        vision_config={"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
                       "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
                       "num_position_embeddings": 64, "deepstack_visual_indexes": [0], **shape.vision},
        text_config=_merged(_qwen_text_config(tokenizer, ids, head_dim=16, mrope_interleaved=True), shape.text),
        tie_word_embeddings=shape.tied,
        **_qwen_media_tokens(ids),
    )  # fmt: skip
    model = Qwen3VLForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    return _save(out_dir, processor, model, "qwen3_vl")


# Qwen3.5's template ends the prompt inside a thinking block, or after an empty one when thinking is off.
QWEN3_5_TEMPLATE = QWEN_TEMPLATE.replace(
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n"
    "{% if enable_thinking is defined and enable_thinking is false %}{{ '\n' }}</think>{{ '\n\n' }}{% endif %}"
    "{% endif %}",
)


def build_tiny_qwen3_5(out_dir: Path, seed: int = 0, shape: RealShape | None = None) -> Path:
    """Qwen3.5 with the real classes: Qwen3-VL's processor, a decoder of one Gated DeltaNet (linear attention)
    and one full-attention layer, M-RoPE interleaved over a quarter of each head."""
    from transformers import (
        GenerationConfig,
        Qwen2VLImageProcessor,
        Qwen3_5Config,
        Qwen3_5ForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    out_dir = _start(out_dir, seed)
    tokenizer, ids = _qwen_tokenizer()
    shape = shape or RealShape()
    size = shape.size or {"shortest_edge": 32 * 32 * 4, "longest_edge": 32 * 32 * 64}
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2, size=size),
        tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(size=size),
        chat_template=QWEN3_5_TEMPLATE,
    )
    text = _qwen_text_config(tokenizer, ids, head_dim=16, mrope_interleaved=True)
    text["rope_parameters"].update(mrope_section=[1, 1, 0], partial_rotary_factor=0.25)
    text.update(linear_key_head_dim=16, linear_value_head_dim=16, linear_num_key_heads=2, linear_num_value_heads=4,
                layer_types=["linear_attention", "full_attention"])  # fmt: skip
    config = Qwen3_5Config(
        vision_config={"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
                       "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
                       "num_position_embeddings": 64, **shape.vision},
        text_config=_merged(text, shape.text),
        tie_word_embeddings=shape.tied,
        **_qwen_media_tokens(ids),
    )  # fmt: skip
    model = Qwen3_5ForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    return _save(out_dir, processor, model, "qwen3_5")


def build_tiny_internvl(out_dir: Path, seed: int = 0) -> Path:
    """InternVL (native -HF layout): GotOcr2 tiling image processor, InternViT + Qwen2 classes."""
    from transformers import (
        GenerationConfig,
        GotOcr2ImageProcessor,
        InternVLConfig,
        InternVLForConditionalGeneration,
        InternVLProcessor,
        InternVLVideoProcessor,
        PreTrainedTokenizerFast,
    )

    out_dir = _start(out_dir, seed)
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<video>",
               "<ref>", "</ref>", "<box>", "</box>"]  # fmt: skip
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_backend(special),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens={"start_image_token": "<img>", "end_image_token": "</img>",
                              "context_image_token": "<IMG_CONTEXT>", "video_token": "<video>"},
    )  # fmt: skip
    ids = _token_ids(tokenizer, special)
    tile = 28  # 2 x 2 patches of 14 px, pixel-shuffled to one token per tile
    processor = InternVLProcessor(
        image_processor=GotOcr2ImageProcessor(
            size={"height": tile, "width": tile}, crop_to_patches=True, min_patches=1, max_patches=6
        ),
        tokenizer=tokenizer,
        video_processor=InternVLVideoProcessor(size={"height": tile, "width": tile}),
        image_seq_length=1,
        chat_template=_chatml_template("<IMG_CONTEXT>\n", "<video>\n"),
    )
    config = InternVLConfig(
        vision_config={"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
                       "image_size": [tile, tile], "patch_size": [14, 14]},
        text_config={"model_type": "qwen2", "vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                     "max_position_embeddings": 8192, "bos_token_id": ids["<|im_start|>"],
                     "eos_token_id": ids["<|im_end|>"], "pad_token_id": ids["<|endoftext|>"]},
        image_token_id=ids["<IMG_CONTEXT>"],
        image_seq_length=1,
        downsample_ratio=0.5,
        tie_word_embeddings=False,
    )  # fmt: skip
    model = InternVLForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    return _save(out_dir, processor, model, "internvl")


# The checkpoints' post-processing rules (processor_config.json of florence-community/Florence-2-*),
# so the tests can compare our parser with Florence2Processor.post_process_generation.
FLORENCE_POST_PROCESSOR = {
    "ocr": {"pattern": r"(.+?)" + r"<loc_(\d+)>" * 8, "area_threshold": 0.0},
    "phrase_grounding": {"banned_grounding_tokens": ["it", "I", "me", "you", "he", "she", "they", "we", "the image"]},
    "pure_text": {},
    "description_with_bboxes": {},
    "description_with_polygons": {},
    "polygons": {},
    "bboxes": {},
    "description_with_bboxes_or_polygons": {},
}


def build_tiny_florence2(out_dir: Path, seed: int = 0) -> Path:
    """Florence-2 (native in transformers 5): DaViT + BART classes, 1000 location tokens, task prompts."""
    from transformers import (
        CLIPImageProcessor,
        Florence2Config,
        Florence2ForConditionalGeneration,
        Florence2Processor,
        GenerationConfig,
        PreTrainedTokenizerFast,
    )

    out_dir = _start(out_dir, seed)
    special = ["<s>", "<pad>", "</s>", "<unk>", "<image>", *[f"<loc_{i}>" for i in range(1000)]]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_backend(special, vocab_size=1600, unk="<unk>"),
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        extra_special_tokens={"image_token": "<image>"},
    )
    side = 64  # DaViT strides 4 x 2 x 2 x 2: a 2 x 2 grid, plus one pooled token
    processor = Florence2Processor(
        image_processor=CLIPImageProcessor(
            size={"height": side, "width": side}, do_center_crop=False, image_seq_length=(side // 32) ** 2 + 1
        ),
        tokenizer=tokenizer,
        post_processor_config=FLORENCE_POST_PROCESSOR,
    )
    config = Florence2Config(
        vision_config={"depths": [1, 1, 1, 1], "embed_dim": [16, 32, 48, 64], "num_heads": [1, 2, 3, 4],
                       "num_groups": [1, 2, 3, 4], "window_size": 2, "projection_dim": 64, "drop_path_rate": 0.0},
        text_config={"vocab_size": len(tokenizer), "d_model": 64, "encoder_layers": 1, "decoder_layers": 1,
                     "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 128,
                     "decoder_ffn_dim": 128, "max_position_embeddings": 1024, "bos_token_id": tokenizer.bos_token_id,
                     "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id,
                     "decoder_start_token_id": tokenizer.eos_token_id, "forced_bos_token_id": tokenizer.bos_token_id},
        image_token_id=tokenizer.image_token_id,
    )  # fmt: skip
    model = Florence2ForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
    )
    return _save(out_dir, processor, model, "florence2")


# Granite-Docling's processor settings (preprocessor_config.json / processor_config.json of
# ibm-granite/granite-docling-258M): 512 px tiles of 16 px patches, pixel-shuffled by 4 into 64 tokens,
# pages up to 2048 px. Only the networks behind them are tiny.
DOCLING_TILE, DOCLING_PATCH, DOCLING_SCALE, DOCLING_LONGEST_EDGE = 512, 16, 4, 2048
DOCLING_IMAGE_SEQ_LEN = (DOCLING_TILE // DOCLING_PATCH) ** 2 // DOCLING_SCALE**2
_GRANITE_ROLES = ["<|end_of_text|>", "<|start_of_role|>", "<|end_of_role|>"]
# Granite-style roles around the Idefics3 image placeholder, as the Granite-Docling checkpoint's template writes them.
GRANITE_DOCLING_TEMPLATE = (
    "{% for message in messages %}<|start_of_role|>{{ message['role'] }}<|end_of_role|>"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|end_of_text|>\n{% endfor %}{% if add_generation_prompt %}<|start_of_role|>assistant<|end_of_role|>{% endif %}"
)


def build_tiny_docling(out_dir: Path, seed: int = 0) -> Path:
    """Granite-Docling: Idefics3 classes, the real processor settings and every DocTags token in the vocabulary."""
    from docling_core.types.doc.tokens import DocumentToken
    from transformers import (
        GenerationConfig,
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessor,
        Idefics3Processor,
        PreTrainedTokenizerFast,
    )

    out_dir = _start(out_dir, seed)
    image_tokens = SMOLVLM_SPECIAL_TOKENS[2:]  # <end_of_utterance>, <image>, <fake_token_around_image>, rows...
    doctags = [token for token in dict.fromkeys(DocumentToken.get_special_tokens()) if token not in image_tokens]
    special = [*_GRANITE_ROLES, *image_tokens, *doctags]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_backend(special, vocab_size=len(special) + 400),
        bos_token="<|start_of_role|>",
        eos_token="<|end_of_text|>",
        pad_token="<|end_of_text|>",
    )
    ids = _token_ids(tokenizer, ["<|end_of_text|>", "<|start_of_role|>", "<image>"])
    processor = Idefics3Processor(
        image_processor=Idefics3ImageProcessor(
            size={"longest_edge": DOCLING_LONGEST_EDGE},
            max_image_size={"longest_edge": DOCLING_TILE},
            do_image_splitting=True,
        ),
        tokenizer=tokenizer,
        image_seq_len=DOCLING_IMAGE_SEQ_LEN,
        chat_template=GRANITE_DOCLING_TEMPLATE,
    )
    config = Idefics3Config(
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": DOCLING_TILE, "patch_size": DOCLING_PATCH},
        text_config={"model_type": "llama", "vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                     "max_position_embeddings": 8192, "pad_token_id": ids["<|end_of_text|>"],
                     "eos_token_id": ids["<|end_of_text|>"], "bos_token_id": ids["<|start_of_role|>"]},
        scale_factor=DOCLING_SCALE,
        image_token_id=ids["<image>"],
        pad_token_id=ids["<|end_of_text|>"],
        tie_word_embeddings=False,
    )  # fmt: skip
    model = Idefics3ForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        eos_token_id=ids["<|end_of_text|>"], pad_token_id=ids["<|end_of_text|>"], bos_token_id=ids["<|start_of_role|>"]
    )
    return _save(out_dir, processor, model, "docling")


# LFM2-VL's tokens: ChatML turns, the picture's start, end and thumbnail marks, a tile's row and column.
_LFM2_VL_TILES = [f"<|img_row_{row}_col_{column}|>" for row in range(1, 11) for column in range(1, 11)]
LFM2_VL_SPECIAL_TOKENS = ["<|pad|>", "<|startoftext|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>",
                          "<|image_start|>", "<|image_end|>", "<|img_thumbnail|>", *_LFM2_VL_TILES]  # fmt: skip
LFM2_VL_TEMPLATE = "{{ bos_token }}" + _chatml_template("<image>", "")


def build_tiny_lfm2_vl(out_dir: Path, seed: int = 0) -> Path:
    """LFM2-VL with the real classes and the processor's own tiling (512 px tiles of 16 px patches, 2 to 10
    tiles and a thumbnail); a SigLIP2 encoder and an LFM2 decoder of one convolution and one attention layer."""
    from transformers import (
        GenerationConfig,
        Lfm2VlConfig,
        Lfm2VlForConditionalGeneration,
        Lfm2VlImageProcessor,
        Lfm2VlProcessor,
        PreTrainedTokenizerFast,
    )

    out_dir = _start(out_dir, seed)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_backend(LFM2_VL_SPECIAL_TOKENS), bos_token="<|startoftext|>", eos_token="<|im_end|>",
        pad_token="<|pad|>",
    )  # fmt: skip
    ids = _token_ids(tokenizer, LFM2_VL_SPECIAL_TOKENS)
    processor = Lfm2VlProcessor(
        image_processor=Lfm2VlImageProcessor(), tokenizer=tokenizer, chat_template=LFM2_VL_TEMPLATE
    )
    config = Lfm2VlConfig(
        vision_config={"model_type": "siglip2_vision_model", "hidden_size": 32, "intermediate_size": 64,
                       "num_hidden_layers": 2, "num_attention_heads": 2, "patch_size": 16, "num_patches": 256},
        text_config={"model_type": "lfm2", "vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                     "max_position_embeddings": 8192, "layer_types": ["conv", "full_attention"],
                     "pad_token_id": ids["<|pad|>"], "bos_token_id": ids["<|startoftext|>"],
                     "eos_token_id": ids["<|im_end|>"]},
        image_token_id=ids["<image>"], projector_hidden_size=64, downsample_factor=2,
    )  # fmt: skip
    model = Lfm2VlForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|pad|>"])
    return _save(out_dir, processor, model, "lfm2_vl")


# Gemma 4's tokens and turns, as its template renders a user turn with a picture and the generation prompt
# with thinking off (an empty thought channel).
GEMMA4_SPECIAL_TOKENS = ["<pad>", "<eos>", "<bos>", "<unk>", "<|turn>", "<turn|>", "<|channel>", "<channel|>",
                         "<|think|>", "<|image>", "<image|>", "<|image|>", "<|video|>", "<|audio>", "<audio|>",
                         "<|audio|>"]  # fmt: skip
GEMMA4_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|turn>{{ 'model' if message['role'] == 'assistant' else message['role'] }}{{ '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] | trim }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}{{ '\n\n<|image|>\n\n' }}"
    "{% elif part['type'] == 'video' %}{{ '\n\n<|video|>\n\n' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] | trim }}{% endif %}{% endfor %}{% endif %}"
    "<turn|>{{ '\n' }}{% endfor %}{% if add_generation_prompt %}<|turn>model{{ '\n' }}"
    "{% if not enable_thinking | default(false) %}<|channel>thought{{ '\n' }}<channel|>{% endif %}{% endif %}"
)


def build_tiny_gemma4(out_dir: Path, seed: int = 0) -> Path:
    """Gemma 4 with the real classes: its processor (image, video and audio front ends; 280 soft tokens a
    picture), a vision tower pooling 3 x 3 patches, a decoder of one sliding and one full attention layer
    with per-layer input embeddings; no audio tower (the dashboard sends none)."""
    from transformers import (
        Gemma4AudioFeatureExtractor,
        Gemma4Config,
        Gemma4ForConditionalGeneration,
        Gemma4ImageProcessor,
        Gemma4Processor,
        Gemma4VideoProcessor,
        GenerationConfig,
        PreTrainedTokenizerFast,
    )

    out_dir = _start(out_dir, seed)
    named = {"image_token": "<|image|>", "boi_token": "<|image>", "eoi_token": "<image|>", "audio_token": "<|audio|>",
             "boa_token": "<|audio>", "eoa_token": "<audio|>"}  # fmt: skip
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_backend(GEMMA4_SPECIAL_TOKENS), bos_token="<bos>", eos_token="<turn|>",
        pad_token="<pad>", unk_token="<unk>", extra_special_tokens=named,
    )  # fmt: skip
    ids = _token_ids(tokenizer, GEMMA4_SPECIAL_TOKENS)
    processor = Gemma4Processor(
        feature_extractor=Gemma4AudioFeatureExtractor(), image_processor=Gemma4ImageProcessor(),
        tokenizer=tokenizer, video_processor=Gemma4VideoProcessor(), chat_template=GEMMA4_TEMPLATE,
    )  # fmt: skip
    config = Gemma4Config(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                     "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
                     "max_position_embeddings": 8192, "sliding_window": 64,
                     "layer_types": ["sliding_attention", "full_attention"],
                     "vocab_size_per_layer_input": len(tokenizer), "hidden_size_per_layer_input": 16,
                     "pad_token_id": ids["<pad>"], "eos_token_id": ids["<turn|>"], "bos_token_id": ids["<bos>"]},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "num_key_value_heads": 2, "head_dim": 16, "patch_size": 16, "pooling_kernel_size": 3,
                       "position_embedding_size": 1024},
        audio_config=None,
        boi_token_id=ids["<|image>"], eoi_token_id=ids["<image|>"], image_token_id=ids["<|image|>"],
        video_token_id=ids["<|video|>"], boa_token_id=ids["<|audio>"], eoa_token_index=ids["<audio|>"],
        audio_token_id=ids["<|audio|>"],
    )  # fmt: skip
    model = Gemma4ForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(eos_token_id=ids["<turn|>"], pad_token_id=ids["<pad>"])
    return _save(out_dir, processor, model, "gemma4")


# LightOnOCR-2 reads Qwen's vocabulary: the picture as <|image_pad|> tokens, rows ended by <|vision_pad|>, the
# picture by <|vision_end|>; its turns are Qwen's ChatML.
LIGHTON_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                          "<|vision_pad|>", "<|image_pad|>"]  # fmt: skip


def build_tiny_lighton_ocr(out_dir: Path, seed: int = 0) -> Path:
    """LightOnOCR-2 with the real classes: its processor with Pixtral's image processor (14 px patches, pages up
    to 1540 px, merged 2 x 2 in the model), a Pixtral encoder and a Qwen3 decoder."""
    from transformers import (
        GenerationConfig,
        LightOnOcrConfig,
        LightOnOcrForConditionalGeneration,
        LightOnOcrProcessor,
        PixtralImageProcessor,
        PreTrainedTokenizerFast,
    )

    out_dir = _start(out_dir, seed)
    named = {"image_token": "<|image_pad|>", "image_break_token": "<|vision_pad|>", "image_end_token": "<|vision_end|>"}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_backend(LIGHTON_SPECIAL_TOKENS), eos_token="<|im_end|>", pad_token="<|endoftext|>",
        extra_special_tokens=named,
    )  # fmt: skip
    ids = _token_ids(tokenizer, LIGHTON_SPECIAL_TOKENS)
    processor = LightOnOcrProcessor(
        image_processor=PixtralImageProcessor(patch_size=14, size={"longest_edge": 1540}),
        tokenizer=tokenizer,
        patch_size=14,
        spatial_merge_size=2,
        chat_template=_chatml_template("<|image_pad|>", ""),
    )
    config = LightOnOcrConfig(
        vision_config={"model_type": "pixtral", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                       "num_attention_heads": 2, "head_dim": 16, "image_size": 1540, "patch_size": 14},
        text_config={"model_type": "qwen3", "vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
                     "max_position_embeddings": 8192, "bos_token_id": ids["<|im_start|>"],
                     "eos_token_id": ids["<|im_end|>"], "pad_token_id": ids["<|endoftext|>"]},
        image_token_id=ids["<|image_pad|>"], spatial_merge_size=2,
    )  # fmt: skip
    model = LightOnOcrForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    return _save(out_dir, processor, model, "lighton_ocr")


# GLM's chat turn as the GLM-OCR checkpoint's template renders a user turn with an image and text and the
# generation prompt: "[gMASK]<sop>", each turn as "<|role|>\n" and its content, the image as its three tokens.
GLM_SPECIAL_TOKENS = ["<|endoftext|>", "[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>",
                      "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>", "<|image|>",
                      "<|begin_of_video|>", "<|end_of_video|>", "<|video|>"]  # fmt: skip
GLM_TEMPLATE = (
    "[gMASK]<sop>{% for message in messages %}<|{{ message['role'] }}|>{{ '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|begin_of_image|><|image|><|end_of_image|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{{ '\n' }}{% endif %}"
)


def build_tiny_glm_ocr(out_dir: Path, seed: int = 0, shape: RealShape | None = None) -> Path:
    """GLM-OCR with the real classes: GlmOcr model and config, the Glm46V processor its checkpoint names (14 px
    patches merged 2 x 2, sizes as pixel counts), GLM's image tokens and M-RoPE on half of each head."""
    from transformers import (
        GenerationConfig,
        Glm46VImageProcessor,
        Glm46VProcessor,
        Glm46VVideoProcessor,
        GlmOcrConfig,
        GlmOcrForConditionalGeneration,
        PreTrainedTokenizerFast,
    )

    out_dir = _start(out_dir, seed)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_backend(GLM_SPECIAL_TOKENS), eos_token="<|user|>", pad_token="<|endoftext|>"
    )
    ids = _token_ids(tokenizer, GLM_SPECIAL_TOKENS)
    shape = shape or RealShape()
    size = shape.size or {"shortest_edge": 28 * 28 * 4, "longest_edge": 28 * 28 * 64}
    processor = Glm46VProcessor(
        image_processor=Glm46VImageProcessor(size=size),  # its defaults are the checkpoint's 14 px, 2 x 2, 2 frames
        tokenizer=tokenizer,
        video_processor=Glm46VVideoProcessor(size=size),
        chat_template=GLM_TEMPLATE,
    )
    config = GlmOcrConfig(
        vision_config={"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
                       "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "image_size": 336,
                       **shape.vision},
        text_config=_merged({"vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128,
                             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                             "head_dim": 16, "max_position_embeddings": 8192,
                             "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                                 "mrope_section": [2, 3, 3], "partial_rotary_factor": 1.0},
                             "pad_token_id": ids["<|endoftext|>"]}, shape.text),
        image_token_id=ids["<|image|>"], video_token_id=ids["<|video|>"],
        image_start_token_id=ids["<|begin_of_image|>"], image_end_token_id=ids["<|end_of_image|>"],
        video_start_token_id=ids["<|begin_of_video|>"], video_end_token_id=ids["<|end_of_video|>"],
        tie_word_embeddings=shape.tied,
    )  # fmt: skip
    model = GlmOcrForConditionalGeneration(config).eval()
    stops = [ids["<|endoftext|>"], ids["<|user|>"], ids["<|observation|>"]]
    model.generation_config = GenerationConfig(eos_token_id=stops, pad_token_id=ids["<|endoftext|>"])
    return _save(out_dir, processor, model, "glm_ocr")


# PaddleOCR-VL's turn as its published template renders it: the images of a user turn first, then its text,
# then a line break; the answer after "Assistant:\n".
PADDLE_SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<|begin_of_sentence|>", "<|end_of_sentence|>", "<|IMAGE_START|>",
                         "<|IMAGE_PLACEHOLDER|>", "<|IMAGE_END|>", "<|video_pad|>"]  # fmt: skip
PADDLE_TEMPLATE = (
    "<|begin_of_sentence|>{% for message in messages %}{% if message['role'] == 'user' %}User: "
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}"
    "<|IMAGE_START|><|IMAGE_PLACEHOLDER|><|IMAGE_END|>{% endif %}{% endfor %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{{ '\n' }}{% elif message['role'] == 'assistant' %}Assistant:{{ '\n' }}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "</s>{% endif %}{% endfor %}{% if add_generation_prompt %}Assistant:{{ '\n' }}{% endif %}"
)


def build_tiny_paddleocr_vl(out_dir: Path, seed: int = 0) -> Path:
    """PaddleOCR-VL with the real classes: its processor and image processor (14 px patches merged 2 x 2),
    a SigLIP-style encoder and an ERNIE-style decoder with M-RoPE; the image token is the tokenizer's own."""
    from transformers import (
        GenerationConfig,
        PaddleOCRVLConfig,
        PaddleOCRVLForConditionalGeneration,
        PaddleOCRVLImageProcessor,
        PaddleOCRVLProcessor,
        PreTrainedTokenizerFast,
    )

    out_dir = _start(out_dir, seed)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_backend(PADDLE_SPECIAL_TOKENS), bos_token="<s>", eos_token="</s>",
        pad_token="<unk>", unk_token="<unk>", extra_special_tokens={"image_token": "<|IMAGE_PLACEHOLDER|>"},
    )  # fmt: skip
    ids = _token_ids(tokenizer, PADDLE_SPECIAL_TOKENS)
    size = {"shortest_edge": 28 * 28 * 4, "longest_edge": 28 * 28 * 64}
    processor = PaddleOCRVLProcessor(
        image_processor=PaddleOCRVLImageProcessor(size=size), tokenizer=tokenizer, chat_template=PADDLE_TEMPLATE
    )
    config = PaddleOCRVLConfig(
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 56, "patch_size": 14, "spatial_merge_size": 2},
        text_config={"vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                     "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
                     "max_position_embeddings": 8192,
                     "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0, "mrope_section": [2, 3, 3]},
                     "pad_token_id": ids["<unk>"], "bos_token_id": ids["<s>"], "eos_token_id": ids["</s>"]},
        image_token_id=ids["<|IMAGE_PLACEHOLDER|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|IMAGE_START|>"], vision_end_token_id=ids["<|IMAGE_END|>"],
    )  # fmt: skip
    model = PaddleOCRVLForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(eos_token_id=ids["</s>"], pad_token_id=ids["<unk>"])
    return _save(out_dir, processor, model, "paddleocr_vl")


BUILDERS = {
    "smolvlm": build_tiny_smolvlm,
    "qwen2_5_vl": build_tiny_qwen2_5_vl,
    "qwen3_vl": build_tiny_qwen3_vl,
    "qwen3_5": build_tiny_qwen3_5,
    "internvl": build_tiny_internvl,
    "florence2": build_tiny_florence2,
    "docling": build_tiny_docling,
    "lfm2_vl": build_tiny_lfm2_vl,
    "gemma4": build_tiny_gemma4,
    "glm_ocr": build_tiny_glm_ocr,
    "paddleocr_vl": build_tiny_paddleocr_vl,
    "lighton_ocr": build_tiny_lighton_ocr,
}


# The published configs of the new families' smallest checkpoints (their config.json and preprocessor_config.json):
# Qwen/Qwen3-VL-2B-Instruct, Qwen/Qwen3.5-0.8B, zai-org/GLM-OCR.
REAL_SHAPES: dict[str, tuple[str, RealShape]] = {
    "qwen3-vl-2b": ("qwen3_vl", RealShape(
        text={"vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 6144, "num_hidden_layers": 28,
              "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
              "rope_parameters": {"rope_theta": 5000000.0, "mrope_section": [24, 20, 20]}},
        vision={"depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_heads": 16, "out_hidden_size": 2048,
                "num_position_embeddings": 2304, "deepstack_visual_indexes": [5, 11, 17]},
        size={"shortest_edge": 65536, "longest_edge": 16777216}, tied=True)),
    "qwen3.5-0.8b": ("qwen3_5", RealShape(
        text={"vocab_size": 248320, "hidden_size": 1024, "intermediate_size": 3584, "num_hidden_layers": 24,
              "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 256, "linear_num_key_heads": 16,
              "linear_num_value_heads": 16, "linear_key_head_dim": 128, "linear_value_head_dim": 128,
              "layer_types": ["linear_attention"] * 3 + ["full_attention"],
              "rope_parameters": {"rope_theta": 10000000.0, "mrope_section": [11, 11, 10]}},
        vision={"depth": 12, "hidden_size": 768, "intermediate_size": 3072, "num_heads": 12, "out_hidden_size": 1024,
                "num_position_embeddings": 2304},
        size={"shortest_edge": 65536, "longest_edge": 16777216}, tied=True)),
    "glm-ocr": ("glm_ocr", RealShape(
        text={"vocab_size": 59392, "hidden_size": 1536, "intermediate_size": 4608, "num_hidden_layers": 16,
              "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
              "rope_parameters": {"mrope_section": [16, 24, 24]}},
        vision={"depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_heads": 16, "out_hidden_size": 1536},
        size={"shortest_edge": 12544, "longest_edge": 9633792})),
}  # fmt: skip


def build_real_shape(name: str, out_dir: Path, seed: int = 0) -> Path:
    family, shape = REAL_SHAPES[name]
    if family == "qwen3_5":  # its layers repeat three linear-attention layers and a full one
        layers = shape.text["num_hidden_layers"]
        shape = replace(shape, text={**shape.text, "layer_types": (shape.text["layer_types"] * layers)[:layers]})
    builder = {"qwen3_vl": build_tiny_qwen3_vl, "qwen3_5": build_tiny_qwen3_5, "glm_ocr": build_tiny_glm_ocr}[family]
    return builder(out_dir, seed=seed, shape=shape)


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
