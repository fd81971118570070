"""What the History page offers to download for each kind of stored item, named as its own page names it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.export import Conversation, to_markdown
from core.history.store import ItemSummary
from core.tasks.convert import ConvertResult
from core.tasks.detect import DetectionRun
from core.tasks.extract import ExtractRun, report
from core.tasks.ocr import OcrResult


@dataclass(frozen=True)
class Download:
    data: bytes
    file_name: str
    mime: str


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def download_for(summary: ItemSummary, payload: Any) -> Download | None:
    """The item as a file; None when there is nothing to give (a conversion stopped before its first page)."""
    stamp = f"{datetime.fromtimestamp(summary.created):%Y%m%d_%H%M%S}"
    if summary.kind == "chat" and isinstance(payload, list):
        conversation = Conversation(payload, summary.model, summary.model, {}, source=summary.file_name,
                                    created_at=datetime.fromtimestamp(summary.created))  # fmt: skip
        return Download(to_markdown(conversation).encode("utf-8"), f"{conversation.stem}.md", "text/markdown")
    if isinstance(payload, OcrResult):
        return Download(payload.text.encode("utf-8"), payload.file_name,
                        "text/markdown" if payload.markup else "text/plain")  # fmt: skip
    if isinstance(payload, DetectionRun):
        found = [{"label": item.label, "box": [item.box.x1, item.box.y1, item.box.x2, item.box.y2],
                  "score": item.score} for item in payload.detections]  # fmt: skip
        record = {"image": summary.file_name, "page": summary.page, "model": payload.model_id,
                  "query": payload.query, "detections": found, "raw_output": payload.raw_output}  # fmt: skip
        return Download(_json(record), f"{payload.stem}.json", "application/json")
    if isinstance(payload, ConvertResult):
        conversion = payload.conversion
        if conversion is None:
            return None
        return Download(conversion.markdown().encode("utf-8"), f"document_{payload.stamp}.md", "text/markdown")
    if isinstance(payload, ExtractRun):
        return Download(_json(report(payload, document=summary.file_name)), f"extract_{stamp}.json",
                        "application/json")  # fmt: skip
    return None
