"""GLM-OCR (Z.ai): a 0.9B document reader asked by task prompt; text as Markdown, tables as HTML, formulas as LaTeX.

Format facts and where they come from:
- Classes: transformers' ``models/glm_ocr`` (``GlmOcrForConditionalGeneration``, ``GlmOcrConfig``: image token
  59280 between ``<|begin_of_image|>`` 59256 and ``<|end_of_image|>`` 59257). The checkpoint has no processor
  of its own: its ``preprocessor_config.json`` names ``Glm46VProcessor`` and ``Glm46VImageProcessor`` with
  14 px patches merged 2 x 2 and ``size`` as pixel counts (shortest 12 544, longest 9 633 792).
- Prompts: the model card's task prompts ``Text Recognition:``, ``Table Recognition:``, ``Formula Recognition:``
  (transformers' GLM-OCR page and the zai-org/GLM-OCR card), placed after the image in a GLM chat turn
  (``[gMASK]<sop><|user|>\\n<image>prompt<|assistant|>\\n``).
- Output: Markdown for text, an HTML ``<table>`` for tables, LaTeX for formulas (the GLM-OCR technical report,
  arXiv 2603.10910, and its SDK's post-processing); :mod:`core.markup` turns the tables into pipe tables.
"""

from __future__ import annotations

from core.engines.types import ModelCard
from core.families.page_readers import ABILITIES, PageReader, PageReaderEngine
from core.settings import Settings


class GlmOcrEngine(PageReaderEngine):
    family = "glm_ocr"


class GlmOcr(PageReader):
    name = "glm_ocr"
    model_types = ("glm_ocr",)
    name_hints = ("glm-ocr", "glm_ocr")
    catalogue = (ModelCard("zai-org/GLM-OCR", name, "GLM-OCR 0.9B", 900, ABILITIES),)
    element_prompts = {
        "text": "Text Recognition:",
        "table": "Table Recognition:",
        "formula": "Formula Recognition:",
    }

    def engine(self, card: ModelCard, settings: Settings) -> GlmOcrEngine:
        return GlmOcrEngine(card, settings)


FAMILY = GlmOcr()
