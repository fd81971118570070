from __future__ import annotations

import pytest
from PIL import Image

from core.engines.types import Role
from core.families import FAMILIES
from core.families.chatter import clean_ocr_output
from core.tasks import ocr as ocr_task
from core.tasks.ocr import LANGUAGE_HINTS, NO_TEXT_MARK, OCR_MAX_TILES, OcrParams

SMOLVLM = FAMILIES["smolvlm"]

INVOICE = "ООО «Ромашка»\nСчёт № 42 от 23.11.2026\nИтого: 1 234,56 ₽"
RECEIPT = "ACME STORE\n2x Coffee   7.00\nTOTAL      7.00\nThank you!"
PROMPT = SMOLVLM.ocr_prompt("auto")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (INVOICE, INVOICE),  # already clean: untouched
        (f"Sure, here is the text:\n{RECEIPT}", RECEIPT),  # opener with a colon
        (f"Sure! Here's the extracted text:\n\n{RECEIPT}", RECEIPT),
        (f"Here is the text from the image:\n{INVOICE}", INVOICE),
        (f"The text in the image reads:\n{RECEIPT}", RECEIPT),
        (f"Вот текст с изображения:\n{INVOICE}", INVOICE),  # Russian opener
        (f"Конечно! Вот распознанный текст:\n{INVOICE}", INVOICE),
        (f"Распознанный текст:\n{INVOICE}", INVOICE),
        (f"```\n{RECEIPT}\n```", RECEIPT),  # a bare code fence
        (f"```text\n{INVOICE}\n```", INVOICE),  # a fence with a language tag
        (f"Here is the text:\n```\n{RECEIPT}\n```\nLet me know if you need anything else!", RECEIPT),
        (f"Sure!\n{RECEIPT}", RECEIPT),  # a bare acknowledgement line
        (f"{RECEIPT}\n\nI hope this helps.", RECEIPT),  # sign-off at the end
        (f"{INVOICE}\nНадеюсь, это поможет!", INVOICE),
        (f"Assistant: {RECEIPT}", RECEIPT),  # role label leaked from the template
        (f"{PROMPT}\n{RECEIPT}", RECEIPT),  # the prompt echoed back
        (f'"{RECEIPT}"', RECEIPT),  # the whole text in quotes
        (f"\r\n{RECEIPT.replace(chr(10), chr(13) + chr(10))}\r\n", RECEIPT),  # Windows line ends
        ("   \n  Total: 7.00  \n", "Total: 7.00"),  # only the ends are trimmed
        # Text that merely looks like chatter stays: no colon, part of the document.
        ("Here is where you sign\nSignature: ______", "Here is where you sign\nSignature: ______"),
        ("Sure Foods Ltd.\nInvoice 7", "Sure Foods Ltd.\nInvoice 7"),
        ("Thank you!\nPlease come again", "Thank you!\nPlease come again"),
        ('He said "hi" and "bye"', 'He said "hi" and "bye"'),  # inner quotes are text
        ("  indented line\n\tTabbed line", "indented line\n\tTabbed line"),
    ],
)
def test_cleaner_removes_chatter_and_keeps_the_text(raw, expected):
    result = clean_ocr_output(raw, PROMPT)
    assert result.text == expected
    assert not result.no_text


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   \n ",
        NO_TEXT_MARK,
        "NO_TEXT.",
        "There is no text in the image.",
        "There is no visible text in this picture.",
        "No text is visible.",
        "The image does not contain any text.",
        "На изображении нет текста.",
        "Текст отсутствует.",
        "Sure, here is the text:\n",  # only chatter
        "```\n```",
    ],
)
def test_no_text_is_recognised(raw):
    result = clean_ocr_output(raw, PROMPT)
    assert result.no_text
    assert result.text == ""


def test_a_document_mentioning_no_text_is_not_empty():
    raw = "Section 4\nThere is no text in this section by design.\nSection 5"
    assert clean_ocr_output(raw).text == raw


@pytest.mark.parametrize("hint", LANGUAGE_HINTS)
def test_prompt_asks_for_verbatim_text_with_the_language_hint(hint):
    prompt = SMOLVLM.ocr_prompt(hint)
    assert "exactly as written" in prompt and NO_TEXT_MARK in prompt
    if hint == "ru":
        assert "Russian" in prompt
    if hint == "en":
        assert "English" in prompt


def test_unknown_hint_is_refused():
    with pytest.raises(ValueError):
        SMOLVLM.ocr_prompt("de")


def test_ocr_request_is_greedy_and_full_resolution():
    image = Image.new("RGB", (10, 10))
    request = ocr_task.build(SMOLVLM, image, OcrParams("ru", 900, OCR_MAX_TILES))
    assert request.messages[0].role is Role.USER and request.messages[0].images == (image,)
    assert request.sampling.do_sample is False and request.sampling.max_new_tokens == 900
    assert request.max_tiles == 16
