"""The OCR page's structured output (AppTest): a document model through the serving core, Markdown, layout, PDFs."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core.doctags import load_json
from core.lab.metrics import markdown_tables
from tests.app.conftest import can_answers, upload_and_open
from tests.conftest import image_bytes

PAGE_DOCTAGS = (
    "<doctag><section_header_level_1><loc_50><loc_20><loc_450><loc_40>Invoice {page}</section_header_level_1>"
    "<text><loc_50><loc_50><loc_450><loc_70>Paid by card.</text>"
    "<otsl><loc_50><loc_120><loc_450><loc_300><ched>Item<ched>Qty<ched>Price<nl>"
    "<fcel>Pen<fcel>2<fcel>1.50<nl><fcel>Cup<fcel>1<fcel>4.00<nl></otsl>"
    "<text><loc_50><loc_320><loc_450><loc_340>Thank you for your bus"
)


@pytest.fixture
def docling_env(app_env, tiny_docling):
    app_env.setenv("DOCLING_MODEL", str(tiny_docling))
    app_env.setenv("CONVERT_MAX_NEW_TOKENS", "24")  # random weights never stop on their own
    return str(tiny_docling)


def _structured(at):
    radio = at.radio(key="ocr_output_en")
    radio.set_value("Structured (Markdown)").run()
    assert not at.exception
    return at


def _pdf(pages: int) -> bytes:
    pictures = [Image.new("RGB", (600, 800), "white") for _ in range(pages)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, "PDF", save_all=True, append_images=pictures[1:])
    return buffer.getvalue()


def test_a_page_becomes_markdown_with_its_table_and_the_downloads_are_well_formed(docling_env, monkeypatch):
    at = _structured(upload_and_open(("page.png", image_bytes((1000, 1400), "white"), "image/png"), "pages/2_OCR.py"))
    assert at.selectbox(key="convert_model").value == docling_env  # DOCLING_MODEL comes first
    seen = can_answers(monkeypatch, docling_env, lambda request, size: PAGE_DOCTAGS.format(page=42))
    at.button(key="convert_run").click().run()
    assert not at.exception and not at.error
    assert len(seen) == 1 and seen[0].request.keep_special_tokens and seen[0].request.task == "convert"
    assert seen[0].stats.prompt_tokens > 0  # the real processor and model ran before the canned text
    result = at.session_state["ocr_convert_result"]
    markdown = result.conversion.markdown()  # what the .md download sends
    assert "## Invoice 42" in markdown and "Thank you for your bus" in markdown
    assert markdown_tables(markdown) == [[["Item", "Qty", "Price"], ["Pen", "2", "1.50"], ["Cup", "1", "4.00"]]]
    rendered = " ".join(block.value for block in at.markdown)
    assert "| Pen" in rendered and "Invoice 42" in rendered  # drawn as Markdown (a table) on the page
    assert load_json(result.conversion.json()).export_to_markdown().strip() == markdown.strip()
    assert "<table>" in result.conversion.html()
    names = [button.proto.label for button in at.get("download_button")]
    assert names == ["Download .md", "Download .html", "Download .json (Docling)"]


def test_show_layout_draws_the_elements_in_original_pixels(docling_env, monkeypatch):
    at = _structured(upload_and_open(("page.png", image_bytes((1000, 1400), "white"), "image/png"), "pages/2_OCR.py"))
    can_answers(monkeypatch, docling_env, lambda request, size: PAGE_DOCTAGS.format(page=1))
    at.button(key="convert_run").click().run()
    at.toggle(key="convert_show_layout").set_value(True).run()
    assert not at.exception
    layout = at.session_state["ocr_convert_result"].conversion.layout(1)
    assert ("table", (100, 336, 900, 840)) in [(d.label, d.box.as_tuple()) for d in layout]
    assert any(button.proto.label == "Download the image with the layout" for button in at.get("download_button"))


def test_every_page_of_a_pdf_in_one_document_with_progress(docling_env, monkeypatch):
    at = _structured(upload_and_open(("contract.pdf", _pdf(3), "application/pdf"), "pages/2_OCR.py"))
    counter = iter(range(1, 10))
    seen = can_answers(monkeypatch, docling_env, lambda request, size: PAGE_DOCTAGS.format(page=next(counter)))
    at.button(key="convert_run_all").click().run()
    assert not at.exception and not at.error
    result = at.session_state["ocr_convert_result"]
    assert len(seen) == 3 and len(result.documents) == 3
    markdown = result.conversion.markdown()
    assert markdown.index("Invoice 1") < markdown.index("Invoice 2") < markdown.index("Invoice 3")
    assert len(markdown_tables(markdown)) == 3
    assert sorted(result.conversion.document.pages) == [1, 2, 3]


def test_the_tiny_model_converts_end_to_end_without_canned_text(docling_env):
    """Its DocTags are noise, cut at the token limit: the page still gets a result and says it was cut."""
    at = _structured(upload_and_open(("page.png", image_bytes((800, 600), "white"), "image/png"), "pages/2_OCR.py"))
    at.button(key="convert_run").click().run()
    assert not at.exception and not at.error
    result = at.session_state["ocr_convert_result"]
    assert len(result.documents) == 1 and result.stats[0].new_tokens == 24
    assert result.cut_short == [1]
    assert any("token limit" in warning.value for warning in at.warning)


def test_russian_labels_and_a_missing_model_offline_shows_the_download_command(app_env):
    app_env.setenv("DOCLING_MODEL", "ibm-granite/granite-docling-258M")
    at = upload_and_open(("page.png", image_bytes(), "image/png"), "pages/2_OCR.py", lang="ru")
    at.radio(key="ocr_output_ru").set_value("Структура (Markdown)").run()
    assert not at.exception
    assert at.button(key="convert_run").disabled
    assert any("hf download ibm-granite/granite-docling-258M" in block.value for block in at.code)
    assert at.button(key="convert_run").label == "Преобразовать страницу"


def test_the_output_choice_is_kept_and_plain_text_still_works(docling_env):
    at = _structured(upload_and_open(("page.png", image_bytes(), "image/png"), "pages/2_OCR.py"))
    at.switch_page("pages/1_Chat.py").run()
    at.switch_page("pages/2_OCR.py").run()
    assert at.radio(key="ocr_output_en").value == "Structured (Markdown)"
    at.radio(key="ocr_output_en").set_value("Plain text").run()
    assert not at.exception and at.button(key="ocr_run")


def test_a_damaged_pdf_page_stops_the_run_with_its_number_and_keeps_the_pages_before(docling_env, monkeypatch):
    from core.media import InvalidInput
    from ui import upload

    at = _structured(upload_and_open(("contract.pdf", _pdf(3), "application/pdf"), "pages/2_OCR.py"))
    can_answers(monkeypatch, docling_env, lambda request, size: PAGE_DOCTAGS.format(page=1))
    real_render = upload.render_page  # where the pages a task reads are drawn

    def render(document, index):
        if index == 1:
            raise InvalidInput("pdf.corrupt")
        return real_render(document, index)

    monkeypatch.setattr(upload, "render_page", render)
    at.button(key="convert_run_all").click().run()
    assert not at.exception
    result = at.session_state["ocr_convert_result"]
    assert len(result.documents) == 1 and result.failed_page == 2 and result.page_error.key == "pdf.corrupt"
    assert any(block.value.startswith("Page 2 could not be read.") for block in at.error)
    assert "Invoice 1" in result.conversion.markdown()


LIGHTON_PAGE = (
    "# Invoice 7\nPaid by card.\n\n"
    "<table><tr><th>Item</th><th>Qty</th></tr><tr><td>Pen</td><td>2</td></tr></table>\n\n$$x^2$$"
)


def test_a_page_reader_converts_to_the_same_document_from_its_markdown(docling_env, tiny_models, monkeypatch):
    """LightOnOCR-2 beside the DocTags converters: its Markdown becomes the same document, exports and all."""
    reader = str(tiny_models["lighton_ocr"])
    monkeypatch.setenv("EXTRA_MODEL_IDS", reader)
    at = _structured(upload_and_open(("page.png", image_bytes((800, 1000), "white"), "image/png"), "pages/2_OCR.py"))
    assert at.selectbox(key="convert_model").options[:2] == ["tiny-docling", "lighton_ocr"]  # folder names
    at.selectbox(key="convert_model").set_value(reader).run()
    seen = can_answers(monkeypatch, reader, lambda request, size: LIGHTON_PAGE)
    at.button(key="convert_run").click().run()
    assert not at.exception and not at.error
    assert seen[0].request.messages[0].text == "" and not seen[0].request.keep_special_tokens
    markdown = at.session_state["ocr_convert_result"].conversion.markdown()
    assert markdown.startswith("# Invoice 7\n\nPaid by card.")
    assert markdown_tables(markdown) == [[["Item", "Qty"], ["Pen", "2"]]] and "$$x^2$$" in markdown
