from __future__ import annotations

import re

import pytest

from core.engines.types import Role
from core.tasks.chat import quick_prompt
from tests.app.conftest import can_answers, open_page, upload_and_open
from tests.conftest import image_bytes
from tests.test_markup import NASTY_ANSWERS


def _chat_with_image(lang: str = "en"):
    upload = ("cat.jpg", image_bytes((300, 200), "orange", "JPEG"), "image/jpeg")
    return upload_and_open(upload, "pages/1_Chat.py", lang)


def _answers(at) -> list:
    return [message for message in at.chat_message if message.name == "assistant"]


def test_chat_without_an_image_points_to_home(app_env):
    at = open_page("Home.py").run()
    at.switch_page("pages/1_Chat.py").run()
    assert not at.exception
    assert "Upload an image, a PDF or a video on the Home page first." in [info.value for info in at.info]
    assert not at.chat_input


def test_ask_renders_a_streamed_answer_with_stats(app_env):
    at = _chat_with_image()
    at.chat_input(key="chat_input").set_value("What is in the picture?").run()
    assert not at.exception
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    answer = _answers(at)[0]
    caption = answer.caption[0].value
    # tokens, total time, first token, decode speed and the tiles the encoder saw
    assert re.fullmatch(
        r"\d+ tokens · [\d.]+ s · first token after [\d.]+ s · [\d.]+ tokens/s · tiles: \d+"
        r" · image tokens: \d+",
        caption,
    )
    history = at.session_state["chat_history"]
    assert history.turns[0].text == "What is in the picture?"
    assert history.turns[1].role is Role.ASSISTANT and history.turns[1].stats.new_tokens > 0


def test_several_questions_keep_the_history(app_env):
    at = _chat_with_image()
    for question in ("First question?", "Second question?", "Third?"):
        at.chat_input(key="chat_input").set_value(question).run()
    assert not at.exception
    assert [m.name for m in at.chat_message] == ["user", "assistant"] * 3
    assert [turn.text for turn in at.session_state["chat_history"].turns[::2]] == [
        "First question?",
        "Second question?",
        "Third?",
    ]
    # follow-ups take the image's prefix from the session's cache, and say so
    captions = [answer.caption[0].value for answer in _answers(at)]
    assert "image from the cache" not in captions[0]
    assert all(re.search(r"image from the cache \(\d+ tokens not recomputed\)", c) for c in captions[1:])


def test_quick_prompt_sends_text_in_the_ui_language(app_env):
    at = _chat_with_image(lang="ru")
    at.button(key="chat_quick_detailed").click().run()
    assert not at.exception
    assert at.session_state["chat_history"].turns[0].text == quick_prompt("detailed", "ru")


def test_whitespace_question_gets_a_message_and_no_model_call(app_env):
    at = _chat_with_image()
    at.chat_input(key="chat_input").set_value("   ").run()
    assert not at.exception
    assert any("The question is empty" in warning.value for warning in at.warning)
    assert not at.chat_message
    assert at.session_state["chat_history"].turns == []


def test_clear_history(app_env):
    at = _chat_with_image()
    at.chat_input(key="chat_input").set_value("Anything?").run()
    at.button(key="chat_clear").click().run()
    assert not at.exception
    assert not at.chat_message
    assert at.session_state["chat_history"].turns == []


def test_generation_settings_reach_the_model(app_env):
    at = _chat_with_image()
    at.slider(key="chat_max_new").set_value(16)
    at.toggle(key="chat_sampling").set_value(True)
    at.select_slider(key="chat_tiles").set_value(1)
    at.chat_input(key="chat_input").set_value("Short please").run()
    assert not at.exception
    stats = at.session_state["chat_history"].turns[1].stats
    assert stats.new_tokens <= 16
    assert stats.image_tiles == 1


def test_new_image_starts_a_new_conversation(app_env):
    from ui.serving import serving

    at = _chat_with_image()
    at.chat_input(key="chat_input").set_value("About the first image?").run()
    assert len(serving().prefixes.keys()) == 1  # this session's image prefix, kept for a follow-up
    at.switch_page("Home.py").run()
    at.file_uploader[0].set_value(("dog.png", image_bytes((200, 300), "green"), "image/png")).run()
    assert serving().prefixes.keys() == []  # the old image's cache went with it
    at.switch_page("pages/1_Chat.py").run()
    assert not at.exception
    assert not at.chat_message


def test_a_full_queue_is_refused_with_a_message_and_the_chat_goes_on(app_env, tiny_smolvlm):
    from tests.serving.conftest import Gate, ask
    from ui.serving import serving

    app_env.setenv("MAX_QUEUE", "1")
    at = _chat_with_image()
    core = serving()
    gate = Gate(core.pool.engine(str(tiny_smolvlm)))
    running = core.submit(str(tiny_smolvlm), ask(), owner="someone")
    assert gate.entered.wait(10)
    waiting = core.submit(str(tiny_smolvlm), ask(), owner="someone else")
    try:
        at.chat_input(key="chat_input").set_value("Anyone there?").run()
        assert not at.exception
        answer = _answers(at)[0]
        assert any("The server is busy: 1 requests are already waiting" in e.value for e in answer.error)
    finally:
        gate.release()
    assert running.wait(20) and waiting.wait(20)
    at.chat_input(key="chat_input").set_value("And now?").run()
    assert at.session_state["chat_history"].turns[-1].error is None


# The chat families of 2025-26, each on its tiny model; how many encoder passes one picture takes.
NEW_CHAT_FAMILIES = {"qwen3_vl": 1, "qwen3_5": 1, "lfm2_vl": 1, "gemma4": 1}


def test_the_picker_shows_a_licence_that_is_not_plain_open_source(app_env):
    at = open_page("Home.py").run()
    offered = at.selectbox(key="home_model").options
    [lfm] = [option for option in offered if option.startswith("LFM2-VL 450M")]
    assert lfm.endswith("licence: LFM Open License v1.0")
    assert not any("licence" in option for option in offered if option.startswith("SmolVLM2"))


@pytest.mark.parametrize("family", NEW_CHAT_FAMILIES)
def test_new_families_answer_chat_and_ocr_through_their_real_generate(app_env, tiny_models, family):
    app_env.setenv("MODEL_ID", str(tiny_models[family]))
    at = _chat_with_image()
    at.chat_input(key="chat_input").set_value("What is in the picture?").run()
    assert not at.exception
    history = at.session_state["chat_history"]
    assert history.turns[1].error is None and history.turns[1].stats.new_tokens > 0
    assert history.turns[1].stats.image_tiles == NEW_CHAT_FAMILIES[family]
    at.chat_input(key="chat_input").set_value("And the colour?").run()  # a follow-up, the picture kept
    assert not at.exception and at.session_state["chat_history"].turns[3].error is None
    at.switch_page("pages/2_OCR.py").run()
    at.button(key="ocr_run").click().run()
    assert not at.exception and at.session_state["ocr_result"].error is None
    assert at.session_state["ocr_result"].raw  # the model's own words, cleaned for the page


@pytest.mark.parametrize(("answer", "shown"), NASTY_ANSWERS[:8])
def test_a_models_answer_is_rendered_disarmed(app_env, monkeypatch, answer, shown):
    at = _chat_with_image()
    from ui.serving import session_model_id

    can_answers(monkeypatch, session_model_id(), lambda request, size: answer)
    at.chat_input(key="chat_input").set_value("What does it say?").run()
    assert not at.exception
    rendered = [element.value for element in _answers(at)[0].markdown]
    assert rendered == [shown], rendered  # what Streamlit is given: the helper's output, nothing raw


@pytest.mark.parametrize("guarded", [True, False])
def test_the_repetition_guard_is_a_chat_setting(app_env, monkeypatch, guarded):
    at = _chat_with_image()
    from ui.serving import session_model_id

    can_answers(monkeypatch, session_model_id(), lambda request, size: "Ответ: " + "снова и снова " * 60)
    if guarded:
        at.toggle(key="chat_repetition_guard").set_value(True).run()
    at.chat_input(key="chat_input").set_value("What does it say?").run()
    assert not at.exception
    turn = at.session_state["chat_history"].turns[-1]
    notes = [caption.value for caption in _answers(at)[0].caption]
    if guarded:  # stopped at the loop, the text kept up to it, and said so
        assert turn.looped and turn.text == "Ответ: снова и снова"
        assert any("the model was repeating itself" in note for note in notes)
    else:
        assert not turn.looped and turn.text.count("снова и снова") == 60


def test_a_conversation_is_offered_in_three_formats(app_env):
    at = _chat_with_image()
    assert not at.get("download_button")  # nothing to export before the first question
    at.chat_input(key="chat_input").set_value("What is in the picture?").run()
    names = {button.proto.label: button.proto for button in at.get("download_button")}
    assert {"Conversation .md", "Conversation .json", "Conversation .html (one file)"} <= set(names)


def _pdf(pages: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    pictures = [Image.new("RGB", (300, 400), colour) for colour in ("white", "yellow", "cyan", "pink")[:pages]]
    pictures[0].save(buffer, "PDF", resolution=72.0, save_all=True, append_images=pictures[1:])
    return buffer.getvalue()


def test_a_three_page_pdf_is_asked_about_as_a_whole(app_env, monkeypatch):
    at = upload_and_open(("report.pdf", _pdf(3), "application/pdf"), "pages/1_Chat.py")
    from ui.serving import session_model_id

    seen = can_answers(monkeypatch, session_model_id(), lambda request, size: "Three pages.")
    at.radio(key="chat_pictures_choice").set_value("several").run()
    assert at.slider(key="chat_pictures_range").value == (1, 3)
    at.chat_input(key="chat_input").set_value("What do these pages say together?").run()
    assert not at.exception
    assert len(seen[0].request.messages[0].images) == 3  # one question, three pictures
    assert seen[0].request.max_tiles == 1  # the chat's tile budget shared among them (4 // 3)
    caption = _answers(at)[0].caption[0].value
    tokens = int(re.search(r"image tokens: (\d+)", caption).group(1))
    assert tokens == seen[0].stats.image_tokens > 0 and seen[0].stats.image_tiles == 3
    assert at.session_state["chat_history"].media_digest.endswith("-p1-3")  # its own conversation
    at.chat_input(key="chat_input").set_value("And the second page?").run()
    assert seen[1].stats.reused_prompt_tokens > 0  # the three pages come from the cache for a follow-up
    at.radio(key="chat_pictures_choice").set_value("one").run()
    assert not at.session_state["chat_history"].turns  # the page alone is another conversation


def test_two_photos_compared_in_one_question(app_env, monkeypatch):
    at = upload_and_open(("left.jpg", image_bytes((300, 200), "orange", "JPEG"), "image/jpeg"))
    at.file_uploader(key="home_more_upload_0").set_value([("right.png", image_bytes((200, 300), "blue"),
                                                           "image/png")]).run()  # fmt: skip
    assert not at.exception and any("1 more pictures" in caption.value for caption in at.caption)
    at.switch_page("pages/1_Chat.py").run()
    from ui.serving import session_model_id

    seen = can_answers(monkeypatch, session_model_id(), lambda request, size: "The left one is orange.")
    at.radio(key="chat_pictures_choice").set_value("several").run()
    at.chat_input(key="chat_input").set_value("Which one is orange?").run()
    assert not at.exception
    sizes = [picture.size for picture in seen[0].request.messages[0].images]
    assert sizes == [(300, 200), (200, 300)]


def test_a_family_that_takes_one_picture_says_so(app_env, monkeypatch):
    from core.families.smolvlm import SmolVLM

    # every chat family here takes several; one that took a single picture (a remote model, a future family)
    monkeypatch.setattr(SmolVLM, "max_images", 1)
    at = upload_and_open(("report.pdf", _pdf(2), "application/pdf"), "pages/1_Chat.py")
    at.radio(key="chat_pictures_choice").set_value("several").run()
    assert not at.exception and any("takes one picture per question" in info.value for info in at.info)
