"""Extract: named fields of a document as one JSON object (the Lab's ``extract`` task, for now)."""

from __future__ import annotations

from typing import Any

from PIL import Image

from core.engines.types import Capability, ChatMessage, GenerationRequest, Role
from core.families import Family
from core.grounding import json_objects
from core.serving import JobOutcome
from core.tasks.base import LabAnswer, LabOptions
from core.user_text import neutralise

NEEDS = Capability.CHAT
MAX_TILES = 4  # a document page at a moderate budget: field values are larger than body text
DEFAULT_FIELDS = ("seller", "number", "date", "total")


def extract_prompt(fields: tuple[str, ...]) -> str:
    listed = neutralise(", ".join(fields))
    return (
        f"Read this document and extract these fields: {listed}. Answer with one JSON object only, "
        f"with exactly these keys; use null for a field that is not in the document."
    )


def parse_extraction(text: str) -> dict[str, Any] | None:
    """The first JSON object in the answer, repaired where it was cut off or wrapped in prose."""
    objects = json_objects(text)
    return objects[0] if objects else None


def _prompt(options: LabOptions) -> str:
    return neutralise(options.prompt) if options.prompt else extract_prompt(options.fields or DEFAULT_FIELDS)


def lab_requests(family: Family, image: Image.Image, options: LabOptions) -> list[GenerationRequest]:
    message = ChatMessage(Role.USER, _prompt(options), (image,))
    return [GenerationRequest((message,), options.sampling, MAX_TILES, task="lab.extract")]


def lab_answer(family: Family, image: Image.Image, options: LabOptions, outcomes: list[JobOutcome]) -> LabAnswer:
    text = outcomes[0].text
    return LabAnswer(_prompt(options), text, parse_extraction(text))
