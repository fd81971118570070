from __future__ import annotations

import pytest

from core.boxes import Box
from core.families.florence2 import florence_region, parse_florence
from core.families.internvl import parse_internvl
from core.families.qwen2_5_vl import parse_qwen
from core.families.qwen3_vl import parse_relative_boxes
from core.grounding import Detection, deduplicate, iou, json_objects, split_phrases, to_box

W, H = 1000, 500


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # two objects, as <OD> returns them
        ("car<loc_100><loc_200><loc_300><loc_400>dog<loc_500><loc_0><loc_999><loc_999>",
         [Detection("car", Box(100, 100, 300, 200)), Detection("dog", Box(500, 0, 1000, 500))]),
        # one phrase with two boxes (phrase grounding)
        ("a cat<loc_0><loc_0><loc_100><loc_100><loc_200><loc_200><loc_300><loc_300>",
         [Detection("a cat", Box(0, 0, 100, 50)), Detection("a cat", Box(200, 100, 300, 150))]),
        # special tokens around the answer
        ("</s><s>person<loc_10><loc_10><loc_20><loc_20></s>", [Detection("person", Box(10, 5, 20, 10))]),
        ("", []),  # nothing
        ("no boxes here", []),
        # truncated after three locations: the incomplete box is skipped
        ("car<loc_100><loc_200><loc_300><loc_400>dog<loc_5><loc_6><loc_7>",
         [Detection("car", Box(100, 100, 300, 200))]),
        # swapped corners are put in order
        ("car<loc_300><loc_400><loc_100><loc_200>", [Detection("car", Box(100, 100, 300, 200))]),
        # the same box twice is one detection
        ("car<loc_100><loc_200><loc_300><loc_400>car<loc_100><loc_200><loc_300><loc_400>",
         [Detection("car", Box(100, 100, 300, 200))]),
    ],
)  # fmt: skip
def test_parse_florence(text, expected):
    assert parse_florence(text, W, H) == expected


def test_florence_region_round_trips_to_the_same_bins():
    box = Box(100, 100, 300, 200)
    tokens = florence_region(box, W, H)
    assert tokens == "<loc_100><loc_200><loc_300><loc_400>"
    assert parse_florence("x" + tokens, W, H)[0].box == box


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # several boxes in a fenced JSON list; the model saw a 500 x 250 input (half the original)
        ('```json\n[{"bbox_2d": [50, 50, 150, 100], "label": "cat"},'
         ' {"bbox_2d": [200, 0, 500, 250], "label": "car"}]\n```',
         [Detection("cat", Box(100, 100, 300, 200)), Detection("car", Box(400, 0, 1000, 500))]),
        # one box, bare object
        ('{"bbox_2d": [0, 0, 10, 10], "label": "dot"}', [Detection("dot", Box(0, 0, 20, 20))]),
        ("[]", []),  # none
        ("I could not find it.", []),  # prose only
        # truncated JSON: the complete objects survive
        ('[{"bbox_2d": [50, 50, 150, 100], "label": "cat"}, {"bbox_2d": [200, 0, 5',
         [Detection("cat", Box(100, 100, 300, 200))]),
        # outside the image: clipped
        ('[{"bbox_2d": [-20, -20, 600, 300], "label": "all"}]', [Detection("all", Box(0, 0, 1000, 500))]),
        # negative and swapped coordinates
        ('[{"bbox_2d": [150, 100, 50, 50], "label": "cat"}]', [Detection("cat", Box(100, 100, 300, 200))]),
        # degenerate and malformed entries are dropped
        ('[{"bbox_2d": [10, 10, 10, 50], "label": "line"}, {"bbox_2d": [1, 2], "label": "short"},'
         ' {"bbox_2d": ["a", 1, 2, 3]}, {"label": "no box"}]', []),
        # a score is kept when given
        ('[{"bbox_2d": [0, 0, 50, 50], "label": "cat", "score": 0.8}]', [Detection("cat", Box(0, 0, 100, 100), 0.8)]),
    ],
)  # fmt: skip
def test_parse_qwen(text, expected):
    assert parse_qwen(text, 500, 250, W, H) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Qwen3-VL's form: thousandths of the width and height, in a fenced list, whatever the input size
        ('```json\n[{"bbox_2d": [100, 200, 300, 400], "label": "cat"},'
         ' {"bbox_2d": [0, 0, 1000, 1000], "label": "page"}]\n```',
         [Detection("cat", Box(100, 100, 300, 200)), Detection("page", Box(0, 0, 1000, 500))]),
        # a bare object, exact to the pixel: 125/1000 of 1000 px and 333/1000 of 500 px
        ('{"bbox_2d": [125, 333, 875, 999], "label": "dot"}', [Detection("dot", Box(125, 166, 875, 500))]),
        ("[]", []),  # none
        ("There is no cat in this picture.", []),  # prose only
        # cut off by the token limit: the complete objects survive
        ('[{"bbox_2d": [100, 200, 300, 400], "label": "cat"}, {"bbox_2d": [500, 5',
         [Detection("cat", Box(100, 100, 300, 200))]),
        # past 1000 or below 0: clipped to the image
        ('[{"bbox_2d": [-50, -50, 1200, 1100], "label": "all"}]', [Detection("all", Box(0, 0, 1000, 500))]),
        # swapped corners are put in order
        ('[{"bbox_2d": [300, 400, 100, 200], "label": "cat"}]', [Detection("cat", Box(100, 100, 300, 200))]),
        # degenerate and malformed entries are dropped; a missing label takes the phrase asked for
        ('[{"bbox_2d": [10, 10, 10, 500]}, {"bbox_2d": [1, 2]}, {"bbox_2d": ["a", 1, 2, 3]},'
         ' {"bbox_2d": [0, 0, 500, 500]}]', [Detection("phrase", Box(0, 0, 500, 250))]),
    ],
)  # fmt: skip
def test_parse_relative_boxes(text, expected):
    assert parse_relative_boxes(text, W, H, default_label="phrase") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # several boxes for one label
        ("<ref>cat</ref><box>[[100, 200, 300, 400], [500, 0, 1000, 1000]]</box>",
         [Detection("cat", Box(100, 100, 300, 200)), Detection("cat", Box(500, 0, 1000, 500))]),
        # several labels
        ("<ref>cat</ref><box>[[0, 0, 100, 100]]</box> and <ref>car</ref><box>[[200, 200, 400, 400]]</box>",
         [Detection("cat", Box(0, 0, 100, 50)), Detection("car", Box(200, 100, 400, 200))]),
        ("There is nothing like that.", []),  # none
        # truncated: no closing tag, the last box incomplete
        ("<ref>cat</ref><box>[[100, 200, 300, 400], [5", [Detection("cat", Box(100, 100, 300, 200))]),
        # outside the 0-1000 range: clipped
        ("<ref>sky</ref><box>[[-50, -50, 1200, 300]]</box>", [Detection("sky", Box(0, 0, 1000, 150))]),
        # a box without a label takes the query phrase
        ("<box>[[100, 200, 300, 400]]</box>", [Detection("query", Box(100, 100, 300, 200))]),
    ],
)  # fmt: skip
def test_parse_internvl(text, expected):
    assert parse_internvl(text, W, H, default_label="query") == expected


@pytest.mark.parametrize(
    ("coordinates", "expected"),
    [
        ((10, 10, 50, 50), Box(10, 10, 50, 50)),
        ((50, 50, 10, 10), Box(10, 10, 50, 50)),  # swapped
        ((-5, -5, 2000, 2000), Box(0, 0, 1000, 500)),  # clipped
        ((10, 10, 11, 50), None),  # 1 px wide
        ((2000, 600, 3000, 700), None),  # entirely outside
    ],
)
def test_to_box(coordinates, expected):
    assert to_box(*coordinates, W, H) == expected


def test_iou_and_deduplicate():
    a, b, c = Box(0, 0, 100, 100), Box(1, 1, 100, 100), Box(50, 50, 150, 150)
    assert iou(a, a) == 1.0 and iou(a, Box(200, 200, 300, 300)) == 0.0
    assert iou(a, c) == pytest.approx(2500 / 17500)
    kept = deduplicate([Detection("x", a), Detection("x", b), Detection("y", b), Detection("x", c)])
    assert kept == [Detection("x", a), Detection("y", b), Detection("x", c)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cat, red car", ["cat", "red car"]),
        ("  cat ,, Cat;dog\n", ["cat", "dog"]),  # empty parts and case-insensitive repeats dropped
        ("", []),
        ("кошка,  красная   машина", ["кошка", "красная машина"]),
    ],
)
def test_split_phrases(text, expected):
    assert split_phrases(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a nested object: the outer one, not the inner (the hand-written scanner returned {"c": 2})
        ('{"seller": "ACME", "address": {"city": "Omsk"}, "total": 5}',
         [{"seller": "ACME", "address": {"city": "Omsk"}, "total": 5}]),
        # cut off by the token limit: the fields written so far are kept (the scanner lost the object)
        ('Here it is: {"seller": "ACME", "total": 12', [{"seller": "ACME", "total": 12}]),
        ('```json\n[{"bbox_2d": [1, 2, 3, 4], "label": "cat"}]\n```', [{"bbox_2d": [1, 2, 3, 4], "label": "cat"}]),
        ('first {"a": 1} then {"b": 2}', [{"a": 1}, {"b": 2}]),  # several objects in prose
        ("[{'a': 'single quotes'}]", [{"a": "single quotes"}]),
        ("The answer is 42.", []),  # no JSON at all
        ("", []),
        ("[[1, 2, 3, 4]]", []),  # JSON, but no object
    ],
)  # fmt: skip
def test_json_objects_repairs_model_output(text, expected):
    assert json_objects(text) == expected
