"""Extract in a real browser, in Russian: a rendered invoice, the Russian template, a canned answer after the real
model ran under the schema; the checks and the made-up value on the page, the JSON download with typed values
and each value's box."""

from __future__ import annotations

import json
import re

import pytest

from core.lab.synthetic import make_invoice, render_invoice, value_boxes
from tests.e2e.browser import choose_language, download, go_to, upload, wait_idle

pytestmark = pytest.mark.e2e


def test_extract_a_russian_invoice_with_checks_evidence_and_download(page, canned_docling_url, tmp_path):
    invoice = make_invoice(2)
    picture = tmp_path / "счёт.png"
    render_invoice(invoice).save(picture)
    upload(page, canned_docling_url, picture, "827×1169 px")
    choose_language(page, "Русский")
    go_to(page, "Извлечение", "Extract")
    page.get_by_text("Счёт на оплату (RU)", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="Извлечь").click()
    page.get_by_text(re.compile(r"^Готово за [\d.]+ с")).wait_for(timeout=180_000)
    wait_idle(page)
    assert page.get_by_text(re.compile("ИНН продавца: ИНН 7707083894 не проходит проверку")).is_visible()
    assert page.get_by_text(re.compile("«Globex Corporation» \\(buyer\\) на странице не найдено")).is_visible()

    saved = download(page, "Скачать .json", tmp_path)
    assert re.fullmatch(r"extract_\d{8}_\d{6}\.json", saved.name)
    record = json.loads(saved.read_text(encoding="utf-8"))
    assert record["valid_json"] and record["template"] == "invoice-ru"
    # an amount printed without its currency takes the document's ("currency": "RUB")
    assert record["typed"]["date"] == "2026-11-07" and record["typed"]["total"] == {"amount": "391.53",
                                                                                     "currency": "RUB"}  # fmt: skip
    boxes = {item["path"]: item["box"] for item in record["evidence"]}
    truth = value_boxes(invoice)
    assert boxes["buyer"] is None
    for path in ("number", "seller", "total", "lines.0.price"):
        x1, y1, x2, y2 = boxes[path]
        tx1, ty1, tx2, ty2 = truth[path]
        assert x1 <= (tx1 + tx2) / 2 <= x2 and y1 <= (ty1 + ty2) / 2 <= y2, path  # the box sits on its ink
    assert any(check["check"] == "inn" and not check["ok"] for check in record["checks"])


def test_every_page_of_a_pdf_with_progress_and_stop_keeping_the_pages_done(browser, slow_server_url, tmp_path):
    """English this time, an own template of one text field (a short answer on the slowed tiny model), three
    pages; Stop while a later page is still being read keeps the pages done and their download."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    document = tmp_path / "three.pdf"
    pictures = [render_invoice(make_invoice(index)) for index in (1, 3, 5)]
    pictures[0].save(document, "PDF", resolution=100.0, save_all=True, append_images=pictures[1:])
    upload(page, slow_server_url, document, "three.pdf [1/3]")
    go_to(page, "Extract", "Extract")
    page.get_by_text("Your own", exact=True).click()
    wait_idle(page)
    own = tmp_path / "mine.json"
    own.write_text(json.dumps({"title": "Numbers", "fields": [{"name": "number", "label": "Invoice number"}]}))
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(own)
    page.get_by_text("In use: Numbers — number").wait_for()  # the file's template, not the editor's starter
    wait_idle(page)
    page.get_by_role("button", name="All 3 pages").click()
    page.get_by_text("Pages done: 1 of 3").wait_for(timeout=180_000)
    page.get_by_role("button", name="Stop").click()
    page.get_by_text(re.compile(r"Stopped: [12] of 3 pages extracted")).wait_for()
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    saved = download(page, "Download .json", tmp_path)
    record = json.loads(saved.read_text(encoding="utf-8"))
    assert record["document"] == "three.pdf" and record["pages_asked"] == 3 and record["stopped"]
    assert record["pages"] in ([1], [1, 2]) and record["per_page"][0]["valid_json"]
    context.close()


def test_own_fields_typed_in_the_editor_are_used_and_downloaded(page, server_url, tmp_path):
    picture = tmp_path / "invoice.png"
    render_invoice(make_invoice(1)).save(picture)
    upload(page, server_url, picture, "827×1169 px")
    go_to(page, "Extract", "Extract")
    page.get_by_text("Your own", exact=True).click()
    wait_idle(page)
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    row_height = 35  # Streamlit's data grid: a header row, then rows of this height
    page.mouse.dblclick(box["x"] + 60, box["y"] + row_height * 1.5)  # the first field's name: its cell editor
    editor = page.locator("#portal textarea, #portal input").first
    editor.wait_for()
    editor.fill("invoice_no")
    page.keyboard.press("Enter")
    page.get_by_text("Template name").click()  # away from the grid: the edit goes to the app
    page.get_by_text("In use: My template — invoice_no, date, total").wait_for()  # applied as typed
    wait_idle(page)
    saved = download(page, "Download the template", tmp_path)
    template = json.loads(saved.read_text(encoding="utf-8"))
    assert [item["name"] for item in template["fields"]] == ["invoice_no", "date", "total"]
    page.get_by_role("button", name="Extract", exact=True).click()
    page.get_by_text(re.compile(r"^Done in [\d.]+ s")).wait_for(timeout=180_000)
    saved = download(page, "Download .json", tmp_path)
    record = json.loads(saved.read_text(encoding="utf-8"))
    assert record["valid_json"] and set(record["values"]) == {"invoice_no", "date", "total"}
