"""Tesseract through the engine Protocol and the serving core: real text, real binary, real boxes."""

from __future__ import annotations

import pytest
from PIL import Image

from core.engines import tesseract as tesseract_module
from core.engines.tesseract import OcrPage, TesseractMissing, check_installed, prepare, recognise
from core.families import FAMILIES
from core.lab.metrics import cer
from core.registry import choices, create_engine
from core.serving import ServingCore
from core.settings import Settings
from core.tasks import ocr as ocr_task
from core.tasks.ocr import OcrParams
from tests.text_pages import LEFT, LINE_STEP, MIXED_LINES, TOP, render_lines


def test_mixed_russian_and_english_page_through_the_serving_core(tmp_path):
    page = render_lines()
    core = ServingCore(Settings(hf_home=tmp_path, device="cpu", allow_download=False))
    try:
        client = core.client("tesseract", "alice")
        request = ocr_task.build(FAMILIES["tesseract"], page, OcrParams("auto", 512, 1))
        outcome = client.generate(request)
    finally:
        core.close()
    assert outcome.error is None
    assert cer("\n".join(MIXED_LINES), outcome.text) <= 0.02
    structured = outcome.text_layout
    assert isinstance(structured, OcrPage) and len(structured.lines) == len(MIXED_LINES)
    for number, line in enumerate(structured.lines):  # each line's box is where it was drawn
        assert 0 <= line.box.x1 <= LEFT + 5 and line.box.x2 <= page.width
        top = TOP + number * LINE_STEP
        assert top - 5 <= line.box.y1 <= top + 15 and line.box.y2 <= top + 45
        assert 0 <= line.confidence <= 100
    assert all(word.box.x2 <= page.width and word.box.y2 <= page.height for word in structured.words)
    assert {word.line for word in structured.words} == set(range(len(MIXED_LINES)))


@pytest.mark.parametrize(("hint", "languages"), [("auto", "rus+eng"), ("ru", "rus"), ("en", "eng")])
def test_the_language_hint_picks_tesseracts_languages(hint, languages):
    assert FAMILIES["tesseract"].ocr_prompt(hint) == languages


def test_small_or_transparent_pictures_are_prepared_and_boxes_come_back_in_original_pixels():
    small = render_lines(MIXED_LINES[:1], size=(600, 60), px=15)
    prepared, scale = prepare(small.convert("RGBA"))
    assert prepared.mode == "L" and scale == pytest.approx(1600 / 600)
    page = recognise(small, "rus+eng")
    assert cer(MIXED_LINES[0], page.text) <= 0.05
    (line,) = page.lines
    assert line.box.x2 <= 600 and line.box.y2 <= 60  # mapped back from the enlarged picture


def test_a_blank_page_has_no_text():
    page = recognise(Image.new("RGB", (800, 600), "white"))
    assert page.text == "" and page.words == []


def test_a_missing_language_pack_names_the_package_to_install(monkeypatch):
    monkeypatch.setattr(tesseract_module, "installed_languages", lambda: {"eng", "osd"})
    with pytest.raises(TesseractMissing) as caught:
        check_installed("rus+eng")
    assert caught.value.key == "tesseract.missing"
    assert caught.value.params["command"] == "sudo apt-get install tesseract-ocr-rus"
    monkeypatch.setattr(tesseract_module, "installed_languages", lambda: None)
    with pytest.raises(TesseractMissing) as binary:
        create_engine("tesseract", Settings()).load()
    assert "tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng" in binary.value.params["command"]


def test_tesseract_is_not_offered_as_a_chat_model():
    assert "tesseract" not in choices("HuggingFaceTB/SmolVLM2-256M-Video-Instruct")
