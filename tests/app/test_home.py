from __future__ import annotations

from core.media import NormalizedImage
from tests.app.conftest import open_page
from tests.conftest import image_bytes


def _texts(elements) -> list[str]:
    return [str(element.value) for element in elements]


def test_home_shows_model_state_and_loads_the_model(app_env):
    at = open_page("Home.py").run()
    assert not at.exception
    assert not at.error
    status = " ".join(_texts(at.success))
    assert "cpu" in status and "float32" in status and "loaded" in status
    assert "No image uploaded yet." in _texts(at.info)
    assert at.selectbox(key="home_model").value.startswith("tiny-smolvlm")


def test_upload_keeps_a_normalised_copy_and_clear_removes_it(app_env):
    at = open_page("Home.py").run()
    at.file_uploader[0].set_value(("photo.webp", image_bytes((320, 200), "red", "WEBP"), "image/webp")).run()
    assert not at.exception
    media = at.session_state["media"]
    assert isinstance(media, NormalizedImage)
    assert (media.width, media.height, media.source_format) == (320, 200, "WEBP")
    assert media.image.mode == "RGB"
    assert any("320×200" in caption for caption in _texts(at.caption))

    at.button(key="home_clear").click().run()
    assert "media" not in at.session_state
    assert "No image uploaded yet." in _texts(at.info)


def test_bad_upload_gets_a_message_and_keeps_the_previous_image(app_env):
    at = open_page("Home.py").run()
    at.file_uploader[0].set_value(("good.png", image_bytes((64, 64)), "image/png")).run()
    at.file_uploader[0].set_value(("bad.png", b"this is not a picture at all", "image/png")).run()
    assert not at.exception
    assert any("not an image in a supported format" in text for text in _texts(at.error))
    assert at.session_state["media"].name == "good.png"


def test_russian_is_the_default_language(app_env):
    app_env.delenv("UI_LANG")
    at = open_page("Home.py").run()
    assert not at.exception
    assert at.title[0].value == "VLM Studio"
    assert "Изображение пока не загружено." in _texts(at.info)


def test_language_switch_changes_the_texts(app_env):
    at = open_page("Home.py").run()
    at.session_state["lang"] = "ru"
    at.run()
    assert "Изображение пока не загружено." in _texts(at.info)


def test_invalid_setting_stops_with_a_message(app_env):
    app_env.setenv("MODEL_DEVICE", "tpu")
    at = open_page("Home.py").run()
    assert not at.exception
    message = " ".join(_texts(at.error))
    assert "MODEL_DEVICE" in message and "auto | cpu | cuda | mps" in message


def test_missing_model_shows_the_fetch_command(app_env, tmp_path):
    app_env.setenv("MODEL_ID", "HuggingFaceTB/SmolVLM2-256M-Video-Instruct")
    at = open_page("Home.py").run()
    assert not at.exception
    assert any("HuggingFaceTB/SmolVLM2-256M-Video-Instruct" in text for text in _texts(at.error))
    assert any(code.value.startswith("hf download HuggingFaceTB/SmolVLM2-256M-Video-Instruct") for code in at.code)


def test_cuda_fallback_is_shown(app_env):
    app_env.setenv("MODEL_DEVICE", "cuda")
    at = open_page("Home.py").run()
    assert not at.exception
    assert any("CUDA" in text for text in _texts(at.warning))


def test_choosing_another_model_releases_the_current_one(app_env):
    from ui.model import manager

    at = open_page("Home.py").run()
    tiny_engine = manager().engine
    assert tiny_engine is not None and tiny_engine.loaded
    labels = at.session_state["home_model_choices"]
    other = next(label for label in labels if "256M" in label)
    at.selectbox(key="home_model").set_value(other).run()
    assert not at.exception
    assert not tiny_engine.loaded  # the previous weights were released
    assert manager().engine.card.model_id == "HuggingFaceTB/SmolVLM2-256M-Video-Instruct"
    assert any("will be unloaded" in toast.value for toast in at.toast)
    # The configured model stays on offer, so the user can switch back.
    assert any(option.startswith("tiny-smolvlm") for option in at.selectbox(key="home_model").options)
    # The catalogue model is not cached here: the page says how to fetch it rather than failing.
    assert any(code.value.startswith("hf download HuggingFaceTB/SmolVLM2-256M-Video-Instruct") for code in at.code)
