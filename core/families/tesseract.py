"""Tesseract: not a model but a classical OCR engine, with the OCR ability only.

Its "prompt" is the ``-l`` value Tesseract takes (``rus+eng``); its answer is plain text (no chatter
to clean), and its words and lines come with boxes (:class:`core.engines.tesseract.OcrPage`).
"""

from __future__ import annotations

from core.engines.tesseract import LANGUAGES, TesseractEngine
from core.engines.types import Capability, ModelCard
from core.families.base import Family
from core.settings import Settings

ABILITIES = frozenset({Capability.OCR})
TESSERACT_ID = "tesseract"


class Tesseract(Family):
    name = "tesseract"
    name_hints = ("tesseract",)
    abilities = ABILITIES
    in_picker = False  # chosen on the OCR page (and in the Lab), not as a session's chat model
    catalogue = (ModelCard(TESSERACT_ID, name, "Tesseract 5", None, ABILITIES),)

    def engine(self, card: ModelCard, settings: Settings) -> TesseractEngine:
        return TesseractEngine(card, settings)

    def ocr_prompt(self, language_hint: str = "auto") -> str:
        super().ocr_prompt(language_hint)  # the same check of the hint
        return LANGUAGES[language_hint]


FAMILY = Tesseract()
