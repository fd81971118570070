"""Logging for operators: one line per record, text or JSON, and one structured line per request.

A request line says who (an anonymous session id), what (task, model, quantization, tiles or frames,
prompt and new tokens), how fast (first token, total) and how it ended. It never carries what the
person typed or uploaded: the fields are numbers and names this module chooses, and the free-text
``message`` of every record is written by our code, not copied from input.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sys
from dataclasses import asdict, dataclass
from typing import Any

REQUEST_LOGGER = "vlm_studio.requests"
_FIELDS_ATTR = "fields"  # the ``extra`` attribute that carries a record's structured fields
_HANDLER_NAME = "vlm-studio"


def anonymous(owner: str) -> str:
    """A stable short id for a session or client that does not reveal the real one."""
    return hashlib.sha256(f"vlm-studio:{owner}".encode()).hexdigest()[:10]


def new_error_id() -> str:
    """A short id shown to the person next to an apology and written in the log line with the traceback."""
    return secrets.token_hex(4)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, _FIELDS_ATTR, None) or {})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, _FIELDS_ATTR, None)
        if fields:
            head, _, rest = line.partition("\n")  # a traceback stays below the one line
            pairs = " ".join(f"{name}={_plain(value)}" for name, value in fields.items() if value is not None)
            line = f"{head} {pairs}" + (f"\n{rest}" if rest else "")
        return line


def _plain(value: object) -> str:
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return json.dumps(text) if (" " in text or not text) else text


def configure_logging(level: str = "info", log_format: str = "text", stream: Any = None) -> None:
    """Send our loggers (``core``, ``ui``, requests) to ``stream`` (stderr), replacing an earlier call's handler.

    Streamlit keeps its own logger; ours do not propagate to the root, so no record is printed twice.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.name = _HANDLER_NAME
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("core", "ui", REQUEST_LOGGER):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.name == _HANDLER_NAME]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level.upper())
        logger.propagate = False


@dataclass(frozen=True)
class RequestRecord:
    """What one request's log line says. Only numbers and names chosen by the app: never user text."""

    session: str
    task: str
    model: str
    quantization: str
    outcome: str  # done | stopped | failed | rejected
    vision_inputs: int = 0  # image tiles, or video frames
    prompt_tokens: int = 0
    reused_tokens: int = 0
    new_tokens: int = 0
    first_token_s: float | None = None
    total_s: float | None = None
    queued_s: float | None = None
    error: str | None = None  # the message key, e.g. engine.out_of_memory
    error_id: str | None = None


def log_request(record: RequestRecord) -> None:
    level = logging.WARNING if record.outcome in ("failed", "rejected") else logging.INFO
    logging.getLogger(REQUEST_LOGGER).log(level, "request", extra={_FIELDS_ATTR: asdict(record)})
