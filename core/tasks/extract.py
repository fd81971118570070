"""Extract: the fields of a template from a document page, as JSON valid under the template's schema.

``build`` asks for the template's fields and decodes under its JSON Schema (locally through llguidance, on a
server as its structured output), with a token limit the bounded schema is sure to close within; ``parse``
reads the answer, types every value (dates to ISO 8601, money to an amount and a currency) and runs the checks.
The Lab's ``extract`` entries with a loose list of ``fields`` still use the prompt-only path below.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from PIL import Image

from core.engines.constrained import schema_text
from core.engines.types import (
    Capability,
    ChatMessage,
    EngineError,
    GenerationRequest,
    GenerationStats,
    Role,
    SamplingParams,
)
from core.extraction.checks import Check, run_checks
from core.extraction.evidence import Evidence
from core.extraction.templates import Bounds, Template, load_template, token_bound
from core.extraction.values import typed_value
from core.families import Family
from core.grounding import json_objects
from core.serving import JobOutcome
from core.tasks.base import LabAnswer, LabOptions
from core.user_text import neutralise

NEEDS = Capability.CHAT
MAX_TILES = 4  # a document page at a moderate budget: field values are larger than body text
DEFAULT_FIELDS = ("seller", "number", "date", "total")
# The token limit of an answer: the schema's bound when smaller. A bound is the worst case (every character
# escaped, every list full); a real answer closes far earlier, and one cut here is reported as cut, not valid.
MAX_ANSWER_TOKENS = 4096


@dataclass(frozen=True)
class ExtractParams:
    template: Template
    bounds: Bounds = field(default_factory=Bounds)
    max_tiles: int = MAX_TILES


def template_prompt(template: Template) -> str:
    """What the model is asked: the fields by name with their type and description, values copied as written."""
    lines = []
    for item in template.fields:
        kind = item.type if item.type != "rows" else "rows of " + ", ".join(column.name for column in item.columns)
        about = f" - {neutralise(item.description)}" if item.description else ""
        lines.append(f"- {item.name} ({kind}; {neutralise(item.title('en'))}){about}")
    return (
        "Read this document and fill in these fields as one JSON object:\n" + "\n".join(lines) + "\n"
        "Copy every value exactly as it is written on the page (numbers, amounts and dates too); "
        "use null for a field that is not on the page, and an empty list when there are no rows."
    )


def build(family: Family, image: Image.Image, params: ExtractParams) -> GenerationRequest:
    schema = params.template.json_schema(params.bounds)
    limit = min(token_bound(schema), MAX_ANSWER_TOKENS)
    return GenerationRequest(
        (ChatMessage(Role.USER, template_prompt(params.template), (image,)),),
        SamplingParams(max_new_tokens=limit, do_sample=False),
        params.max_tiles,
        task="extract",
        json_schema=schema_text(schema),
    )


@dataclass
class Extraction:
    """One page's answer: the values as written, typed, and checked; ``valid`` says the JSON followed the schema."""

    template: Template
    raw: str
    values: dict[str, Any] | None  # as the model wrote them (None: no JSON object could be read)
    typed: dict[str, Any]
    checks: list[Check]
    valid: bool
    stopped: bool
    error: EngineError | None
    stats: GenerationStats
    created_at: datetime = field(default_factory=datetime.now)


@dataclass
class ExtractRun:
    """One page's extraction as the page keeps it: the answer, where its values stand, for which picture."""

    extraction: Extraction
    evidence: list[Evidence] | None  # None: Tesseract is not installed here
    media_digest: str
    model_id: str
    created_at: datetime = field(default_factory=datetime.now)

    @property
    def stamp(self) -> str:
        return f"{self.created_at:%Y%m%d_%H%M%S}"


def typed_values(template: Template, values: dict[str, Any]) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    stated = values.get("currency")
    currency = (
        stated.strip().upper() if isinstance(stated, str) and re.fullmatch(r"\s*[A-Za-z]{3}\s*", stated) else None
    )
    for item in template.fields:
        value = values.get(item.name)
        if item.type == "rows":
            rows = value if isinstance(value, list) else []
            typed[item.name] = [
                {column.name: typed_value(column.type, row.get(column.name), currency) for column in item.columns}
                for row in rows
                if isinstance(row, dict)
            ]
        else:
            typed[item.name] = typed_value(item.type, value, currency)
    return typed


def parse(template: Template, outcome: JobOutcome, bounds: Bounds | None = None) -> Extraction:
    import jsonschema

    values: dict[str, Any] | None = None
    valid = False
    try:
        loaded = json.loads(outcome.text)
    except ValueError:
        loaded = parse_extraction(outcome.text)  # cut off or wrapped: keep what can be read, marked invalid
    else:
        try:
            jsonschema.validate(loaded, template.json_schema(bounds))
            valid = True
        except jsonschema.ValidationError:
            valid = False
    if isinstance(loaded, dict):
        values = loaded
    typed = typed_values(template, values or {})
    checks = run_checks(template, values) if values else []
    return Extraction(template, outcome.text, values, typed, checks, valid, outcome.stopped, outcome.error,
                      outcome.stats)  # fmt: skip


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
    if options.template is not None:  # the page's path: the template's prompt, decoded under its schema
        request = build(family, image, ExtractParams(load_template(options.template)))
        return [replace(request, task="lab.extract")]
    message = ChatMessage(Role.USER, _prompt(options), (image,))
    return [GenerationRequest((message,), options.sampling, MAX_TILES, task="lab.extract")]


def lab_answer(family: Family, image: Image.Image, options: LabOptions, outcomes: list[JobOutcome]) -> LabAnswer:
    text = outcomes[0].text
    if options.template is None:
        return LabAnswer(_prompt(options), text, parse_extraction(text))
    template = load_template(options.template)
    extraction = parse(template, outcomes[0])
    extra: dict[str, object] = {
        "valid_json": extraction.valid,
        "checks_total": len(extraction.checks),
        "checks_passed": sum(check.ok for check in extraction.checks),
        "typed": extraction.typed,
    }
    return LabAnswer(template_prompt(template), text, extraction.values, extra)


def report(extraction: Extraction, evidence: list[Evidence] | None, *, document: str, page: int,
           model: str) -> dict[str, Any]:  # fmt: skip
    """One page's extraction as the JSON people download (the page's ``extract_<stamp>.json``, the CLI's files)."""
    return {
        "document": document,
        "page": page,
        "template": extraction.template.id,
        "model": model,
        "valid_json": extraction.valid,
        "stopped": extraction.stopped,
        "error": extraction.error.key if extraction.error is not None else None,
        "values": extraction.values,
        "typed": extraction.typed,
        "checks": [
            {
                "check": check.key.removeprefix("extract.check_"),
                "field": check.field,
                "row": check.row,
                "ok": check.ok,
                **check.params,
            }  # fmt: skip
            for check in extraction.checks
        ],
        "evidence": None
        if evidence is None
        else [
            {
                "path": item.path,
                "value": item.value,
                "box": item.box.as_tuple() if item.box else None,
                "score": item.score,
            }  # fmt: skip
            for item in evidence
        ],
        "elapsed_s": round(extraction.stats.seconds_total, 2),
        "created_at": extraction.created_at.isoformat(timespec="seconds"),
    }
