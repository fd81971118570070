"""Task pipelines, one module each: ``build`` a request (preprocess), the serving core runs it (forward),
``parse`` the outcome into a typed result (postprocess). Pages, the Lab and the CLIs call the same modules;
a family answers every family-specific question (prompt, cleaning, box format) through its methods.

Adding a task: a module here with ``NEEDS`` (the capability a model must have), ``build`` and ``parse``;
for the Lab also ``lab_requests`` and ``lab_answer`` (:class:`core.tasks.base.LabTask`), listed below.
"""

from __future__ import annotations

from core.engines.types import Capability
from core.tasks import convert, extract, ocr, vqa
from core.tasks.base import LabTask

LAB_TASKS: dict[str, LabTask] = {"ocr": ocr, "extract": extract, "vqa": vqa, "convert": convert}  # type: ignore[dict-item]


def needs(task: str) -> Capability:
    """The ability a model must have to do a Lab task."""
    return LAB_TASKS[task].NEEDS
