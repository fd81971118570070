"""The Docling family: told apart from SmolVLM, its own processor settings, DocTags kept through real generate."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from PIL import Image
from transformers import AutoProcessor

from core.doctags import Conversion, ConvertedPage
from core.engines.types import Capability
from core.families.docling import CONVERT_PROMPT, GRANITE_DOCLING_ID
from core.registry import converters, create_engine, find_card
from core.settings import load_settings
from core.tasks import convert as convert_task
from core.tiny_models import DOCLING_IMAGE_SEQ_LEN

_DOCTAG = re.compile(r"<(?:loc_\d+|/?(?:doctag|text|otsl|fcel|ecel|nl|ched|list_item|picture|caption|title)|_\w+_)>")


def _settings(tmp_path, **extra):
    return load_settings({"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "MODEL_QUANT": "none", **extra},
                         dotenv_path=None)  # fmt: skip


def test_both_checkpoints_are_in_the_catalogue_as_converters_and_not_in_the_chat_picker(tmp_path):
    for model_id in (GRANITE_DOCLING_ID, "ds4sd/SmolDocling-256M-preview"):
        card = find_card(model_id)
        assert card.family == "docling" and card.capabilities == {Capability.CONVERT}
    assert converters(_settings(tmp_path))[:2] == [GRANITE_DOCLING_ID, "ds4sd/SmolDocling-256M-preview"]
    assert converters(_settings(tmp_path, DOCLING_MODEL="/models/mine-docling"))[0] == "/models/mine-docling"
    from core.registry import choices

    assert GRANITE_DOCLING_ID not in choices("some/model")


def test_an_idefics3_folder_is_docling_only_when_its_name_says_so(tiny_docling, tmp_path):
    assert json.loads((tiny_docling / "config.json").read_text())["model_type"] == "idefics3"
    assert find_card(str(tiny_docling)).family == "docling"
    renamed = shutil.copytree(tiny_docling, tmp_path / "plain-idefics3")
    assert find_card(str(renamed)).family == "smolvlm"


def test_the_tiny_builder_saves_the_real_processor_settings_and_the_doctags_vocabulary(tiny_docling):
    from docling_core.types.doc.tokens import DocumentToken

    processor = AutoProcessor.from_pretrained(tiny_docling, local_files_only=True)
    assert type(processor).__name__ == "Idefics3Processor"
    assert processor.image_seq_len == DOCLING_IMAGE_SEQ_LEN == 64
    assert processor.image_processor.max_image_size == {"longest_edge": 512}
    assert processor.image_processor.size == {"longest_edge": 2048}
    tokenizer = processor.tokenizer
    for token in DocumentToken.get_special_tokens():
        ids = tokenizer.encode(token, add_special_tokens=False)
        assert len(ids) == 1 and tokenizer.decode(ids, skip_special_tokens=False) == token, token


@pytest.fixture(scope="module")
def engine(tiny_docling, tmp_path_factory):
    engine = create_engine(str(tiny_docling), _settings(tmp_path_factory.mktemp("docling")))
    engine.load()
    yield engine
    engine.unload()


def test_a_page_goes_in_at_the_checkpoints_tile_size_with_its_own_prompt(engine):
    """An A4 page at 100 dpi (827 x 1169) is scaled to 2048 px on its long side, padded up to whole 512 px
    tiles (3 x 4), and the whole page is added: 13 passes of 64 image tokens each."""
    page = Image.new("RGB", (827, 1169), "white")
    request = convert_task.build(_family(), page, 8)
    prepared = engine.build_inputs(request)
    assert prepared.vision_passes == 13
    image_id = engine._processor.tokenizer.convert_tokens_to_ids("<image>")
    assert int((prepared.tensors["input_ids"] == image_id).sum()) == 13 * 64
    text = engine._processor.tokenizer.decode(prepared.tensors["input_ids"][0])
    assert CONVERT_PROMPT in text and text.endswith("<|start_of_role|>assistant<|end_of_role|>")


def _family():
    from core.families import family_named

    return family_named("docling")


def test_the_answer_keeps_its_doctags_tokens_and_converts(engine):
    """Greedy decoding twice: with special tokens kept the markup is there, skipped it is gone."""
    page = Image.new("RGB", (600, 800), "white")
    kept = "".join(engine.stream(convert_task.build(_family(), page, 40)))
    request = convert_task.build(_family(), page, 40)
    from dataclasses import replace

    skipped = "".join(engine.stream(replace(request, keep_special_tokens=False)))
    assert _DOCTAG.search(kept), kept
    assert not _DOCTAG.search(skipped), skipped
    conversion = Conversion([ConvertedPage(kept, page)])
    assert isinstance(conversion.markdown(), str)


def test_a_converter_takes_one_page_image(engine):
    from core.engines.types import ChatMessage, GenerationRequest, Role

    page = Image.new("RGB", (100, 100))
    with pytest.raises(ValueError, match="one page"):
        engine.build_inputs(GenerationRequest((ChatMessage(Role.USER, CONVERT_PROMPT, (page, page)),)))


@pytest.mark.parametrize("vision_bf16", ["no", "yes"])
def test_int8_on_the_cpu_quantizes_the_converter_and_it_still_writes_doctags(tiny_docling, tmp_path, vision_bf16):
    import torch

    from core.engines.vision_layers import fused_products_available, is_fused
    from core.serving import ServingCore

    serving = ServingCore(_settings(tmp_path, MODEL_QUANT="int8", MODEL_DEVICE="cpu", VISION_BF16=vision_bf16))
    try:
        client = serving.client(str(tiny_docling), "me")
        assert client.runtime.quantization == "int8" and client.load()
        model = serving.pool.engine(client.model_id)._model  # type: ignore[attr-defined]
        float_layers = {name for name, module in model.named_modules() if type(module) is torch.nn.Linear}
        if vision_bf16 == "no":
            assert not float_layers
        else:  # the vision encoder's layers in bf16 (its own test: tests/engines/test_quantization.py), the rest int8
            assert float_layers and all(name.startswith("model.vision_model.encoder.") for name in float_layers)
            layers = model.model.vision_model.encoder.layers  # Idefics3's SigLIP layers, fused like SmolVLM's
            assert all(map(is_fused, layers)) is fused_products_available()
        outcome = client.generate(convert_task.build(_family(), Image.new("RGB", (400, 500), "white"), 24))
        assert outcome.error is None and outcome.stats.new_tokens == 24 and _DOCTAG.search(outcome.text)
    finally:
        serving.close()
