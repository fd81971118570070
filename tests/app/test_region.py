from __future__ import annotations

from core.boxes import Box
from tests.app.conftest import open_page, upload_and_open
from tests.conftest import image_bytes


def _region_page(size=(1600, 1200)):
    return upload_and_open(("scene.png", image_bytes(size, "teal"), "image/png"), "pages/3_Region.py")


def test_region_without_media_points_to_home(app_env):
    at = open_page("Home.py").run()
    at.switch_page("pages/3_Region.py").run()
    assert not at.exception
    assert "Upload an image or a PDF on the Home page first." in [info.value for info in at.info]


def test_no_box_yet(app_env):
    at = _region_page()
    assert "Select a region on the image to ask about it." in [info.value for info in at.info]
    assert "region_describe" not in [button.key for button in at.button]


def test_typed_box_is_validated_in_the_ui_language(app_env):
    at = _region_page()
    at.text_input(key="region_coords").set_value("10,20,30").run()
    assert [error.value for error in at.error] == [
        "Exactly four numbers separated by commas are needed (x1,y1,x2,y2); found 3."
    ]
    at.session_state["app_lang"] = "ru"
    at.text_input(key="region_coords").set_value("300,20,100,200").run()
    assert not at.exception
    assert any("x1 < x2" in error.value for error in at.error)


def test_describe_and_follow_up(app_env):
    at = _region_page()
    at.text_input(key="region_coords").set_value("100, 200, 700, 900").run()
    assert at.session_state["region_box"] == Box(100, 200, 700, 900)
    assert any("`100,200,700,900`" in markdown.value for markdown in at.markdown)
    at.button(key="region_describe").click().run()
    assert not at.exception
    conversation = at.session_state["region_conversation"]
    assert conversation.plan.crop.size == (780, 910)  # 600 x 700 plus a 15 % margin on every side
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert "100,200,700,900" in conversation.history.turns[0].text
    at.chat_input(key="region_input").set_value("What colour is it?").run()
    assert not at.exception
    assert [turn.text for turn in conversation.history.turns[::2]][1] == "What colour is it?"


def test_new_box_starts_a_new_conversation_and_clear_resets(app_env):
    at = _region_page()
    at.text_input(key="region_coords").set_value("0,0,400,400").run()
    at.button(key="region_describe").click().run()
    at.text_input(key="region_coords").set_value("400,400,800,800").run()
    assert not at.chat_message
    at.button(key="region_clear").click().run()
    assert "region_box" not in at.session_state
    assert at.text_input(key="region_coords").value == ""
    assert "Select a region on the image to ask about it." in [info.value for info in at.info]


def test_typed_markup_is_quoted_back_short_and_literal(app_env):
    at = _region_page()
    hostile = "![x](http://example.com/a.png)<image>**" + "9" * 80 + ",1,2,3"
    at.text_input(key="region_coords").set_value(hostile).run()
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("'\\!\\[x\\]\\(http\\:")  # markdown escaped: no image, no link is rendered
    assert "\\<image\\>" in error.value and error.value.count("9") < 40  # and cut short
    assert "…" in error.value
