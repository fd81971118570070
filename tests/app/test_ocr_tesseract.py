"""The OCR page with Tesseract (AppTest): real text through the real binary, boxes, searchable PDF."""

from __future__ import annotations

import io
import json

import pypdfium2 as pdfium

from core.lab.metrics import cer
from tests.app.conftest import upload_and_open
from tests.text_pages import MIXED_LINES, render_lines
from ui.ocr import editor_key


def _page_png() -> bytes:
    buffer = io.BytesIO()
    render_lines().save(buffer, "PNG")
    return buffer.getvalue()


def _tesseract_ocr():
    at = upload_and_open(("invoice.png", _page_png(), "image/png"), "pages/2_OCR.py")
    radio = at.radio(key="ocr_engine_en")
    radio.set_value(radio.options[1]).run()  # "Tesseract (Russian + English)"
    assert not at.exception and not at.warning  # installed, so no install message
    at.button(key="ocr_run").click().run()
    assert not at.exception
    return at


def test_tesseract_reads_the_page_and_the_text_download_holds_it(app_env):
    at = _tesseract_ocr()
    result = at.session_state["ocr_result"]
    assert result.engine == "tesseract" and result.error is None
    edited = at.text_area(key=editor_key(result)).value  # what the .txt download button sends
    assert cer("\n".join(MIXED_LINES), edited) <= 0.02


def test_text_boxes_drawn_and_their_json_has_the_lines_inside_the_image(app_env):
    from core.engines.tesseract import languages_for
    from core.tasks.ocr import text_boxes_report

    at = _tesseract_ocr()
    at.toggle(key="ocr_show_boxes").set_value(True).run()
    assert not at.exception
    result = at.session_state["ocr_result"]
    assert result.prompt == languages_for(result.language_hint) == "rus+eng"
    report = text_boxes_report(result.layout, image_name="invoice.png", languages=result.prompt, elapsed_s=0,
                               engine=result.engine)  # fmt: skip
    data = json.loads(json.dumps(report, ensure_ascii=False))  # what the JSON download holds
    assert len(data["lines"]) == len(MIXED_LINES)
    for line in data["lines"]:
        x1, y1, x2, y2 = line["box"]
        assert 0 <= x1 < x2 <= 1200 and 0 <= y1 < y2 <= 420 and 0 <= line["confidence"] <= 100
    at.radio(key="ocr_box_level_en").set_value("words").run()
    assert not at.exception


def test_searchable_pdf_has_the_words_in_its_text_layer(app_env):
    at = _tesseract_ocr()
    at.button(key="ocr_make_pdf").click().run()
    assert not at.exception
    digest, stamp, pdf = at.session_state["ocr_pdf"]
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 1
    text = document[0].get_textpage().get_text_range()
    for word in ("Invoice", "Счёт", "12,345.67"):
        assert word in text, (word, text)


def test_the_engine_choice_is_remembered_for_the_session(app_env):
    at = _tesseract_ocr()
    at.switch_page("pages/1_Chat.py").run()
    at.switch_page("pages/2_OCR.py").run()
    assert at.radio(key="ocr_engine_en").value.startswith("Tesseract")


def test_all_pages_of_a_pdf_in_one_searchable_pdf(app_env):
    pages = [render_lines([f"Page {number} of the contract", f"Страница {number} договора"], size=(900, 300))
             for number in (1, 2, 3)]  # fmt: skip
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", resolution=100.0, save_all=True, append_images=pages[1:])
    at = upload_and_open(("contract.pdf", buffer.getvalue(), "application/pdf"), "pages/2_OCR.py")
    radio = at.radio(key="ocr_engine_en")
    radio.set_value(radio.options[1]).run()
    at.button(key="ocr_run").click().run()
    assert not at.exception
    at.button(key="ocr_make_pdf_all").click().run()
    assert not at.exception
    _, _, pdf = at.session_state["ocr_pdf"]
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 3
    for number in (1, 2, 3):
        text = document[number - 1].get_textpage().get_text_range()
        assert "contract" in text and f"Страница {number}" in text  # each page in its place


def test_region_reads_the_text_in_a_box_when_tesseract_is_chosen(app_env):
    at = _tesseract_ocr()
    at.switch_page("pages/3_Region.py").run()
    top = 30 + 3 * 70 - 10  # the fourth line: "Итого к оплате: 12 345,67 руб."
    at.text_input(key="region_coords").set_value(f"20,{top},900,{top + 60}").run()
    at.button(key="region_read_text").click().run()
    assert not at.exception
    _, _, read = at.session_state["region_text"]
    assert read.error is None and cer(MIXED_LINES[3], read.text) <= 0.05


def test_without_tesseract_chosen_the_region_page_does_not_offer_it(app_env):
    at = upload_and_open(("invoice.png", _page_png(), "image/png"), "pages/3_Region.py")
    at.text_input(key="region_coords").set_value("20,20,300,100").run()
    assert "region_read_text" not in [button.key for button in at.button]


def test_a_missing_language_pack_shows_the_install_command_and_blocks_the_run(app_env, monkeypatch):
    from core.engines import tesseract

    monkeypatch.setattr(tesseract, "installed_languages", lambda: {"eng", "osd"})  # as if rus were not installed
    at = upload_and_open(("invoice.png", _page_png(), "image/png"), "pages/2_OCR.py")
    radio = at.radio(key="ocr_engine_en")
    radio.set_value(radio.options[1]).run()
    assert not at.exception
    assert any("missing: tesseract-ocr-rus" in warning.value for warning in at.warning)
    assert any(code.value == "sudo apt-get install tesseract-ocr-rus" for code in at.code)
    assert at.button(key="ocr_run").disabled


def test_the_lab_page_offers_tesseract_as_an_ocr_baseline(app_env, tmp_path):
    from core.lab.synthetic import write_dataset
    from tests.app.conftest import open_page

    write_dataset(tmp_path / "docs", 4)  # Russian and English invoices
    app_env.setenv("LAB_DOCUMENTS_DIR", str(tmp_path / "docs"))
    at = open_page("Home.py").run()
    at.switch_page("pages/5_Lab.py").run()
    at.radio(key="lab_source_en").set_value(f"Server folder: {tmp_path / 'docs'}").run()
    tesseract_label = next(o for o in at.multiselect(key="lab_models").options if o.startswith("Tesseract"))
    at.multiselect(key="lab_models").set_value([tesseract_label])
    at.selectbox(key="lab_task").set_value("extract")
    at.button(key="lab_start").click().run()
    assert any("cannot do the extract task" in warning.value for warning in at.warning)
    at.selectbox(key="lab_task").set_value("ocr")
    at.button(key="lab_start").click().run()
    job = at.session_state["lab_job"]
    assert job.finished.wait(120)
    at.run()
    assert not at.exception and job.error is None
    (row,) = job.report["models"]
    assert row["results"] == 4 and row["cer"] < 0.05  # read by the real engine, against references/*.txt


def test_tesseract_works_without_any_downloaded_model(app_env):
    from tests.app.conftest import open_page

    app_env.setenv("MODEL_ID", "HuggingFaceTB/SmolVLM2-256M-Video-Instruct")  # not in this machine's cache
    at = open_page("Home.py").run()
    at.file_uploader[0].set_value(("scan.png", _page_png(), "image/png")).run()
    assert any("was not found in the cache" in error.value for error in at.error)  # Home says so
    at.switch_page("pages/2_OCR.py").run()
    radio = at.radio(key="ocr_engine_en")
    radio.set_value(radio.options[1]).run()
    at.button(key="ocr_run").click().run()
    assert not at.exception
    result = at.session_state["ocr_result"]
    assert result.error is None and cer("\n".join(MIXED_LINES), result.text) <= 0.02
