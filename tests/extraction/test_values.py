"""Values as pages write them, Russian and English, read into typed values; unreadable ones stay None."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.extraction.values import Money, parse_boolean, parse_date, parse_money, parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("03.03.2026", date(2026, 3, 3)),
        ("3.3.26", date(2026, 3, 3)),
        ("2026-03-03", date(2026, 3, 3)),
        ("3 марта 2026 г.", date(2026, 3, 3)),
        ("«03» марта 2026 года", date(2026, 3, 3)),
        ("March 3, 2026", date(2026, 3, 3)),
        ("Mar 3rd 2026", date(2026, 3, 3)),
        ("3 March 2026", date(2026, 3, 3)),
        ("31.02.2026", None),  # no such day
        ("2026", None),
        ("вчера", None),
    ],
)
def test_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,56", Decimal("1234.56")),
        ("1\u00a0234,56", Decimal("1234.56")),
        ("1.234,56", Decimal("1234.56")),
        ("1,234.56", Decimal("1234.56")),
        ("1,234", Decimal("1234")),
        ("0,125", Decimal("0.125")),
        ("12,5", Decimal("12.5")),
        ("-7", Decimal("-7")),
        ("12 шт", None),
        ("", None),
    ],
)
def test_numbers(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,56 ₽", Money(Decimal("1234.56"), "RUB")),
        ("1 234,56 руб.", Money(Decimal("1234.56"), "RUB")),
        ("$1,234.56", Money(Decimal("1234.56"), "USD")),
        ("EUR 12,50", Money(Decimal("12.50"), "EUR")),
        ("12.50 CHF", Money(Decimal("12.50"), "CHF")),
        ("99", Money(Decimal("99"), None)),
        ("Total", None),
    ],
)
def test_money(text, expected):
    assert parse_money(text) == expected


def test_money_takes_a_default_currency_and_writes_json():
    assert parse_money("10,00", "RUB") == Money(Decimal("10.00"), "RUB")
    assert Money(Decimal("10.00"), "RUB").to_json() == {"amount": "10.00", "currency": "RUB"}


def test_booleans():
    assert [parse_boolean(word) for word in ("Да", "no", "maybe")] == [True, False, None]
