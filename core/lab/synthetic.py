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
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

_FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf")
_SELLERS = (
    ("ACME Supplies Ltd", "Blue Harbor GmbH", "Northwind Trading"),
    ("ООО «Ромашка»", "АО «Северный ветер»", "ИП Иванов"),
)
_BUYERS = (
    ("Initech LLC", "Umbrella Retail", "Stark Logistics"),
    ("ООО «Вектор»", "АО «Лесная пристань»", "ООО «Ромашка»"),
)
_ITEMS = (("Paper A4", "Printer toner", "Office chair", "Desk lamp"), ("Бумага А4", "Тонер", "Стул офисный", "Лампа"))
PAGE = (827, 1169)  # A4 at 100 dpi: readable and light


@dataclass(frozen=True)
class Invoice:
    """One invoice's values as the references hold them (dates ISO, amounts with two decimals). A Russian invoice
    carries the Russian template's fields (ИНН/КПП of both parties, БИК, account) with prices that include VAT
    («в т.ч. НДС»); an English one has net prices, a subtotal and VAT on top."""

    seller: str
    number: str
    date: str  # ISO
    total: str
    currency: str
    items: tuple[tuple[str, int, str], ...]  # name, quantity, unit price
    buyer: str
    vat_rate: str
    vat: str
    subtotal: str | None = None  # English invoices: the lines before VAT
    due_date: str | None = None  # English invoices, ISO
    seller_inn: str | None = None  # the rest: Russian invoices
    seller_kpp: str | None = None
    buyer_inn: str | None = None
    buyer_kpp: str | None = None
    bik: str | None = None
    account: str | None = None

    @property
    def russian(self) -> bool:
        return self.currency == "RUB"

    @property
    def unit(self) -> str | None:
        return "шт." if self.russian else None

    def amount(self, index: int) -> str:
        _, quantity, price = self.items[index]
        return f"{quantity * Decimal(price):.2f}"

    def fields(self) -> dict[str, str]:
        """The references' fields: every scalar field of the invoice template in the invoice's language."""
        names = _RUSSIAN_FIELDS if self.russian else _ENGLISH_FIELDS
        return {name: str(getattr(self, name)) for name in names}

    def lines(self) -> list[dict[str, str]]:
        """The line items as the templates name their columns (what an extraction's rows are scored against)."""
        rows = []
        for index, (name, quantity, price) in enumerate(self.items):
            row = {"name": name, "quantity": str(quantity), "price": price, "amount": self.amount(index)}
            rows.append(row | ({"unit": self.unit} if self.unit else {}))
        return rows


_RUSSIAN_FIELDS = ("number", "date", "seller", "seller_inn", "seller_kpp", "buyer", "buyer_inn", "buyer_kpp", "bik",
                   "account", "vat_rate", "vat", "total", "currency")  # fmt: skip
_ENGLISH_FIELDS = ("number", "date", "due_date", "seller", "buyer", "subtotal", "vat_rate", "vat", "total", "currency")
LANGUAGES = ("both", "ru", "en")  # both: Russian and English invoices alternate
VAT_RATE = 20


def _inn(rng: random.Random) -> str:
    """A ten-digit organisation ИНН whose check digit is right (the Tax Code's weights)."""
    digits = [rng.randint(1, 9), *(rng.randint(0, 9) for _ in range(8))]
    control = sum(w * d for w, d in zip((2, 4, 10, 3, 5, 9, 4, 6, 8), digits, strict=True)) % 11 % 10
    return "".join(map(str, [*digits, control]))


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(count))


def make_invoice(index: int, language: str = "both") -> Invoice:
    rng = random.Random(index)
    cyrillic = index % 2 == 0 if language == "both" else language == "ru"
    items = []
    lines_sum = Decimal(0)
    for name in rng.sample(_ITEMS[cyrillic], 3):
        quantity, price = rng.randint(1, 5), Decimal(rng.randint(100, 9999)) / 100
        lines_sum += quantity * price
        items.append((name, quantity, f"{price:.2f}"))
    day = date(2026, 1, 1) + timedelta(days=rng.randint(0, 330))
    seller = rng.choice(_SELLERS[cyrillic])
    buyer = rng.choice([name for name in _BUYERS[cyrillic] if name != seller])
    number, items_made = f"INV-{2026}-{index:04d}", tuple(items)
    if cyrillic:  # prices include VAT: the total is the lines' sum, VAT its share
        vat = (lines_sum * VAT_RATE / (100 + VAT_RATE)).quantize(Decimal("0.01"))
        seller_inn, buyer_inn = _inn(rng), _inn(rng)
        return Invoice(seller, number, day.isoformat(), f"{lines_sum:.2f}", "RUB", items_made, buyer, str(VAT_RATE),
                       f"{vat:.2f}", seller_inn=seller_inn, seller_kpp=seller_inn[:4] + "01001", buyer_inn=buyer_inn,
                       buyer_kpp=buyer_inn[:4] + "01001", bik="04" + _digits(rng, 7),
                       account="40702810" + _digits(rng, 12))  # fmt: skip
    vat = (lines_sum * VAT_RATE / 100).quantize(Decimal("0.01"))
    due = (day + timedelta(days=14)).isoformat()
    return Invoice(seller, number, day.isoformat(), f"{lines_sum + vat:.2f}", "EUR", items_made, buyer, str(VAT_RATE),
                   f"{vat:.2f}", subtotal=f"{lines_sum:.2f}", due_date=due)  # fmt: skip


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_PATHS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


@dataclass(frozen=True)
class Printed:
    """A line of text as printed, and the values it holds by extraction path, in the order they stand in it."""

    text: str
    values: dict[str, str] = field(default_factory=dict)


Row = tuple[Printed, ...]  # a table row: one cell per column

_TERMS = ["Terms / Условия", "Payment within 14 days.", "Оплата в течение 14 дней."]
# left edges of the item table's columns: name, quantity, (unit,) price, amount
_COLUMNS = {4: (70, 380, 490, 630), 5: (70, 300, 400, 490, 630)}


def _shown(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d.%m.%Y")


def _header(invoice: Invoice) -> list[Printed]:
    number, day = invoice.number, _shown(invoice.date)
    if not invoice.russian:
        due = _shown(invoice.due_date or invoice.date)
        return [
            Printed(invoice.seller, {"seller": invoice.seller}),
            Printed(f"Invoice {number}", {"number": number}),
            Printed(f"Date: {day}", {"date": day}),
            Printed(f"Due date: {due}", {"due_date": due}),
            Printed(f"Bill to: {invoice.buyer}", {"buyer": invoice.buyer}),
        ]
    seller_ids = {"seller_inn": invoice.seller_inn or "", "seller_kpp": invoice.seller_kpp or ""}
    buyer_ids = {"buyer_inn": invoice.buyer_inn or "", "buyer_kpp": invoice.buyer_kpp or ""}
    bank = {"bik": invoice.bik or "", "account": invoice.account or ""}
    return [
        Printed(invoice.seller, {"seller": invoice.seller}),
        Printed(f"Счёт {number}", {"number": number}),
        Printed(f"Дата: {day}", {"date": day}),
        Printed(f"ИНН {invoice.seller_inn} КПП {invoice.seller_kpp}", seller_ids),
        Printed(f"Покупатель: {invoice.buyer}", {"buyer": invoice.buyer}),
        Printed(f"ИНН {invoice.buyer_inn} КПП {invoice.buyer_kpp}", buyer_ids),
        Printed(f"БИК {invoice.bik} Р/с {invoice.account}", bank),
    ]


def _table(invoice: Invoice) -> list[Row]:
    """The line items as printed: a header row, then name, quantity, (unit,) price and amount."""
    heading: tuple[str, ...] = ("Товар", "Кол-во", "Ед.", "Цена", "Сумма")
    columns: tuple[str, ...] = ("name", "quantity", "unit", "price", "amount")
    if not invoice.russian:
        heading, columns = ("Item", "Qty", "Price", "Amount"), ("name", "quantity", "price", "amount")
    rows: list[Row] = [tuple(Printed(cell) for cell in heading)]
    for index, row in enumerate(invoice.lines()):
        rows.append(tuple(Printed(row[name], {f"lines.{index}.{name}": row[name]}) for name in columns))
    return rows


def _after(invoice: Invoice) -> list[Printed]:
    total, vat, rate, currency = invoice.total, invoice.vat, invoice.vat_rate, invoice.currency
    if invoice.russian:
        return [
            Printed(f"Итого: {total} {currency}", {"total": total, "currency": currency}),
            Printed(f"В т.ч. НДС {rate}%: {vat}", {"vat_rate": rate, "vat": vat}),
        ]
    subtotal = invoice.subtotal or ""
    return [
        Printed(f"Subtotal: {subtotal} {currency}", {"subtotal": subtotal, "currency": currency}),
        Printed(f"VAT {rate}%: {vat} {currency}", {"vat_rate": rate, "vat": vat}),
        Printed(f"Total: {total} {currency}", {"total": total}),
    ]


def invoice_table(invoice: Invoice) -> list[tuple[str, ...]]:
    """The item table's cells as printed, its heading first."""
    return [tuple(cell.text for cell in row) for row in _table(invoice)]


def invoice_lines(invoice: Invoice) -> list[str]:
    """The text printed on the invoice page, line by line (the OCR reference); a table row is one line."""
    table = [" ".join(row) for row in invoice_table(invoice)]
    return [*(line.text for line in _header(invoice)), *table, *(line.text for line in _after(invoice))]


def invoice_markdown(invoice: Invoice) -> str:
    """The page as a document (the reference of the Lab's convert task): its line items are a table."""
    header = [line.text for line in _header(invoice)]
    table = invoice_table(invoice)
    rows = [f"| {' | '.join(row)} |" for row in table]
    rows.insert(1, "|" + "---|" * len(table[0]))
    after = [line.text for line in _after(invoice)]
    return "\n\n".join([f"## {header[0]}", *header[1:], "\n".join(rows), *after]) + "\n"


@dataclass(frozen=True)
class Drawn:
    """One piece of text as it was drawn: where, in which font (to find a value's pixels within it)."""

    x: int
    y: int
    piece: Printed
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont


def render_page(
    lines: list[Printed] | list[str],
    table: list[Row] | None = None,
    after: list[Printed] | None = None,
    drawn: list[Drawn] | None = None,
) -> Image.Image:
    """``lines`` (the first as a heading), then ``table`` with a rule under its header and below it, then ``after``;
    each text drawn is also added to ``drawn`` when given."""
    page = Image.new("RGB", PAGE, "white")
    draw = ImageDraw.Draw(page)
    heading, body = _font(34), _font(24)

    def text(x: int, y: int, piece: Printed, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> None:
        draw.text((x, y), piece.text, fill="black", font=font)
        if drawn is not None:
            drawn.append(Drawn(x, y, piece, font))

    y = 80
    for number, line in enumerate(lines):
        text(70, y, line if isinstance(line, Printed) else Printed(str(line)), heading if number == 0 else body)
        y += 60 if number == 0 else 42
    if table:
        y += 10
        for number, row in enumerate(table):
            for x, cell in zip(_COLUMNS[len(row)], row, strict=True):
                text(x, y, cell, body)
            y += 42
            if number == 0:
                draw.line((70, y - 6, PAGE[0] - 70, y - 6), fill="black", width=1)
        draw.line((70, y, PAGE[0] - 70, y), fill="black", width=1)
        y += 20
    for line in after or []:
        text(70, y, line, body)
        y += 42
    draw.line((70, y + 10, PAGE[0] - 70, y + 10), fill="black", width=2)
    return page


def render_invoice(invoice: Invoice, drawn: list[Drawn] | None = None) -> Image.Image:
    return render_page(_header(invoice), _table(invoice), _after(invoice), drawn)


def printed_values(invoice: Invoice) -> dict[str, str]:
    """The invoice's values as they are printed (dates as dd.mm.yyyy), by extraction path."""
    values: dict[str, str] = {}
    for piece in [*_header(invoice), *(cell for row in _table(invoice) for cell in row), *_after(invoice)]:
        values |= piece.values
    return values


def value_boxes(invoice: Invoice) -> dict[str, tuple[int, int, int, int]]:
    """Where each printed value's ink is on the rendered page (x1, y1, x2, y2), by extraction path: the
    ground truth the evidence finder is tested against."""
    drawn: list[Drawn] = []
    render_invoice(invoice, drawn)
    found = {}
    for item in drawn:
        cursor = 0
        for path, value in item.piece.values.items():  # values in the order they stand in their line
            start = item.piece.text.index(value, cursor)
            cursor = start + len(value)
            left = item.x + round(item.font.getlength(item.piece.text[:start]))
            x1, y1, x2, y2 = item.font.getbbox(value)
            _, cap_top, _, baseline = item.font.getbbox("H")  # a word's box spans capitals, as an OCR word box does
            found[path] = (
                left + int(x1),
                item.y + int(min(y1, cap_top)),
                left + int(x2),
                item.y + int(max(y2, baseline)),
            )
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
