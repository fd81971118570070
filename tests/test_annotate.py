from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from PIL import Image

from core.annotate import annotate, colour_for, line_width, png_bytes, report, report_json
from core.boxes import Box
from core.grounding import Detection


@pytest.mark.parametrize("background", ["white", "black"])
def test_boxes_are_drawn_in_the_label_colour_on_light_and_dark(background):
    image = Image.new("RGB", (400, 300), background)
    detections = [Detection("cat", Box(50, 60, 200, 250)), Detection("car", Box(250, 20, 390, 120), 0.87)]
    drawn = annotate(image, detections)
    assert drawn.size == image.size and drawn is not image
    assert image.getpixel((50, 150)) == Image.new("RGB", (1, 1), background).getpixel((0, 0))  # original untouched
    assert drawn.getpixel((50, 150)) == colour_for("cat")  # left edge of the cat's box
    assert drawn.getpixel((389, 70)) == colour_for("car")  # right edge of the car's box
    assert drawn.getpixel((125, 155)) == image.getpixel((125, 155))  # inside stays as it was


def test_no_detections_leaves_the_picture_as_it_was():
    image = Image.new("RGB", (64, 64), "gray")
    assert annotate(image, []).tobytes() == image.tobytes()


def test_colour_is_stable_per_label_and_case_insensitive():
    assert colour_for("Cat") == colour_for("cat")


@pytest.mark.parametrize(("size", "width"), [((300, 200), 2), ((1600, 1200), 4), ((4000, 3000), 10)])
def test_line_width_scales_with_the_image(size, width):
    assert line_width(*size) == width


def test_png_decodes_to_the_original_size():
    image = Image.new("RGB", (321, 123), "white")
    decoded = Image.open(io.BytesIO(png_bytes(annotate(image, [Detection("x", Box(1, 1, 100, 100))]))))
    assert decoded.format == "PNG" and decoded.size == (321, 123)


def test_report_has_every_field_in_original_pixels():
    when = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    data = report(
        image_name="street.jpg", width=800, height=600, model="tiny", query="cat, car",
        detections=[Detection("cat", Box(1, 2, 3, 4), 0.5)], raw_output="<ref>cat</ref>", elapsed_s=1.23456,
        created_at=when,
    )  # fmt: skip
    assert json.loads(report_json(data)) == {
        "image": {"name": "street.jpg", "width": 800, "height": 600},
        "model": "tiny",
        "query": "cat, car",
        "detections": [{"label": "cat", "box": [1, 2, 3, 4], "score": 0.5}],
        "raw_output": "<ref>cat</ref>",
        "elapsed_s": 1.235,
        "created_at": "2026-11-23T12:00:00+00:00",
    }


def test_report_keeps_cyrillic_readable():
    data = report(image_name="кот.jpg", width=1, height=1, model="m", query="кот", detections=[], raw_output="",
                  elapsed_s=0)  # fmt: skip
    assert "кот" in report_json(data).decode("utf-8")
