"""Documents to Markdown in a real browser: a whole PDF converted, its tables drawn, the three downloads and the
layout image saved and opened; and Stop in the middle of a PDF keeps the pages already done."""

from __future__ import annotations

import io
import json
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from core.doctags import load_json
from core.documents import open_pdf, render_page
from core.lab.metrics import markdown_tables
from tests.e2e.browser import download, go_to, upload, wait_idle

pytestmark = pytest.mark.e2e

CANNED_PAGE = (
    "<doctag><section_header_level_1><loc_50><loc_20><loc_450><loc_40>Invoice {page}</section_header_level_1>"
    "<text><loc_50><loc_50><loc_450><loc_70>Paid by card.</text>"
    "<otsl><loc_50><loc_120><loc_450><loc_300><ched>Item<ched>Qty<ched>Price<nl>"
    "<fcel>Pen<fcel>2<fcel>1.50<nl><fcel>Cup<fcel>1<fcel>4.00<nl></otsl>"
    "<text><loc_50><loc_320><loc_450><loc_340>Thank you for your bus"
)
TABLE = [["Item", "Qty", "Price"], ["Pen", "2", "1.50"], ["Cup", "1", "4.00"]]


def _pdf(path, pages: int, size=(600, 800)) -> None:
    pictures = [Image.new("RGB", size, "white") for _ in range(pages)]
    pictures[0].save(path, "PDF", resolution=72.0, save_all=True, append_images=pictures[1:])


def _structured(page) -> None:
    go_to(page, "OCR", "OCR")
    page.get_by_text("Structured (Markdown)").click()
    wait_idle(page)


def test_a_whole_pdf_to_markdown_with_its_tables_layout_and_downloads(page, canned_docling_url, tmp_path):
    document = tmp_path / "invoices.pdf"
    _pdf(document, 2)
    upload(page, canned_docling_url, document, "invoices.pdf [1/2]")
    _structured(page)
    page.get_by_role("button", name="All 2 pages").click()
    page.get_by_text(re.compile(r"^Pages: 2 · ")).wait_for(timeout=120_000)
    wait_idle(page)

    cells = page.locator('[data-testid="stMarkdown"] table').first.locator("td").all_inner_texts()
    assert cells[:3] == ["Pen", "2", "1.50"]

    markdown_file = download(page, "Download .md", tmp_path)
    assert re.fullmatch(r"document_\d{8}_\d{6}\.md", markdown_file.name)
    markdown = markdown_file.read_text(encoding="utf-8")
    assert markdown_tables(markdown) == [TABLE, TABLE]
    assert markdown.index("Invoice 1") < markdown.index("Invoice 2") and "Thank you for your bus" in markdown

    json_file = download(page, "Download .json (Docling)", tmp_path)
    assert json_file.name == markdown_file.stem + ".json"
    document_back = load_json(json_file.read_text(encoding="utf-8"))
    assert len(document_back.tables) == 2 and sorted(document_back.pages) == [1, 2]
    assert json.loads(json_file.read_text(encoding="utf-8"))["name"] == markdown_file.stem

    html_file = download(page, "Download .html", tmp_path)
    assert html_file.name == markdown_file.stem + ".html"
    html = html_file.read_text(encoding="utf-8")
    assert html.count("<table>") == 2 and "<td>Cup</td>" in html

    page.get_by_text("Show layout").click()
    page.get_by_role("button", name="Download the image with the layout").wait_for()
    wait_idle(page)
    layout_file = download(page, "Download the image with the layout", tmp_path)
    assert re.fullmatch(r"layout_\d{8}_\d{6}_p1\.png", layout_file.name)
    drawn = Image.open(io.BytesIO(layout_file.read_bytes())).convert("RGB")
    rendered = render_page(open_pdf(document.read_bytes(), document.name), 0).image
    assert drawn.size == rendered.size  # the page as the dashboard rendered it, not the model's input
    width, height = drawn.size
    # The table's box is 50..450 of 500 across and 120..300 of 500 down: its left edge crosses the middle row.
    middle = round(210 / 500 * height)
    assert drawn.getpixel((round(0.1 * width) + 1, middle)) != (255, 255, 255)
    assert drawn.getpixel((width // 2, middle)) == (255, 255, 255)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_stop_in_the_middle_of_a_pdf_keeps_the_pages_done(browser, slow_server_url, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    document = tmp_path / "long.pdf"
    _pdf(document, 4, size=(300, 400))
    upload(page, slow_server_url, document, "long.pdf [1/4]")
    _structured(page)
    page.get_by_role("button", name="All 4 pages").click()
    page.get_by_text("Pages done: 1 of 4").wait_for(timeout=120_000)
    page.get_by_role("button", name="Stop").click()
    page.get_by_text(re.compile(r"Stopped: [12] of 4 pages done")).wait_for()
    wait_idle(page)
    expect(page.get_by_role("button", name="Download .md")).to_have_count(1)  # the pages done, downloadable
    assert page.locator('[data-testid="stException"]').count() == 0
    context.close()
