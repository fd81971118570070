"""Document OCR specialists: small models trained to read a page, a table or a formula when asked with a
fixed task prompt, and to answer with the content only (Markdown text, tables as HTML or OTSL, LaTeX).

They are not chat models: they sit on the OCR page beside Tesseract and the session's model, and in the
Lab. Each family module gives its task prompts and its engine; what they write is made into Markdown with
pipe tables here (:mod:`core.markup`), so every specialist's answer is edited, shown and downloaded alike.
"""

from __future__ import annotations

import re

from core.engines.hf import PixelBudgetEngine
from core.engines.types import Capability
from core.families.base import Family
from core.families.chatter import OcrText
from core.markup import to_markdown

ABILITIES = frozenset({Capability.OCR})
_FENCE = re.compile(r"^```[a-zA-Z]*\n(.*?)\n?```$", re.DOTALL)
_HAS_DISPLAY_MATH = re.compile(r"\$\$|\\\[")


class PageReaderEngine(PixelBudgetEngine):
    """A specialist reads pages: give it more pixels than a chat model gets on a CPU (small print stays legible)."""

    max_pixels = 1600 * 28 * 28


class PageReader(Family):
    abilities = ABILITIES
    in_picker = False  # chosen on the OCR page and in the Lab, not as a session's chat model
    ocr_specialist = True
    ocr_markup = True
    element_prompts: dict[str, str] = {}  # element -> the task prompt the checkpoint was trained on

    @property
    def ocr_elements(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.element_prompts)

    def ocr_prompt(self, language_hint: str = "auto", element: str = "text") -> str:
        """The element's task prompt; the language needs no hint (the model tells scripts apart itself)."""
        super().ocr_prompt(language_hint, element)  # the same checks of the hint and the element
        return self.element_prompts[element]

    def element_of(self, prompt: str) -> str:
        return next((element for element, known in self.element_prompts.items() if known == prompt), "text")

    def clean_ocr(self, raw: str, prompt: str) -> OcrText:
        """The answer as Markdown: tables as pipe tables, a formula between ``$$`` so it renders as one."""
        text = raw.strip()
        fenced = _FENCE.match(text)
        if fenced:
            text = fenced.group(1).strip()
        if self.element_of(prompt) == "formula" and text and not _HAS_DISPLAY_MATH.search(text):
            text = f"$$\n{text.strip('$').strip()}\n$$"
        text = to_markdown(text)
        return OcrText(text, not text)
