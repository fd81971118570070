"""Checks of extracted values against each other and against the rules they obey. A failed check is reported
next to its field with the numbers that disagree; nothing is corrected.

- each line: amount = quantity × price;
- the lines add up to the subtotal, or to the total when there is no subtotal;
- VAT agrees with its printed rate: on the subtotal when there is one (tax on top), else as the share of a
  total that includes it (the Russian way: «в т.ч. НДС 20 %»);
- dates exist (31.02 does not);
- a Russian taxpayer number (ИНН, 10 or 12 digits) has the check digits the Tax Code's algorithm gives.

Money is compared to the kopeck, allowing one kopeck of rounding per line that went into a sum.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.extraction.templates import Template
from core.extraction.values import parse_date, parse_money, parse_number

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Check:
    """One rule, where it applies (``field`` and, for a line, ``row``), whether it held, and the figures."""

    key: str  # extract.check_* : the page translates it with ``params``
    field: str
    ok: bool
    row: int | None = None  # 0-based line item
    params: dict[str, str] = dataclasses.field(default_factory=dict)


def inn_valid(text: str) -> bool:
    """A 10-digit (organisation) or 12-digit (person) ИНН with correct check digits."""
    digits = [int(char) for char in text.strip() if char.isdigit()]
    if len(digits) != len(text.strip()) or len(digits) not in (10, 12):
        return False

    def control(weights: tuple[int, ...]) -> int:
        return sum(weight * digit for weight, digit in zip(weights, digits, strict=False)) % 11 % 10

    if len(digits) == 10:
        return control((2, 4, 10, 3, 5, 9, 4, 6, 8)) == digits[9]
    return (
        control((7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == digits[10]
        and control((3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == digits[11]
    )


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return Decimal(str(value))
    parsed = parse_money(str(value))
    return parsed.amount if parsed is not None else None


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    return parse_number(str(value))


def _close(first: Decimal, second: Decimal, tolerance: Decimal = CENT) -> bool:
    return abs(first - second) <= tolerance


def _lines(rows: Sequence[Mapping[str, Any]]) -> list[Check]:
    found = []
    for index, row in enumerate(rows):
        quantity, price, amount = _number(row.get("quantity")), _money(row.get("price")), _money(row.get("amount"))
        if quantity is None or price is None or amount is None:
            continue
        expected = (quantity * price).quantize(CENT)
        found.append(Check("extract.check_line", "lines", _close(expected, amount), index,
                           {"quantity": str(quantity), "price": str(price), "expected": str(expected),
                            "amount": str(amount)}))  # fmt: skip
    return found


def _sum(values: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> list[Check]:
    amounts = [_money(row.get("amount")) for row in rows]
    known = [amount for amount in amounts if amount is not None]
    if not known or len(known) != len(amounts):
        return []
    target_name = "subtotal" if _money(values.get("subtotal")) is not None else "total"
    target = _money(values.get(target_name))
    if target is None:
        return []
    lines_sum = sum(known, Decimal(0))
    ok = _close(lines_sum, target, CENT * len(known))
    if not ok and target_name == "total" and (vat := _money(values.get("vat"))) is not None:
        ok = _close(lines_sum + vat, target, CENT * len(known))  # lines before tax, the total after it
    return [Check("extract.check_sum", target_name, ok, None, {"sum": str(lines_sum), "printed": str(target)})]


def _vat(values: Mapping[str, Any]) -> list[Check]:
    rate, vat = _number(values.get("vat_rate")), _money(values.get("vat"))
    if rate is None or vat is None or rate <= 0:
        return []
    subtotal, total = _money(values.get("subtotal")), _money(values.get("total"))
    if subtotal is not None:
        expected = subtotal * rate / 100
    elif total is not None:
        expected = total * rate / (100 + rate)  # included in the total
    else:
        return []
    expected = expected.quantize(CENT)
    return [Check("extract.check_vat", "vat", _close(expected, vat), None,
                  {"rate": str(rate), "expected": str(expected), "printed": str(vat)})]  # fmt: skip


def run_checks(template: Template, values: Mapping[str, Any]) -> list[Check]:
    """Every check that applies to ``values`` (the answer as decoded, or as the person corrected it)."""
    found: list[Check] = []
    for item in template.fields:
        value = values.get(item.name)
        if value in (None, ""):
            continue
        if item.type == "date":
            found.append(Check("extract.check_date", item.name, parse_date(str(value)) is not None, None,
                               {"value": str(value)}))  # fmt: skip
        if item.check == "inn":
            found.append(Check("extract.check_inn", item.name, inn_valid(str(value)), None, {"value": str(value)}))
    rows = values.get("lines")
    if isinstance(rows, list) and all(isinstance(row, Mapping) for row in rows):
        found += _lines(rows) + _sum(values, rows)
    found += _vat(values)
    return found
