"""Task results to JSON and back, for the history: only known classes are rebuilt, so a database row never
runs code (no pickle). Tuples, dicts with any keys, dates, decimals, enums, errors and Docling documents
keep their types on the way back."""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.boxes import Box
from core.engines import types as engine_types
from core.engines.types import EngineError, GenerationStats, OcrLine, OcrPage, OcrWord, Role
from core.extraction.checks import Check
from core.extraction.evidence import Evidence
from core.extraction.templates import Bounds, Field, Template
from core.extraction.values import Money
from core.grounding import Detection
from core.media import InvalidInput
from core.tasks.chat import ChatTurn
from core.tasks.convert import ConvertResult
from core.tasks.detect import DetectionRun
from core.tasks.extract import Extraction, ExtractRun, PageExtraction
from core.tasks.ocr import OcrResult


class CodecError(ValueError):
    """A stored value names a class this version does not know, or is not in the shape it wrote."""


_DATACLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Box,
        GenerationStats,
        OcrWord,
        OcrLine,
        OcrPage,
        ChatTurn,
        OcrResult,
        Detection,
        DetectionRun,
        ConvertResult,
        Check,
        Evidence,
        Bounds,
        Field,
        Template,
        Money,
        Extraction,
        PageExtraction,
        ExtractRun,
    )  # fmt: skip
}
_ENUMS: dict[str, type[enum.Enum]] = {Role.__name__: Role}
_ENGINE_ERRORS: dict[str, type[EngineError]] = {
    name: value
    for name, value in vars(engine_types).items()
    if isinstance(value, type) and issubclass(value, EngineError)
}


def _docling_class() -> Any:
    from docling_core.types.doc import DoclingDocument

    return DoclingDocument


def encode(value: Any) -> Any:
    """A JSON-ready form of ``value`` that :func:`decode` turns back into an equal value."""
    if isinstance(value, enum.Enum) and type(value).__name__ in _ENUMS:  # before str: Role is a str too
        return {"~": "enum", "class": type(value).__name__, "v": value.value}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, tuple):
        return {"~": "tuple", "v": [encode(item) for item in value]}
    if isinstance(value, dict):
        return {"~": "dict", "v": [[encode(key), encode(item)] for key, item in value.items()]}
    for kind, cls in _TEXT_KINDS.items():  # datetime before date: a datetime is a date too
        if isinstance(value, cls):
            return {"~": kind, "v": value.isoformat() if isinstance(value, date) else str(value)}
    return _encode_object(value)


def _encode_object(value: Any) -> dict[str, Any]:
    if isinstance(value, EngineError | InvalidInput):
        return {"~": "error", "class": type(value).__name__, "key": value.key, "detail": str(value),
                "params": {name: str(item) for name, item in value.params.items()}}  # fmt: skip
    if isinstance(value, Exception):
        return {"~": "error", "class": "Exception", "key": "", "detail": str(value), "params": {}}
    if dataclasses.is_dataclass(value) and type(value).__name__ in _DATACLASSES:
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)
                  if f.init and not f.name.startswith("_")}  # fmt: skip
        return {"~": "dc", "class": type(value).__name__, "v": fields}
    if type(value).__name__ == "DoclingDocument":
        return {"~": "docling", "v": value.model_dump(mode="json", by_alias=True)}
    raise CodecError(f"cannot store a {type(value).__name__}")


_TEXT_KINDS: dict[str, type] = {"datetime": datetime, "date": date, "decimal": Decimal}
_FROM_TEXT: dict[str, Any] = {"datetime": datetime.fromisoformat, "date": date.fromisoformat, "decimal": Decimal}


def decode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict) or "~" not in value:
        raise CodecError("not a stored value")
    kind, raw = value["~"], value.get("v") or ()
    if kind in _FROM_TEXT:
        return _FROM_TEXT[kind](raw)
    if kind == "tuple":
        return tuple(decode(item) for item in raw)
    if kind == "dict":
        return {decode(key): decode(item) for key, item in raw}
    return _decode_object(kind, value)


def _decode_object(kind: str, value: dict[str, Any]) -> Any:
    raw = value.get("v")
    if kind == "enum":
        return _ENUMS[_known(value["class"], _ENUMS)](raw)
    if kind == "error":
        return _error(value)
    if kind == "dc" and isinstance(raw, dict):
        cls = _DATACLASSES[_known(value["class"], _DATACLASSES)]
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        # a field a later version dropped is skipped; one it added takes its default
        return cls(**{name: decode(item) for name, item in raw.items() if name in names})
    if kind == "docling":
        return _docling_class().model_validate(raw)
    raise CodecError(f"unknown stored kind {kind!r}")


def _known(name: str, table: dict[str, Any]) -> str:
    if name not in table:
        raise CodecError(f"unknown stored class {name!r}")
    return name


def _error(value: dict[str, Any]) -> Exception:
    params = dict(value.get("params") or {})
    if value["class"] == "InvalidInput":
        return InvalidInput(value["key"], **params)
    error = _ENGINE_ERRORS.get(value["class"], EngineError)(value.get("detail", ""), **params)
    if value.get("key") and value["key"] != error.key:
        error.key = value["key"]
    return error


def dumps(value: Any) -> str:
    return json.dumps(encode(value), ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Any:
    try:
        return decode(json.loads(text))
    except (KeyError, TypeError, ValueError) as error:
        raise CodecError(str(error)) from error
