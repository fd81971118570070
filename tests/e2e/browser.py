"""What a person does in the app, as Playwright steps shared by the browser tests."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

ANSWERS = '[data-testid="stChatMessage"]'
DROP_INPUT = '[data-testid="stFileUploaderDropzoneInput"]'
# Home's upload by its widget key (Streamlit gives a keyed element the class st-key-<key>), not by position:
# the second uploader, for more pictures, takes the file if the page redraws while the first is looked up
MAIN_UPLOADER = '[class*="st-key-home_uploader_"]'


def wait_idle(page) -> None:
    """Wait until the current script run has finished."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000)


def main_uploader(page):
    """Home's file input for the picture or document (not the one for more pictures)."""
    return page.locator(f"{MAIN_UPLOADER} {DROP_INPUT}")


def upload(page, server_url: str, path: Path, shown: str | None = None) -> None:
    """Open Home and upload ``path``; wait for ``shown`` (text that proves it was taken) if given."""
    page.goto(server_url)
    main = main_uploader(page)
    main.wait_for(state="attached")  # the page's first run has drawn it (idle can be seen before that run starts)
    wait_idle(page)
    main.set_input_files(str(path))
    if shown is not None:
        page.get_by_text(shown).first.wait_for()
    wait_idle(page)


def go_to(page, label: str, path: str) -> None:
    """Follow the sidebar link ``label`` (the same session, as a click does) and wait for the page.

    A click that lands while the page is still redrawing can be lost on a busy machine: it is given once more.
    """
    target = re.compile(rf"/{re.escape(path)}(\?.*)?$")  # the history's ?s= link may follow
    link = page.locator('[data-testid="stSidebar"]').get_by_role("link", name=label)
    link.click()
    try:
        page.wait_for_url(target, timeout=20_000)
    except PlaywrightTimeout:
        link.click()
        page.wait_for_url(target)
    page.wait_for_timeout(300)  # let the new page's run start before waiting for it to end
    wait_idle(page)


def ask(page, question: str) -> None:
    box = page.locator('[data-testid="stChatInputTextArea"]')
    box.fill(question)
    box.press("Enter")


def choose_language(page, name: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_text(name, exact=True).click()
    wait_idle(page)


def pick(page, label: str, option_start: str) -> None:
    """Open the select box labelled ``label`` and choose the option whose text starts with ``option_start``."""
    select = page.locator('[data-testid="stSelectbox"]').filter(has_text=label)
    select.get_by_role("combobox").click()
    page.get_by_role("option").filter(has_text=option_start).first.click()
    wait_idle(page)


def _answer_length(page, key: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_text("Generation settings").click()
    thumb = page.locator('[data-testid="stSidebar"] [data-testid="stSlider"]').first.get_by_role("slider")
    thumb.focus()
    thumb.press(key)
    page.wait_for_timeout(300)
    wait_idle(page)


def longest_answers(page) -> None:
    """Set this session's *Max new tokens* to its maximum: a tiny model then writes for most of a minute."""
    _answer_length(page, "End")


def shortest_answers(page) -> None:
    """Set this session's *Max new tokens* to its minimum (16): on the slow server an answer then takes about
    a second instead of the configured 1024 tokens' fifty."""
    _answer_length(page, "Home")


def sidebar_line(page, pattern: str):
    import re

    return page.locator('[data-testid="stSidebar"]').get_by_text(re.compile(pattern))


EXPORTS = {"md": "Conversation .md", "json": "Conversation .json", "html": "Conversation .html (one file)"}


def export_all(page, folder: Path) -> dict[str, Path]:
    """Every format of the Chat page's *Export* menu, saved in ``folder``, by file suffix."""
    saved = {}
    for suffix, label in EXPORTS.items():
        page.get_by_role("button", name="Export").click()
        saved[suffix] = download(page, label, folder)
        page.keyboard.press("Escape")
    return saved


def download(page, button: str, folder: Path) -> Path:
    """Click the download button named ``button`` and save the file under its suggested name in ``folder``."""
    with page.expect_download() as caught:
        page.get_by_role("button", name=button).click()
    target = folder / caught.value.suggested_filename
    caught.value.save_as(target)
    return target
