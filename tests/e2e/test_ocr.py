"""OCR in a real browser: extract, edit, download the .txt and compare it with the text area."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import image_bytes
from tests.e2e.browser import go_to, upload, wait_idle
from tests.test_documents import make_pdf

pytestmark = pytest.mark.e2e

EDITED = "ООО «Ромашка»\nСчёт № 42\nTotal: 1 234.56"


def test_ocr_edit_and_download(page, server_url, tmp_path):
    picture = tmp_path / "receipt.png"
    picture.write_bytes(image_bytes((500, 700), "white"))
    upload(page, server_url, picture, "500×700 px")
    go_to(page, "OCR", "OCR")

    page.get_by_role("button", name="Extract text").click()
    page.get_by_text(re.compile(r"^Done in [\d.]+ s")).wait_for()
    wait_idle(page)
    editor = page.locator('[data-testid="stTextArea"] textarea')
    expect(editor).not_to_have_value("")  # the model's text fills the editor (on a busy machine, a rerun later)

    editor.fill(EDITED)
    editor.press("Tab")  # leaving the field sends the edit to the app
    # The copy block is drawn from the same edited text: once it shows the edit, the rerun is done.
    page.get_by_text("Copy (button in the block's corner)").click()
    page.locator('[data-testid="stCode"]').get_by_text("Total: 1 234.56").wait_for()
    wait_idle(page)
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download .txt").click()
    download = caught.value
    assert re.fullmatch(r"ocr_result_\d{8}_\d{6}\.txt", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().decode("utf-8") == editor.input_value() == EDITED


def test_pdf_page_choice_and_ocr(page, server_url, tmp_path):
    document = tmp_path / "contract.pdf"
    document.write_bytes(make_pdf([(595, 842), (842, 595)]))
    upload(page, server_url, document, "contract.pdf [1/2]")
    page.get_by_label("Document page (of 2)").fill("2")
    page.get_by_label("Document page (of 2)").press("Enter")
    page.get_by_text("contract.pdf [2/2]").wait_for()
    wait_idle(page)
    go_to(page, "OCR", "OCR")
    page.get_by_role("button", name="Extract text").click()
    page.get_by_text(re.compile(r"^Done in [\d.]+ s")).wait_for()


def test_encrypted_pdf_message(page, server_url, tmp_path):
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([(595, 842)]))))
    writer.encrypt(user_password="secret")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as sink:
        writer.write(sink)
    upload(page, server_url, locked)
    page.get_by_text("The PDF is password-protected").wait_for()
