"""PaddleOCR-VL (Baidu): a 0.9B element reader (NaViT-style encoder, ERNIE-4.5-0.3B decoder), 109 languages.

Format facts and where they come from:
- Classes: transformers' ``models/paddleocr_vl`` (``PaddleOCRVLForConditionalGeneration``, ``PaddleOCRVLProcessor``,
  ``PaddleOCRVLImageProcessor``: 14 px patches merged 2 x 2, ``size`` as pixel counts between 384² and 1536²).
- Prompts: the element prompts of the model card and of transformers' PaddleOCR-VL page: ``OCR:``,
  ``Table Recognition:``, ``Formula Recognition:``, ``Chart Recognition:``, written after the image in a turn
  ``<|begin_of_sentence|>User: <|IMAGE_START|><|IMAGE_PLACEHOLDER|><|IMAGE_END|>prompt\\nAssistant:\\n``.
- PaddleOCR-VL 1.5 (arXiv 2601.21957, January 2026) keeps the architecture and these prompts and adds text
  spotting and seal recognition (not offered here: their answers are polygons and seal text).
- Output: plain text for ``OCR:``, OTSL cell tokens (``<fcel>``, ``<ecel>``, ``<lcel>``, ``<ucel>``, ``<xcel>``,
  ``<nl>``) for tables, LaTeX for formulas, a Markdown table for charts (the PaddleOCR-VL technical report,
  arXiv 2510.14528); :mod:`core.markup` makes the OTSL a pipe table.
"""

from __future__ import annotations

from core.engines.types import ModelCard
from core.families.page_readers import ABILITIES, PageReader, PageReaderEngine
from core.settings import Settings

# The processor's own upper bound is 1536² pixels; on a CPU a page at about 1.2 megapixels reads well enough.
MAX_PIXELS = 1536 * 28 * 28


class PaddleOcrVlEngine(PageReaderEngine):
    family = "paddleocr_vl"
    max_pixels = MAX_PIXELS


class PaddleOcrVl(PageReader):
    name = "paddleocr_vl"
    model_types = ("paddleocr_vl",)
    name_hints = ("paddleocr-vl", "paddleocr_vl")
    catalogue = (
        ModelCard("PaddlePaddle/PaddleOCR-VL-1.5", name, "PaddleOCR-VL 1.5 0.9B", 900, ABILITIES),
        ModelCard("PaddlePaddle/PaddleOCR-VL", name, "PaddleOCR-VL 0.9B", 900, ABILITIES),
    )
    element_prompts = {
        "text": "OCR:",
        "table": "Table Recognition:",
        "formula": "Formula Recognition:",
        "chart": "Chart Recognition:",
    }

    def engine(self, card: ModelCard, settings: Settings) -> PaddleOcrVlEngine:
        return PaddleOcrVlEngine(card, settings)


FAMILY = PaddleOcrVl()
