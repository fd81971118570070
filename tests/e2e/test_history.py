"""Nothing lost, in a real browser: a refresh, a closed tab opened again from its link and a restarted (even
killed) server bring the work back; another browser sees none of it; History reopens and deletes."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import image_bytes
from tests.e2e.browser import ANSWERS, ask, go_to, longest_answers, upload, wait_idle
from tests.e2e.conftest import ARTIFACTS, start_server, stop_server
from tests.text_pages import render_lines

pytestmark = pytest.mark.e2e
MARKDOWN = '[data-testid="stMarkdownContainer"]'


def _tab(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    return context, tab


def _token(tab) -> str:
    [token] = parse_qs(urlparse(tab.url).query)["s"]
    return token


def _answered(tab, index: int) -> None:
    tab.locator(ANSWERS).nth(index).get_by_text("tokens").wait_for()
    wait_idle(tab)


def test_refresh_and_a_reopened_link_bring_the_conversation_back_and_a_stranger_sees_nothing(
    browser, server_url, tmp_path
):
    context, tab = _tab(browser)
    picture = tmp_path / "street.png"
    picture.write_bytes(image_bytes((640, 400), "purple"))
    upload(tab, server_url, picture, "640×400 px")
    go_to(tab, "Chat", "Chat")
    ask(tab, "What is in the picture?")
    _answered(tab, 1)
    token = _token(tab)
    first_answer = tab.locator(ANSWERS).nth(1).inner_text()

    tab.reload()  # F5
    wait_idle(tab)
    tab.locator(ANSWERS).nth(1).wait_for()
    assert tab.locator(ANSWERS).count() == 2
    assert tab.locator(ANSWERS).nth(1).inner_text() == first_answer
    ask(tab, "And the colours?")
    _answered(tab, 3)
    # the refreshed tab is the same person: the picture's prefix was still cached
    assert "image from the cache" in tab.locator(ANSWERS).nth(3).inner_text()

    tab.close()  # closed by mistake
    again = context.new_page()
    again.set_default_timeout(60_000)
    again.goto(f"{server_url}/Chat?s={token}")
    wait_idle(again)
    again.locator(ANSWERS).nth(3).wait_for()
    assert again.locator(ANSWERS).count() == 4
    assert again.locator(ANSWERS).nth(2).inner_text().strip().endswith("And the colours?")
    again.screenshot(path=str(ARTIFACTS / "history-reopened-link.png"), full_page=True)
    context.close()

    stranger_context, stranger = _tab(browser)  # another browser, without the link
    stranger.goto(f"{server_url}/Chat")
    wait_idle(stranger)
    stranger.get_by_text("Upload an image, a PDF or a video on the Home page first.").wait_for()
    assert stranger.locator(ANSWERS).count() == 0
    assert _token(stranger) != token
    stranger_context.close()


def _text_shown(tab, words: str) -> None:
    """Wait for the OCR editor to hold ``words`` (its value arrives a moment after the page has drawn)."""
    tab.wait_for_function("words => [...document.querySelectorAll('textarea')].some(box => box.value.includes(words))",
                          arg=words)  # fmt: skip


def test_history_reopens_and_deletes_an_ocr_result(browser, server_url, tmp_path):
    context, tab = _tab(browser)
    picture = tmp_path / "invoice.png"
    render_lines().save(picture)
    upload(tab, server_url, picture, "1200×420 px")
    go_to(tab, "OCR", "OCR")
    tab.get_by_text("Tesseract (Russian + English)").click()
    wait_idle(tab)
    tab.get_by_role("button", name="Extract text").click()
    tab.get_by_text(re.compile(r"^Done in [\d.]+ s")).wait_for()
    wait_idle(tab)
    _text_shown(tab, "Счёт")
    read = tab.get_by_role("textbox", name="Extracted text (editable)").input_value()

    go_to(tab, "Home", "")
    tab.get_by_role("button", name="Remove file").click()  # the OCR page no longer shows it
    wait_idle(tab)
    go_to(tab, "History", "History")
    row = tab.locator('[class*="st-key-history_item_"]')
    assert row.count() == 1
    assert "invoice.png" in row.inner_text() and "OCR" in row.inner_text()
    row.get_by_role("button", name="Open").click()
    tab.wait_for_url(re.compile(r"/OCR(\?.*)?$"))
    wait_idle(tab)
    _text_shown(tab, "Счёт")
    assert tab.get_by_role("textbox", name="Extracted text (editable)").input_value() == read

    go_to(tab, "History", "History")
    row = tab.locator('[class*="st-key-history_item_"]')
    row.get_by_role("button", name="Delete").click()
    tab.get_by_role("button", name="Yes, delete").click()
    tab.get_by_text("Nothing here yet").wait_for()
    assert tab.locator('[class*="st-key-history_item_"]').count() == 0
    tab.screenshot(path=str(ARTIFACTS / "history-deleted.png"), full_page=True)
    context.close()


@pytest.mark.slow
def test_a_killed_server_keeps_the_shown_answer_marked_interrupted(browser, tiny_smolvlm, tiny_models, tmp_path):
    """SIGKILL mid-answer, then a restart on the same data folder: the answer as it was shown comes back."""
    first = start_server(tiny_smolvlm, tiny_models, tmp_path, slow_tokens_s=0.05, log_name="before-kill.log")
    context, tab = _tab(browser)
    try:
        picture = tmp_path / "street.png"
        picture.write_bytes(image_bytes((640, 400), "teal"))
        upload(tab, first.url, picture, "640×400 px")
        go_to(tab, "Chat", "Chat")
        longest_answers(tab)
        ask(tab, "Describe it at length")
        answer = tab.locator(ANSWERS).nth(1)
        tab.wait_for_function(
            "() => { const m = document.querySelectorAll('[data-testid=\"stChatMessage\"]');"
            " const text = m.length > 1 && m[1].querySelector('[data-testid=\"stMarkdownContainer\"]');"
            " return text && text.innerText.split(/\\s+/).length > 14; }"
        )
        shown = answer.locator(MARKDOWN).first.inner_text().replace("▌", "").split()
        token = _token(tab)
        tab.wait_for_timeout(1000)  # what was shown has been written (every quarter second) by now
    finally:
        first.process.kill()  # SIGKILL: no chance to save anything more
        first.process.wait(10)
    context.close()

    second = start_server(tiny_smolvlm, tiny_models, tmp_path, log_name="after-restart.log")
    try:
        context, tab = _tab(browser)
        tab.goto(f"{second.url}/Chat?s={token}")
        wait_idle(tab)
        tab.locator(ANSWERS).nth(1).wait_for()
        assert tab.locator(ANSWERS).count() == 2
        assert tab.locator(ANSWERS).nth(0).inner_text().strip().endswith("Describe it at length")
        assert "interrupted" in tab.locator(ANSWERS).nth(1).inner_text()
        restored = tab.locator(ANSWERS).nth(1).locator(MARKDOWN).first.inner_text().split()
        # everything shown before the kill is there (the last shown word may have been cut mid-token)
        assert len(shown) > 12 and restored[: len(shown) - 1] == shown[:-1]
        tab.screenshot(path=str(ARTIFACTS / "history-after-kill.png"), full_page=True)
        context.close()
    finally:
        stop_server(second, "-after-restart")
