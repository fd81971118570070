"""Compare in a real browser: two tiny models answer in columns, the comparison downloads in three formats, and
blind mode shows the names only after a pick."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import image_bytes
from tests.e2e.browser import ANSWERS, ask, export_all, go_to, upload, wait_idle

pytestmark = pytest.mark.e2e


def _compare(page, server_url, tmp_path) -> None:
    picture = tmp_path / "scan.png"
    picture.write_bytes(image_bytes((320, 240), "teal"))
    upload(page, server_url, picture, "320×240 px")
    go_to(page, "Chat", "Chat")
    page.get_by_text("Compare models").click()
    page.get_by_text("Models to compare").wait_for()
    wait_idle(page)


def test_two_models_answer_in_columns_and_the_comparison_downloads(page, server_url, tmp_path):
    _compare(page, server_url, tmp_path)
    ask(page, "What colour is it?")
    stats = page.get_by_text(re.compile(r"^\d+ tokens · "))
    stats.nth(1).wait_for(timeout=180_000)  # both columns answered, each with its timings
    wait_idle(page)
    assert page.locator(ANSWERS).count() == 4  # a question and an answer per column
    assert page.locator('[data-testid="stColumn"]').filter(has=page.locator(ANSWERS)).count() >= 2
    saved = export_all(page, tmp_path)
    assert all(re.fullmatch(rf"comparison_\d{{8}}_\d{{6}}\.{suffix}", path.name) for suffix, path in saved.items())
    record = json.loads(saved["json"].read_text(encoding="utf-8"))
    assert len({column["model"] for column in record["columns"]}) == 2  # one column per model
    assert all(column["turns"][1]["stats"]["new_tokens"] > 0 for column in record["columns"])
    assert saved["html"].read_text(encoding="utf-8").count("<section>") == 2
    assert page.locator('[data-testid="stException"]').count() == 0


def test_blind_mode_reveals_the_names_only_after_a_pick(page, server_url, tmp_path):
    _compare(page, server_url, tmp_path)
    page.get_by_text("Blind", exact=True).click()
    page.get_by_text("Model A", exact=True).wait_for()
    ask(page, "Describe it.")
    page.get_by_role("button", name="Model B is better").wait_for(timeout=180_000)
    wait_idle(page)
    columns = page.locator('[data-testid="stColumn"]').filter(has=page.locator(ANSWERS))
    assert columns.count() == 2 and "Model A" in columns.nth(0).inner_text()
    assert all("tiny-smolvlm" not in columns.nth(index).inner_text() for index in range(2))  # which is which: hidden
    page.get_by_role("button", name="Model B is better").click()
    page.get_by_text(re.compile(r"Picks so far: .*: 1")).wait_for()
    wait_idle(page)
    headings = [columns.nth(index).inner_text().split("\n")[0] for index in range(2)]
    assert "Model A" not in headings and "tiny-smolvlm" in headings  # the columns carry the models' names now
