"""LightOnOCR-2 (LightOn): a 1B end-to-end page reader that writes a whole page as Markdown, given the picture alone.

Format facts and where they come from:
- Classes: transformers' ``models/lighton_ocr`` (``LightOnOcrForConditionalGeneration``: a Pixtral encoder on
  14 px patches merged 2 x 2 and a Qwen3 decoder; ``LightOnOcrProcessor`` with Pixtral's image processor, pages
  up to 1540 px on the longest edge; Qwen's ``<|image_pad|>``, ``<|vision_pad|>`` and ``<|vision_end|>`` as the
  picture's tokens).
- Prompt: the model card sends a user turn holding only the picture (no instruction), in Qwen's ChatML turns.
- Output: the page in reading order as Markdown, formulas in LaTeX, tables as HTML or Markdown (the model card
  and the LightOnOCR release notes); :mod:`core.markup` makes the tables pipe tables. It gives no element boxes.

It serves twice: as an OCR engine on the OCR page (the page as Markdown) and as a converter beside the DocTags
models (the Markdown made into the same document, exported as Markdown, HTML and JSON).
"""

from __future__ import annotations

from core.engines.types import Capability, ModelCard
from core.families.page_readers import PageReader, PageReaderEngine
from core.settings import Settings

ABILITIES = frozenset({Capability.OCR, Capability.CONVERT})


class LightOnOcrEngine(PageReaderEngine):
    """Pixtral's processor bounds the longest edge itself (``size.longest_edge``, in pixels), so no pixel count
    is imposed here."""

    family = "lighton_ocr"

    def _image_kwargs(self, request):  # type: ignore[no-untyped-def]
        return {}


class LightOnOcr(PageReader):
    name = "lighton_ocr"
    model_types = ("lighton_ocr",)
    name_hints = ("lightonocr", "lighton_ocr", "lighton-ocr")
    abilities = ABILITIES
    catalogue = (ModelCard("lightonai/LightOnOCR-2-1B", name, "LightOnOCR-2 1B", 1000, ABILITIES),)
    element_prompts = {"text": ""}  # the picture alone is the request
    convert_format = "markdown"
    convert_keeps_special_tokens = False

    def engine(self, card: ModelCard, settings: Settings) -> LightOnOcrEngine:
        return LightOnOcrEngine(card, settings)

    def convert_prompt(self) -> str:
        return ""


FAMILY = LightOnOcr()
