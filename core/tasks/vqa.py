"""VQA: several independent questions about one page (the Lab's ``vqa`` task), one request each."""

from __future__ import annotations

from PIL import Image

from core.engines.types import Capability, ChatMessage, GenerationRequest, Role
from core.families import Family
from core.serving import JobOutcome
from core.tasks.base import LabAnswer, LabOptions
from core.user_text import neutralise

NEEDS = Capability.CHAT
MAX_TILES = 4


def lab_requests(family: Family, image: Image.Image, options: LabOptions) -> list[GenerationRequest]:
    return [
        GenerationRequest(
            (ChatMessage(Role.USER, neutralise(question), (image,)),), options.sampling, MAX_TILES, task="lab.vqa"
        )  # fmt: skip
        for question in options.questions
    ]


def lab_answer(family: Family, image: Image.Image, options: LabOptions, outcomes: list[JobOutcome]) -> LabAnswer:
    answers = {question: outcome.text.strip() for question, outcome in zip(options.questions, outcomes, strict=True)}
    return LabAnswer(list(options.questions), "\n".join(answers.values()), answers)
