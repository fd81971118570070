from __future__ import annotations

import pytest

from core.video import NormalizedVideo
from tests.app.conftest import open_page, upload_and_open
from tests.video_clips import write_clip


def _home_with_clip(tmp_path, seconds=4, name="clip.mp4"):
    return upload_and_open((name, write_clip(tmp_path / name, seconds=seconds), "video/mp4"))


def test_upload_a_clip_shows_the_sampled_frames(app_env, tmp_path):
    at = _home_with_clip(tmp_path)
    media = at.session_state["home_media"]
    assert isinstance(media, NormalizedVideo)
    assert media.clip.timestamps == (0.0, 1.0, 2.0, 3.0)
    assert any("4 of 40 frames" in caption.value for caption in at.caption)


def test_sampling_settings_decode_again(app_env, tmp_path):
    at = _home_with_clip(tmp_path)
    at.slider(key="home_video_frames").set_value(2).run()
    assert not at.exception
    assert at.session_state["home_media"].clip.timestamps == (0.0, 2.0)  # the rate halves once two are kept


def test_chat_about_a_clip_twice_without_decoding_again(app_env, tmp_path, monkeypatch):
    at = _home_with_clip(tmp_path)
    decoded = at.session_state["home_media"]
    at.switch_page("pages/1_Chat.py").run()
    assert not at.exception
    at.button(key="chat_quick_brief").click().run()
    at.chat_input(key="chat_input").set_value("What colour comes last?").run()
    assert not at.exception
    history = at.session_state["chat_history"]
    assert [turn.text for turn in history.turns[::2]] == [
        "Describe this video briefly, in one or two sentences.",
        "What colour comes last?",
    ]
    assert history.turns[1].stats.image_tiles == 4  # one vision pass per frame
    captions = [m.caption[0].value for m in at.chat_message if m.name == "assistant" and m.caption]
    assert len(captions) == 2 and all("frames: 4" in caption for caption in captions)  # frames, not tiles
    assert "video from the cache" not in captions[0] and "video from the cache" in captions[1]
    assert at.session_state["home_media"] is decoded


def test_image_pages_explain_they_take_images(app_env, tmp_path):
    at = _home_with_clip(tmp_path)
    for page in ("pages/2_OCR.py", "pages/3_Region.py"):
        at.switch_page(page).run()
        assert not at.exception
        assert "This page works on images. You can ask about the video in the chat." in [i.value for i in at.info]


def test_bad_video_gets_a_message(app_env, tmp_path):
    at = open_page("Home.py").run()
    at.file_uploader[0].set_value(("movie.mp4", b"#EXTM3U\nhttp://example.invalid/a.mp4\n", "video/mp4")).run()
    assert not at.exception
    assert any("playlist" in error.value for error in at.error)


@pytest.mark.parametrize("family", ["qwen3_vl", "qwen3_5", "gemma4"])
def test_the_new_video_families_answer_about_a_clip(app_env, tiny_models, tmp_path, family):
    """Their own video processors get the sampled frames and their times; the real generate answers."""
    app_env.setenv("MODEL_ID", str(tiny_models[family]))
    at = _home_with_clip(tmp_path)
    at.switch_page("pages/1_Chat.py").run()
    assert not at.exception
    at.chat_input(key="chat_input").set_value("What colour comes last?").run()
    assert not at.exception
    answer = at.session_state["chat_history"].turns[1]
    assert answer.error is None and answer.stats.new_tokens > 0
    assert answer.stats.image_tiles == 4  # the four sampled frames
