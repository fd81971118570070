"""OCR with Tesseract in a real browser: the .txt, the boxes JSON and the searchable PDF, downloaded."""

from __future__ import annotations

import json
import re

import pypdfium2 as pdfium
import pytest

from core.lab.metrics import cer
from tests.e2e.browser import download, go_to, upload, wait_idle
from tests.text_pages import MIXED_LINES, render_lines

pytestmark = pytest.mark.e2e


def test_tesseract_text_boxes_and_searchable_pdf(page, server_url, tmp_path):
    picture = tmp_path / "invoice.png"
    render_lines().save(picture)
    upload(page, server_url, picture, "1200×420 px")
    go_to(page, "OCR", "OCR")
    page.get_by_text("Tesseract (Russian + English)").click()
    wait_idle(page)
    page.get_by_role("button", name="Extract text").click()
    page.get_by_text(re.compile(r"^Done in [\d.]+ s")).wait_for()
    wait_idle(page)

    text_file = download(page, "Download .txt", tmp_path)
    assert re.fullmatch(r"ocr_result_\d{8}_\d{6}\.txt", text_file.name)
    assert cer("\n".join(MIXED_LINES), text_file.read_text(encoding="utf-8")) <= 0.02

    page.get_by_text("Show text boxes").click()
    page.get_by_role("button", name="Download JSON of words and boxes").wait_for()
    wait_idle(page)
    boxes = json.loads(download(page, "Download JSON of words and boxes", tmp_path).read_text(encoding="utf-8"))
    assert boxes["image"] == {"name": "invoice.png", "width": 1200, "height": 420}
    assert [line["text"] for line in boxes["lines"]][0].startswith("Счёт на оплату")
    for line in boxes["lines"]:
        x1, y1, x2, y2 = line["box"]
        assert 0 <= x1 < x2 <= 1200 and 0 <= y1 < y2 <= 420
    png = download(page, "Download the image with boxes", tmp_path)
    assert re.fullmatch(r"ocr_boxes_\d{8}_\d{6}\.png", png.name)

    page.get_by_role("button", name="Make a searchable PDF").click()
    pdf_file = download(page, "Download the searchable PDF", tmp_path)
    assert re.fullmatch(r"ocr_\d{8}_\d{6}\.pdf", pdf_file.name)
    text_layer = pdfium.PdfDocument(pdf_file.read_bytes())[0].get_textpage().get_text_range()
    assert "Invoice" in text_layer and "Итого" in text_layer
    assert page.locator('[data-testid="stException"]').count() == 0
