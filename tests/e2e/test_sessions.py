"""Several people on one server at once, each in their own browser context: their own model, a fair line."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import image_bytes
from tests.e2e.browser import ANSWERS, ask, go_to, longest_answers, pick, shortest_answers, sidebar_line, upload

pytestmark = pytest.mark.e2e


def _person(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    return context, tab


def _ready_to_chat(tab, server_url, tmp_path, name, colour):
    picture = tmp_path / f"{name}.png"
    picture.write_bytes(image_bytes((320, 240), colour))
    upload(tab, server_url, picture, "320×240 px")


def test_two_people_with_their_own_models_and_a_fair_line(browser, page, slow_server_url, tmp_path):
    """Ann keeps the default model; Bob picks another. Bob asks while Ann's answer runs: he sees his place.

    On the slow server (20 tokens a second) Ann's detailed answer is still going when she presses Stop.
    """
    bob_context, bob = _person(browser)
    server_url = slow_server_url
    try:
        _ready_to_chat(page, server_url, tmp_path, "ann", "purple")
        _ready_to_chat(bob, server_url, tmp_path, "bob", "teal")
        pick(bob, "Model of this session", "qwen2_5_vl")
        bob.get_by_text(re.compile(r"^qwen2_5_vl · device cpu · float32 · loaded")).first.wait_for()

        go_to(page, "Chat", "Chat")
        go_to(bob, "Chat", "Chat")
        sidebar_line(page, r"^tiny-smolvlm · device cpu").wait_for()  # Bob's choice did not touch Ann
        sidebar_line(bob, r"^qwen2_5_vl · device cpu").wait_for()

        longest_answers(page)
        shortest_answers(bob)  # Bob's answer only has to come after Ann's is stopped
        page.get_by_role("button", name="Describe in detail").click()
        page.locator(ANSWERS).nth(1).get_by_text("▌").wait_for()  # Ann's long answer is streaming
        ask(bob, "Is it my turn?")
        bob.get_by_text("Queued: you are 2nd in line").wait_for(timeout=20_000)
        sidebar_line(bob, r"queued: 2nd in line").wait_for()
        assert bob.locator(ANSWERS).nth(1).get_by_text("tokens").count() == 0

        page.get_by_role("button", name="Stop").click()  # Ann is done reading: Bob's answer starts
        page.get_by_text("stopped").wait_for()
        bob.locator(ANSWERS).nth(1).get_by_text("tokens").wait_for(timeout=150_000)

        ask(page, "And now a short one?")  # each still has their own model
        page.locator(ANSWERS).nth(3).get_by_text("▌").wait_for(timeout=150_000)  # her turn came after Bob's
        sidebar_line(page, r"^tiny-smolvlm · device cpu · float32").wait_for()  # still her model, answering
        sidebar_line(bob, r"^qwen2_5_vl · device cpu · float32 · loaded").wait_for()
        assert page.locator('[data-testid="stException"]').count() == 0
        assert bob.locator('[data-testid="stException"]').count() == 0
    finally:
        bob_context.close()


def test_a_closed_tab_frees_the_model_within_seconds(browser, page, server_url, tmp_path):
    """Cid starts an answer of most of a minute and closes his tab; Dee's question is answered at once."""
    cid_context, cid = _person(browser)
    try:
        _ready_to_chat(cid, server_url, tmp_path, "cid", "olive")
        _ready_to_chat(page, server_url, tmp_path, "dee", "navy")
        go_to(cid, "Chat", "Chat")
        go_to(page, "Chat", "Chat")
        longest_answers(cid)
        cid.get_by_role("button", name="Describe in detail").click()
        cid.locator(ANSWERS).nth(1).get_by_text("▌").wait_for()
    finally:
        cid_context.close()  # the tab goes away mid-answer
    closed_at = time.monotonic()
    ask(page, "Is the model free?")
    page.locator(ANSWERS).nth(1).get_by_text("tokens").wait_for(timeout=60_000)
    # Left running, Cid's 8192-token answer would hold the model for about a minute.
    assert time.monotonic() - closed_at < 20
