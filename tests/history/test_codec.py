"""Task results to JSON and back: every kind of result the pages save comes back equal; nothing else loads."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from core.boxes import Box
from core.engines.types import GenerationStats, OcrLine, OcrPage, OcrWord, OutOfMemory
from core.extraction.templates import load_template
from core.grounding import Detection
from core.history import codec
from core.media import InvalidInput
from core.tasks.detect import DetectionRun
from core.tasks.ocr import OcrResult


def test_an_ocr_result_with_its_layout_comes_back_equal() -> None:
    word = OcrWord("Итого", Box(10, 20, 60, 40), 91.5, 0)
    page = OcrPage(800, 600, [word], [OcrLine("Итого", Box(10, 20, 60, 40), 91.5)], "Итого")
    result = OcrResult("Итого", False, "Итого", False, False, None, GenerationStats(1, 2), "ru", "rus",
                       "tesseract", "abc-p1", page, created_at=datetime(2026, 12, 2, 7, 0))  # fmt: skip
    assert codec.loads(codec.dumps(result)) == result


def test_a_detection_run_keeps_boxes_tuples_and_its_error() -> None:
    run = DetectionRun("m", ["cat", "dog"], [Detection("cat", Box(1, 2, 3, 4), 0.9)], ["[cat] <box>"],
                       {"cat": (448, 448), "dog": None}, error=OutOfMemory("too big"))  # fmt: skip
    back = codec.loads(codec.dumps(run))
    assert back.detections == run.detections and back.input_sizes == {"cat": (448, 448), "dog": None}
    assert isinstance(back.error, OutOfMemory) and str(back.error) == "too big"


def test_templates_decimals_dates_and_input_errors_keep_their_types() -> None:
    template = load_template("invoice-ru")
    value = {"template": template, "total": Decimal("1234.56"), "date": date(2026, 3, 3), (1, 2): "tuple key",
             "refused": InvalidInput("media.too_large", limit_mb=50)}  # fmt: skip
    back = codec.loads(codec.dumps(value))
    assert back["template"] == template and back["total"] == Decimal("1234.56") and back[(1, 2)] == "tuple key"
    assert back["date"] == date(2026, 3, 3) and back["refused"].key == "media.too_large"


def test_a_stored_value_naming_an_unknown_class_is_refused_not_run() -> None:
    with pytest.raises(codec.CodecError):
        codec.loads('{"~":"dc","class":"Popen","v":{"args":"rm -rf /"}}')
    with pytest.raises(codec.CodecError):
        codec.dumps(object())
