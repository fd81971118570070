from __future__ import annotations

import pytest

from tests.app.conftest import can_answers, upload_and_open
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
    assert at.session_state["app_model"] == str(tiny_models["qwen2_5_vl"])
    other = upload_and_open(("other.png", image_bytes((64, 64), "red"), "image/png"), "pages/4_Detection.py")
    assert any("cannot locate objects reliably" in warning.value for warning in other.warning)  # still SmolVLM


def test_detect_rescales_the_models_boxes_to_the_image_and_offers_downloads(app_env, tiny_models, monkeypatch):
    at = _detection_page(app_env, tiny_models, active="qwen2_5_vl")

    # Qwen answers in pixels of its resized input: the canned box is the middle half of that input.
    def answer(request, size):
        if '"cat"' not in request.messages[-1].text:
            return "```json\n[]\n```"
        width, height = size
        return f'[{{"bbox_2d": [{width // 4}, {height // 4}, {width * 3 // 4}, {height * 3 // 4}], "label": "cat"}}]'

    seen = can_answers(monkeypatch, str(tiny_models["qwen2_5_vl"]), answer)
    at.text_input(key="detect_query").set_value("cat, red car").run()
    at.button(key="detect_run").click().run()
    assert not at.exception and len(seen) == 2
    result = at.session_state["detect_result"]
    assert result.query == "cat, red car"
    assert result.media_digest == at.session_state["home_media"].digest and len(at.image) >= 1
    assert "[cat]" in result.raw_output and "[red car]" in result.raw_output
    input_width, input_height = seen[0].input_size  # what the real processor made of the 640 x 480 image
    assert (input_width, input_height) != (640, 480)  # the real processor resized it, so scaling matters
    (found,) = result.detections
    corners = (input_width // 4, input_height // 4, input_width * 3 // 4, input_height * 3 // 4)
    expected = (corners[0] * 640 / input_width, corners[1] * 480 / input_height,
                corners[2] * 640 / input_width, corners[3] * 480 / input_height)  # fmt: skip
    assert found.label == "cat"
    assert found.box.as_tuple() == tuple(round(value) for value in expected)
    assert at.dataframe
    assert any(caption.value.startswith("Objects found: 1") for caption in at.caption)
    # a rerun (the raw answer opened, the next query typed) shows the drawn picture and its PNG again as they are
    import ui.detection

    drawn = []
    monkeypatch.setattr(ui.detection, "annotate", lambda *args: drawn.append(1))
    monkeypatch.setattr(ui.detection, "png_bytes", lambda *args: drawn.append(1))
    at.text_input(key="detect_query").set_value("a bus").run()
    assert not at.exception and drawn == [] and at.image
    assert at.get("download_button")


def test_detect_with_nothing_found_says_so(app_env, tiny_models, monkeypatch):
    at = _detection_page(app_env, tiny_models, active="qwen2_5_vl")
    can_answers(monkeypatch, str(tiny_models["qwen2_5_vl"]), lambda request, size: "[]")
    at.text_input(key="detect_query").set_value("unicorn").run()
    at.button(key="detect_run").click().run()
    assert not at.exception
    assert at.session_state["detect_result"].detections == []
    assert "Nothing found for 'unicorn'. Try other words." in [info.value for info in at.info]
    assert not at.dataframe


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


@pytest.mark.parametrize("family", ["qwen3_vl", "qwen3_5"])
def test_boxes_in_thousandths_land_on_the_original_pixels(app_env, tiny_models, monkeypatch, family):
    app_env.setenv("EXTRA_MODEL_IDS", str(tiny_models[family]))
    app_env.setenv("MODEL_ID", str(tiny_models[family]))
    at = upload_and_open(("street.png", image_bytes((640, 480), "gray"), "image/png"), "pages/4_Detection.py")

    # Qwen3-VL answers in thousandths of the picture, whatever size its processor made of it.
    def answer(request, size):
        return '```json\n[{"bbox_2d": [250, 125, 750, 875], "label": "cat"}]\n```'

    seen = can_answers(monkeypatch, str(tiny_models[family]), answer)
    at.text_input(key="detect_query").set_value("cat").run()
    at.button(key="detect_run").click().run()
    assert not at.exception and len(seen) == 1
    assert seen[0].request.keep_special_tokens and "0 to 1000" in seen[0].request.messages[-1].text
    (found,) = at.session_state["detect_result"].detections
    assert found.label == "cat" and found.box.as_tuple() == (160, 60, 480, 420)  # 640 x 480 px, exact
    assert any(caption.value.startswith("Objects found: 1") for caption in at.caption)
