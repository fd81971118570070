"""The history through the pages (AppTest): work comes back in a new session opened with the same link,
never in one without it; the History page reopens, downloads and deletes; no history when it cannot be kept."""

from __future__ import annotations

import io

from core.engines.types import Role
from tests.app.conftest import open_page, upload_and_open
from tests.text_pages import render_lines
from ui.ocr import editor_key

TOKEN_PARAM = "s"


def _page_png() -> bytes:
    buffer = io.BytesIO()
    render_lines().save(buffer, "PNG")
    return buffer.getvalue()


def _token(at) -> str:
    token = at.query_params[TOKEN_PARAM]
    return token[0] if isinstance(token, list) else token


def _open_with_link(path: str, token: str, lang: str | None = None):
    """A new browser tab (a new session) opened on the link with ``token`` (and the ``lang`` it carried)."""
    at = open_page("Home.py")
    at.query_params[TOKEN_PARAM] = token
    if lang is not None:
        at.query_params["lang"] = lang
    at.run()
    return at.switch_page(path).run() if path != "Home.py" else at


def _ask(at, question: str):
    at.chat_input(key="chat_input").set_value(question).run()
    assert not at.exception
    return at


def test_a_conversation_and_its_picture_come_back_in_a_new_session_with_the_link(app_env):
    at = upload_and_open(("cat.png", _page_png(), "image/png"), "pages/1_Chat.py")
    token = _token(at)
    assert len(token) >= 22  # unguessable
    _ask(_ask(at, "What is written here?"), "And the first line?")
    asked = at.session_state["chat_history"]

    again = _open_with_link("pages/1_Chat.py", token)
    assert not again.exception
    history = again.session_state["chat_history"]
    assert [turn.text for turn in history.turns] == [turn.text for turn in asked.turns]
    assert history.turns[1].stats == asked.turns[1].stats and history.turns[3].role is Role.ASSISTANT
    assert again.session_state["home_media"].digest == at.session_state["home_media"].digest
    assert [message.name for message in again.chat_message] == ["user", "assistant", "user", "assistant"]

    stranger = open_page("Home.py").run().switch_page("pages/1_Chat.py").run()  # no link: a person of their own
    assert not stranger.exception and _token(stranger) != token
    assert "home_media" not in stranger.session_state and not stranger.chat_message


def test_an_edited_ocr_text_comes_back_edited(app_env):
    at = upload_and_open(("invoice.png", _page_png(), "image/png"), "pages/2_OCR.py")
    radio = at.radio(key="ocr_engine_en")
    radio.set_value(radio.options[1]).run()  # Tesseract: a real reading
    at.button(key="ocr_run").click().run()
    result = at.session_state["ocr_result"]
    at.text_area(key=editor_key(result)).set_value("Corrected by hand").run()
    assert not at.exception

    again = _open_with_link("pages/2_OCR.py", _token(at))
    restored = again.session_state["ocr_result"]
    assert restored.text == "Corrected by hand" and restored.engine == "tesseract"
    assert again.text_area(key=editor_key(restored)).value == "Corrected by hand"


def test_history_lists_reopens_and_deletes_an_item(app_env):
    at = upload_and_open(("invoice.png", _page_png(), "image/png"), "pages/2_OCR.py")
    radio = at.radio(key="ocr_engine_en")
    radio.set_value(radio.options[1]).run()
    at.button(key="ocr_run").click().run()
    read = at.session_state["ocr_result"].text
    token = _token(at)

    listing = _open_with_link("pages/7_History.py", token)
    assert not listing.exception
    [item_id] = [key.removeprefix("history_open_") for key in _button_keys(listing, "history_open_")]
    shown = [markdown.value.replace("\\", "") for markdown in listing.markdown]
    assert any("invoice.png" in text and "OCR" in text for text in shown)
    listing.button(key=f"history_open_{item_id}").click().run()
    assert not listing.exception
    assert listing.session_state["ocr_result"].text == read  # reopened on its page
    assert listing.session_state["home_media"].name == "invoice.png"

    listing = _open_with_link("pages/7_History.py", token)
    listing.button(key=f"history_delete_{item_id}").click().run()
    assert not listing.exception
    assert not _button_keys(listing, "history_open_")
    assert "Nothing here yet" in " ".join(info.value for info in listing.info)
    fresh = _open_with_link("pages/2_OCR.py", token)
    assert "ocr_result" not in fresh.session_state  # deleted: it does not come back either


def _button_keys(at, prefix: str) -> list[str]:
    return [button.key for button in at.button if button.key and button.key.startswith(prefix)]


def test_history_off_keeps_no_link_and_says_so(app_env):
    app_env.setenv("HISTORY", "off")
    at = upload_and_open(("cat.png", _page_png(), "image/png"), "pages/1_Chat.py")
    _ask(at, "Hello?")
    assert TOKEN_PARAM not in at.query_params
    page = open_page("Home.py").run().switch_page("pages/7_History.py").run()
    assert "History is off on this server" in " ".join(info.value for info in page.info)


def test_an_unusable_data_folder_is_said_once_and_chat_still_answers(app_env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the data folder should be")
    app_env.setenv("DATA_DIR", str(blocker / "data"))
    at = upload_and_open(("cat.png", _page_png(), "image/png"), "pages/1_Chat.py")
    _ask(at, "Still there?")
    assert [message.name for message in at.chat_message] == ["user", "assistant"]
    assert any("History is not being saved right now" in warning.value for warning in at.sidebar.warning)


def test_a_full_disk_refuses_the_upload_to_history_but_not_to_the_page(app_env, small_disk):
    import numpy as np
    from PIL import Image

    app_env.setenv("DATA_DIR", str(small_disk / "data"))
    noise = np.random.default_rng(0).integers(0, 255, (1100, 1100, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG")  # about 3.6 MB: more than the 2 MiB disk holds
    at = upload_and_open(("noise.png", buffer.getvalue(), "image/png"), "pages/1_Chat.py")
    assert at.session_state["home_media"].width == 1100  # the page has the picture
    _ask(at, "What is it?")
    assert [message.name for message in at.chat_message] == ["user", "assistant"]
    assert any("History is not being saved right now" in warning.value for warning in at.sidebar.warning)
    assert not [path for path in (small_disk / "data").rglob("*.part")]  # no half-written file left


def test_the_link_reopens_the_work_in_the_language_it_was_left_in(app_env):
    app_env.delenv("UI_LANG")
    at = open_page("Home.py").run()
    at.segmented_control(key="sidebar_lang").set_value("en").run()
    at.file_uploader[0].set_value(("cat.png", _page_png(), "image/png")).run()
    at.switch_page("pages/1_Chat.py").run()
    _ask(at, "What is written here?")
    lang = at.query_params["lang"]
    assert lang in ("en", ["en"])

    again = _open_with_link("pages/1_Chat.py", _token(at), lang[0] if isinstance(lang, list) else lang)
    assert not again.exception
    assert again.title[0].value == "Chat" and [message.name for message in again.chat_message] == ["user", "assistant"]
