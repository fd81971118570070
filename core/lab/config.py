"""``models.yaml``: the candidates to compare, validated with errors that name the entry and the field."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from core.engines.types import SamplingParams
from core.extraction.templates import TemplateError, load_template
from core.media import InvalidInput
from core.registry import program_cards
from core.tasks import LAB_TASKS, needs
from core.tasks.base import LabOptions
from core.tasks.extract import DEFAULT_FIELDS
from core.user_text import MAX_QUESTION_CHARS, clean_text

TASKS = tuple(LAB_TASKS)  # ocr, extract, vqa, convert (a page to Markdown, by a document model)
STATUSES = ("chosen", "rejected", "needs_more_data")


class ConfigError(ValueError):
    def __init__(self, entry: str, field_name: str, problem: str) -> None:
        self.entry, self.field_name, self.problem = entry, field_name, problem
        super().__init__(f"models[{entry}].{field_name}: {problem}")


@dataclass(frozen=True)
class LabModel:
    name: str
    model_id: str
    task: str
    prompt: str | None = None
    questions: tuple[str, ...] = ()
    fields: tuple[str, ...] = DEFAULT_FIELDS
    generation: SamplingParams = field(default_factory=lambda: SamplingParams(max_new_tokens=512))
    status: str = "needs_more_data"
    quantization: str | None = None  # int8 | none; None follows MODEL_QUANT
    language: str = "auto"  # OCR: the language hint, or an OCR program's codes (rus+eng)
    template: str | None = None  # extract: a shipped template's id or a template / JSON Schema file

    @property
    def options(self) -> LabOptions:
        """What the task reads of this entry."""
        return LabOptions(self.generation, self.prompt, self.questions, self.fields, self.language, self.template)


def _text(entry: str, raw: dict, name: str, required: bool) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise ConfigError(entry, name, "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(entry, name, "must be a non-empty string")
    return value.strip()


def _strings(entry: str, raw: dict, name: str) -> tuple[str, ...]:
    value = raw.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ConfigError(entry, name, "must be a list of non-empty strings")
    return tuple(item.strip() for item in value)


def _typed_text(entry: str, name: str, value: str) -> str:
    """A prompt or question as the models will read it after :func:`core.user_text.neutralise`."""
    try:
        return clean_text(value, MAX_QUESTION_CHARS)
    except InvalidInput:
        raise ConfigError(entry, name, f"is over {MAX_QUESTION_CHARS} characters") from None


MAX_QUESTIONS = 20


def typed_questions(text: str | None) -> tuple[str, ...]:
    """Questions typed one per line (the Lab page); :class:`InvalidInput` for a too long one or too many."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if len(lines) > MAX_QUESTIONS:
        raise InvalidInput("lab.too_many_questions", limit=MAX_QUESTIONS, count=len(lines))
    return tuple(clean_text(line, MAX_QUESTION_CHARS) for line in lines)


def _generation(entry: str, raw: dict, default_tokens: int = 512) -> SamplingParams:
    value = raw.get("generation", {}) or {}
    if not isinstance(value, dict):
        raise ConfigError(entry, "generation", "must be a mapping")
    unknown = set(value) - {"max_new_tokens", "do_sample", "temperature", "top_p"}
    if unknown:
        raise ConfigError(entry, "generation", f"unknown settings: {', '.join(sorted(unknown))}")
    try:
        return SamplingParams(
            max_new_tokens=int(value.get("max_new_tokens", default_tokens)),
            do_sample=bool(value.get("do_sample", False)),
            temperature=float(value.get("temperature", 0.7)),
            top_p=float(value.get("top_p", 0.9)),
        )
    except (TypeError, ValueError) as error:
        raise ConfigError(entry, "generation", str(error)) from None


def parse_models(data: object) -> list[LabModel]:
    if not isinstance(data, dict) or not isinstance(data.get("models"), list) or not data["models"]:
        raise ConfigError("-", "models", "the file needs a top-level non-empty 'models:' list")
    models: list[LabModel] = []
    for index, raw in enumerate(data["models"]):
        entry = str(index)
        if not isinstance(raw, dict):
            raise ConfigError(entry, "-", "each entry must be a mapping")
        name = _text(entry, raw, "name", required=True)
        entry = f"{index}:{name}"
        if not name or not all(char.isalnum() or char in "-_." for char in name):
            raise ConfigError(entry, "name", "may contain letters, digits, '-', '_' and '.' only")
        if any(model.name == name for model in models):
            raise ConfigError(entry, "name", "is used twice")
        task = _text(entry, raw, "task", required=True)
        if task not in TASKS:
            raise ConfigError(entry, "task", f"must be one of {', '.join(TASKS)}")
        status = raw.get("status", "needs_more_data")
        if status not in STATUSES:
            raise ConfigError(entry, "status", f"must be one of {', '.join(STATUSES)}")
        questions = tuple(_typed_text(entry, "questions", question) for question in _strings(entry, raw, "questions"))
        if task == "vqa" and not questions:
            raise ConfigError(entry, "questions", "a vqa entry needs at least one question")
        fields = _strings(entry, raw, "fields") or DEFAULT_FIELDS
        template = _template(entry, raw, task)
        quantization = raw.get("quantization")
        if quantization is not None and quantization not in ("int8", "none"):
            raise ConfigError(entry, "quantization", "must be int8 or none (leave it out to follow MODEL_QUANT)")
        prompt = _typed_text(entry, "prompt", text) if (text := _text(entry, raw, "prompt", False)) else None
        model_id, language = _engine(entry, raw, task)
        models.append(
            LabModel(
                name=name,
                model_id=model_id,
                task=task,
                prompt=prompt,
                questions=questions,
                fields=fields,
                generation=_generation(entry, raw, 4096 if task == "convert" else 512),  # a page of DocTags is long
                status=status,
                quantization=quantization,
                language=language,
                template=template,
            )
        )
    return models


def _template(entry: str, raw: dict, task: str) -> str | None:
    """An extract entry's template, checked now so a typo fails before any model loads."""
    name = _text(entry, raw, "template", required=False)
    if name is None:
        return None
    if task != "extract":
        raise ConfigError(entry, "template", "is for extract entries only")
    try:
        load_template(name)
    except TemplateError as error:
        raise ConfigError(entry, "template", f"{error.key} {error.params}") from None
    return name


def _engine(entry: str, raw: dict, task: str) -> tuple[str, str]:
    """The model id (``model_id``, or an OCR program named by ``engine``) and the OCR language of an entry."""
    programs = {card.family: card for card in program_cards()}
    engine = raw.get("engine", "model")
    if engine != "model" and engine not in programs:
        raise ConfigError(entry, "engine", f"must be one of {', '.join(('model', *programs))}")
    languages = raw.get("languages", "auto")
    if not isinstance(languages, str) or not all(part.isalpha() for part in languages.split("+")):
        raise ConfigError(entry, "languages", "auto, ru, en, or language codes joined by '+', e.g. rus+eng")
    if engine == "model":
        return _text(entry, raw, "model_id", required=True) or "", languages
    card = programs[engine]
    if not card.can(needs(task)):  # a program does one thing: say which task it takes
        doable = ", ".join(name for name in TASKS if card.can(needs(name)))
        raise ConfigError(entry, "task", f"{card.title} cannot do {task}; its task must be {doable}")
    return card.model_id, languages


def load_models(path: Path) -> list[LabModel]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError("-", "file", f"cannot read {path}: {error}") from None
    return parse_models(data)
