"""Document text as OCR specialists write it, made into Markdown with pipe tables, and split into blocks.

The specialists answer in three table forms: HTML ``<table>`` (GLM-OCR, LightOnOCR), OTSL cell tokens
(``<fcel>``, ``<ecel>``, ``<lcel>``, ``<ucel>``, ``<xcel>``, rows ended by ``<nl>``: PaddleOCR-VL) and
Markdown pipe tables. :func:`to_markdown` turns the first two into the third, so one text can be edited,
downloaded as ``.md`` and compared; :func:`blocks` cuts it into paragraphs, tables and display formulas,
which a page shows as a real table and rendered maths without handing model text to a Markdown renderer.

Answers are often cut off by the token limit: an unclosed table or a row without its ``<nl>`` keeps
the cells read so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str, ...], ...]  # the first row is the header

    @property
    def width(self) -> int:
        return max((len(row) for row in self.rows), default=0)


@dataclass(frozen=True)
class Formula:
    latex: str


Block = Paragraph | Table | Formula


# --- tables ----------------------------------------------------------------------------------------


def _cell_text(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def table_markdown(rows: list[list[str]]) -> str:
    """Rows as a pipe table; short rows are padded so every row has the header's width or more."""
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    padded = [[_cell_text(cell) for cell in row] + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(padded[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(row) + " |" for row in padded[1:]]
    return "\n".join(lines)


class _HtmlTable(HTMLParser):
    """Rows of one HTML table; ``colspan`` repeats nothing (the spanned cells stay empty), ``rowspan``
    leaves an empty cell in the rows below, so every row keeps its columns in place."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._span = 1
        self._carried: dict[int, int] = {}  # column -> rows still covered by a rowspan from above

    def _fill_carried(self) -> None:
        row = self.rows[-1]
        while self._carried.get(len(row), 0) > 0:
            self._carried[len(row)] -= 1
            row.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._close_cell()
            self.rows.append([])
        elif tag in ("td", "th"):
            self._close_cell()
            if not self.rows:
                self.rows.append([])
            self._fill_carried()
            values = dict(attrs)
            self._span = _span(values.get("colspan"))
            rows_down = _span(values.get("rowspan")) - 1
            if rows_down:
                for offset in range(self._span):
                    self._carried[len(self.rows[-1]) + offset] = rows_down
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._close_cell()
        elif tag == "tr" and self.rows:
            self._close_cell()
            self._fill_carried()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def _close_cell(self) -> None:
        if self._cell is None:
            return
        self.rows[-1].append("".join(self._cell))
        self.rows[-1].extend([""] * (self._span - 1))
        self._cell, self._span = None, 1


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 50))
    except ValueError:
        return 1


def html_table_rows(html: str) -> list[list[str]]:
    parser = _HtmlTable()
    parser.feed(html)
    parser.close()
    parser._close_cell()
    return [[cell.strip() for cell in row] for row in parser.rows]


_OTSL_CELL = re.compile(r"<(fcel|ecel|lcel|ucel|xcel|ched|rhed|srow)>|<nl>")


def otsl_rows(otsl: str) -> list[list[str]]:
    """OTSL cell tokens as rows: a cell's text follows its token; merged cells (l/u/x) are left empty."""
    rows: list[list[str]] = [[]]
    cell: list[str] | None = None
    position = 0
    for match in _OTSL_CELL.finditer(otsl):
        if cell is not None:
            cell.append(otsl[position : match.start()])
            rows[-1].append("".join(cell).strip())
            cell = None
        if match.group(0) == "<nl>":
            rows.append([])
        else:
            cell = [] if match.group(1) in ("fcel", "ched", "rhed", "srow") else None
            if cell is None:
                rows[-1].append("")
        position = match.end()
    if cell is not None:
        cell.append(otsl[position:])
        rows[-1].append("".join(cell).strip())
    return [row for row in rows if row]


_HTML_TABLE = re.compile(r"<table\b.*?(?:</table\s*>|$)", re.IGNORECASE | re.DOTALL)
_OTSL_RUN = re.compile(r"(?:<otsl>)?(?:<(?:fcel|ecel|lcel|ucel|xcel|ched|rhed|srow)>[^<]*|<nl>)+(?:</otsl>)?")


def to_markdown(text: str) -> str:
    """``text`` with every HTML table and every run of OTSL cells replaced by a pipe table."""

    def html(match: re.Match[str]) -> str:
        return "\n\n" + table_markdown(html_table_rows(match.group(0))) + "\n\n"

    def otsl(match: re.Match[str]) -> str:
        return "\n\n" + table_markdown(otsl_rows(match.group(0))) + "\n\n"

    converted = _OTSL_RUN.sub(otsl, _HTML_TABLE.sub(html, text))
    return re.sub(r"\n{3,}", "\n\n", converted).strip()


# --- blocks ----------------------------------------------------------------------------------------

_DISPLAY_MATH = re.compile(r"\$\$(.+?)(?:\$\$|$)|\\\[(.+?)(?:\\\]|$)", re.DOTALL)


def _pipe_cells(line: str) -> list[str]:
    inner = line.strip().strip("|")
    cells = re.split(r"(?<!\\)\|", inner)
    return [cell.strip().replace("\\|", "|") for cell in cells]


def _is_rule(line: str) -> bool:
    return bool(re.fullmatch(r"\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?", line.strip()))


def _text_blocks(text: str) -> list[Block]:
    found: list[Block] = []
    paragraph: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if paragraph and "".join(paragraph).strip():
            found.append(Paragraph("\n".join(paragraph).strip()))
        paragraph.clear()
        if table:
            found.append(Table(tuple(tuple(row) for row in table)))
        table.clear()

    for line in text.split("\n"):
        if line.strip().startswith("|"):
            if paragraph:
                flush()
            if not _is_rule(line):
                table.append(_pipe_cells(line))
        elif not line.strip():
            flush()
        else:
            if table:
                flush()
            paragraph.append(line)
    flush()
    return found


def blocks(markdown: str) -> list[Block]:
    """The Markdown cut into paragraphs, pipe tables and display formulas (``$$…$$`` or ``\\[…\\]``)."""
    found: list[Block] = []
    position = 0
    for match in _DISPLAY_MATH.finditer(markdown):
        found += _text_blocks(markdown[position : match.start()])
        latex = (match.group(1) or match.group(2) or "").strip()
        if latex:
            found.append(Formula(latex))
        position = match.end()
    found += _text_blocks(markdown[position:])
    return found


_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|:$~=^&\"'])")


def literal_markdown(text: str) -> str:
    """``text`` for a Markdown renderer that must show it as it is: every ASCII punctuation mark is
    backslash-escaped (CommonMark allows that for all of them), which also disarms Streamlit's own
    directives such as ``:red[…]`` and ``:material/…:``; line breaks stay line breaks."""
    escaped = _PUNCTUATION.sub(r"\\\1", text)
    return "  \n".join(escaped.split("\n"))


# What a model may not do through Markdown: run code segments are left alone (their text is shown as it is).
_CODE_SEGMENT = re.compile(r"(```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]+`)", re.DOTALL)
_CODE_OR_MATH = re.compile(r"(```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]+`|\$\$.+?\$\$|\$[^$\n]+\$)", re.DOTALL)
_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(\s*<?([^()\s>]*)>?(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\s*\)")
_BARE_URL = re.compile(r"(?:\b(?:https?|ftp|file|mailto|javascript|data):|\bwww\.)[^\s<>`\"')\]]+", re.IGNORECASE)
# HTML, Streamlit directives and shortcodes, escapes, what is left of a link that was not read as one, maths
_ARMED = re.compile(r"([<:\\\[$])")
_ARMED_KEEP_MATH = re.compile(r"([<:\\\[])")
# Streamlit reads ``:material/…:`` icons and ``:emoji:`` codes even from escaped text: an invisible word joiner
# after a colon that precedes a letter breaks every such name and changes nothing a reader sees.
_NAMED = re.compile(r"(?<=:)(?=[A-Za-z])")
WORD_JOINER = "\u2060"
_URL_TAIL = ".,;:!?"  # a sentence's punctuation after a bare URL is not part of it


def safe_markdown(text: str, *, math: bool = False) -> str:
    """A model's answer as Markdown that keeps its formatting (emphasis, lists, tables, code) but cannot style the
    page or act: ``$`` stays a dollar (unless ``math``: a converted document's real formulas), raw HTML shows as
    text, Streamlit's ``:red[…]``, ``:material/…:`` and ``:emoji:`` are disarmed, and a link or image becomes its
    text followed by its target as code, never clickable or fetched (bare URLs too)."""
    armed, kept = (_ARMED_KEEP_MATH, _CODE_OR_MATH) if math else (_ARMED, _CODE_SEGMENT)
    pieces = []
    for index, segment in enumerate(kept.split(text)):
        if index % 2:  # code (and with ``math`` formulas): the renderer shows it as it is
            pieces.append(segment)
            continue
        pieces.append(_prose(segment, armed))
    return "".join(pieces)


def _prose(segment: str, armed: re.Pattern[str]) -> str:
    out = []
    position = 0
    for match in _LINK.finditer(segment):
        out.append(_plain(segment[position : match.start()], armed))
        label, target = match.group(2).strip(), match.group(3)
        shown = _plain(label, armed) if label else ""
        out.append(f"{shown} ({_as_code(target)})" if shown else f"({_as_code(target)})")
        position = match.end()
    out.append(_plain(segment[position:], armed))
    return "".join(out)


def _plain(segment: str, armed: re.Pattern[str]) -> str:
    def disarm(text: str) -> str:
        return _NAMED.sub(WORD_JOINER, armed.sub(r"\\\1", text))

    out = []
    position = 0
    for match in _BARE_URL.finditer(segment):
        url = match.group(0).rstrip(_URL_TAIL)
        out.append(disarm(segment[position : match.start()]))
        out.append(_as_code(url))
        position = match.start() + len(url)
    out.append(disarm(segment[position:]))
    return "".join(out)


def _as_code(text: str) -> str:
    """``text`` as an inline code span, fenced with more backticks than it holds."""
    if not text:
        return "``"
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"
