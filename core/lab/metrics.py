"""Scoring answers against references: field matching after normalisation, CER/WER for text, ANLS for VQA."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import Levenshtein

from core.extraction.values import parse_date as read_date
from core.extraction.values import parse_money

NUMBER_TOLERANCE = 0.01  # absolute, for amounts in currency units


def parse_number(value: object) -> float | None:
    """``1 234,56`` / ``1,234.56`` / ``1234.56`` / ``$ 1 234.56`` -> 1234.56; None if not a number. The reading
    is Extract's (:mod:`core.extraction.values`), so the Lab scores values the way the page types them."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    money = parse_money(str(value))
    return float(money.amount) if money is not None else None


def parse_date(value: object) -> date | None:
    return read_date(" ".join(str(value).split()))


def normalise_text(value: object) -> str:
    return " ".join(str(value).casefold().split())


def values_match(expected: object, got: object) -> bool:
    """Numbers within a tolerance, dates in any common format, strings ignoring case and spacing."""
    if got is None:
        return expected is None
    expected_date, got_date = parse_date(expected), parse_date(got)
    if expected_date is not None and got_date is not None:
        return expected_date == got_date
    expected_number, got_number = parse_number(expected), parse_number(got)
    if expected_number is not None and got_number is not None:
        return abs(expected_number - got_number) <= NUMBER_TOLERANCE + 1e-9
    return normalise_text(expected) == normalise_text(got)


@dataclass(frozen=True)
class FieldScore:
    precision: float
    recall: float
    f1: float
    matched: dict[str, bool]  # per expected field


def score_fields(expected: dict[str, object], parsed: dict[str, object] | None) -> FieldScore:
    """Precision over the fields the model gave, recall over the fields expected."""
    parsed = parsed or {}
    given = {key for key, value in parsed.items() if value not in (None, "")}
    matched = {key: key in parsed and values_match(value, parsed[key]) for key, value in expected.items()}
    correct = sum(matched.values())
    precision = correct / len(given) if given else 0.0
    recall = correct / len(expected) if expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return FieldScore(precision, recall, f1, matched)


def levenshtein(a: list[str] | str, b: list[str] | str) -> int:
    """Edit distance between two strings (characters) or two word lists, by rapidfuzz's C++ implementation."""
    return int(Levenshtein.distance(a, b))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate on whitespace-normalised text (can exceed 1 for long garbage)."""
    ref, hyp = " ".join(reference.split()), " ".join(hypothesis.split())
    if not ref:
        return 0.0 if not hyp else 1.0
    return levenshtein(ref, hyp) / len(ref)


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = reference.split(), hypothesis.split()
    if not ref:
        return 0.0 if not hyp else 1.0
    return levenshtein(ref, hyp) / len(ref)


def anls(references: list[str], hypothesis: str, threshold: float = 0.5) -> float:
    """Average normalised Levenshtein similarity (best over the accepted answers; 0 below the threshold)."""
    best = 0.0
    hyp = normalise_text(hypothesis)
    for reference in references:
        ref = normalise_text(reference)
        longest = max(len(ref), len(hyp))
        distance = levenshtein(ref, hyp) / longest if longest else 0.0
        best = max(best, 1.0 - distance if distance < threshold else 0.0)
    return best


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil
    return ordered[int(rank) - 1]


_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def normalise_markdown(text: str) -> str:
    """Markdown with layout-only differences removed: blank lines, runs of spaces, the width of table rules."""
    lines = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        if _TABLE_RULE.match(line):
            line = "|" + "---|" * line.strip("|").count("|") + "---|"
        elif line.startswith("|"):
            line = "| " + " | ".join(cell.strip() for cell in _CELL_SPLIT.split(line.strip("|"))) + " |"
        lines.append(line)
    return "\n".join(lines)


def text_similarity(reference: str, hypothesis: str) -> float:
    """1 - normalised edit distance of the two Markdown texts (1.0: identical once normalised)."""
    ref, hyp = normalise_markdown(reference), normalise_markdown(hypothesis)
    if not ref and not hyp:
        return 1.0
    return 1.0 - float(Levenshtein.normalized_distance(ref, hyp))


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Each pipe table of ``text`` as rows of stripped cell texts (the rule under the header left out)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("|"):
            if not _TABLE_RULE.match(stripped):
                cells = _CELL_SPLIT.split(stripped.strip("|")) if stripped != "|" else [""]
                current.append([cell.strip().replace("\\|", "|") for cell in cells])
            continue
        if current:
            tables.append(current)
            current = []
    return tables


def cell_accuracy(reference: list[list[str]], predicted: list[list[str]]) -> float:
    """Share of cells equal at the same row and column (as field values match: numbers, dates, normalised
    text), over the larger of the two grids.

    A missing or extra row or column costs all its cells, so a table with the right values in the
    wrong shape scores low.
    """
    rows = max(len(reference), len(predicted))
    columns = max((len(row) for row in [*reference, *predicted]), default=0)
    if not rows or not columns:
        return 1.0 if not reference and not predicted else 0.0

    def cell(table: list[list[str]], r: int, c: int) -> str | None:
        return table[r][c] if r < len(table) and c < len(table[r]) else None

    def same(expected: str | None, got: str | None) -> bool:
        if expected is None or got is None:
            return False
        return values_match(expected, got) if expected.strip() else not got.strip()

    right = sum(1 for r in range(rows) for c in range(columns) if same(cell(reference, r, c), cell(predicted, r, c)))
    return right / (rows * columns)


def table_accuracy(reference: list[list[list[str]]], predicted: list[list[list[str]]]) -> float | None:
    """Mean over the reference tables of the best predicted table's cell accuracy; None without reference tables."""
    if not reference:
        return None
    return sum(max((cell_accuracy(table, guess) for guess in predicted), default=0.0) for table in reference) / len(
        reference
    )


ROWS_SEARCHED_EXACTLY = 5  # up to this many rows every one-to-one pairing is tried; beyond, the best pairs first


def _row_matches(expected: dict[str, object], got: object) -> int:
    if not isinstance(got, dict):
        return 0
    return sum(1 for key, value in expected.items() if values_match(value, got.get(key)))


def score_rows(expected: list[dict[str, object]], got: list[object]) -> float:
    """The share of expected line-item cells right, with predicted rows paired to expected ones one-to-one so
    that the most cells match (a missing, extra or shuffled row costs only what it gets wrong)."""
    cells = sum(len(row) for row in expected)
    if not cells:
        return 1.0 if not got else 0.0
    matches = [[_row_matches(row, candidate) for candidate in got] for row in expected]
    if not got:
        return 0.0
    if len(expected) <= ROWS_SEARCHED_EXACTLY and len(got) <= ROWS_SEARCHED_EXACTLY:
        from itertools import permutations

        slots = list(range(len(got))) + [None] * len(expected)  # None: that expected row is left unpaired
        best = max(
            sum(matches[row][slot] for row, slot in enumerate(pairing) if slot is not None)
            for pairing in set(permutations(slots, len(expected)))
        )
        return best / cells
    pairs = sorted(((matches[r][g], r, g) for r in range(len(expected)) for g in range(len(got))), reverse=True)
    used_rows: set[int] = set()
    used_got: set[int] = set()
    total = 0
    for count, row, candidate in pairs:
        if row not in used_rows and candidate not in used_got:
            used_rows.add(row)
            used_got.add(candidate)
            total += count
    return total / cells
