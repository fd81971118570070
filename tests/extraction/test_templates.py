"""Templates: the shipped data files, the JSON Schema an answer must follow, a person's own template or JSON
Schema read back, and every refusal with its own key."""

from __future__ import annotations

import json

import jsonschema
import pytest

from core.extraction.templates import (
    MAX_FIELDS,
    TemplateError,
    builtin_templates,
    load_template,
    parse_template,
    table_rows,
    template_from_table,
)


def test_the_shipped_templates_load_and_their_schemas_are_valid_json_schema():
    templates = builtin_templates()
    assert set(templates) == {"invoice-en", "invoice-ru", "receipt", "form"}
    for template in templates.values():
        jsonschema.Draft202012Validator.check_schema(template.json_schema())
    russian = templates["invoice-ru"]
    names = [field.name for field in russian.fields]
    assert {"number", "date", "seller", "buyer", "seller_inn", "seller_kpp", "buyer_inn", "buyer_kpp", "bik",
            "account", "total", "vat", "currency", "lines"} <= set(names)  # fmt: skip
    assert [column.name for column in russian.rows_field.columns] == ["name", "quantity", "unit", "price", "amount"]
    assert russian.name("ru") == "Счёт на оплату (RU)"


def test_an_answer_that_follows_the_schema_validates_and_one_that_does_not_is_refused():
    schema = load_template("receipt").json_schema()
    good = {"merchant": "Ромашка", "date": "03.03.2026", "lines": [{"name": "Хлеб", "quantity": "1", "price": "50",
            "amount": "50"}], "total": "50 ₽", "paid_by_card": True, "currency": None}  # fmt: skip
    jsonschema.validate(good, schema)
    for bad in ({**good, "extra": 1}, {k: v for k, v in good.items() if k != "total"}, {**good, "total": 50}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_a_template_goes_out_and_comes_back_the_same():
    template = load_template("invoice-ru")
    assert parse_template(template.to_json()) == template


def test_a_pasted_json_schema_becomes_a_template():
    schema = {
        "type": "object",
        "properties": {
            "номер": {"type": "string", "title": "Номер"},
            "issued": {"type": "string", "format": "date"},
            "paid": {"type": ["boolean", "null"]},
            "items": {"type": "array", "items": {"type": "object", "properties": {"qty": {"type": "integer"}}}},
        },
    }
    template = parse_template(json.dumps(schema))
    assert [(field.name, field.type) for field in template.fields] == [
        ("номер", "text"), ("issued", "date"), ("paid", "boolean"), ("items", "rows")
    ]  # fmt: skip
    assert template.fields[3].columns[0].type == "number" and template.fields[0].title("en") == "Номер"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("not json", "extract.template_not_json"),
        ("[]", "extract.template_empty"),
        ('{"fields": []}', "extract.template_empty"),
        ('{"type": "object", "properties": {}}', "extract.template_empty"),
        ('{"fields": [{"name": "total amount", "type": "money"}]}', "extract.template_bad_name"),
        ('{"fields": [{"name": "x", "type": "colour"}]}', "extract.template_bad_type"),
        ('{"fields": [{"name": "x"}, {"name": "x"}]}', "extract.template_duplicate"),
        ('{"fields": [{"name": "lines", "type": "rows"}]}', "extract.template_no_columns"),
        ('{"fields": [{"name": "n", "type": "number", "check": "inn"}]}', "extract.template_bad_check"),
        ('{"properties": {"a": {"type": "object"}}}', "extract.template_bad_type"),
    ],
)
def test_bad_templates_are_refused_with_their_reason(text, key):
    with pytest.raises(TemplateError) as caught:
        parse_template(text)
    assert caught.value.key == key


def test_a_template_too_large_for_a_small_model_is_refused():
    fields = [{"name": f"f{index}"} for index in range(MAX_FIELDS + 1)]
    with pytest.raises(TemplateError) as caught:
        parse_template(json.dumps({"fields": fields}))
    assert caught.value.key == "extract.template_too_large"


def test_an_unknown_template_names_the_known_ones(tmp_path):
    with pytest.raises(TemplateError) as caught:
        load_template("passport-xx")
    assert caught.value.key == "extract.template_unknown" and "invoice-ru" in str(caught.value.params["known"])
    own = tmp_path / "mine.json"
    own.write_text('{"title": "Mine", "fields": [{"name": "total", "type": "money"}]}', encoding="utf-8")
    assert load_template(str(own)).fields[0].type == "money"


def test_the_field_editor_rows_become_a_template_and_back():
    rows = [
        {"name": "number", "type": "text", "label": "Номер", "description": "", "columns": ""},
        {"name": "", "type": "text", "label": "", "description": "", "columns": ""},  # an empty editor row
        {"name": "items", "type": "rows", "label": "Строки", "description": "товары", "columns": "name, qty:number"},
        {"name": "paid", "type": "boolean", "label": None, "description": None, "columns": None},
    ]
    template = template_from_table("Мой счёт", rows, "ru")
    assert [item.name for item in template.fields] == ["number", "items", "paid"]
    items = template.fields[1]
    assert [(column.name, column.type) for column in items.columns] == [("name", "text"), ("qty", "number")]
    assert template.name("ru") == "Мой счёт" and template.fields[0].title("ru") == "Номер"
    assert template_from_table("Мой счёт", table_rows(template, "ru"), "ru") == template  # round trip
    assert parse_template(template.to_json()) == template  # and through the downloaded file


@pytest.mark.parametrize(
    ("rows", "key"),
    [
        ([{"name": "номер счёта", "type": "text"}], "extract.template_bad_name"),  # not an identifier
        ([{"name": "items", "type": "rows", "columns": ""}], "extract.template_no_columns"),
        ([{"name": "items", "type": "rows", "columns": "a:rows"}], "extract.template_bad_type"),
        ([{"name": "a"}, {"name": "a"}], "extract.template_duplicate"),
        ([{"name": ""}], "extract.template_empty"),
    ],
)
def test_bad_editor_rows_are_refused_with_a_reason(rows, key):
    with pytest.raises(TemplateError) as caught:
        template_from_table("", rows)
    assert caught.value.key == key
