from __future__ import annotations

import json

import pytest

from core.engines.base import Engine
from core.engines.types import Capability, UnknownModel
from core.families import FAMILIES
from core.registry import CATALOGUE, choices, create_engine, family_of, find_card
from core.settings import Settings

# The OCR specialists (Tesseract, the document readers) only read; the document converters only convert pages.
MODELS = [card for card in CATALOGUE if card.family != "docling" and not FAMILIES[card.family].ocr_specialist]
CONVERTERS = [card for card in CATALOGUE if card.family == "docling"]
SPECIALISTS = [card for card in CATALOGUE if FAMILIES[card.family].ocr_specialist]


@pytest.mark.parametrize("card", MODELS, ids=lambda card: card.title)
def test_catalogue_models_are_known_with_sizes_and_abilities(card):
    assert find_card(card.model_id) is card
    assert card.params_millions
    assert card.can(Capability.OCR) and card.can(Capability.REGION)
    # SmolVLM2 cannot ground reliably, LFM2-VL and Gemma 4 document no box format; the grounding families can.
    # Florence-2 takes tasks, not chat.
    assert card.can(Capability.GROUNDING) is (card.family not in ("smolvlm", "lfm2_vl", "gemma4"))
    assert card.can(Capability.CHAT) is (card.family != "florence2")
    assert card.can(Capability.VIDEO) is (card.family in ("smolvlm", "qwen3_vl", "qwen3_5", "gemma4"))


@pytest.mark.parametrize(
    ("model_type", "family"),
    [
        ("smolvlm", "smolvlm"),
        ("qwen2_5_vl", "qwen2_5_vl"),
        ("internvl", "internvl"),
        ("florence2", "florence2"),
        ("qwen3_vl", "qwen3_vl"),
        ("qwen3_5", "qwen3_5"),
        ("lfm2_vl", "lfm2_vl"),
        ("gemma4", "gemma4"),
        ("glm_ocr", "glm_ocr"),
        ("paddleocr_vl", "paddleocr_vl"),
        ("lighton_ocr", "lighton_ocr"),
    ],  # fmt: skip
)
def test_local_directories_of_every_family(tmp_path, model_type, family):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}), encoding="utf-8")
    assert find_card(str(tmp_path)).family == family


@pytest.mark.parametrize("card", SPECIALISTS, ids=lambda card: card.title)
def test_ocr_specialists_read_and_at_most_convert(card):
    assert find_card(card.model_id) is card and card.can(Capability.OCR)
    assert card.capabilities <= {Capability.OCR, Capability.CONVERT}
    assert not FAMILIES[card.family].in_picker


@pytest.mark.parametrize("card", CONVERTERS, ids=lambda card: card.title)
def test_document_converters_only_convert(card):
    assert find_card(card.model_id) is card and card.params_millions
    assert card.capabilities == {Capability.CONVERT}


@pytest.mark.parametrize(
    ("folder", "family"), [("granite-docling-258M", "docling"), ("SmolVLM-256M-Instruct", "smolvlm"), ("x", "smolvlm")]
)
def test_an_idefics3_directory_is_a_converter_only_when_named_so(tmp_path, folder, family):
    (tmp_path / folder).mkdir()
    (tmp_path / folder / "config.json").write_text(json.dumps({"model_type": "idefics3"}), encoding="utf-8")
    assert find_card(str(tmp_path / folder)).family == family


def test_local_directory_is_recognised_by_its_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "smolvlm"}), encoding="utf-8")
    card = find_card(str(tmp_path))
    assert card.family == "smolvlm"
    assert card.title == tmp_path.name


def test_unknown_model_raises_one_clear_error(tmp_path):
    with pytest.raises(UnknownModel) as caught:
        find_card("someone/some-llm")
    assert caught.value.params["model"] == "someone/some-llm"


def test_creating_an_engine_reads_no_weights(tmp_path):
    engine = create_engine("HuggingFaceTB/SmolVLM2-256M-Video-Instruct", Settings(hf_home=tmp_path, device="cpu"))
    assert isinstance(engine, Engine)
    assert not engine.loaded


def test_choices_put_the_active_model_first_then_local_extras():
    ids = choices("/models/mine", extra=("/models/other", "/models/mine"))
    assert ids[:2] == ["/models/mine", "/models/other"]
    assert set(ids[2:]) == {card.model_id for card in MODELS}  # the picker offers chat models only
    assert choices(CATALOGUE[1].model_id).count(CATALOGUE[1].model_id) == 1


def test_every_family_module_is_collected_with_its_catalogue():
    import importlib
    import pkgutil

    import core.families

    modules = [
        importlib.import_module(f"core.families.{info.name}") for info in pkgutil.iter_modules(core.families.__path__)
    ]
    defined = {module.FAMILY.name for module in modules if hasattr(module, "FAMILY")}
    assert set(FAMILIES) == defined and {"smolvlm", "qwen3_vl", "tesseract"} <= defined
    assert {card.family for card in CATALOGUE} == set(FAMILIES)
    for name, family in FAMILIES.items():
        assert family.name == name and family.abilities
        assert family.model_types or name == "tesseract"  # no checkpoint, so no config.json model_type
        assert all(card.family == name and card.capabilities == family.abilities for card in family.catalogue)
        assert family_of(family.catalogue[0]) is family


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("someone/SmolVLM2-custom", "smolvlm"),
        ("org/Qwen2.5-VL-7B-Instruct", "qwen2_5_vl"),
        ("org/InternVL3-2B-HF", "internvl"),
        ("org/Florence-2-base-ft", "florence2"),
    ],
)
def test_hub_ids_outside_the_catalogue_are_recognised_by_name(model_id, family):
    card = find_card(model_id)
    assert card.family == family and card.params_millions is None
    assert card.capabilities == FAMILIES[family].abilities
