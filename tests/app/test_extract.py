"""The Extract page (AppTest): a template, a canned answer at the text boundary after the real engine ran under
the schema, the values in editable tables with their checks, evidence on a rendered invoice, the downloads."""

from __future__ import annotations

import io
import json

from PIL import Image

from core.lab.synthetic import make_invoice, render_invoice
from tests.app.conftest import can_answers, open_page, upload_and_open
from ui.i18n import literal

INVOICE = make_invoice(2)  # a Russian invoice: ООО «Ромашка», three items


def _png() -> bytes:
    buffer = io.BytesIO()
    render_invoice(INVOICE).save(buffer, "PNG")
    return buffer.getvalue()


def _answer(total: str) -> str:
    lines = [{"name": name, "quantity": str(quantity), "unit": None, "price": price, "amount": None}
             for name, quantity, price in INVOICE.items]  # fmt: skip
    values = {"number": INVOICE.number, "date": "07.11.2026", "seller": INVOICE.seller, "seller_inn": "7707083894",
              "seller_kpp": None, "buyer": None, "buyer_inn": None, "buyer_kpp": None, "bik": None, "account": None,
              "lines": lines, "vat_rate": None, "vat": None, "total": total, "currency": "RUB"}  # fmt: skip
    return json.dumps(values, ensure_ascii=False)


def _session_model():
    from ui.serving import session_model_id

    return session_model_id()


def _extract_page(lang: str = "en"):
    at = upload_and_open(("invoice.png", _png(), "image/png"), "pages/6_Extract.py", lang=lang)
    assert not at.exception
    return at


def test_without_media_the_page_points_to_home(app_env):
    at = open_page("Home.py").run()
    at.switch_page("pages/6_Extract.py").run()
    assert not at.exception and "Upload an image or a PDF on the Home page first." in [i.value for i in at.info]


def test_a_canned_answer_becomes_tables_checks_evidence_and_downloads(app_env, monkeypatch):
    at = _extract_page()
    assert at.radio(key="extract_template_en").value == "Invoice (EN)"  # the interface language's invoice first
    at.radio(key="extract_template_en").set_value("Russian invoice (счёт на оплату)").run()
    seen = can_answers(monkeypatch, _session_model(), lambda request, size: _answer(INVOICE.total))
    at.button(key="extract_run").click().run()
    assert not at.exception and not at.error
    request = seen[0].request
    assert request.json_schema is not None and "seller_inn" in json.loads(request.json_schema)["properties"]
    assert seen[0].stats.prompt_tokens > 0  # the real processor and model ran under the schema first
    result = at.session_state["extract_result"]
    assert result.valid and result.values["number"] == INVOICE.number and result.pages[0].page == 1
    # the ИНН's check digits are wrong: reported on its field, never corrected
    assert any("Seller INN" in warning.value and "check digits" in warning.value for warning in at.warning)
    found = {item.path: item for page, item in result.evidence}
    assert found["number"].box is not None and found["total"].box is not None
    fields, rows = at.dataframe  # the editable fields and line items
    assert fields.value.iloc[0, 1] == INVOICE.number and len(rows.value) == len(INVOICE.items)
    names = [button.proto.label for button in at.get("download_button")]
    assert "Download .json" in names and "Download rows .csv" in names and "Download the template" in names
    # a rerun for anything else shows the page with its boxes as drawn; another highlight draws it again
    import ui.extract

    drawn = []
    real_annotate = ui.extract.annotate
    monkeypatch.setattr(ui.extract, "annotate", lambda *args: drawn.append(1) or real_annotate(*args))
    at.run()
    assert not at.exception and drawn == [] and at.get("image")
    at.selectbox(key="extract_highlight").set_value("total").run()
    assert not at.exception and drawn == [1]


def test_a_value_that_is_not_on_the_page_is_flagged(app_env, monkeypatch):
    at = _extract_page()
    can_answers(monkeypatch, _session_model(), lambda request, size: _answer("98765.43"))
    at.button(key="extract_run").click().run()
    assert not at.exception
    # the value is quoted as literal text (the model wrote it): its point escaped in the Markdown source
    assert any(literal("98765.43") in warning.value and "made it up" in warning.value for warning in at.warning)


def test_an_own_template_that_is_not_json_is_refused_in_russian_and_a_good_one_is_used(app_env):
    at = _extract_page(lang="ru")
    at.radio(key="extract_template_ru").set_value("Свой шаблон").run()
    at.file_uploader(key="extract_own_upload").set_value(("bad.json", b"{not json", "application/json")).run()
    assert not at.exception and any("не читается как JSON" in error.value for error in at.error)
    own = {"title": "Моё", "fields": [{"name": "итого", "type": "money"}]}
    upload = ("mine.json", json.dumps(own, ensure_ascii=False).encode("utf-8"), "application/json")
    at.file_uploader(key="extract_own_upload").set_value(upload).run()
    assert not at.exception and not at.button(key="extract_run").disabled
    at.button(key="extract_run").click().run()
    assert not at.exception
    assert at.session_state["extract_result"].template.fields[0].name == "итого"


def _pdf_pages() -> bytes:
    """A two-page PDF: the invoice, then a page of terms."""
    buffer = io.BytesIO()
    terms = Image.new("RGB", render_invoice(INVOICE).size, "white")
    render_invoice(INVOICE).save(buffer, "PDF", resolution=100.0, save_all=True, append_images=[terms])
    return buffer.getvalue()


def test_every_page_of_a_pdf_is_extracted_with_its_rows_joined(app_env, monkeypatch):
    at = upload_and_open(("invoice.pdf", _pdf_pages(), "application/pdf"), "pages/6_Extract.py")
    at.radio(key="extract_template_en").set_value("Russian invoice (счёт на оплату)").run()
    first = json.loads(_answer(INVOICE.total))
    delivery = {"name": "Доставка", "quantity": "1", "unit": None, "price": "100.00", "amount": None}
    more = {**dict.fromkeys(first), "lines": [delivery], "number": "ignored: the first page gave one"}
    answers = iter([json.dumps(first, ensure_ascii=False), json.dumps(more, ensure_ascii=False)])
    seen = can_answers(monkeypatch, _session_model(), lambda request, size: next(answers))
    assert at.button(key="extract_run_all").proto.label == "All 2 pages"
    at.button(key="extract_run_all").click().run()
    assert not at.exception and not at.error and len(seen) == 2  # one answer per page
    result = at.session_state["extract_result"]
    assert [page.page for page in result.pages] == [1, 2] and result.valid
    assert result.values["number"] == INVOICE.number  # each field from the first page that has it
    fields, rows = at.dataframe
    assert len(rows.value) == len(INVOICE.items) + 1  # the second page's row joins the first page's
    assert any("Done: 2 pages" in caption.value for caption in at.caption)
    assert at.selectbox(key="extract_evidence_page").options == ["1", "2"]
    at.selectbox(key="extract_evidence_page").set_value(2).run()
    assert not at.exception and at.get("image")  # the second page drawn with its boxes
    # its values are looked for on it, line items numbered as in the joined table
    assert any("“Доставка” (lines.3.name) was not found" in warning.value for warning in at.warning)


def test_a_grounding_family_draws_the_boxes_itself(app_env, tiny_models, monkeypatch):
    app_env.setenv("MODEL_ID", str(tiny_models["qwen2_5_vl"]))
    at = _extract_page()
    at.radio(key="extract_template_en").set_value("Russian invoice (счёт на оплату)").run()

    def answer(request, size):
        if request.task == "extract":
            return _answer(INVOICE.total)
        return '[{"bbox_2d": [10, 20, 110, 60], "label": "x"}]' if INVOICE.number in request.messages[0].text else "[]"

    seen = can_answers(monkeypatch, _session_model(), answer)
    at.button(key="extract_run").click().run()
    assert not at.exception and not at.error
    asked = [canned.request.task for canned in seen]
    assert asked[0] == "extract" and set(asked[1:]) == {"detection"}  # then one grounding request per value
    evidence = {item.path: item for _, item in at.session_state["extract_result"].evidence}
    assert evidence["number"].source == "grounding" and evidence["number"].box is not None
    assert evidence["seller"].box is None  # the model pointed at nothing for it: flagged
    assert any("Boxes drawn by the model itself" in caption.value for caption in at.caption)


def test_own_fields_from_the_editor_and_from_a_pasted_schema(app_env, monkeypatch):
    at = _extract_page(lang="ru")
    at.radio(key="extract_template_ru").set_value("Свой шаблон").run()
    assert at.session_state["extract_own_template"].fields[0].name == "number"  # the editor's starting fields
    at.text_input(key="extract_editor_title").set_value("Накладная").run()  # applied as soon as it changes
    assert not at.exception and not at.error
    own = at.session_state["extract_own_template"]
    assert [(item.name, item.type) for item in own.fields] == [("number", "text"), ("date", "date"),
                                                                ("total", "money")]  # fmt: skip
    assert own.name("ru") == "Накладная" and any("Накладная" in caption.value for caption in at.caption)
    assert not at.button(key="extract_run").disabled
    row = {"type": "object", "properties": {"товар": {"type": "string"}, "цена": {"type": "number"}}}
    schema = {"type": "object", "properties": {"покупатель": {"type": "string", "title": "Покупатель"},
                                               "строки": {"type": "array", "items": row}}}  # fmt: skip
    at.text_area(key="extract_schema_text").set_value(json.dumps(schema, ensure_ascii=False)).run()
    at.button(key="extract_schema_use").click().run()
    own = at.session_state["extract_own_template"]
    assert [item.name for item in own.fields] == ["покупатель", "строки"] and own.rows_field.name == "строки"
    address = {"type": "object", "properties": {"город": {"type": "string"}}}
    nested = {"type": "object", "properties": {"адрес": address}}
    at.text_area(key="extract_schema_text").set_value(json.dumps(nested, ensure_ascii=False)).run()
    at.button(key="extract_schema_use").click().run()
    assert not at.exception and at.error  # refused in Russian, and the template in use stays
    assert "адрес" in at.error[0].value and at.session_state["extract_own_template"].fields[0].name == "покупатель"
    seen = can_answers(monkeypatch, _session_model(), lambda request, size: '{"покупатель": null, "строки": []}')
    at.button(key="extract_run").click().run()
    assert not at.exception and json.loads(seen[0].request.json_schema)["required"] == ["покупатель", "строки"]
    assert at.session_state["extract_result"].valid


def test_a_template_too_large_for_the_models_context_is_explained_in_russian(app_env):
    at = _extract_page(lang="ru")
    at.radio(key="extract_template_ru").set_value("Свой шаблон").run()
    wordy = {"fields": [{"name": f"f{index}", "description": "очень подробное пояснение поля " * 16}
                        for index in range(59)]}  # fmt: skip
    at.text_area(key="extract_schema_text").set_value(json.dumps(wordy, ensure_ascii=False)).run()
    at.button(key="extract_schema_use").click().run()
    at.button(key="extract_run").click().run()  # the real engine measures the prompt against its context
    assert not at.exception
    assert any("не помещаются в контекст модели" in error.value for error in at.error)
    result = at.session_state["extract_result"]
    assert result.error is not None and result.error.key == "prompt.too_long"
