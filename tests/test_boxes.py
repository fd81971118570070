from __future__ import annotations

import pytest

from core.boxes import Box, CanvasFit, box_to_canvas_rect, canvas_rect_to_box, crop_with_margin, parse_box
from core.media import InvalidInput

W, H = 800, 600


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10,20,110,220", Box(10, 20, 110, 220)),  # plain
        (" 10 , 20 ,110, 220 ", Box(10, 20, 110, 220)),  # spaces are allowed around numbers
        ("0,0,800,600", Box(0, 0, 800, 600)),  # the whole image, edges included
        ("+5,5,9,9", Box(5, 5, 9, 9)),  # an explicit plus sign; exactly the 4 px minimum
    ],
)
def test_valid_boxes(text, expected):
    assert parse_box(text, W, H) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "region.empty"),  # nothing typed
        ("   ", "region.empty"),  # only spaces
        ("10,20,110", "region.count"),  # three numbers
        ("10,20,110,220,5", "region.count"),  # five numbers
        ("10,,20,110,220", "region.count"),  # an extra comma inside
        ("10,20,110,220,", "region.count"),  # a trailing comma
        ("10 20 110 220", "region.count"),  # spaces instead of commas
        ("a,20,110,220", "region.not_number"),  # letters
        ("10,20,110,22O", "region.not_number"),  # a letter O that looks like zero
        ("10.5,20,110,220", "region.float"),  # a float
        ("10,20,110,2,5e2", "region.count"),  # a decimal comma splits into five parts
        ("1e2,20,110,220", "region.not_number"),  # scientific notation
        ("١٠,20,110,220", "region.unicode_digits"),  # Arabic-Indic digits
        ("１０,20,110,220", "region.unicode_digits"),  # full-width digits
        ("-10,20,110,220", "region.negative"),  # negative
        ("110,20,10,220", "region.order"),  # x reversed
        ("10,220,110,20", "region.order"),  # y reversed
        ("10,20,10,220", "region.order"),  # zero width
        ("10,20,900,220", "region.out_of_bounds"),  # past the right edge
        ("10,20,110,601", "region.out_of_bounds"),  # past the bottom edge
        ("10,20,13,220", "region.too_small"),  # 3 px wide
        ("10,20,110,23", "region.too_small"),  # 3 px high
    ],
)
def test_invalid_boxes_have_their_own_reason(text, key):
    with pytest.raises(InvalidInput) as caught:
        parse_box(text, W, H)
    assert caught.value.key == key


def test_box_refuses_inverted_coordinates():
    with pytest.raises(ValueError):
        Box(10, 10, 5, 20)


# Canvas 760 wide showing images of several sizes with a contain fit.
@pytest.mark.parametrize(
    ("image", "canvas", "natural", "rect", "expected"),
    [
        # image larger than the canvas, shown through a downscaled copy of the same aspect
        ((1600, 1200), (760, 570), (760, 570), {"left": 100, "top": 100, "width": 200, "height": 150},
         Box(211, 211, 632, 526)),
        # image smaller than the canvas: scaled up on screen, boxes come back in its own small pixels
        ((200, 100), (760, 380), (200, 100), {"left": 380, "top": 190, "width": 380, "height": 190},
         Box(100, 50, 200, 100)),
        # a box edited after drawing: resized with scaleX/scaleY and moved
        ((1600, 1200), (760, 570), (760, 570),
         {"left": 50, "top": 60, "width": 100, "height": 100, "scaleX": 2.0, "scaleY": 1.5}, Box(105, 126, 526, 442)),
        # a centred origin, as Fabric uses after some transforms
        ((760, 570), (760, 570), (760, 570),
         {"left": 200, "top": 200, "width": 100, "height": 50, "originX": "center", "originY": "center"},
         Box(150, 175, 250, 225)),
        # a portrait image letterboxed in a wide canvas: the horizontal offset is removed
        ((600, 1200), (760, 570), (300, 600), {"left": 237.5, "top": 0, "width": 142.5, "height": 285},
         Box(0, 0, 300, 600)),
        # dragged up-left: negative size
        ((760, 570), (760, 570), (760, 570), {"left": 300, "top": 300, "width": -100, "height": -50},
         Box(200, 250, 300, 300)),
        # partly outside the picture: clipped to it
        ((760, 570), (760, 570), (760, 570), {"left": 700, "top": 500, "width": 200, "height": 200},
         Box(700, 500, 760, 570)),
    ],
)  # fmt: skip
def test_canvas_rect_to_original_pixels(image, canvas, natural, rect, expected):
    fit = CanvasFit.contain(*canvas, *natural)
    assert canvas_rect_to_box(rect, fit, *image) == expected


def test_rect_entirely_outside_the_picture_gives_no_box():
    fit = CanvasFit.contain(760, 570, 300, 600)  # letterboxed: empty bands left and right
    assert canvas_rect_to_box({"left": 5, "top": 5, "width": 50, "height": 50}, fit, 600, 1200) is None


@pytest.mark.parametrize(("image", "natural"), [((1600, 1200), (760, 570)), ((200, 100), (200, 100))])
def test_box_to_canvas_and_back_round_trips(image, natural):
    fit = CanvasFit.contain(760, 570, *natural)
    box = Box(20, 10, 150, 90)
    assert canvas_rect_to_box(box_to_canvas_rect(box, fit, *image), fit, *image) == box


def test_fit_from_the_component():
    fit = CanvasFit.from_component(
        {"natural_width": 760, "natural_height": 570, "scale_x": 1.0, "scale_y": 1.0, "offset_x": 0, "offset_y": 0}
    )
    assert fit == CanvasFit(760, 570, 1.0, 1.0, 0, 0)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        (Box(100, 100, 200, 200), Box(85, 85, 215, 215)),  # 15 % of 100 px on every side
        (Box(0, 0, 20, 20), Box(0, 0, 28, 28)),  # at least 8 px, clipped at the image's corner
        (Box(700, 500, 800, 600), Box(685, 485, 800, 600)),  # clipped at the far edges
    ],
)
def test_crop_with_margin(box, expected):
    assert crop_with_margin(box, W, H) == expected
