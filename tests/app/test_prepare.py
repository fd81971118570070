"""The picture prepared while the person types (AppTest, the tiny model): the first question re-uses the
prefix computed in the background and says so; a new picture cancels the old one's preparation."""

from __future__ import annotations

from core.engines.types import Role
from tests.app.conftest import open_page
from tests.conftest import image_bytes


def _home_with(at, name: str, colour: str):
    at.file_uploader[0].set_value((name, image_bytes((320, 240), colour), "image/png")).run()
    assert not at.exception
    return at


def test_the_first_question_reuses_the_picture_prepared_on_home(app_env):
    app_env.setenv("PREPARE_IMAGES", "yes")
    at = open_page("Home.py").run()
    _home_with(at, "cat.png", "orange")
    key, job = at.session_state["app_preparing"]
    assert job.wait(60) and job.outcome().error is None and job.outcome().stats.new_tokens == 1
    at.switch_page("pages/1_Chat.py").run()
    at.chat_input(key="chat_input").set_value("What is in the picture?").run()
    answer = at.session_state["chat_history"].turns[1]
    assert answer.role is Role.ASSISTANT and answer.stats.reused_prompt_tokens > 0
    caption = [message for message in at.chat_message if message.name == "assistant"][0].caption[0].value
    assert "image prepared while you typed" in caption


def test_a_new_picture_drops_the_old_ones_preparation_and_prepares_its_own(app_env):
    app_env.setenv("PREPARE_IMAGES", "yes")
    at = open_page("Home.py").run()
    _home_with(at, "first.png", "orange")
    _, first = at.session_state["app_preparing"]
    at.button(key="home_clear").click().run()
    assert first.wait(30) and first.done.is_set()
    assert "app_preparing" not in at.session_state
    _home_with(at, "second.png", "navy")
    second_key, _ = at.session_state["app_preparing"]
    assert at.session_state["home_media"].digest in second_key


def test_without_it_the_first_question_computes_the_picture(app_env):
    at = open_page("Home.py").run()
    _home_with(at, "cat.png", "orange")
    assert "app_preparing" not in at.session_state
    at.switch_page("pages/1_Chat.py").run()
    at.chat_input(key="chat_input").set_value("What is in the picture?").run()
    assert at.session_state["chat_history"].turns[1].stats.reused_prompt_tokens == 0
