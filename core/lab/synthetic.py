"""Synthetic invoices with known fields, for trying the Lab and for its tests.

    python -m core.lab.synthetic --out data/invoices --count 6

Writes ``invoice_NN.png`` (odd numbers) or a two-page ``invoice_NN.pdf`` (even numbers) into
``--out`` and the answers into ``--out/references``: ``invoice_NN.json`` (fields),
``invoice_NN.txt`` (the text printed on the first page) and ``invoice_NN.md`` (the document as
Markdown, its line items a table, for the convert task). Russian and English invoices alternate
(``--language both``), or all are in one language (``ru``, ``en``).
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

_FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf")
_SELLERS = (
    ("ACME Supplies Ltd", "Blue Harbor GmbH", "Northwind Trading"),
    ("ООО «Ромашка»", "АО «Северный ветер»", "ИП Иванов"),
)
_ITEMS = (("Paper A4", "Printer toner", "Office chair", "Desk lamp"), ("Бумага А4", "Тонер", "Стул офисный", "Лампа"))
PAGE = (827, 1169)  # A4 at 100 dpi: readable and light


@dataclass(frozen=True)
class Invoice:
    seller: str
    number: str
    date: str  # ISO
    total: str
    currency: str
    items: tuple[tuple[str, int, str], ...]

    def fields(self) -> dict[str, str]:
        return {"seller": self.seller, "number": self.number, "date": self.date, "total": self.total}

    def lines(self) -> list[dict[str, str]]:
        """The line items as the templates name their columns (what an extraction's rows are scored against)."""
        return [{"name": name, "quantity": str(quantity), "price": price} for name, quantity, price in self.items]


LANGUAGES = ("both", "ru", "en")  # both: Russian and English invoices alternate


def make_invoice(index: int, language: str = "both") -> Invoice:
    rng = random.Random(index)
    cyrillic = index % 2 == 0 if language == "both" else language == "ru"
    items = []
    total = 0.0
    for name in rng.sample(_ITEMS[cyrillic], 3):
        quantity, price = rng.randint(1, 5), rng.randint(100, 9999) / 100
        total += quantity * price
        items.append((name, quantity, f"{price:.2f}"))
    day = date(2026, 1, 1) + timedelta(days=rng.randint(0, 330))
    return Invoice(
        seller=rng.choice(_SELLERS[cyrillic]),
        number=f"INV-{2026}-{index:04d}",
        date=day.isoformat(),
        total=f"{total:.2f}",
        currency="RUB" if cyrillic else "EUR",
        items=tuple(items),
    )


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_PATHS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


_TERMS = ["Terms / Условия", "Payment within 14 days.", "Оплата в течение 14 дней."]
_COLUMNS = (70, 450, 600)  # left edges of the item table's columns: name, quantity, price


def _header(invoice: Invoice) -> list[str]:
    cyrillic = invoice.currency == "RUB"
    printed_date = date.fromisoformat(invoice.date).strftime("%d.%m.%Y")
    return [
        invoice.seller,
        f"{'Счёт' if cyrillic else 'Invoice'} {invoice.number}",
        f"{'Дата' if cyrillic else 'Date'}: {printed_date}",
    ]


def _table(invoice: Invoice) -> list[tuple[str, str, str]]:
    """The line items as printed: a header row, then name, quantity and unit price."""
    heading = ("Товар", "Кол-во", "Цена") if invoice.currency == "RUB" else ("Item", "Qty", "Price")
    return [heading, *((name, str(quantity), price) for name, quantity, price in invoice.items)]


def _total(invoice: Invoice) -> str:
    return f"{'Итого' if invoice.currency == 'RUB' else 'Total'}: {invoice.total} {invoice.currency}"


def invoice_lines(invoice: Invoice) -> list[str]:
    """The text printed on the invoice page, line by line (the OCR reference); a table row is one line."""
    return [*_header(invoice), *(" ".join(row) for row in _table(invoice)), _total(invoice)]


def invoice_markdown(invoice: Invoice) -> str:
    """The page as a document (the reference of the Lab's convert task): its line items are a table."""
    header = _header(invoice)
    rows = [f"| {' | '.join(row)} |" for row in _table(invoice)]
    rows.insert(1, "|---|---|---|")
    return "\n\n".join([f"## {header[0]}", *header[1:], "\n".join(rows), _total(invoice)]) + "\n"


@dataclass(frozen=True)
class Drawn:
    """One piece of text as it was drawn: where, in which font (to find a value's pixels within it)."""

    x: int
    y: int
    text: str
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont


def render_page(
    lines: list[str],
    table: list[tuple[str, str, str]] | None = None,
    after: tuple[str, ...] = (),
    drawn: list[Drawn] | None = None,
) -> Image.Image:
    """``lines`` (the first as a heading), then ``table`` with a rule under its header and below it, then ``after``;
    each text drawn is also added to ``drawn`` when given."""
    page = Image.new("RGB", PAGE, "white")
    draw = ImageDraw.Draw(page)
    heading, body = _font(34), _font(24)

    def text(x: int, y: int, value: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> None:
        draw.text((x, y), value, fill="black", font=font)
        if drawn is not None:
            drawn.append(Drawn(x, y, value, font))

    y = 80
    for number, line in enumerate(lines):
        text(70, y, line, heading if number == 0 else body)
        y += 60 if number == 0 else 42
    if table:
        y += 10
        for number, row in enumerate(table):
            for x, cell in zip(_COLUMNS, row, strict=True):
                text(x, y, cell, body)
            y += 42
            if number == 0:
                draw.line((70, y - 6, PAGE[0] - 70, y - 6), fill="black", width=1)
        draw.line((70, y, PAGE[0] - 70, y), fill="black", width=1)
        y += 20
    for line in after:
        text(70, y, line, body)
        y += 42
    draw.line((70, y + 10, PAGE[0] - 70, y + 10), fill="black", width=2)
    return page


def render_invoice(invoice: Invoice, drawn: list[Drawn] | None = None) -> Image.Image:
    return render_page(_header(invoice), _table(invoice), (_total(invoice),), drawn)


def printed_values(invoice: Invoice) -> dict[str, str]:
    """The invoice's values as they are printed (its date as dd.mm.yyyy), by extraction path."""
    values = {
        "seller": invoice.seller,
        "number": invoice.number,
        "date": date.fromisoformat(invoice.date).strftime("%d.%m.%Y"),
        "total": invoice.total,
    }
    for index, (name, quantity, price) in enumerate(invoice.items):
        values |= {f"lines.{index}.name": name, f"lines.{index}.quantity": str(quantity),
                   f"lines.{index}.price": price}  # fmt: skip
    return values


def value_boxes(invoice: Invoice) -> dict[str, tuple[int, int, int, int]]:
    """Where each printed value's ink is on the rendered page (x1, y1, x2, y2), by extraction path: the
    ground truth the evidence finder is tested against."""
    drawn: list[Drawn] = []
    render_invoice(invoice, drawn)
    header = len(_header(invoice))
    # what was drawn, in order: the header lines, the table's heading and rows cell by cell, the total line
    where = {"seller": drawn[0], "number": drawn[1], "date": drawn[2], "total": drawn[-1]}
    for index in range(len(invoice.items)):
        for column, name in enumerate(("name", "quantity", "price")):
            where[f"lines.{index}.{name}"] = drawn[header + 3 * (index + 1) + column]
    found = {}
    for path, value in printed_values(invoice).items():
        piece = where[path]  # a header value sits inside its line ("Invoice INV-…"), a cell is its own text
        start = piece.text.rindex(value)
        left = piece.x + round(piece.font.getlength(piece.text[:start]))
        x1, y1, x2, y2 = piece.font.getbbox(value)
        found[path] = (left + int(x1), piece.y + int(y1), left + int(x2), piece.y + int(y2))
    return found


def write_dataset(out_dir: Path, count: int, language: str = "both") -> list[Path]:
    out_dir = Path(out_dir)
    references = out_dir / "references"
    references.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(1, count + 1):
        invoice = make_invoice(index, language)
        stem = f"invoice_{index:02d}"
        lines = invoice_lines(invoice)
        first = render_invoice(invoice)
        if index % 2:
            path = out_dir / f"{stem}.png"
            first.save(path)
        else:
            path = out_dir / f"{stem}.pdf"
            terms = render_page(_TERMS)
            first.save(path, "PDF", resolution=100.0, save_all=True, append_images=[terms])
        (references / f"{stem}.json").write_text(
            json.dumps({**invoice.fields(), "lines": invoice.lines()}, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        (references / f"{stem}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        markdown = invoice_markdown(invoice)
        if not index % 2:  # the PDF's second page belongs to the document too
            markdown += "\n" + "\n\n".join([f"## {_TERMS[0]}", *_TERMS[1:]]) + "\n"
        (references / f"{stem}.md").write_text(markdown, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write synthetic invoices with reference answers.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--language", choices=LANGUAGES, default="both", help="Russian, English or both, alternating")
    args = parser.parse_args(argv)
    paths = write_dataset(args.out, args.count, args.language)
    print(f"{len(paths)} invoices written to {args.out}, references in {args.out / 'references'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
