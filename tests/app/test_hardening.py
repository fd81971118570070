"""Hostile text and faults through the real pages (AppTest): messages in the user's language, never a traceback."""

from __future__ import annotations

import pytest
import torch

from core.engines.types import OutOfMemory
from core.user_text import BREAK
from tests.app.conftest import open_page, upload_and_open
from tests.conftest import image_bytes
from tests.test_user_text import HOSTILE


def _chat(lang: str = "en"):
    return upload_and_open(("cat.png", image_bytes((200, 150), "orange"), "image/png"), "pages/1_Chat.py", lang)


def _serving_model():
    from ui.serving import serving, session_model_id

    core = serving()
    return core, core.pool.engine(session_model_id())._model


def test_hostile_questions_are_answered_and_shown_as_typed(app_env):
    at = _chat()
    for text in HOSTILE:
        at.chat_input(key="chat_input").set_value(text).run()
        assert not at.exception and not at.error, text
    turns = at.session_state["chat_history"].turns
    assert [turn.text for turn in turns[::2]] == [text.strip() for text in HOSTILE]  # history keeps the text
    assert all(turn.error is None for turn in turns[1::2])  # every one answered
    shown = [message.markdown[0].value for message in at.chat_message if message.name == "user"]
    assert "\\<image\\>" in shown[0]  # escaped markdown: shown as the characters typed
    assert all(BREAK not in turn.text for turn in turns)


def test_an_overlong_question_names_the_limit_in_russian(app_env):
    at = _chat("ru")
    at.chat_input(key="chat_input").set_value("а" * 4001).run()
    assert not at.exception
    assert any("4001" in w.value and "4000" in w.value for w in at.warning)
    assert not at.session_state["chat_history"].turns  # nothing sent


@pytest.mark.parametrize("error", [torch.OutOfMemoryError("out of memory"), MemoryError()], ids=["torch", "python"])
def test_out_of_memory_in_chat_suggests_smaller_and_the_next_question_works(app_env, error):
    at = _chat()
    at.chat_input(key="chat_input").set_value("first").run()  # loads the model
    _, model = _serving_model()
    raised = []

    def fail_once(module, args):
        if not raised:
            raised.append(True)
            raise error

    handle = model.model.text_model.layers[0].register_forward_pre_hook(fail_once)
    try:
        at.chat_input(key="chat_input").set_value("second").run()
    finally:
        handle.remove()
    assert not at.exception and raised
    failed = at.session_state["chat_history"].turns[3]
    assert isinstance(failed.error, OutOfMemory)  # the failure itself is kept; the page words it
    assert any("out of memory" in block.value and "smaller model" in block.value for block in at.error)
    at.chat_input(key="chat_input").set_value("third").run()
    assert not at.exception
    assert at.session_state["chat_history"].turns[-1].error is None


def test_an_unexpected_error_on_a_page_is_an_apology_with_an_id(app_env, monkeypatch, capfd):
    import ui.chat

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    at = _chat()
    monkeypatch.setattr(ui.chat, "render_history", broken)
    at.run()
    assert not at.exception
    (message,) = [error.value for error in at.error]
    assert message.startswith("Sorry, something went wrong. Error id: ")
    error_id = message.split("Error id: ")[1].split()[0].rstrip(".")
    assert len(error_id) == 8
    logged = capfd.readouterr().err  # the app's log handler writes to stderr
    assert f"unexpected error, error id {error_id}" in logged and "KeyError: 'a bug'" in logged


def test_an_unknown_model_is_a_message_on_every_page(app_env):
    app_env.setenv("MODEL_ID", "nobody/no-such-model")
    at = open_page("Home.py").run()
    at.file_uploader[0].set_value(("a.png", image_bytes(), "image/png")).run()
    assert not at.exception
    assert any("Unknown model nobody/no-such-model" in e.value for e in at.error)
    assert at.session_state["home_media"] is not None  # the upload itself worked
    for page in ("pages/1_Chat.py", "pages/2_OCR.py", "pages/3_Region.py", "pages/4_Detection.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        assert any("Unknown model" in e.value for e in at.error), page
    at.switch_page("pages/5_Lab.py").run()
    assert not at.exception and not at.error  # the Lab picks its own models


def test_a_missing_model_offline_explains_how_to_fetch_it(app_env):
    app_env.setenv("MODEL_ID", "HuggingFaceTB/SmolVLM2-256M-Video-Instruct")  # in the catalogue, not cached here
    at = open_page("Home.py").run()
    at.file_uploader[0].set_value(("a.png", image_bytes(), "image/png")).run()
    assert not at.exception
    assert any("was not found in the cache" in e.value for e in at.error)  # Home says so at once
    assert any("hf download" in code.value or "huggingface" in code.value for code in at.code)
    at.switch_page("pages/1_Chat.py").run()
    at.chat_input(key="chat_input").set_value("hello").run()
    assert not at.exception
    texts = [e.value for e in at.error] + [turn.error or "" for turn in at.session_state["chat_history"].turns]
    assert any("was not found in the cache" in text for text in texts)
    at.switch_page("pages/5_Lab.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
