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


def test_a_conversion_keeps_its_docling_documents_and_their_markdown() -> None:
    from PIL import Image

    from core.doctags import ConvertedPage, page_document
    from core.tasks.convert import ConvertResult

    doctags = "<doctag><section_header_level_1><loc_50><loc_20><loc_450><loc_40>Счёт 42</section_header_level_1>"
    page = ConvertedPage(doctags, Image.new("RGB", (1000, 1400), "white"))
    result = ConvertResult(["d-p1"], "Granite-Docling", created_at=datetime(2026, 12, 2, 7, 0))
    result.add(page_document(page), GenerationStats(1, 20), 4096)
    back = codec.loads(codec.dumps(result))
    assert back.conversion.markdown() == result.conversion.markdown() and "Счёт 42" in back.conversion.markdown()
    assert back.stats == result.stats and back.page_digests == ["d-p1"]


def test_an_extraction_run_keeps_values_checks_and_evidence() -> None:
    from core.extraction.evidence import Evidence
    from core.serving import JobOutcome
    from core.tasks import extract as extract_task

    template = load_template("invoice-ru")
    answer = '{"number": "42", "date": "03.03.2026", "seller_inn": "7707083894", "total": "1 234,56", "lines": []}'
    extraction = extract_task.parse(template, JobOutcome(text=answer))
    run = extract_task.ExtractRun(template, "m", ["d-p1"])
    evidence = [Evidence("total", "1 234,56", Box(5, 6, 70, 20), 97.0)]
    run.pages.append(extract_task.PageExtraction(1, "d-p1", extraction, evidence))
    back = codec.loads(codec.dumps(run))
    assert back.values == run.values and back.evidence == run.evidence
    assert back.pages[0].extraction.checks == extraction.checks and back.pages[0].extraction.typed == extraction.typed
