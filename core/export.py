"""A finished conversation as files people keep: Markdown, JSON and one self-contained HTML page.

Each holds the questions and answers, the model, the settings, every answer's timings and the pictures as
small thumbnails inside the file (no links to anything). The HTML page escapes every text: an answer that
holds markup shows it as characters; nothing in it runs or loads.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from PIL import Image

from core.engines.types import GenerationStats
from core.tasks.chat import ChatTurn

THUMBNAIL_PX = 320  # the longer side of a picture in an export


@dataclass(frozen=True)
class Conversation:
    """What an export holds: the turns, about which pictures, with which model and settings."""

    turns: list[ChatTurn]
    model_id: str
    model_title: str
    settings: dict[str, Any]
    pictures: list[Image.Image] = field(default_factory=list)
    source: str = ""  # the file the conversation is about
    created_at: datetime = field(default_factory=datetime.now)

    @property
    def stem(self) -> str:
        return f"chat_{self.created_at:%Y%m%d_%H%M%S}"

    @cached_property
    def thumbnails(self) -> list[str]:
        """The pictures as data URIs, encoded once for all the formats written."""
        return [thumbnail_data_uri(picture) for picture in self.pictures]


def thumbnail_data_uri(picture: Image.Image) -> str:
    small = picture.convert("RGB")
    small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _stats(stats: GenerationStats | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    first, speed = stats.seconds_to_first_token, stats.tokens_per_second
    return {
        "prompt_tokens": stats.prompt_tokens,
        "reused_prompt_tokens": stats.reused_prompt_tokens,
        "new_tokens": stats.new_tokens,
        "image_tiles": stats.image_tiles,
        "seconds_to_first_token": None if first is None else round(first, 3),
        "seconds_total": round(stats.seconds_total, 3),
        "tokens_per_second": None if speed is None else round(speed, 2),
    }


def _ending(turn: ChatTurn) -> str | None:
    if turn.error is not None:
        return f"error: {turn.error.key}"
    if turn.looped:
        return "stopped: the model was repeating itself"
    return "stopped" if turn.stopped else None


def to_json(conversation: Conversation) -> str:
    data = {
        "source": conversation.source,
        "model": conversation.model_id,
        "model_title": conversation.model_title,
        "settings": conversation.settings,
        "created_at": conversation.created_at.isoformat(timespec="seconds"),
        "pictures": conversation.thumbnails,
        "turns": [
            {"role": turn.role.value, "text": turn.text, "ended": _ending(turn), "stats": _stats(turn.stats)}
            for turn in conversation.turns
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def _timings(stats: GenerationStats | None) -> str:
    found = _stats(stats)
    if not found:
        return ""
    parts = [f"{found['new_tokens']} tokens", f"{found['seconds_total']} s"]
    if found["seconds_to_first_token"] is not None:
        parts.append(f"first token {found['seconds_to_first_token']} s")
    if found["tokens_per_second"] is not None:
        parts.append(f"{found['tokens_per_second']} tokens/s")
    parts.append(f"tiles {found['image_tiles']}")
    return " · ".join(parts)


def _fenced(text: str) -> str:
    """``text`` in a fence longer than any run of backticks in it: a Markdown reader shows it as it is."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def to_markdown(conversation: Conversation) -> str:
    lines = [
        f"# Conversation: {conversation.source or 'picture'}",
        "",
        f"- Model: {conversation.model_title} (`{conversation.model_id}`)",
        f"- Settings: {', '.join(f'{key} = {value}' for key, value in conversation.settings.items())}",
        f"- Exported: {conversation.created_at:%Y-%m-%d %H:%M:%S}",
        "",
    ]
    for number, uri in enumerate(conversation.thumbnails, start=1):
        lines += [f"![picture {number}]({uri})", ""]
    for turn in conversation.turns:
        who = "Question" if turn.role.value == "user" else "Answer"
        lines += [f"## {who}", "", _fenced(turn.text), ""]
        notes = [note for note in (_ending(turn), _timings(turn.stats)) if note]
        if notes:
            lines += [f"*{' · '.join(notes)}*", ""]
    return "\n".join(lines)


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}"
    ".turn{border-radius:.5rem;padding:.75rem 1rem;margin:.75rem 0;white-space:pre-wrap}"
    ".user{background:#eef3ff}.assistant{background:#f5f5f5}.note{color:#666;font-size:.85rem}"
    "img{max-width:320px;margin:.25rem;border:1px solid #ddd}"
)


def _strip(thumbnails: list[str]) -> str:
    return "<div>" + "".join(f'<img alt="picture {number}" src="{uri}">' for number, uri in
                             enumerate(thumbnails, start=1)) + "</div>"  # fmt: skip


def to_html(conversation: Conversation) -> str:
    """One page with everything inside it: styles, thumbnails as data URIs, every text escaped."""
    escape = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{escape(conversation.stem)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{escape(conversation.source or 'Conversation')}</h1>",
        f'<p class="note">{escape(conversation.model_title)} ({escape(conversation.model_id)}) · '
        f"{escape(', '.join(f'{key} = {value}' for key, value in conversation.settings.items()))} · "
        f"{conversation.created_at:%Y-%m-%d %H:%M:%S}</p>",
        _strip(conversation.thumbnails),
    ]  # fmt: skip
    for turn in conversation.turns:
        parts.append(f'<div class="turn {turn.role.value}">{escape(turn.text)}</div>')
        notes = [note for note in (_ending(turn), _timings(turn.stats)) if note]
        if notes:
            parts.append(f'<p class="note">{escape(" · ".join(notes))}</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


# --- a comparison: one conversation per column ------------------------------------------------------------


def comparison_json(columns: list[Conversation], tally: dict[str, Any]) -> str:
    return json.dumps({"tally": tally, "columns": [json.loads(to_json(column)) for column in columns]},
                      ensure_ascii=False, indent=2)  # fmt: skip


def comparison_markdown(columns: list[Conversation], tally: dict[str, Any]) -> str:
    wins = ", ".join(f"{row['title']}: {row['wins']}" for row in tally.get("wins", []))
    head = [f"# Comparison of {len(columns)} models", "", f"Picks: {wins}; ties: {tally.get('ties', 0)}", ""]
    return "\n".join(head) + "\n" + "\n\n".join(to_markdown(column).replace("\n# ", "\n## ", 1)
                                                 for column in columns)  # fmt: skip


def comparison_html(columns: list[Conversation], tally: dict[str, Any]) -> str:
    """The columns side by side on one self-contained page, every text escaped."""
    escape = html.escape
    wins = ", ".join(f"{row['title']}: {row['wins']}" for row in tally.get("wins", []))
    cells = []
    for column in columns:
        turns = []
        for turn in column.turns:
            turns.append(f'<div class="turn {turn.role.value}">{escape(turn.text)}</div>')
            notes = [note for note in (_ending(turn), _timings(turn.stats)) if note]
            if notes:
                turns.append(f'<p class="note">{escape(" · ".join(notes))}</p>')
        cells.append(f'<section><h2>{escape(column.model_title)}</h2><p class="note">{escape(column.model_id)}</p>'
                     + "".join(turns) + "</section>")  # fmt: skip
    thumbnails = columns[0].thumbnails if columns else []
    summary = f"Picks: {wins}; ties: {tally.get('ties', 0)}"
    return "\n".join([
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"><title>comparison</title>',
        f"<style>{_STYLE}body{{max-width:none}}main{{display:flex;gap:1rem}}section{{flex:1}}</style></head><body>",
        f"<h1>Comparison of {len(columns)} models</h1>",
        f'<p class="note">{escape(summary)}</p>',
        _strip(thumbnails),
        "<main>" + "".join(cells) + "</main>",
        "</body></html>",
    ])  # fmt: skip
