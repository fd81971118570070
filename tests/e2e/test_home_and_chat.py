"""A person's path through the app in a real browser: upload, chat, stop, switch pages, switch language."""

from __future__ import annotations

import re

import pytest

from tests.conftest import image_bytes
from tests.e2e.browser import ANSWERS, ask, choose_language, go_to, main_uploader, upload, wait_idle

pytestmark = pytest.mark.e2e


def _upload(page, server_url, tmp_path, name="street.png"):
    picture = tmp_path / name
    picture.write_bytes(image_bytes((640, 400), "purple"))
    upload(page, server_url, picture, "640×400 px")


def test_upload_chat_stream_and_come_back(page, server_url, tmp_path):
    _upload(page, server_url, tmp_path)
    page.get_by_text("loaded").first.wait_for()
    go_to(page, "Chat", "Chat")
    page.get_by_role("img").first.wait_for()

    # Record every distinct text of the answer while it streams in.
    page.evaluate(
        """() => {
            window.__answerTexts = [];
            new MutationObserver(() => {
                const messages = document.querySelectorAll('[data-testid="stChatMessage"]');
                if (messages.length < 2) return;
                const text = messages[messages.length - 1].innerText;
                const seen = window.__answerTexts;
                if (text && seen[seen.length - 1] !== text) seen.push(text);
            }).observe(document.body, {subtree: true, childList: true, characterData: true});
        }"""
    )
    ask(page, "What is in the picture?")
    page.locator(ANSWERS).nth(1).get_by_text("tokens").wait_for()
    wait_idle(page)
    snapshots = page.evaluate("() => window.__answerTexts")
    assert len(snapshots) >= 3, f"the answer should appear piece by piece, saw {len(snapshots)} states"
    assert page.locator(ANSWERS).count() == 2

    ask(page, "And the colours?")
    page.locator(ANSWERS).nth(3).get_by_text("tokens").wait_for()
    wait_idle(page)
    # the follow-up did not read the image again, and its stats say so
    assert "image from the cache" not in page.locator(ANSWERS).nth(1).inner_text()
    assert "image from the cache" in page.locator(ANSWERS).nth(3).inner_text()

    go_to(page, "Home", "")
    page.get_by_text("640×400 px").wait_for()
    go_to(page, "Chat", "Chat")
    assert page.locator(ANSWERS).count() == 4
    assert page.locator(ANSWERS).nth(0).inner_text().strip().endswith("What is in the picture?")
    assert page.locator(ANSWERS).nth(2).inner_text().strip().endswith("And the colours?")


def test_stop_ends_a_long_answer(page, slow_server_url, tmp_path):
    # On the slow server a detailed answer takes a minute, so the Stop surely lands while it streams.
    _upload(page, slow_server_url, tmp_path)
    go_to(page, "Chat", "Chat")
    page.get_by_role("button", name="Describe in detail").click()
    page.locator(ANSWERS).nth(1).get_by_text("▌").wait_for()  # the answer has started streaming
    page.get_by_role("button", name="Stop").click(timeout=30_000)
    page.get_by_text("stopped").wait_for()
    wait_idle(page)
    assert page.locator(ANSWERS).count() == 2
    # The model is free again: the next answer starts streaming.
    ask(page, "Still there?")
    page.locator(ANSWERS).nth(3).get_by_text("▌").wait_for()


def test_empty_question_gets_a_message(page, server_url, tmp_path):
    _upload(page, server_url, tmp_path)
    go_to(page, "Chat", "Chat")
    ask(page, "    ")
    page.get_by_text("The question is empty").wait_for()
    assert page.locator(ANSWERS).count() == 0


def test_russian_interface(page, server_url, tmp_path):
    page.goto(server_url)
    wait_idle(page)
    choose_language(page, "Русский")
    page.get_by_text("Изображение пока не загружено.").wait_for()
    picture = tmp_path / "кот.jpg"
    picture.write_bytes(image_bytes((500, 300), "orange", "JPEG"))
    main_uploader(page).set_input_files(str(picture))
    page.get_by_text("500×300 px").wait_for()
    wait_idle(page)
    # One truth about the model: right after an upload the sidebar says what the Home panel says.
    home_line = page.locator('[data-testid="stAlertContentSuccess"]').inner_text()
    sidebar_line = page.locator('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]').last.inner_text()
    assert home_line.endswith("загружена") and sidebar_line == home_line
    go_to(page, "Чат", "Chat")
    page.get_by_role("button", name="Кратко описать").click()
    page.locator(ANSWERS).nth(1).get_by_text("ток.").wait_for()
    wait_idle(page)
    assert "Кратко опиши это изображение" in page.locator(ANSWERS).nth(0).inner_text()


def test_bad_file_gets_a_clear_message(page, server_url, tmp_path):
    fake = tmp_path / "notes.png"
    fake.write_text("this is a text file, not a picture")
    upload(page, server_url, fake)
    page.get_by_text("not an image in a supported format").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_three_page_pdf_and_two_photos_asked_about_together(page, server_url, tmp_path):
    from PIL import Image

    document = tmp_path / "report.pdf"
    pages = [Image.new("RGB", (300, 400), colour) for colour in ("white", "yellow", "cyan")]
    pages[0].save(document, "PDF", resolution=72.0, save_all=True, append_images=pages[1:])
    upload(page, server_url, document, "report.pdf [1/3]")
    go_to(page, "Chat", "Chat")
    page.get_by_text("Several pages of the PDF (3)").click()
    page.get_by_text(re.compile(r"The model sees 3 pictures")).wait_for()
    ask(page, "What do the three pages say?")
    stats = page.locator(ANSWERS).nth(1).get_by_text(re.compile(r"tiles: 3 · image tokens: \d+"))
    stats.wait_for(timeout=120_000)  # three pictures in the model's input, their tokens counted
    wait_idle(page)

    photo = tmp_path / "left.png"
    Image.new("RGB", (320, 240), "orange").save(photo)
    other = tmp_path / "right.png"
    Image.new("RGB", (240, 320), "blue").save(other)
    upload(page, server_url, photo, "320×240 px")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(1).set_input_files(other)
    page.get_by_text("Also in Chat, together with it: 1 more pictures.").wait_for()
    go_to(page, "Chat", "Chat")
    page.get_by_text("All 2 pictures").click()
    page.get_by_text(re.compile(r"The model sees 2 pictures")).wait_for()
    ask(page, "Which one is orange?")
    page.locator(ANSWERS).nth(1).get_by_text(re.compile(r"tiles: 2 · image tokens: \d+")).wait_for(timeout=120_000)
    assert page.locator('[data-testid="stException"]').count() == 0
