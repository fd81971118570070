"""The extract task on a template: the request it builds, the answer it reads (typed values, checks, validity),
and one page through the serving core on a random-weight model."""

from __future__ import annotations

import json

from PIL import Image

from core.engines.types import GenerationStats
from core.extraction.templates import Bounds, Field, Template, load_template, token_bound
from core.families import family_named
from core.serving.job import JobOutcome
from core.tasks import extract as extract_task
from core.tasks.extract import ExtractParams

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
