"""OCR: the text of a picture. A model reads it with its family's OCR prompt and its chatter is cleaned by
the family; an OCR program (a family too) answers with the text and its word and line boxes.

Tile budget: text needs pixels, so OCR asks for the full resolution (``OCR_MAX_TILES``) unless told less.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from PIL import Image

from core.engines.types import (
    Capability,
    ChatMessage,
    EngineError,
    GenerationRequest,
    GenerationStats,
    OcrLine,
    OcrPage,
    OcrWord,
    Role,
    SamplingParams,
)
from core.families import Family
from core.families.base import LANGUAGE_HINTS, NO_TEXT_MARK
from core.grounding import Detection
from core.serving import JobOutcome, ModelClient
from core.serving.job import UpdateCallback
from core.tasks.base import LabAnswer, LabOptions
from core.user_text import neutralise

__all__ = ["LANGUAGE_HINTS", "NO_TEXT_MARK", "OCR_MAX_TILES", "OcrParams", "OcrResult", "build", "parse", "read"]

NEEDS = Capability.OCR
OCR_MAX_TILES = 16
LAB_MAX_TILES = OCR_MAX_TILES


@dataclass(frozen=True)
class OcrParams:
    language_hint: str = "auto"  # auto | ru | en, or an OCR program's own codes (rus+eng)
    max_new_tokens: int = 1024
    max_tiles: int = OCR_MAX_TILES
    element: str = "text"  # what to read: one of the family's ``ocr_elements``


def build(family: Family, image: Image.Image, params: OcrParams) -> GenerationRequest:
    return GenerationRequest(
        (ChatMessage(Role.USER, family.ocr_prompt(params.language_hint, params.element), (image,)),),
        SamplingParams(max_new_tokens=params.max_new_tokens, do_sample=False),
        params.max_tiles,
        task="ocr",
        repetition_guard=True,
    )


@dataclass
class OcrResult:
    """The text read from one picture, and how the reading went; ``layout`` holds boxes when the engine gives them."""

    text: str
    no_text: bool
    raw: str
    stopped: bool
    looped: bool  # the repetition guard ended it: the text goes up to where the loop began
    error: EngineError | None
    stats: GenerationStats
    language_hint: str
    prompt: str  # what the engine was asked (an OCR program's languages)
    engine: str = ""  # the model id that read it
    media_digest: str = ""
    layout: OcrPage | None = None
    markup: bool = False  # Markdown with tables and formulas (a document specialist's answer), not plain text
    created_at: datetime = field(default_factory=datetime.now)

    @property
    def lines(self) -> list[OcrLine]:
        return self.layout.lines if self.layout is not None else []

    @property
    def words(self) -> list[OcrWord]:
        return self.layout.words if self.layout is not None else []

    @property
    def stamp(self) -> str:
        return f"{self.created_at:%Y%m%d_%H%M%S}"

    @property
    def file_name(self) -> str:
        return f"ocr_result_{self.stamp}.{'md' if self.markup else 'txt'}"


def parse(family: Family, outcome: JobOutcome, params: OcrParams) -> OcrResult:
    """The transcription in the outcome (the family cleans what its model writes around it)."""
    prompt = family.ocr_prompt(params.language_hint, params.element)
    cleaned = family.clean_ocr(outcome.text, prompt)
    return OcrResult(
        text=cleaned.text,
        no_text=cleaned.no_text and not outcome.stopped,
        raw=outcome.text,
        stopped=outcome.stopped and not outcome.looped,
        looped=outcome.looped,
        error=outcome.error,
        stats=outcome.stats,
        language_hint=params.language_hint,
        prompt=prompt,
        layout=outcome.text_layout,
        markup=family.ocr_markup,
    )


def read(
    client: ModelClient,
    family: Family,
    image: Image.Image,
    params: OcrParams,
    *,
    stop: threading.Event | None = None,
    on_update: UpdateCallback | None = None,
) -> OcrResult:
    """Build, run through the serving core and parse, in one call (the Region page's "read this box")."""
    outcome = client.generate(build(family, image, params), stop=stop, on_update=on_update)
    return parse(family, outcome, params)


# --- text boxes, when the engine gave them ---------------------------------------------------------

CONFIDENT = 85.0  # at or above: green
UNSURE = 60.0  # below: red; between: amber
_GREEN, _AMBER, _RED = (34, 160, 70), (235, 150, 0), (220, 40, 40)


def confidence_colour(detection: Detection) -> tuple[int, int, int]:
    """Green for a confident box, amber for an unsure one, red for a doubtful one (score = confidence / 100)."""
    confidence = (detection.score or 0.0) * 100
    return _GREEN if confidence >= CONFIDENT else _AMBER if confidence >= UNSURE else _RED


def text_boxes(page: OcrPage, level: str = "lines") -> list[Detection]:
    """The page's lines (or words) as boxes labelled with their confidence in percent.

    The label is a number because the drawing font has no Cyrillic; the text itself is in the JSON.
    """
    items = page.lines if level == "lines" else page.words
    return [Detection(f"{item.confidence:.0f}%", item.box, item.confidence / 100) for item in items]


def text_boxes_report(
    page: OcrPage,
    *,
    image_name: str,
    languages: str,
    elapsed_s: float,
    engine: str,
    created_at: datetime | None = None,
) -> dict[str, object]:
    """Words and lines with boxes in original pixels and the engine's confidences (0-100)."""

    def entry(item: OcrLine | OcrWord) -> dict[str, object]:
        found: dict[str, object] = {"text": item.text, "box": list(item.box.as_tuple()),
                                    "confidence": round(item.confidence, 1)}  # fmt: skip
        if isinstance(item, OcrWord):
            found["line"] = item.line
        return found

    return {
        "image": {"name": image_name, "width": page.width, "height": page.height},
        "engine": engine,
        "languages": languages,
        "text": page.text,
        "lines": [entry(line) for line in page.lines],
        "words": [entry(word) for word in page.words],
        "elapsed_s": round(elapsed_s, 3),
        "created_at": (created_at or datetime.now(UTC)).isoformat(timespec="seconds"),
    }


# --- the Lab --------------------------------------------------------------------------------------


def _lab_prompt(family: Family, options: LabOptions) -> str:
    # typed in models.yaml: plain text, even a Florence task token
    return neutralise(options.prompt) if options.prompt else family.ocr_prompt(options.language)


def lab_requests(family: Family, image: Image.Image, options: LabOptions) -> list[GenerationRequest]:
    message = ChatMessage(Role.USER, _lab_prompt(family, options), (image,))
    return [GenerationRequest((message,), options.sampling, LAB_MAX_TILES, task="lab.ocr", repetition_guard=True)]


def lab_answer(family: Family, image: Image.Image, options: LabOptions, outcomes: list[JobOutcome]) -> LabAnswer:
    prompt = _lab_prompt(family, options)
    text = outcomes[0].text
    return LabAnswer(prompt, text, family.clean_ocr(text, prompt).text)
