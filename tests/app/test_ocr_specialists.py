"""The OCR page with a document specialist (GLM-OCR, PaddleOCR-VL): the element choice, a table read and shown
as a table, the Markdown editable and downloaded as .md."""

from __future__ import annotations

import pytest

from tests.app.conftest import can_answers, upload_and_open
from tests.conftest import image_bytes
from ui.ocr import editor_key

# A GLM-OCR table answer with a cell that tries to style the page: it must stay literal text.
GLM_TABLE = (
    "<table><tr><th>Товар</th><th>Сумма</th></tr><tr><td>Бумага A4</td><td>1 234,56</td></tr>"
    "<tr><td>:red[Итого]</td><td>1 234,56</td></tr></table>"
)


@pytest.fixture
def specialist_page(app_env, tiny_models):
    def open_with(family: str):
        path = str(tiny_models[family])
        app_env.setenv("EXTRA_MODEL_IDS", path)
        at = upload_and_open(("invoice.png", image_bytes((500, 400), "white"), "image/png"), "pages/2_OCR.py")
        at.radio(key="ocr_engine_en").set_value(tiny_models[family].name).run()
        assert not at.exception
        return at, path

    return open_with


def test_the_specialist_is_offered_as_an_ocr_engine_but_not_as_a_chat_model(specialist_page):
    at, path = specialist_page("glm_ocr")
    assert at.session_state["ocr_engine_choice"] == path
    assert at.radio(key=f"ocr_element_{path}_en").options == ["Text", "Table", "Formula"]
    assert not any(radio.key == "ocr_language_en" for radio in at.radio)  # it needs no language hint
    at.switch_page("Home.py").run()
    offered = at.selectbox(key="home_model").options
    assert offered[0].startswith("tiny-smolvlm") and not any(option.startswith("glm_ocr") for option in offered)


def test_a_table_is_read_shown_as_a_table_and_downloaded_as_markdown(specialist_page, monkeypatch):
    at, path = specialist_page("glm_ocr")
    seen = can_answers(monkeypatch, path, lambda request, size: GLM_TABLE)
    at.radio(key=f"ocr_element_{path}_en").set_value("Table").run()
    at.button(key="ocr_run").click().run()
    assert not at.exception
    assert seen[0].request.messages[-1].text == "Table Recognition:"
    result = at.session_state["ocr_result"]
    assert result.markup and result.file_name.endswith(".md") and result.engine == path
    assert result.text.splitlines()[0] == "| Товар | Сумма |"
    assert at.text_area(key=editor_key(result)).value == result.text
    [table] = at.table
    frame = table.value
    assert list(frame.columns) == ["Товар", "Сумма"]
    assert frame.iloc[1, 0] == "\\:red\\[Итого\\]"  # escaped: shown as written, not as red text
    assert [tab.label for tab in at.tabs] == ["Document", "Markdown"]


def test_paddleocr_vl_reads_through_its_real_generate(specialist_page):
    at, path = specialist_page("paddleocr_vl")
    assert at.radio(key=f"ocr_element_{path}_en").options == ["Text", "Table", "Formula", "Chart"]
    at.radio(key=f"ocr_element_{path}_en").set_value("Chart").run()
    at.button(key="ocr_run").click().run()
    assert not at.exception
    result = at.session_state["ocr_result"]
    assert result.error is None and result.stats.new_tokens >= 1 and result.prompt == "Chart Recognition:"
    assert any(caption.value.startswith("Done in") for caption in at.caption)


def test_lighton_ocr_reads_the_whole_page_without_an_element_choice(specialist_page):
    at, path = specialist_page("lighton_ocr")
    assert not any(radio.key.startswith("ocr_element_") for radio in at.radio)  # one task: the page
    at.button(key="ocr_run").click().run()
    assert not at.exception
    result = at.session_state["ocr_result"]
    assert result.error is None and result.stats.new_tokens >= 1 and result.markup and result.prompt == ""
