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
from core.extraction.evidence import Evidence, written_values
from core.extraction.templates import Bounds, Template, load_template, token_bound
from core.extraction.values import typed_value
from core.families import Family
from core.grounding import json_objects
from core.serving import JobOutcome, ModelClient
from core.tasks import detect as detect_task
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
        repetition_guard=True,
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
    looped: bool = False  # the repetition guard ended the answer (a value written over and over)


@dataclass(frozen=True)
class PageExtraction:
    """One page's answer and where its values stand on that page."""

    page: int  # the document's page number, 1-based (1 for a picture)
    digest: str
    extraction: Extraction
    evidence: list[Evidence] | None  # None: nothing could look for the values (no Tesseract, no grounding)


@dataclass
class ExtractRun:
    """A document's extraction as it goes: the pages asked for and those done so far, in order. A Stop, a model
    error or a page that cannot be drawn ends it early; the pages done are kept and their values joined."""

    template: Template
    model_id: str
    page_digests: list[str]  # the pages asked for
    pages: list[PageExtraction] = field(default_factory=list)
    failed_page: int | None = None  # the page that could not be drawn
    page_error: Exception | None = None
    created_at: datetime = field(default_factory=datetime.now)

    @property
    def stamp(self) -> str:
        return f"{self.created_at:%Y%m%d_%H%M%S}"

    @property
    def stopped(self) -> bool:
        return any(page.extraction.stopped for page in self.pages)

    @property
    def error(self) -> EngineError | None:
        return next((page.extraction.error for page in self.pages if page.extraction.error is not None), None)

    @property
    def ended(self) -> bool:
        """True when the pages after the last one done will not be asked."""
        return self.stopped or self.error is not None or self.failed_page is not None

    @property
    def valid(self) -> bool:
        return bool(self.pages) and all(page.extraction.valid for page in self.pages)

    @property
    def seconds(self) -> float:
        return sum(page.extraction.stats.seconds_total for page in self.pages)

    @property
    def new_tokens(self) -> int:
        return sum(page.extraction.stats.new_tokens for page in self.pages)

    @property
    def values(self) -> dict[str, Any]:
        return merge(self.template, [page.extraction.values for page in self.pages])

    @property
    def evidence(self) -> list[tuple[int, Evidence]] | None:
        """Every page's evidence, its line-item paths numbered as in :attr:`values` (rows of all pages joined);
        None when no page's values were looked for."""
        if all(page.evidence is None for page in self.pages):
            return None
        found: list[tuple[int, Evidence]] = []
        offsets = dict.fromkeys((item.name for item in self.template.fields if item.type == "rows"), 0)
        for page in self.pages:
            positions = {name: _row_positions(page.extraction.values, name) for name in offsets}
            for item in page.evidence or []:
                name, _, rest = item.path.partition(".")
                if name in offsets and rest:
                    index, _, column = rest.partition(".")
                    joined = offsets[name] + positions[name].get(int(index), 0)
                    item = replace(item, path=f"{name}.{joined}.{column}")
                found.append((page.page, item))
            for name in offsets:
                offsets[name] += len(positions[name])
        return found

    def page_for(self, digest: str) -> PageExtraction | None:
        return next((page for page in self.pages if page.digest == digest), None)


def _rows(values: dict[str, Any] | None, name: str) -> list[dict[str, Any]]:
    rows = (values or {}).get(name)
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def _row_positions(values: dict[str, Any] | None, name: str) -> dict[int, int]:
    """A page's line items by their index in its answer -> their place among the rows kept (objects only)."""
    rows = (values or {}).get(name)
    if not isinstance(rows, list):
        return {}
    kept = [index for index, row in enumerate(rows) if isinstance(row, dict)]
    return {index: place for place, index in enumerate(kept)}


def merge(template: Template, pages: list[dict[str, Any] | None]) -> dict[str, Any]:
    """A document's values from its pages' answers: each field from the first page that gives it, the line items of
    every page joined in page order (an invoice's table goes on over the page break)."""
    merged: dict[str, Any] = {}
    for item in template.fields:
        if item.type == "rows":
            merged[item.name] = [row for values in pages for row in _rows(values, item.name)]
        else:
            given = (values.get(item.name) for values in pages if values)
            merged[item.name] = next((value for value in given if value not in (None, "")), None)
    return merged


def grounding_requests(family: Family, template: Template, values: dict[str, Any] | None,
                       image: Image.Image) -> list[tuple[str, GenerationRequest]]:  # fmt: skip
    """For a family that grounds: one request per distinct value written in the answer, asking where it is."""
    texts = dict.fromkeys(text for _, text in written_values(template, values or {}))
    return [(text, detect_task.build(family, image, text)) for text in texts]


def grounded_evidence(family: Family, template: Template, values: dict[str, Any] | None,
                      answers: dict[str, JobOutcome], image_size: tuple[int, int]) -> list[Evidence]:  # fmt: skip
    """Each value's box from the model's answer to its grounding request (its first box, in original pixels); a
    value the model found no box for is not found on the page."""
    found = []
    for path, text in written_values(template, values or {}):
        outcome = answers.get(text)
        boxes = [] if outcome is None else detect_task.parse(family, outcome.text, text, image_size, outcome.input_size)
        box = boxes[0].box if boxes else None
        found.append(Evidence(path, text, box, 100.0 if box is not None else 0.0, "grounding"))
    return found


def ground_values(client: ModelClient, template: Template, values: dict[str, Any] | None,
                  image: Image.Image) -> list[Evidence]:  # fmt: skip
    """Where each value stands, asked of the model itself (for callers without a page: the CLI)."""
    answers = {text: client.generate(request) for text, request in grounding_requests(client.family, template, values,
                                                                                        image)}  # fmt: skip
    return grounded_evidence(client.family, template, values, answers, image.size)


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
    return Extraction(template, outcome.text, values, typed, checks, valid, outcome.stopped and not outcome.looped,
                      outcome.error, outcome.stats, looped=outcome.looped)  # fmt: skip


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
    return [GenerationRequest((message,), options.sampling, MAX_TILES, task="lab.extract", repetition_guard=True)]


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


def report(run: ExtractRun, values: dict[str, Any] | None = None, *, document: str) -> dict[str, Any]:
    """A document's extraction as the JSON people download (the page's ``extract_<stamp>.json``, the CLI's files):
    ``values`` as the person corrected them (the answers' when not given), typed and checked, each value's box
    with its page, and every page's own answer."""
    template = run.template
    values = run.values if values is None else values
    evidence = run.evidence
    return {
        "document": document,
        "pages": [page.page for page in run.pages],
        "pages_asked": len(run.page_digests),
        "template": template.id,
        "model": run.model_id,
        "valid_json": run.valid,
        "stopped": run.stopped,
        "error": run.error.key if run.error is not None else None,
        "values": values,
        "typed": typed_values(template, values),
        "checks": [
            {
                "check": check.key.removeprefix("extract.check_"),
                "field": check.field,
                "row": check.row,
                "ok": check.ok,
                **check.params,
            }  # fmt: skip
            for check in run_checks(template, values)
        ],
        "evidence": None
        if evidence is None
        else [
            {
                "page": page,
                "path": item.path,
                "value": item.value,
                "box": item.box.as_tuple() if item.box else None,
                "score": item.score,
                "source": item.source,
            }  # fmt: skip
            for page, item in evidence
        ],
        "per_page": [
            {
                "page": page.page,
                "valid_json": page.extraction.valid,
                "stopped": page.extraction.stopped,
                "values": page.extraction.values,
                "elapsed_s": round(page.extraction.stats.seconds_total, 2),
                "new_tokens": page.extraction.stats.new_tokens,
            }  # fmt: skip
            for page in run.pages
        ],
        "elapsed_s": round(run.seconds, 2),
        "created_at": run.created_at.isoformat(timespec="seconds"),
    }
