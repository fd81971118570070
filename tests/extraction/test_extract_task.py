"""The extract task on a template: the request it builds, the answer it reads (typed values, checks, validity),
and one page through the serving core on a random-weight model."""

from __future__ import annotations

import json

from PIL import Image

from core.boxes import Box
from core.engines.types import GenerationStats
from core.extraction.evidence import Evidence
from core.extraction.templates import Bounds, Field, Template, load_template, token_bound
from core.families import family_named
from core.grounding import iou
from core.lab.synthetic import make_invoice, printed_values, render_invoice, value_boxes
from core.serving.job import JobOutcome
from core.tasks import extract as extract_task
from core.tasks.extract import ExtractParams, ExtractRun, PageExtraction

RU = load_template("invoice-ru")
ANSWER = {
    "number": "42", "date": "03.03.2026", "seller": "ООО «Ромашка»", "seller_inn": "7707083893", "seller_kpp": None,
    "buyer": None, "buyer_inn": None, "buyer_kpp": None, "bik": None, "account": None,
    "lines": [{"name": "Бумага", "quantity": "2", "unit": "шт", "price": "617,00", "amount": "1 234,00"}],
    "vat_rate": "20", "vat": "205,67", "total": "1 234,00 ₽", "currency": "RUB",
}  # fmt: skip


def test_the_request_asks_for_every_field_and_carries_the_bounded_schema():
    request = extract_task.build(family_named("smolvlm"), Image.new("RGB", (100, 100)), ExtractParams(RU))
    prompt = request.messages[0].text
    assert all(f"- {field.name} (" in prompt for field in RU.fields) and "null" in prompt
    assert json.loads(request.json_schema) == RU.json_schema()
    assert request.sampling.max_new_tokens == min(token_bound(RU.json_schema()), extract_task.MAX_ANSWER_TOKENS)
    assert request.task == "extract"


def test_an_answer_is_read_typed_and_checked():
    extraction = extract_task.parse(RU, JobOutcome(json.dumps(ANSWER, ensure_ascii=False), GenerationStats()))
    assert extraction.valid and extraction.values == ANSWER
    typed = extraction.typed
    assert typed["date"] == "2026-03-03" and typed["total"] == {"amount": "1234.00", "currency": "RUB"}
    assert typed["lines"][0]["quantity"] == "2" and typed["lines"][0]["price"] == {"amount": "617.00",
                                                                                   "currency": "RUB"}  # fmt: skip
    assert all(check.ok for check in extraction.checks) and len(extraction.checks) == 5


def test_an_answer_cut_off_is_kept_as_far_as_it_reads_and_marked_invalid():
    cut = json.dumps(ANSWER, ensure_ascii=False)[:60]
    extraction = extract_task.parse(RU, JobOutcome(cut, GenerationStats(), stopped=True))
    assert not extraction.valid and extraction.stopped
    assert extraction.values is not None and extraction.values["number"] == "42"


def test_an_answer_outside_the_schema_is_invalid_even_if_it_is_json():
    extraction = extract_task.parse(RU, JobOutcome(json.dumps({"number": 42}), GenerationStats()))
    assert not extraction.valid and extraction.values == {"number": 42}


def test_a_small_template_gets_its_exact_bound_as_the_limit():
    small = Template("small", {}, (Field("total", "money"),))
    request = extract_task.build(family_named("smolvlm"), Image.new("RGB", (10, 10)), ExtractParams(small))
    assert request.sampling.max_new_tokens == token_bound(small.json_schema()) < extract_task.MAX_ANSWER_TOKENS


def test_a_page_through_the_serving_core_gives_valid_json(tiny_models, tmp_path):
    from core.serving import ServingCore
    from core.settings import load_settings

    settings = load_settings({"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}, dotenv_path=None)
    serving = ServingCore(settings)
    try:
        client = serving.client(str(tiny_models["smolvlm"]), "me")
        params = ExtractParams(load_template("receipt"), Bounds(text=6, short=5, rows=2))
        outcome = client.generate(extract_task.build(client.family, Image.new("RGB", (300, 400), "white"), params))
        extraction = extract_task.parse(params.template, outcome, params.bounds)
        assert (
            extraction.error is None
            and extraction.valid
            and set(extraction.values) == {field.name for field in params.template.fields}
        )
    finally:
        serving.close()


def _page(number: int, values: dict, evidence=None) -> PageExtraction:
    extraction = extract_task.parse(RU, JobOutcome(json.dumps(values, ensure_ascii=False), GenerationStats()))
    return PageExtraction(number, f"doc-p{number}", extraction, evidence)


def test_a_document_joins_its_pages_rows_and_takes_each_field_from_the_first_page_that_has_it():
    first = {**dict.fromkeys(ANSWER), "number": "42", "lines": ANSWER["lines"], "total": None}
    second_row = {"name": "Тонер", "quantity": "1", "unit": "шт", "price": "100,00", "amount": "100,00"}
    second = {**dict.fromkeys(ANSWER), "number": "43", "lines": [second_row], "total": "1 334,00"}
    evidence = [Evidence("lines.0.name", "Тонер", Box(1, 2, 3, 4), 100.0)]
    run = ExtractRun(RU, "model", ["doc-p1", "doc-p2", "doc-p3"], [_page(1, first, []), _page(2, second, evidence)])
    values = run.values
    assert values["number"] == "42" and values["total"] == "1 334,00"  # the first page that gives each field
    assert [row["name"] for row in values["lines"]] == ["Бумага", "Тонер"]
    assert run.evidence == [(2, Evidence("lines.1.name", "Тонер", Box(1, 2, 3, 4), 100.0))]  # its joined row
    record = extract_task.report(run, document="doc.pdf")
    assert record["pages"] == [1, 2] and record["pages_asked"] == 3 and record["valid_json"]
    assert record["evidence"][0]["page"] == 2 and record["evidence"][0]["path"] == "lines.1.name"
    sums = [check for check in record["checks"] if check["check"] == "sum"]
    assert sums and sums[0]["ok"]  # 1 234,00 + 100,00 = 1 334,00: checked on the joined rows
    corrected = extract_task.report(run, {**values, "total": "9,00"}, document="doc.pdf")
    assert corrected["typed"]["total"]["amount"] == "9.00"  # what the person corrected is what is written
    assert not next(check for check in corrected["checks"] if check["check"] == "sum")["ok"]


def test_grounding_boxes_become_evidence_on_the_printed_values():
    """Qwen3-VL's documented answer (0-1000 of the picture) for each value, canned at the text boundary from where
    the generator drew it: every box lands on its value; a value the model answers [] for is not found."""
    invoice = make_invoice(2)
    image = render_invoice(invoice)
    truth = value_boxes(invoice)
    values = {**dict.fromkeys(ANSWER), "number": invoice.number, "seller": invoice.seller,
              "total": invoice.total, "buyer": "Globex Corporation", "lines": []}  # fmt: skip
    family = family_named("qwen3_vl")
    requests = extract_task.grounding_requests(family, RU, values, image)
    assert [text for text, _ in requests] == [invoice.number, invoice.seller, "Globex Corporation", invoice.total]
    assert all(f'"{text}"' in request.messages[0].text for text, request in requests)

    def answer(text: str) -> JobOutcome:
        path = next((path for path, value in printed_values(invoice).items() if value == text), None)
        if path is None:
            return JobOutcome("[]", GenerationStats(), input_size=(640, 896))
        x1, y1, x2, y2 = truth[path]
        width, height = image.size
        bbox = [round(x1 * 1000 / width), round(y1 * 1000 / height), round(x2 * 1000 / width),
                round(y2 * 1000 / height)]  # fmt: skip
        return JobOutcome(json.dumps([{"bbox_2d": bbox, "label": text}]), GenerationStats(), input_size=(640, 896))

    found = extract_task.grounded_evidence(family, RU, values, {text: answer(text) for text, _ in requests},
                                           image.size)  # fmt: skip
    by_path = {item.path: item for item in found}
    assert by_path["buyer"].box is None and all(item.source == "grounding" for item in found)
    for path in ("number", "seller", "total"):
        assert iou(by_path[path].box, Box(*truth[path])) >= 0.5, path
