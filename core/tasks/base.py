"""What every task pipeline shares: the Lab's options for one entry, its answer record, and running a request.

A task module is a transformers pipeline in miniature: ``build`` makes the request from a family, the
media and the task's parameters (preprocess), the serving core runs it (forward), ``parse`` turns the
outcome into the task's typed result (postprocess). A module that the Lab runs also has
``lab_requests`` and ``lab_answer`` with the shapes below, so the Lab's runner holds no task logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from core.engines.types import Capability, GenerationRequest, SamplingParams
from core.families import Family
from core.serving import JobOutcome


@dataclass(frozen=True)
class LabOptions:
    """One Lab entry as a task reads it (``models.yaml`` or the Lab page)."""

    sampling: SamplingParams = field(default_factory=lambda: SamplingParams(max_new_tokens=512))
    prompt: str | None = None  # typed in models.yaml: replaces the task's own prompt, as plain text
    questions: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    language: str = "auto"  # the OCR language hint, or an OCR program's codes (rus+eng)
    template: str | None = None  # extract: a template's id or file; the answer is then decoded under its schema


@dataclass(frozen=True)
class LabAnswer:
    """What the Lab writes for one page: the prompt(s), the model's raw text and the parsed result (JSON-able),
    and what else the task measured about the answer (``extra``: written into the record as they are)."""

    prompt: object
    raw: str
    parsed: object
    extra: dict[str, object] = field(default_factory=dict)


class LabTask(Protocol):
    """A task module the Lab can run (``core.tasks.LAB_TASKS``)."""

    NEEDS: Capability

    def lab_requests(self, family: Family, image: Image.Image, options: LabOptions) -> list[GenerationRequest]: ...

    def lab_answer(
        self, family: Family, image: Image.Image, options: LabOptions, outcomes: list[JobOutcome]
    ) -> LabAnswer: ...
