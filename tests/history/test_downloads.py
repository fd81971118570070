"""What the History page hands out for each kind of stored item."""

from __future__ import annotations

import json
from datetime import datetime

from core.boxes import Box
from core.engines.types import GenerationStats, Role
from core.grounding import Detection
from core.history.downloads import download_for
from core.history.store import ItemSummary
from core.tasks.chat import ChatTurn
from core.tasks.convert import ConvertResult
from core.tasks.detect import DetectionRun
from core.tasks.ocr import OcrResult

CREATED = datetime(2026, 12, 2, 7, 30, 5).timestamp()


def _summary(kind: str) -> ItemSummary:
    return ItemSummary("i1", kind, "scan.pdf", "tiny-model", 2, CREATED, CREATED)


def test_a_conversation_downloads_as_markdown_named_by_its_time() -> None:
    turns = [ChatTurn(Role.USER, "What is the total?"), ChatTurn(Role.ASSISTANT, "1 234,56 ₽", stats=GenerationStats())]
    found = download_for(_summary("chat"), turns)
    assert found is not None and found.file_name == "chat_20261202_073005.md" and found.mime == "text/markdown"
    text = found.data.decode("utf-8")
    assert "What is the total?" in text and "1 234,56 ₽" in text and "scan.pdf" in text


def test_an_ocr_text_downloads_as_the_text_it_holds() -> None:
    result = OcrResult("Corrected by hand", False, "raw", False, False, None, GenerationStats(), "ru", "", "tesseract",
                       created_at=datetime(2026, 12, 2, 7, 0))  # fmt: skip
    found = download_for(_summary("ocr"), result)
    assert (found.data, found.file_name, found.mime) == (b"Corrected by hand", "ocr_result_20261202_070000.txt",
                                                         "text/plain")  # fmt: skip


def test_a_detection_downloads_its_boxes_as_json() -> None:
    run = DetectionRun("qwen", ["cat"], [Detection("cat", Box(1, 2, 30, 40), 0.5)], ["[cat] raw"],
                       created_at=datetime(2026, 12, 2, 7, 0))  # fmt: skip
    found = download_for(_summary("detection"), run)
    record = json.loads(found.data)
    assert found.file_name == "detections_20261202_070000.json"
    assert record["detections"] == [{"label": "cat", "box": [1, 2, 30, 40], "score": 0.5}] and record["page"] == 2


def test_a_conversion_stopped_before_its_first_page_has_nothing_to_give() -> None:
    assert download_for(_summary("convert"), ConvertResult(["d-p1"], "Granite-Docling")) is None
