"""Tesseract: not a model but a classical OCR engine, with the OCR ability only.

Its "prompt" is the ``-l`` value Tesseract takes (``rus+eng``); its answer is plain text (no chatter
to clean), and its words and lines come with boxes (:class:`core.engines.tesseract.OcrPage`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PIL import Image

from core.engines.tesseract import LANGUAGES, TesseractEngine, check_installed, languages_for, searchable_pdf
from core.engines.types import Capability, ModelCard
from core.families.base import LANGUAGE_HINTS, Family
from core.families.chatter import OcrText
from core.settings import Settings

ABILITIES = frozenset({Capability.OCR})
TESSERACT_ID = "tesseract"


class Tesseract(Family):
    name = "tesseract"
    name_hints = ("tesseract",)
    abilities = ABILITIES
    in_picker = False  # chosen on the OCR page (and in the Lab), not as a session's chat model
    ocr_specialist = True
    ocr_label_key = "ocr.engine_tesseract"
    writes_searchable_pdf = True
    program = True
    catalogue = (ModelCard(TESSERACT_ID, name, "Tesseract 5", None, ABILITIES),)

    def engine(self, card: ModelCard, settings: Settings) -> TesseractEngine:
        return TesseractEngine(card, settings)

    def ocr_prompt(self, language_hint: str = "auto", element: str = "text") -> str:
        """Tesseract's ``-l``: from a hint (``auto``, ``ru``, ``en``) or given as codes (``rus+eng``)."""
        self.check_element(element)
        if language_hint not in LANGUAGE_HINTS and not all(part.isalpha() for part in language_hint.split("+")):
            raise ValueError(f"language hint must be one of {LANGUAGE_HINTS} or codes such as rus+eng")
        return LANGUAGES.get(language_hint, language_hint)

    def clean_ocr(self, raw: str, prompt: str) -> OcrText:
        """A program's output is the text itself: nothing to strip, nothing to rewrite."""
        text = raw.strip()
        return OcrText(text, not text)

    def check_ocr_ready(self, language_hint: str = "auto") -> None:
        check_installed(languages_for(self.ocr_prompt(language_hint)))

    def searchable_pdf(
        self, pages: Iterable[Image.Image], language_hint: str, on_page: Callable[[int], None] | None = None
    ) -> bytes:
        return searchable_pdf(pages, self.ocr_prompt(language_hint), on_page)


FAMILY = Tesseract()
