"""Typed text that looks like a model's control tokens, in a real browser: shown as typed, answered, no traceback."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import image_bytes
from tests.e2e.browser import ANSWERS, ask, export_all, go_to, shortest_answers, upload, wait_idle
from tests.e2e.conftest import CANNED_NASTY, NASTY_QUESTION
from tests.test_user_text import HOSTILE

pytestmark = pytest.mark.e2e

# The strings the testers typed, then the rest of the markup of all families in one question.
TYPED = [HOSTILE[0], HOSTILE[1], HOSTILE[2].replace("\n", " "), " ".join(HOSTILE[3:]).replace("\n", " ")]


def test_hostile_questions_are_answered_and_the_next_question_too(page, server_url, tmp_path):
    picture = tmp_path / "scan.png"
    picture.write_bytes(image_bytes((320, 240), "teal"))
    upload(page, server_url, picture, "320×240 px")
    go_to(page, "Chat", "Chat")
    shortest_answers(page)  # five answers: what matters is that each ends normally, not its length
    for number, text in enumerate([*TYPED, "What colour is it?"]):
        ask(page, text)
        answer = page.locator(ANSWERS).nth(2 * number + 1)
        answer.get_by_text("tokens").wait_for()  # the stats line: the answer ended normally
        wait_idle(page)
        assert page.locator('[data-testid="stException"]').count() == 0, text
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0, text
        shown = page.locator(ANSWERS).nth(2 * number).inner_text()
        assert text.split()[0] in shown, f"the question is shown as typed: {shown!r}"
    assert page.locator(ANSWERS).count() == 2 * (len(TYPED) + 1)
    assert "<image> what is this?" in page.locator(ANSWERS).nth(0).inner_text()


def _ask_the_nasty_question(page, server_url, tmp_path) -> None:
    picture = tmp_path / "scan.png"
    picture.write_bytes(image_bytes((320, 240), "teal"))
    upload(page, server_url, picture, "320×240 px")
    go_to(page, "Chat", "Chat")
    ask(page, NASTY_QUESTION)


def test_a_models_answer_cannot_style_the_page_or_plant_a_link(page, canned_docling_url, tmp_path):
    _ask_the_nasty_question(page, canned_docling_url, tmp_path)
    answer = page.locator(ANSWERS).nth(1)
    answer.get_by_text("tokens").wait_for()
    wait_idle(page)
    shown = answer.inner_text().replace("\u2060", "")  # the invisible joiner that breaks icon names
    for text in ("$5 and $10", ":red[ALARM]", ":material/warning:", "<b>raw html</b>", "click me",
                 "https://evil.example/x", "https://evil.example/bare", ":red[in code]"):  # fmt: skip
        assert text in shown, (text, shown)
    assert answer.locator("a").count() == 0  # no link to click
    assert answer.locator("b, .katex, img").count() == 0  # no raw HTML, no maths, no picture
    assert answer.locator("strong").inner_text() == "still bold"  # formatting stays
    assert answer.locator('[style*="color"], [class*="colored"]').count() == 0  # no directive took effect


def test_the_conversation_downloads_in_three_formats_with_the_answer_inert(page, canned_docling_url, tmp_path):
    _ask_the_nasty_question(page, canned_docling_url, tmp_path)
    page.locator(ANSWERS).nth(1).get_by_text("tokens").wait_for()
    wait_idle(page)
    saved = export_all(page, tmp_path)
    assert all(re.fullmatch(rf"chat_\d{{8}}_\d{{6}}\.{suffix}", path.name) for suffix, path in saved.items())
    record = json.loads(saved["json"].read_text(encoding="utf-8"))
    assert record["turns"][1]["text"] == CANNED_NASTY and record["pictures"][0].startswith("data:image/jpeg")
    html_page = saved["html"].read_text(encoding="utf-8")
    assert "&lt;b&gt;raw html&lt;/b&gt;" in html_page and "<b>" not in html_page
    assert CANNED_NASTY in saved["md"].read_text(encoding="utf-8")
