"""Every page with ENGINE=openai (AppTest), against the loopback server backed by the tiny models."""

from __future__ import annotations

from tests.app.conftest import open_page
from tests.conftest import image_bytes
from tests.engines.test_remote import local_engines, served, server  # noqa: F401 - fixtures


def test_every_page_works_on_a_served_model(app_env, server, tiny_models):  # noqa: F811
    smol, qwen = str(tiny_models["smolvlm"]), str(tiny_models["qwen2_5_vl"])
    for variable, value in {"ENGINE": "openai", "OPENAI_BASE_URL": server.url, "OPENAI_MODEL": f"{smol},{qwen}",
                            "MODEL_ID": ""}.items():  # fmt: skip
        app_env.setenv(variable, value)
    at = open_page("Home.py").run()
    at.file_uploader[0].set_value(("scene.png", image_bytes((640, 480), "teal"), "image/png")).run()
    assert not at.exception and not at.error
    assert any("(server)" in message.value and "remote" in message.value for message in at.success)
    options = at.selectbox(key="home_model").options
    assert len(options) == 2 and all("(server)" in option for option in options)  # only what the server serves

    at.switch_page("pages/1_Chat.py").run()
    at.chat_input(key="chat_input").set_value("What is this?").run()
    assert not at.exception and at.session_state["chat_history"].turns[1].error is None

    at.switch_page("pages/2_OCR.py").run()
    at.button(key="ocr_run").click().run()
    assert not at.exception and at.session_state["ocr_result"].error is None
    assert at.session_state["ocr_result"].raw  # the served model's answer arrived

    at.switch_page("pages/3_Region.py").run()
    at.text_input(key="region_coords").set_value("64,48,320,240").run()
    at.button(key="region_describe").click().run()
    assert not at.exception
    assert at.session_state["region_conversation"].history.turns[1].error is None

    at.session_state["app_model"] = qwen  # the grounding family, as the picker would set it
    server.script.answer = '[{"bbox_2d": [28, 28, 112, 112], "label": "cat"}]'
    at.switch_page("pages/4_Detection.py").run()
    at.text_input(key="detect_query").set_value("cat").run()
    at.button(key="detect_run").click().run()
    assert not at.exception
    assert len(at.session_state["detect_result"].detections) == 1

    at.switch_page("pages/5_Lab.py").run()
    assert not at.exception
    options = at.multiselect(key="lab_models").options
    # what the server serves, the Tesseract baseline, and the document converters (they run here)
    assert len(options) == 6 and options[2].startswith("Tesseract")
    assert options[3].startswith("Granite-Docling") and options[4].startswith("SmolDocling")
    assert options[5].startswith("LightOnOCR-2")  # a page reader that also converts
    assert server.log.requests == 4  # chat, OCR, region, detection: all went to the server
