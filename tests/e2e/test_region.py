"""Region in a real browser: drag a box on the canvas, type one, see errors, describe it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import image_bytes
from tests.e2e.browser import choose_language, go_to, main_uploader, upload, wait_idle

pytestmark = pytest.mark.e2e

IMAGE = (1600, 1200)  # larger than the 500 x 375 canvas it is shown on
_CANVAS = '[class*="st-key-region_canvas"] canvas.upper-canvas'


def _region_page(page, server_url, tmp_path):
    picture = tmp_path / "scene.png"
    picture.write_bytes(image_bytes(IMAGE, "darkgreen"))
    upload(page, server_url, picture, "1600×1200 px")
    go_to(page, "Region", "Region")
    page.locator(_CANVAS).wait_for()


def _selected(page) -> tuple[int, int, int, int]:
    text = page.get_by_text(re.compile(r"^Selected region:")).inner_text()
    return tuple(int(value) for value in re.search(r"(\d+),(\d+),(\d+),(\d+)", text).groups())


def test_drag_a_rectangle_maps_to_original_pixels(page, server_url, tmp_path):
    _region_page(page, server_url, tmp_path)
    canvas = page.locator(_CANVAS)
    bounds = canvas.bounding_box()
    scale = bounds["width"] / IMAGE[0]  # canvas pixels per original pixel, as laid out on screen
    start, end = (100, 80), (400, 300)  # canvas pixels
    page.mouse.move(bounds["x"] + start[0], bounds["y"] + start[1])
    page.mouse.down()
    page.mouse.move(bounds["x"] + (start[0] + end[0]) / 2, bounds["y"] + (start[1] + end[1]) / 2, steps=5)
    page.mouse.move(bounds["x"] + end[0], bounds["y"] + end[1], steps=5)
    page.mouse.up()
    page.get_by_text(re.compile(r"^Selected region:")).wait_for()
    wait_idle(page)
    expected = (start[0] / scale, start[1] / scale, end[0] / scale, end[1] / scale)
    shown = _selected(page)
    assert all(abs(got - want) <= 2 for got, want in zip(shown, expected, strict=True)), (shown, expected)
    # The typed field follows the drawing, so the last box entered is what the field says.
    assert page.get_by_role("textbox", name=re.compile("Coordinates")).input_value() == ",".join(map(str, shown))

    page.get_by_role("button", name="Describe the region").click()
    page.locator('[data-testid="stChatMessage"]').nth(1).get_by_text("tokens").wait_for()
    wait_idle(page)
    assert page.get_by_text("What the model sees").is_visible()


def test_typed_box_is_drawn_and_wins(page, server_url, tmp_path):
    _region_page(page, server_url, tmp_path)
    field = page.get_by_role("textbox", name=re.compile("Coordinates"))
    field.fill("400, 300, 1200, 900")
    field.press("Enter")
    page.get_by_text(re.compile(r"^Selected region:")).wait_for()
    wait_idle(page)
    assert _selected(page) == (400, 300, 1200, 900)
    # The typed box is painted on the canvas: its outline colour appears where the box's edge is.
    canvas = page.locator('[class*="st-key-region_canvas"] canvas.dc-canvas.lower-canvas')
    # The typed box re-keys the canvas: for a moment the old one is still in the page beside the new one.
    expect(canvas).to_have_count(1, timeout=30_000)
    bounds = canvas.bounding_box()
    scale = bounds["width"] / IMAGE[0]
    # The canvas sits in the component's shadow root, which the locator (not document.querySelector) reaches.
    for x in (400, 1200):  # the left and the right edge of the typed box, both on screen
        pixel = canvas.evaluate(
            """(canvas, [x, y]) => {
                const ratio = canvas.width / canvas.getBoundingClientRect().width;
                const context = canvas.getContext('2d');
                return Array.from(context.getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data);
            }""",
            [x * scale, 600 * scale],
        )
        red, green, _, alpha = pixel
        assert red > 150 and green < 100 and alpha > 100, f"expected the box outline at x={x}, got {pixel}"


def test_ocr_and_region_in_russian(page, canned_docling_url, tmp_path):
    server_url = canned_docling_url  # its chat model answers OCR with CANNED_OCR, after really running
    picture = tmp_path / "документ.png"
    picture.write_bytes(image_bytes((900, 600), "white"))
    page.goto(server_url)
    wait_idle(page)
    choose_language(page, "Русский")
    main_uploader(page).set_input_files(str(picture))
    page.get_by_text("900×600 px").wait_for()
    wait_idle(page)

    go_to(page, "OCR", "OCR")
    page.get_by_text("Язык текста").wait_for()
    page.get_by_text("Русский", exact=True).last.click()
    wait_idle(page)
    page.get_by_role("button", name="Распознать текст").click()
    page.get_by_text(re.compile(r"^Готово за [\d.]+ с")).wait_for()
    wait_idle(page)
    # The model's chatter around the transcription is gone; the text itself is there to edit and download.
    page.get_by_role("button", name="Скачать .txt").wait_for()
    assert page.get_by_role("textbox", name=re.compile("^Распознанный текст")).input_value() == (
        "Счёт № 42 от 03.03.2026\nИтого: 1 234,56 ₽"
    )

    go_to(page, "Область", "Region")
    field = page.get_by_role("textbox", name=re.compile("Координаты"))
    field.fill("10,20,30")
    field.press("Enter")
    page.get_by_text("Нужно ровно четыре числа").wait_for()
    field.fill("100,100,500,400")
    field.press("Enter")
    page.get_by_text(re.compile(r"^Выбранная область:")).wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Описать область").click()
    page.locator('[data-testid="stChatMessage"]').nth(1).get_by_text("ток.").wait_for()
