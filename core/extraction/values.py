"""Values as a page writes them, read into typed values: dates to ISO 8601, money to a decimal and a currency.

Russian and English ways of writing are both read: ``03.03.2026``, ``3 марта 2026 г.``, ``2026-03-03``,
``March 3, 2026``; ``1 234,56 ₽``, ``1 234,56 руб.``, ``$1,234.56``, ``EUR 12,50``. What cannot be read is
reported as unreadable (``None``), never guessed: the page shows the text as written next to the failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

_MONTHS = {
    # Russian, in the genitive a date uses, and the nominative; English, full and short
    "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6, "июля": 7, "августа": 8,
    "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
    "январь": 1, "февраль": 2, "март": 3, "апрель": 4, "май": 5, "июнь": 6, "июль": 7, "август": 8,
    "сентябрь": 9, "октябрь": 10, "ноябрь": 11, "декабрь": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip

_CURRENCIES = {
    "₽": "RUB", "руб": "RUB", "руб.": "RUB", "рублей": "RUB", "рубля": "RUB", "рубль": "RUB", "р.": "RUB",
    "rub": "RUB", "rur": "RUB", "$": "USD", "usd": "USD", "€": "EUR", "eur": "EUR", "£": "GBP", "gbp": "GBP",
    "¥": "CNY", "cny": "CNY", "₸": "KZT", "kzt": "KZT", "byn": "BYN", "uah": "UAH", "₴": "UAH", "chf": "CHF",
}  # fmt: skip


def parse_date(text: str) -> date | None:
    """The date written in ``text`` (day first where it is ambiguous, as in Russia and Europe); None if none."""
    cleaned = text.strip().lower().replace("г.", "").replace("года", "").strip().rstrip(".")
    numeric = re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})", cleaned)
    if numeric:
        day, month, year = (int(part) for part in numeric.groups())
        return _date(year + 2000 if year < 100 else year, month, day)
    iso = re.fullmatch(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})", cleaned)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
        return _date(year, month, day)
    words = re.fullmatch(r"[«\"]?(\d{1,2})[»\"]?\s+([a-zа-яё]+)\.?,?\s+(\d{4})", cleaned)
    if words and words.group(2) in _MONTHS:
        return _date(int(words.group(3)), _MONTHS[words.group(2)], int(words.group(1)))
    english = re.fullmatch(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", cleaned)
    if english and english.group(1) in _MONTHS:
        return _date(int(english.group(3)), _MONTHS[english.group(1)], int(english.group(2)))
    return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 31.02 and the like: a date that does not exist
        return None


def parse_number(text: str) -> Decimal | None:
    """A number as written: spaces (also narrow and non-breaking) group thousands; the decimal mark is a comma
    or a point, whichever comes last when both are there (``1,234.56`` and ``1.234,56``)."""
    cleaned = re.sub(r"[\s\u00a0\u202f']", "", text.strip())
    cleaned = cleaned.replace("−", "-")
    if not re.fullmatch(r"-?[\d.,]*\d[\d.,]*", cleaned):
        return None
    if "," in cleaned and "." in cleaned:
        decimal_mark = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        grouping = "." if decimal_mark == "," else ","
        cleaned = cleaned.replace(grouping, "").replace(decimal_mark, ".")
    elif "," in cleaned:
        whole, _, fraction = cleaned.rpartition(",")
        # one comma followed by exactly three digits groups thousands (1,234); otherwise it is the decimal mark
        digits = whole.lstrip("-")
        grouped = cleaned.count(",") > 1 or (len(fraction) == 3 and digits.isdigit() and 0 < len(digits) <= 3
                                             and digits != "0")  # fmt: skip
        cleaned = cleaned.replace(",", "") if grouped else cleaned.replace(",", ".")
    elif cleaned.count(".") > 1:
        cleaned = cleaned.replace(".", "")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str | None  # ISO 4217 when the page says it

    def to_json(self) -> dict[str, str | None]:
        return {"amount": str(self.amount), "currency": self.currency}


_CURRENCY_MARK = re.compile(r"(₽|\$|€|£|¥|₸|₴|руб(?:лей|ля|ль)?\.?|р\.|[a-z]{3})", re.IGNORECASE)


def parse_money(text: str, default_currency: str | None = None) -> Money | None:
    """An amount and its currency (``1 234,56 ₽`` -> 1234.56 RUB); None when no number can be read."""
    currency = default_currency
    remainder = text
    for mark in _CURRENCY_MARK.findall(text):
        code = _CURRENCIES.get(mark.lower())
        if code is None and len(mark) == 3 and mark.isalpha() and mark.isupper():
            code = mark  # an ISO code the table does not list
        if code is not None:
            currency = code
            remainder = remainder.replace(mark, " ")
    number = parse_number(re.sub(r"(?<=\d)\s*-\s*$", "", remainder).strip(" :="))
    return Money(number, currency) if number is not None else None


def parse_boolean(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in ("да", "yes", "true", "y", "+", "✓", "1"):
        return True
    if lowered in ("нет", "no", "false", "n", "-", "0"):
        return False
    return None


def typed_value(kind: str, value: object, currency: str | None = None) -> object:
    """One answer value read as its field's type; text stays as written, an unreadable value is None.
    ``currency`` is the document's own (its currency field) for amounts printed without a mark."""
    if value is None or kind == "text":
        return value
    if kind == "boolean":
        return value if isinstance(value, bool) else parse_boolean(str(value))
    text = str(value)
    if kind == "date":
        found = parse_date(text)
        return found.isoformat() if found else None
    if kind == "money":
        money = parse_money(text, currency)
        return money.to_json() if money else None
    if kind == "number":
        number = parse_number(text)
        return str(number) if number is not None else None
    raise ValueError(f"unknown field type {kind!r}")
