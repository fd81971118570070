from __future__ import annotations

import re

from tests.app.conftest import can_answers, open_page, upload_and_open
from tests.conftest import image_bytes
from tests.test_documents import make_pdf
from ui.ocr import editor_key


def _ocr_with(upload):
    return upload_and_open(upload, "pages/2_OCR.py")


def test_ocr_without_media_points_to_home(app_env):
    at = open_page("Home.py").run()
    at.switch_page("pages/2_OCR.py").run()
    assert not at.exception
    assert "Upload an image or a PDF on the Home page first." in [info.value for info in at.info]


def _session_model():
    from ui.serving import session_model_id

    return session_model_id()


def test_extract_text_shows_editable_result_time_and_download(app_env, monkeypatch):
    at = _ocr_with(("scan.png", image_bytes((400, 300), "white"), "image/png"))
    seen = can_answers(
        monkeypatch, _session_model(), lambda request, size: "Sure! Here is the text:\nINVOICE 42\nTotal: 10"
    )
    at.radio(key="ocr_language_en").set_value("Russian")
    at.button(key="ocr_run").click().run()
    assert not at.exception
    assert "Russian" in seen[0].request.messages[-1].text  # the hint reached the prompt
    result = at.session_state["ocr_result"]
    assert result.language_hint == "ru"
    assert not result.no_text and result.text == "INVOICE 42\nTotal: 10"  # the chatty opener removed
    assert at.text_area(key=editor_key(result)).value == result.text
    assert re.fullmatch(r"ocr_result_\d{8}_\d{6}\.txt", result.file_name)
    assert any(caption.value.startswith("Done in") for caption in at.caption)


def test_an_image_without_text_says_so(app_env, monkeypatch):
    at = _ocr_with(("blank.png", image_bytes((400, 300), "white"), "image/png"))
    can_answers(monkeypatch, _session_model(), lambda request, size: "NO_TEXT")
    at.button(key="ocr_run").click().run()
    assert not at.exception
    assert at.session_state["ocr_result"].no_text
    assert "No text was found in the image." in [info.value for info in at.info]


def test_ocr_of_a_pdf_page(app_env):
    at = _ocr_with(("letter.pdf", make_pdf([(595, 842), (595, 842), (300, 200)]), "application/pdf"))
    at.switch_page("Home.py").run()
    at.number_input(key="home_pdf_page").set_value(3).run()
    assert not at.exception
    assert at.session_state["home_media"].name == "letter.pdf [3/3]"
    at.switch_page("pages/2_OCR.py").run()
    at.button(key="ocr_run").click().run()
    assert not at.exception
    assert at.session_state["ocr_result"].media_digest.endswith("-p3")


def test_result_belongs_to_its_image(app_env):
    at = _ocr_with(("a.png", image_bytes((200, 200), "white"), "image/png"))
    at.button(key="ocr_run").click().run()
    # The positive control: the result is shown for the image it was made from ...
    assert any(caption.value.startswith("Done in") for caption in at.caption)
    at.switch_page("Home.py").run()
    at.file_uploader[0].set_value(("b.png", image_bytes((220, 200), "gray"), "image/png")).run()
    at.switch_page("pages/2_OCR.py").run()
    assert not at.exception
    # ... and not for another one.
    assert not at.text_area and not any(caption.value.startswith("Done in") for caption in at.caption)


def test_encrypted_or_corrupt_pdf_gets_a_message(app_env):
    at = open_page("Home.py").run()
    at.file_uploader[0].set_value(("bad.pdf", b"%PDF-1.7\nnot really", "application/pdf")).run()
    assert not at.exception
    assert any("PDF is damaged" in error.value for error in at.error)
    assert "media" not in at.session_state
