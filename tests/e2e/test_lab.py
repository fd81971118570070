"""Lab in a real browser: two tiny models on three documents, results compared, report downloaded."""

from __future__ import annotations

import json
import re

import pytest

from core.lab.synthetic import write_dataset
from tests.e2e.browser import go_to, wait_idle

pytestmark = pytest.mark.e2e


def test_compare_two_models_and_download_the_report(page, server_url, tmp_path):
    write_dataset(tmp_path / "docs", 3)
    documents = sorted(str(p) for p in (tmp_path / "docs").iterdir() if p.is_file())
    references = sorted(str(p) for p in (tmp_path / "docs" / "references").iterdir())
    page.goto(server_url)
    wait_idle(page)
    go_to(page, "Lab", "Lab")
    inputs = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    inputs.nth(0).set_input_files(documents)
    page.get_by_text("invoice_03.png").wait_for()
    # The first upload reruns the page; giving the second uploader its files during that run can lose them.
    wait_idle(page)
    inputs.nth(1).set_input_files(references)
    page.get_by_text("invoice_03.txt").wait_for()
    wait_idle(page)
    models = page.locator('[data-testid="stMultiSelect"]')
    for name in ("tiny-smolvlm", "qwen2_5_vl"):
        models.get_by_role("combobox").click()
        page.get_by_role("option").filter(has_text=name).first.click()
        wait_idle(page)
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("Model comparison").wait_for(timeout=180_000)
    wait_idle(page)
    assert page.get_by_text("Accuracy against latency").is_visible()

    with page.expect_download() as caught:
        page.get_by_role("button", name="Download report (JSON)").click()
    download = caught.value
    assert download.suggested_filename == "report.json"
    download.save_as(tmp_path / "report.json")
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    names = [row["name"] for row in report["models"]]
    assert len(names) == 2 and any("tiny-smolvlm" in n for n in names) and any("qwen2_5_vl" in n for n in names)
    assert {entry["document"] for entry in report["documents"]} == {
        "invoice_01.png",
        "invoice_02.pdf",
        "invoice_03.png",
    }
    for row in report["models"]:
        assert row["failures"] == 0 and row["results"] == 3
        assert re.fullmatch(r"\d+\.\d+", str(row["latency_mean_s"]))
    # The Lab loaded both models through the pool without touching this session's choice.
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_text(re.compile(r"^tiny-smolvlm · device cpu")).is_visible()
