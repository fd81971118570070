"""What the app knows about one model family; each family module holds one subclass of :class:`Family`.

The defaults here are what a chat model with no special tasks gets: the plain OCR prompt, a region
described from a crop with context, and no grounding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PIL import Image

from core.boxes import Box
from core.engines.base import Engine
from core.engines.remote import REMOTE_LONGEST_EDGE, RemoteImage, shrink_to_edge
from core.engines.types import Capability, ModelCard
from core.families.chatter import OcrText, clean_ocr_output
from core.grounding import Detection
from core.settings import Settings

NO_TEXT_MARK = "NO_TEXT"

_OCR_PROMPT = (
    "Transcribe all the text in this image exactly as written, keeping the line breaks. "
    "Output only the text itself: no introduction, no explanation, no formatting. "
    f"If the image contains no text, answer {NO_TEXT_MARK}."
)
_OCR_HINTS = {
    "auto": "",
    "ru": " The text is in Russian; keep it in Russian, do not translate it.",
    "en": " The text is in English.",
}
LANGUAGE_HINTS = tuple(_OCR_HINTS)
# The answer, not the reasoning: the switch a thinking model's template takes, locally and on a server.
THINKING_OFF: dict[str, object] = {"enable_thinking": False}


class CannotGround(ValueError):
    """The family has no way to locate objects; detection goes to a grounding family."""


# Pictures a chat family takes in one question: each is encoded in full, so a few pages already fill a small
# model's context on a CPU; the Chat page states the budget and keeps to it.
MAX_IMAGES = 8


class Family:
    name: str = ""
    model_types: tuple[str, ...] = ()  # ``model_type`` values in config.json
    name_hints: tuple[str, ...] = ()  # lower-case parts of a hub id or folder name that name the family
    abilities: frozenset[Capability] = frozenset()
    catalogue: tuple[ModelCard, ...] = ()
    in_picker: bool = True  # offered as a session's model on Home
    max_images: int = 1  # pictures one question may hold (several pages or photos asked about together)
    # An OCR engine of its own (a program, an OCR specialist): offered on the OCR page beside the session's model
    ocr_specialist: bool = False
    ocr_label_key: str | None = None  # the OCR page's label for it (a strings key); None: the card's title
    writes_searchable_pdf: bool = False  # can lay its text under a page picture as a PDF text layer
    program: bool = False  # a program, not a model: a Lab entry names it by its family as ``engine:``
    # What its OCR can be asked to read: "text" for all; a document specialist adds "table", "formula", ...
    ocr_elements: tuple[str, ...] = ("text",)
    ocr_markup: bool = False  # its OCR answers are Markdown with tables and formulas (shown rendered)
    chat_template_kwargs: dict[str, object] = {}  # switches its template takes, sent to a server too
    convert_format: str = "doctags"  # what a converter writes for a page: "doctags" or "markdown"
    convert_keeps_special_tokens: bool = True  # DocTags are special tokens; Markdown is plain text

    def engine(self, card: ModelCard, settings: Settings) -> Engine:
        raise NotImplementedError

    # -- prompts ---------------------------------------------------------------------------------

    def ocr_prompt(self, language_hint: str = "auto", element: str = "text") -> str:
        if language_hint not in _OCR_HINTS:
            raise ValueError(f"language hint must be one of {LANGUAGE_HINTS}")
        self.check_element(element)
        return _OCR_PROMPT + _OCR_HINTS[language_hint]

    def check_element(self, element: str) -> None:
        if element not in self.ocr_elements:
            raise ValueError(f"the {self.name} family reads {', '.join(self.ocr_elements)}, not {element!r}")

    def clean_ocr(self, raw: str, prompt: str) -> OcrText:
        """The transcription inside an OCR answer: a chat model's chatter around it removed."""
        return clean_ocr_output(raw, prompt)

    def check_ocr_ready(self, language_hint: str = "auto") -> None:
        """Raise an :class:`core.engines.types.EngineError` (with the fix in its params) when OCR cannot run here."""

    def searchable_pdf(
        self, pages: Iterable[Image.Image], language_hint: str, on_page: Callable[[int], None] | None = None
    ) -> bytes:
        """The pages as one PDF with the recognised text laid under each picture."""
        raise ValueError(f"the {self.name} family does not write searchable PDFs")

    def native_region_prompt(self, box: Box, width: int, height: int) -> str | None:
        """The family's own region task with the box in its coordinates; None: describe a crop instead."""
        return None

    def convert_prompt(self) -> str:
        """The instruction that makes the model write a page as DocTags (document converters only)."""
        raise ValueError(f"the {self.name} family does not convert documents")

    def grounding_prompt(self, phrase: str) -> str:
        raise CannotGround(f"the {self.name} family cannot ground phrases")

    # -- output ----------------------------------------------------------------------------------

    def parse_grounding(
        self, text: str, phrase: str, image_size: tuple[int, int], input_size: tuple[int, int] | None
    ) -> list[Detection]:
        """Boxes in ORIGINAL pixels of an image of ``image_size``; ``input_size`` is what the model saw."""
        raise CannotGround(f"no grounding parser for {self.name}")

    # -- a remote (OpenAI-compatible) server -------------------------------------------------------

    def remote_image(self, image: Image.Image, max_tiles: int | None, card: ModelCard) -> RemoteImage:
        """The picture to send to a server: within the pixel budget a local run would use.

        ``input_size`` is set where the family's boxes are in the pixels of the model's input, so its
        parser can scale them back exactly as for a local run.
        """
        return RemoteImage(shrink_to_edge(image, REMOTE_LONGEST_EDGE), None)

    def card_for(self, model_id: str, title: str) -> ModelCard:
        """A card for a checkpoint of this family outside the catalogue (a local folder, another hub id)."""
        return ModelCard(model_id, self.name, title, None, self.abilities)
