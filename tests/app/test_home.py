from __future__ import annotations

import re

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
    media = at.session_state["home_media"]
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
    assert at.session_state["home_media"].name == "good.png"


def test_russian_is_the_default_language(app_env):
    app_env.delenv("UI_LANG")
    at = open_page("Home.py").run()
    assert not at.exception
    assert at.title[0].value == "VLM Studio"
    assert "Изображение пока не загружено." in _texts(at.info)


def test_language_switch_changes_the_texts(app_env):
    at = open_page("Home.py").run()
    at.session_state["app_lang"] = "ru"
    at.run()
    assert "Изображение пока не загружено." in _texts(at.info)


def test_the_link_carries_the_language_chosen(app_env):
    app_env.delenv("UI_LANG")  # Russian by default
    at = open_page("Home.py").run()
    assert at.query_params["lang"] in ("ru", ["ru"])
    at.segmented_control(key="sidebar_lang").set_value("en").run()
    assert "No image uploaded yet." in _texts(at.info)
    assert at.query_params["lang"] in ("en", ["en"])  # a link copied now opens in English

    opened = open_page("Home.py")  # that link in a new tab: a new session
    opened.query_params["lang"] = "en"
    opened.run()
    assert not opened.exception and "No image uploaded yet." in _texts(opened.info)
    unknown = open_page("Home.py")
    unknown.query_params["lang"] = "xx"
    unknown.run()
    assert not unknown.exception and "Изображение пока не загружено." in _texts(unknown.info)
    assert unknown.query_params["lang"] in ("ru", ["ru"])


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
    from core.engines import device

    app_env.setattr(device, "_cuda_available", lambda: False)  # as on a machine without a GPU, whatever this one has
    app_env.setenv("MODEL_DEVICE", "cuda")
    at = open_page("Home.py").run()
    assert not at.exception
    assert any("CUDA" in text for text in _texts(at.warning))


def test_choosing_another_model_changes_this_session_only(app_env, tiny_models):
    from ui.serving import serving

    app_env.setenv("EXTRA_MODEL_IDS", str(tiny_models["qwen2_5_vl"]))
    mine = open_page("Home.py").run()
    theirs = open_page("Home.py").run()  # another browser session on the same server
    assert any("tiny-smolvlm" in text and "loaded" in text for text in _texts(theirs.success))
    labels = mine.session_state["home_model_choices"]
    other = next(label for label in labels if label.startswith("qwen2_5_vl"))
    mine.selectbox(key="home_model").set_value(other).run()
    assert not mine.exception
    assert mine.session_state["app_model"] == str(tiny_models["qwen2_5_vl"])
    assert any("This session now uses qwen2_5_vl" in toast.value for toast in mine.toast)
    assert any(text.startswith("qwen2_5_vl") and "loaded" in text for text in _texts(mine.success))

    theirs.run()
    assert "session_model" not in theirs.session_state  # still the server's default
    assert any("tiny-smolvlm" in text for text in _texts(theirs.success))
    # Both fit the memory budget, so both stay loaded: nobody's model was pulled from under them.
    assert set(serving().pool.resident()) == {str(tiny_models["smolvlm"]), str(tiny_models["qwen2_5_vl"])}
    # The configured model stays on offer, so the user can switch back.
    assert any(option.startswith("tiny-smolvlm") for option in mine.selectbox(key="home_model").options)


def test_a_picker_label_of_the_other_language_switches_nothing(app_env):
    # A browser still showing the English picker after a switch to Russian sent its label back with another
    # change (seen in a browser test on a busy machine): the callback must not fail on a label it does not know.
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        import streamlit as st

        from ui import state, widgets

        state.PICKER_CHOICES.set({"tiny-smolvlm · чат, OCR": "tiny-smolvlm"})
        st.session_state["home_model"] = "tiny-smolvlm · chat, OCR"
        widgets._switch_model()
        st.write("the page goes on")

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    assert [element.value for element in at.markdown] == ["the page goes on"]


def test_a_catalogue_model_that_is_not_cached_says_how_to_fetch_it(app_env):
    at = open_page("Home.py").run()
    labels = at.session_state["home_model_choices"]
    at.selectbox(key="home_model").set_value(next(label for label in labels if "256M" in label)).run()
    assert not at.exception
    assert any(code.value.startswith("hf download HuggingFaceTB/SmolVLM2-256M-Video-Instruct") for code in at.code)


def test_the_sidebar_shows_this_sessions_model_and_state(app_env):
    at = open_page("Home.py").run()
    line = "tiny-smolvlm · device cpu · float32 · loaded"
    assert any(caption.value.startswith(line) for caption in at.sidebar.caption)


def test_int8_weights_show_in_the_status_line(app_env):
    app_env.setenv("MODEL_QUANT", "int8")
    at = open_page("Home.py").run()
    assert not at.exception
    assert "int8" in " ".join(_texts(at.success))
    line = "tiny-smolvlm · device cpu · int8 · loaded"
    assert any(caption.value.startswith(line) for caption in at.sidebar.caption)


def test_int8_weights_shrink_the_memory_estimate(app_env):
    app_env.setenv("MODEL_QUANT", "int8")
    app_env.setenv("MODEL_MEMORY_GB", "2")
    app_env.setenv("MODEL_ID", "HuggingFaceTB/SmolVLM2-2.2B-Instruct")
    at = open_page("Home.py").run()
    needed = re.search(r"it needs about ([\d.]+) GB", " ".join(_texts(at.error)))
    assert needed and 3 < float(needed.group(1)) < 5  # linear weights at one byte: not the 10.5 GB of float32


def test_a_model_bigger_than_the_memory_budget_is_refused_with_both_sizes(app_env):
    app_env.setenv("MODEL_MEMORY_GB", "2")
    app_env.setenv("MODEL_ID", "HuggingFaceTB/SmolVLM2-2.2B-Instruct")  # 2.25 B parameters, float32 on a CPU
    at = open_page("Home.py").run()
    assert not at.exception
    message = " ".join(_texts(at.error))
    assert "Model SmolVLM2 2.2B does not fit: it needs about 10.5 GB" in message
    assert "the model budget is 2.0 GB (MODEL_MEMORY_GB)" in message
    assert not at.code  # refused before looking for the weights: no download command to show
