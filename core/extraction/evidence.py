"""Where a value stands on the page: the run of OCR words that reads most like it, as one box in original pixels.

A model that cannot ground gets its values checked against Tesseract's words: every run of up to
:data:`MAX_RUN` consecutive words on one line is compared with the value (rapidfuzz's ratio, after case,
spaces and the usual look-alikes are set aside), and the best run at or above :data:`MIN_SCORE` gives the box.
A value with no such run is "not found on the page": likely made up, and the page says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image
from rapidfuzz import fuzz

from core.boxes import Box
from core.engines.types import OcrWord
from core.extraction.templates import Template

MIN_SCORE = 85.0  # out of 100
_EDGE_PUNCTUATION = ".,:;%()[]"
MAX_RUN = 8  # words; the longest values (a seller's name, an account number in groups) fit
# Letters that look alike in Cyrillic and Latin print, read the same way (OCR mixes them on Russian pages)
_LOOK_ALIKES = str.maketrans("аеорсухкмтвнАЕОРСУХКМТВН", "aeopcyxkmtbhAEOPCYXKMTBH")


@dataclass(frozen=True)
class Evidence:
    path: str  # "number", or "lines.0.price" for a line item's cell
    value: str
    box: Box | None  # None: not found on the page
    score: float  # 0-100: how closely the words read like the value (grounding: 100 when a box came back)
    source: str = "words"  # "words": Tesseract's words; "grounding": the model's own box


def comparable(text: str) -> str:
    """``text`` as values and words are compared: no spaces or quotes, look-alike letters folded, case ignored,
    and no punctuation at its ends (the rate in «НДС 20%:» is the value 20)."""
    squeezed = re.sub(r"[\s\u00a0\u202f«»\"'“”]", "", text.translate(_LOOK_ALIKES)).casefold()
    return squeezed.strip(_EDGE_PUNCTUATION) or squeezed


def _union(words: Sequence[OcrWord]) -> Box:
    return Box(min(w.box.x1 for w in words), min(w.box.y1 for w in words),
               max(w.box.x2 for w in words), max(w.box.y2 for w in words))  # fmt: skip


def locate(value: str, words: Sequence[OcrWord]) -> tuple[Box | None, float]:
    """The box of the run of words that reads most like ``value``, and its score (None under :data:`MIN_SCORE`)."""
    run, score = _best_run(value, words)
    return (_union(run), score) if run else (None, score)


def _best_run(value: str, words: Sequence[OcrWord]) -> tuple[Sequence[OcrWord] | None, float]:
    target = comparable(value)
    if not target:
        return None, 0.0
    best: tuple[float, int, Sequence[OcrWord]] | None = None
    for start in range(len(words)):
        for end in range(start + 1, min(start + MAX_RUN, len(words)) + 1):
            run = words[start:end]
            if run[-1].line != run[0].line:
                break
            joined = comparable("".join(word.text for word in run))
            if len(joined) > 2 * len(target) + 4:
                break
            score = fuzz.ratio(target, joined)
            # among equal scores the shorter run wins: "42" is the word 42, not "№ 42"
            if best is None or (score, -len(run)) > (best[0], -best[1]):
                best = (score, len(run), run)
    if best is None or best[0] < MIN_SCORE:
        return None, best[0] if best else 0.0
    return best[2], best[0]


def _written(value: Any) -> str | None:
    return None if value in (None, "") or isinstance(value, bool | list | dict) else str(value)


def _row(path: str, row: Mapping[str, Any], columns: Sequence[str], words: Sequence[OcrWord]) -> list[Evidence]:
    """A line item's cells, looked for on the line of its most distinctive cell found (the longest value that is
    on the page): the same quantity printed in two rows then lands in its own row."""
    cells = {name: text for name in columns if (text := _written(row.get(name))) is not None}
    if not cells:
        return []
    on_line: list[OcrWord] = []
    for text in sorted(cells.values(), key=len, reverse=True):
        anchor_run, _ = _best_run(text, words)
        if anchor_run:
            on_line = [word for word in words if word.line == anchor_run[0].line]
            break
    found = []
    for name, text in cells.items():
        run, score = _best_run(text, on_line) if on_line else (None, 0.0)
        if run is None:
            run, score = _best_run(text, words)
        found.append(Evidence(f"{path}.{name}", text, _union(run) if run else None, round(score, 1)))
    return found


def written_values(template: Template, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every value of an answer that is written on a page, by path (yes/no values have no words)."""
    found = []
    for item in template.fields:
        value = values.get(item.name)
        if item.type == "rows" and isinstance(value, list):
            for index, row in enumerate(value):
                if isinstance(row, Mapping):
                    found += [(f"{item.name}.{index}.{column.name}", text) for column in item.columns
                              if (text := _written(row.get(column.name))) is not None]  # fmt: skip
        elif item.type != "rows" and (text := _written(value)) is not None:
            found.append((item.name, text))
    return found


def find_evidence(template: Template, values: Mapping[str, Any], words: Sequence[OcrWord]) -> list[Evidence]:
    """Every written value of an answer located among the page's OCR words (yes/no values have no words)."""
    found = []
    for item in template.fields:
        value = values.get(item.name)
        if item.type == "rows" and isinstance(value, list):
            columns = [column.name for column in item.columns]
            for index, row in enumerate(value):
                if isinstance(row, Mapping):
                    found += _row(f"{item.name}.{index}", row, columns, words)
        elif (text := _written(value)) is not None:
            box, score = locate(text, words)
            found.append(Evidence(item.name, text, box, round(score, 1)))
    return found


def locate_on_page(template: Template, values: Mapping[str, Any] | None, image: Image.Image) -> list[Evidence] | None:
    """Where each written value stands on the page, from Tesseract's words; None when Tesseract is not installed."""
    from core.engines.tesseract import TesseractMissing, check_installed, recognise

    try:
        check_installed("rus+eng")
    except TesseractMissing:
        return None
    if not values:
        return []
    return find_evidence(template, values, recognise(image, "rus+eng").words)
