"""What to extract: a template of typed fields (data files in ``templates/``, or a person's own), and the JSON
Schema a model's answer must follow.

A field is text, a number, money, a date, a yes/no, or rows of such columns (line items). Every value may be
``null``: a field that is not on the page must be allowed to say so, or constrained decoding would force the
model to invent one. Values other than yes/no are strings in the answer, written as the page writes them
(``1 234,56 ₽``, ``03.03.2026``, ``12,5``); :mod:`core.extraction.values` reads them afterwards, so the model
copies rather than converts. Every string and every list is bounded (:class:`Bounds`): under constrained
decoding the answer then always closes within :func:`token_bound` tokens, even from a model that rambles.

A person's template comes back either in this module's own form (what the page downloads) or as a plain JSON
Schema (an object of properties); both are checked, and every refusal is an :class:`TemplateError` with a key
the page translates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).with_name("templates")
# A number as a page writes it: digits grouped by spaces, points or commas, an optional sign and fraction.
NUMBER_PATTERN = r"^-?[0-9][0-9 .,]{0,18}$"
SCALAR_TYPES = ("text", "number", "money", "date", "boolean")
TYPES = (*SCALAR_TYPES, "rows")
CHECKS = ("inn",)  # checks a text field can ask for (a Russian taxpayer number's check digits)
MAX_FIELDS = 60  # fields and columns together: beyond this the schema alone crowds a small model's context
MAX_NAME = 64


@dataclass(frozen=True)
class Bounds:
    """How long an answer's strings and lists may be (characters of a value; rows of a table)."""

    text: int = 160
    short: int = 40  # numbers, money, dates
    rows: int = 40


class TemplateError(ValueError):
    """A template the app refuses; ``key`` names the reason, ``params`` fill the translated message."""

    def __init__(self, key: str, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(f"{key}: {params}" if params else key)


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: dict[str, str] = field(default_factory=dict)  # language -> label; the name when missing
    description: str = ""
    columns: tuple[Field, ...] = ()  # for rows
    check: str | None = None

    def title(self, language: str) -> str:
        return self.label.get(language) or self.label.get("en") or self.name

    def schema(self, bounds: Bounds) -> dict[str, Any]:
        found: dict[str, Any]
        if self.type == "rows":
            item = {
                "type": "object",
                "properties": {column.name: column.schema(bounds) for column in self.columns},
                "required": [column.name for column in self.columns],
                "additionalProperties": False,
            }
            found = {"type": "array", "items": item, "maxItems": bounds.rows}
        elif self.type == "boolean":
            found = {"type": ["boolean", "null"]}
        elif self.type == "number":
            found = {"type": ["string", "null"], "maxLength": bounds.short, "pattern": NUMBER_PATTERN}
        else:
            found = {"type": ["string", "null"], "maxLength": bounds.text if self.type == "text" else bounds.short}
        if self.description:
            found["description"] = self.description
        return found

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.label:
            data["label"] = dict(self.label)
        if self.description:
            data["description"] = self.description
        if self.check:
            data["check"] = self.check
        if self.columns:
            data["columns"] = [column.to_json() for column in self.columns]
        return data


@dataclass(frozen=True)
class Template:
    id: str
    title: dict[str, str]
    fields: tuple[Field, ...]

    def name(self, language: str) -> str:
        return self.title.get(language) or self.title.get("en") or self.id

    def json_schema(self, bounds: Bounds | None = None) -> dict[str, Any]:
        """The answer's shape: one object with every field, nothing else, every string and list bounded."""
        bounds = bounds or Bounds()
        return {
            "type": "object",
            "properties": {item.name: item.schema(bounds) for item in self.fields},
            "required": [item.name for item in self.fields],
            "additionalProperties": False,
        }

    def to_json(self) -> str:
        """This template in the form :func:`parse_template` reads back (what the page offers to download)."""
        data = {"id": self.id, "title": self.title, "fields": [item.to_json() for item in self.fields]}
        return json.dumps(data, ensure_ascii=False, indent=2)

    @property
    def rows_field(self) -> Field | None:
        return next((item for item in self.fields if item.type == "rows"), None)


# --- reading templates -------------------------------------------------------------------------------


def _field(raw: object, where: str, *, in_rows: bool = False) -> Field:
    if not isinstance(raw, dict):
        raise TemplateError("extract.template_bad_field", field=where)
    name = raw.get("name")
    if not isinstance(name, str) or not name.isidentifier() or len(name) > MAX_NAME:
        raise TemplateError("extract.template_bad_name", name=str(name)[:MAX_NAME])
    kind = raw.get("type", "text")
    if kind not in TYPES or (in_rows and kind == "rows"):
        raise TemplateError("extract.template_bad_type", name=name, type=str(kind)[:32])
    label = raw.get("label") or {}
    if isinstance(label, str):
        label = {"en": label}
    if not isinstance(label, dict) or not all(isinstance(v, str) for v in label.values()):
        raise TemplateError("extract.template_bad_field", field=name)
    check = raw.get("check")
    if check is not None and (check not in CHECKS or kind != "text"):
        raise TemplateError("extract.template_bad_check", name=name, check=str(check)[:32])
    columns: tuple[Field, ...] = ()
    if kind == "rows":
        raw_columns = raw.get("columns")
        if not isinstance(raw_columns, list) or not raw_columns:
            raise TemplateError("extract.template_no_columns", name=name)
        columns = tuple(_field(column, f"{name}.{index}", in_rows=True) for index, column in enumerate(raw_columns))
        _unique([column.name for column in columns])
    description = raw.get("description", "")
    return Field(name, kind, {str(k): v for k, v in label.items()}, str(description)[:500], columns, check)


def _unique(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise TemplateError("extract.template_duplicate", name=name)
        seen.add(name)


def _template(data: dict[str, Any], default_id: str) -> Template:
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise TemplateError("extract.template_empty")
    fields = tuple(_field(raw, str(index)) for index, raw in enumerate(raw_fields))
    _unique([item.name for item in fields])
    if sum(1 + len(item.columns) for item in fields) > MAX_FIELDS:
        raise TemplateError("extract.template_too_large", limit=MAX_FIELDS)
    title = data.get("title") or {}
    if isinstance(title, str):
        title = {"en": title}
    return Template(str(data.get("id") or default_id)[:MAX_NAME], {str(k): str(v) for k, v in title.items()}, fields)


_SCHEMA_TYPES = {"string": "text", "number": "number", "integer": "number", "boolean": "boolean"}


def _field_from_schema(name: str, schema: object, *, in_rows: bool = False) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise TemplateError("extract.template_bad_field", field=name)
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    kinds = [kind for kind in kinds if kind != "null"]
    raw: dict[str, Any] = {"name": name, "description": schema.get("description", "")}
    if schema.get("title"):
        raw["label"] = {"en": str(schema["title"])}
    if kinds == ["array"] and not in_rows:
        item = schema.get("items")
        if not isinstance(item, dict) or not isinstance(item.get("properties"), dict):
            raise TemplateError("extract.template_bad_type", name=name, type="array")
        raw["type"] = "rows"
        raw["columns"] = [_field_from_schema(key, value, in_rows=True) for key, value in item["properties"].items()]
        return raw
    if len(kinds) != 1 or kinds[0] not in _SCHEMA_TYPES:
        raise TemplateError("extract.template_bad_type", name=name, type="/".join(map(str, kinds)) or "?")
    raw["type"] = "date" if schema.get("format") == "date" else _SCHEMA_TYPES[kinds[0]]
    return raw


def template_from_schema(schema: dict[str, Any], title: str = "") -> Template:
    """A person's JSON Schema (an object of properties) as a template; nested objects are refused."""
    properties = schema.get("properties")
    if schema.get("type", "object") != "object" or not isinstance(properties, dict) or not properties:
        raise TemplateError("extract.template_empty")
    fields = [_field_from_schema(str(name), value) for name, value in properties.items()]
    return _template({"id": "custom", "title": title or schema.get("title") or "", "fields": fields}, "custom")


def parse_template(text: str) -> Template:
    """A template from JSON: this module's own form (``fields``) or a JSON Schema (``properties``)."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise TemplateError("extract.template_not_json", detail=str(error)[:120]) from None
    if not isinstance(data, dict):
        raise TemplateError("extract.template_empty")
    if "properties" in data and "fields" not in data:
        return template_from_schema(data)
    return _template(data, "custom")


def builtin_templates() -> dict[str, Template]:
    """The templates shipped as data files, by id, in a stable order."""
    found = {}
    for path in sorted(FOLDER.glob("*.json")):
        template = _template(json.loads(path.read_text(encoding="utf-8")), path.stem)
        found[template.id] = template
    return found


def load_template(name: str) -> Template:
    """A shipped template by id, or a template file by path."""
    templates = builtin_templates()
    if name in templates:
        return templates[name]
    path = Path(name)
    if not path.is_file():
        raise TemplateError("extract.template_unknown", name=name, known=", ".join(templates))
    return parse_template(path.read_text(encoding="utf-8"))


# The most characters one value can take in compact JSON: a string's characters may each be escaped (\uXXXX).
_ESCAPED = 6


def token_bound(schema: dict[str, Any]) -> int:
    """An upper bound on the tokens of an answer under ``schema`` (a token is at least one character), so a
    token limit this large never cuts a constrained answer; the end token is counted too."""
    return _chars(schema) + 1


def _chars(schema: dict[str, Any]) -> int:
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if "object" in kinds:
        properties = schema.get("properties", {})
        # {"key":value,...}: quotes, colon and comma around each key
        return 2 + sum(len(json.dumps(name)) + 2 + _chars(value) for name, value in properties.items())
    if "array" in kinds:
        return 2 + int(schema.get("maxItems", 0)) * (_chars(schema["items"]) + 1)
    widest = 5 if "boolean" in kinds else 4  # false / null
    if "string" in kinds:
        widest = max(widest, 2 + _ESCAPED * int(schema["maxLength"]))
    return widest


def template_from_table(title: str, rows: list[dict[str, Any]], language: str = "en") -> Template:
    """A template from the field editor's rows: ``name``, ``type``, ``label`` (in ``language``), ``description``,
    and for a list of rows its ``columns`` written as ``name:type, name:type`` (a column without a type is text).
    Rows without a name are skipped; everything else is checked as a template file is."""
    fields: list[dict[str, Any]] = []
    for row in rows:
        name = str(row.get("name") or "").strip()
        if not name:
            continue
        kind = str(row.get("type") or "text").strip()
        raw: dict[str, Any] = {"name": name, "type": kind, "description": str(row.get("description") or "").strip()}
        if label := str(row.get("label") or "").strip():
            raw["label"] = {language: label}
        if kind == "rows":
            raw["columns"] = [_column(part) for part in str(row.get("columns") or "").split(",") if part.strip()]
        fields.append(raw)
    return _template({"id": "custom", "title": {language: title.strip()} if title.strip() else {}, "fields": fields},
                     "custom")  # fmt: skip


def _column(text: str) -> dict[str, str]:
    name, _, kind = text.partition(":")
    return {"name": name.strip(), "type": kind.strip() or "text"}


def table_rows(template: Template, language: str = "en") -> list[dict[str, str]]:
    """``template`` as the field editor's rows (what :func:`template_from_table` reads back)."""
    return [
        {
            "name": item.name,
            "type": item.type,
            "label": item.label.get(language, ""),
            "description": item.description,
            "columns": ", ".join(f"{column.name}:{column.type}" for column in item.columns),
        }
        for item in template.fields
    ]
