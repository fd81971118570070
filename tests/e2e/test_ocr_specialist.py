"""A document specialist on the OCR page in a real browser: GLM-OCR reads a table (its answer canned at the text
boundary), the page shows it as a table with the hostile cell literal, and the Markdown downloads as .md."""

from __future__ import annotations

import re

import pytest

from tests.conftest import image_bytes
from tests.e2e.browser import go_to, upload, wait_idle

pytestmark = pytest.mark.e2e


def test_glm_ocr_table_shown_as_a_table_and_downloaded(page, canned_docling_url, tmp_path):
    picture = tmp_path / "invoice.png"
    picture.write_bytes(image_bytes((600, 400), "white"))
    upload(page, canned_docling_url, picture, "600×400 px")
    go_to(page, "OCR", "OCR")
    page.get_by_text("glm_ocr", exact=True).click()  # the tiny GLM-OCR's folder name is its engine label
    wait_idle(page)
    page.get_by_text("Table", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="Extract text").click()
    page.get_by_text(re.compile(r"^Done in [\d.]+ s")).wait_for()
    wait_idle(page)

    table = page.locator('[data-testid="stTable"]')
    table.wait_for()
    assert table.locator("th").all_inner_texts() == ["Товар", "Сумма"]
    assert table.locator("td").all_inner_texts() == ["Бумага A4", "1 234,56", ":red[Итого]", "1 234,56"]
    assert table.locator('span[style*="color"]').count() == 0  # no coloured text planted by the model

    page.get_by_role("tab", name="Markdown").click()
    editor = page.locator('[data-testid="stTextArea"] textarea')
    assert editor.input_value().startswith("| Товар | Сумма |")
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download .md").click()
    download = caught.value
    assert re.fullmatch(r"ocr_result_\d{8}_\d{6}\.md", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_text(encoding="utf-8") == editor.input_value()
