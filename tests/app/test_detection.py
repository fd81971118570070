from __future__ import annotations

from tests.app.conftest import upload_and_open
from tests.conftest import image_bytes


def _detection_page(app_env, tiny_models, active="smolvlm"):
    extras = ",".join(str(tiny_models[family]) for family in ("qwen2_5_vl", "internvl", "florence2"))
    app_env.setenv("EXTRA_MODEL_IDS", extras)
    app_env.setenv("MODEL_ID", str(tiny_models[active]))
    return upload_and_open(("street.png", image_bytes((640, 480), "gray"), "image/png"), "pages/4_Detection.py")


def test_a_model_that_cannot_ground_says_so_and_offers_one(app_env, tiny_models):
    at = _detection_page(app_env, tiny_models)
    assert any("cannot locate objects reliably" in warning.value for warning in at.warning)
    options = at.selectbox(key="detect_switch_choice").options
    assert any(option.startswith("qwen2_5_vl") for option in options)
    assert any("Florence-2 large" in option for option in options)  # the catalogue's grounding models too
    choice = next(option for option in options if option.startswith("qwen2_5_vl"))
    at.selectbox(key="detect_switch_choice").set_value(choice).run()
    assert any("Only this session switches" in caption.value for caption in at.caption)
    at.button(key="detect_switch").click().run()
    assert not at.exception
    assert at.text_input(key="detect_query")  # the grounding model is active: the query box appears
    assert at.session_state["session_model"] == str(tiny_models["qwen2_5_vl"])
    other = upload_and_open(("other.png", image_bytes((64, 64), "red"), "image/png"), "pages/4_Detection.py")
    assert any("cannot locate objects reliably" in warning.value for warning in other.warning)  # still SmolVLM


def test_detect_shows_image_table_or_message_and_downloads(app_env, tiny_models):
    at = _detection_page(app_env, tiny_models, active="qwen2_5_vl")
    at.text_input(key="detect_query").set_value("cat, red car").run()
    at.button(key="detect_run").click().run()
    assert not at.exception
    result = at.session_state["detect_result"]
    assert result.query == "cat, red car"
    assert result.annotated.size == (640, 480)
    assert "[cat]" in result.raw_output and "[red car]" in result.raw_output
    if result.detections:
        assert at.dataframe
    else:
        assert "Nothing found for 'cat, red car'. Try other words." in [info.value for info in at.info]
    assert any(caption.value.startswith("Objects found:") for caption in at.caption)
    for detection in result.detections:
        assert 0 <= detection.box.x1 < detection.box.x2 <= 640 and 0 <= detection.box.y1 < detection.box.y2 <= 480


def test_empty_query_gets_a_message(app_env, tiny_models):
    at = _detection_page(app_env, tiny_models, active="florence2")
    at.text_input(key="detect_query").set_value(" , ").run()
    at.button(key="detect_run").click().run()
    assert not at.exception
    assert any("Enter at least one phrase" in warning.value for warning in at.warning)
    assert "detect_result" not in at.session_state


def test_florence_region_uses_the_native_prompt_without_follow_ups(app_env, tiny_models):
    at = _detection_page(app_env, tiny_models, active="florence2")
    at.switch_page("pages/3_Region.py").run()
    at.text_input(key="region_coords").set_value("64,48,320,240").run()
    at.button(key="region_describe").click().run()
    assert not at.exception
    conversation = at.session_state["region_conversation"]
    assert conversation.plan.question == "<REGION_TO_DESCRIPTION><loc_100><loc_100><loc_500><loc_500>"
    assert len(conversation.plan.images) == 1  # the whole image; the box travels in the prompt
    assert not at.chat_input  # Florence-2 answers the task only
