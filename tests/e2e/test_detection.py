"""Detection in a real browser: switch to a grounding model, detect, download the PNG and the JSON."""

from __future__ import annotations

import io
import json
import re

import pytest
from PIL import Image

from tests.conftest import image_bytes
from tests.e2e.browser import go_to, pick, upload, wait_idle

pytestmark = pytest.mark.e2e

SIZE = (800, 600)


def _detect(page, server_url, picture, model: str, query: str) -> None:
    """Upload ``picture``, switch this session to ``model`` on the Detection page and detect ``query``."""
    upload(page, server_url, picture, "800×600 px")
    go_to(page, "Detection", "Detection")
    page.get_by_text("cannot locate objects reliably").wait_for()
    pick(page, "Grounding model", model)
    page.get_by_text("Only this session switches").wait_for()
    page.get_by_role("button", name="Switch").click()
    field = page.get_by_role("textbox", name=re.compile("What to find"))
    field.fill(query)
    field.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Detect").click()
    page.get_by_text(re.compile(r"^Objects found: \d+")).wait_for()
    wait_idle(page)


def test_detect_and_download(page, server_url, tmp_path):
    picture = tmp_path / "yard.jpg"
    picture.write_bytes(image_bytes(SIZE, "sienna", "JPEG"))
    _detect(page, server_url, picture, "qwen2_5_vl", "cat, red car")

    with page.expect_download() as caught:
        page.get_by_role("button", name="Download image (PNG)").click()
    png = caught.value
    assert re.fullmatch(r"detections_\d{8}_\d{6}\.png", png.suggested_filename)
    png.save_as(tmp_path / "out.png")
    assert Image.open(tmp_path / "out.png").size == SIZE

    with page.expect_download() as caught:
        page.get_by_role("button", name="Download report (JSON)").click()
    report_file = caught.value
    assert report_file.suggested_filename.endswith(".json")
    report_file.save_as(tmp_path / "out.json")
    report = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert report["image"] == {"name": "yard.jpg", "width": 800, "height": 600}
    assert report["query"] == "cat, red car"
    assert report["model"].endswith("qwen2_5_vl")
    assert isinstance(report["raw_output"], str) and report["elapsed_s"] >= 0
    for detection in report["detections"]:
        x1, y1, x2, y2 = detection["box"]
        assert 0 <= x1 < x2 <= 800 and 0 <= y1 < y2 <= 600
    assert Image.open(io.BytesIO((tmp_path / "out.png").read_bytes())).mode == "RGB"
    # The switch belonged to this session, and its sidebar line names the new model.
    assert page.locator('[data-testid="stSidebar"]').get_by_text(re.compile(r"^qwen2_5_vl · device cpu")).is_visible()


def test_qwen3_vl_grounding_is_drawn_where_its_thousandths_say(page, canned_docling_url, tmp_path):
    """The canned server's Qwen3-VL answers [250, 125, 750, 875] (after really running): on an 800 x 600
    picture that is the box 200,75 - 600,525, drawn and downloaded exactly there."""
    picture = tmp_path / "yard.png"
    picture.write_bytes(image_bytes(SIZE, "white"))
    _detect(page, canned_docling_url, picture, "qwen3_vl", "cat")
    page.get_by_text("Objects found: 1").wait_for()
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download report (JSON)").click()
    caught.value.save_as(tmp_path / "out.json")
    report = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert [detection["box"] for detection in report["detections"]] == [[200, 75, 600, 525]]
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download image (PNG)").click()
    caught.value.save_as(tmp_path / "out.png")
    drawn = Image.open(tmp_path / "out.png").convert("RGB")
    # The outline is drawn on the box's edge and nowhere near the white inside or outside of it.
    assert drawn.getpixel((200, 300)) != (255, 255, 255) and drawn.getpixel((400, 300)) == (255, 255, 255)
    assert drawn.getpixel((100, 300)) == (255, 255, 255)
