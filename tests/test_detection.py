from __future__ import annotations

import pytest
from PIL import Image

from core.boxes import Box
from core.families import FAMILIES, CannotGround
from core.grounding import Detection
from core.tasks import detect as detect_task


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        ("florence2", "<CAPTION_TO_PHRASE_GROUNDING>red car"),
        ("internvl", "<ref>red car</ref>"),
        ("qwen2_5_vl", '"bbox_2d"'),
    ],
)
def test_grounding_prompt_per_family(family, expected):
    assert expected in FAMILIES[family].grounding_prompt("red car")


def test_smolvlm_cannot_ground():
    with pytest.raises(CannotGround):
        FAMILIES["smolvlm"].grounding_prompt("cat")
    with pytest.raises(CannotGround):
        FAMILIES["smolvlm"].parse_grounding("[]", "cat", (10, 10), None)


def test_request_is_greedy_and_keeps_special_tokens():
    request = detect_task.build(FAMILIES["internvl"], Image.new("RGB", (10, 10)), "cat")
    assert request.keep_special_tokens and not request.sampling.do_sample


@pytest.mark.parametrize(
    ("family", "text", "input_size", "expected"),
    [
        ("florence2", "cat<loc_100><loc_200><loc_300><loc_400></s>", None, [Detection("cat", Box(100, 100, 300, 200))]),
        ("internvl", "<ref>cat</ref><box>[[100, 200, 300, 400]]</box><|im_end|>", None,
         [Detection("cat", Box(100, 100, 300, 200))]),
        # Qwen's label for something else is kept; its boxes are in the 500 x 250 input's pixels
        ("qwen2_5_vl", '[{"bbox_2d": [50, 50, 150, 100], "label": "kitten"}]', (500, 250),
         [Detection("kitten", Box(100, 100, 300, 200))]),
        # no label: the phrase names the box
        ("qwen2_5_vl", '[{"bbox_2d": [50, 50, 150, 100]}]', (500, 250), [Detection("cat", Box(100, 100, 300, 200))]),
        ("internvl", "I don't see one.", None, []),
    ],
)  # fmt: skip
def test_parse_grounding(family, text, input_size, expected):
    assert detect_task.parse(FAMILIES[family], text, "cat", (1000, 500), input_size) == expected


def test_florence_tasks_are_bare_tokens():
    florence = FAMILIES["florence2"]
    assert florence.ocr_prompt("ru") == "<OCR>"  # nothing may be added to a task token
    assert florence.native_region_prompt(Box(100, 100, 300, 200), 1000, 500) == (
        "<REGION_TO_DESCRIPTION><loc_100><loc_200><loc_300><loc_400>"
    )
    assert FAMILIES["qwen2_5_vl"].native_region_prompt(Box(1, 1, 9, 9), 10, 10) is None
