"""A follow-up about the same picture gets the image processor's tiles without computing them again."""

from __future__ import annotations

import torch
from PIL import Image, ImageDraw

from core.engines.pixels import RememberedPixels
from core.engines.types import ChatMessage, GenerationRequest, Role
from core.registry import create_engine
from core.settings import Settings


def _picture(colour: str) -> Image.Image:
    image = Image.new("RGB", (640, 480), "gray")
    ImageDraw.Draw(image).ellipse((100, 80, 500, 400), fill=colour)
    return image


def _ask(picture: Image.Image, question: str, tiles: int) -> GenerationRequest:
    return GenerationRequest((ChatMessage(Role.USER, question, (picture,)),), max_tiles=tiles)


def test_the_same_picture_is_cut_once_and_gives_the_same_inputs(tiny_smolvlm, tmp_path):
    engine = create_engine(str(tiny_smolvlm), Settings(allow_download=False, hf_home=tmp_path, device="cpu"))
    engine.load()
    orange = _picture("orange")
    first = engine.build_inputs(_ask(orange, "What is this?", 4)).tensors
    remembered = engine._processor.image_processor
    assert isinstance(remembered, RememberedPixels) and remembered.computed == 1

    again = engine.build_inputs(_ask(orange, "And the colours?", 4)).tensors
    assert remembered.computed == 1  # handed out again
    plain = remembered._inner  # what the processor computes without remembering
    engine._processor.image_processor = plain
    try:
        fresh = engine.build_inputs(_ask(orange, "And the colours?", 4)).tensors
    finally:
        engine._processor.image_processor = remembered
    assert set(again) == set(fresh)
    for name, value in fresh.items():
        assert torch.equal(again[name], value), name
    assert torch.equal(first["pixel_values"], again["pixel_values"])

    engine.build_inputs(_ask(orange, "What is this?", 1))  # another tile budget: other tiles
    engine.build_inputs(_ask(_picture("navy"), "What is this?", 4))  # another picture
    assert remembered.computed == 3


def test_only_a_few_pictures_are_kept():
    calls: list[int] = []

    def inner(images, **kwargs):
        calls.append(images)
        return {"pixel_values": images}

    remembered = RememberedPixels(inner, kept=2)
    for key in ("a", "b", "c", "a"):
        with remembered.remembering(key):
            remembered(key)
    assert calls == ["a", "b", "c", "a"]  # "a" was pushed out by "c"
    with remembered.remembering("c"):
        assert remembered("c") == {"pixel_values": "c"}
    assert remembered.computed == 4
    assert remembered("unnamed") == {"pixel_values": "unnamed"} and remembered.computed == 5  # no key: not kept
