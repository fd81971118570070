"""Each check on a correct and a wrong invoice: a failure is reported with its figures, never corrected."""

from __future__ import annotations

import pytest

from core.extraction.checks import inn_valid, run_checks
from core.extraction.templates import load_template

RU = load_template("invoice-ru")
EN = load_template("invoice-en")

GOOD_RU = {
    "number": "42", "date": "03.03.2026", "seller_inn": "7707083893", "buyer_inn": "500100732259",
    "lines": [
        {"name": "Бумага A4", "quantity": 2, "unit": "шт", "price": "250,00", "amount": "500,00"},
        {"name": "Ручка", "quantity": 10, "unit": "шт", "price": "73,40", "amount": "734,00"},
    ],
    "vat_rate": 20, "vat": "205,67", "total": "1 234,00 ₽",
}  # fmt: skip


def _failed(checks):
    return sorted((check.key, check.field, check.row) for check in checks if not check.ok)


def test_a_correct_russian_invoice_passes_every_check():
    checks = run_checks(RU, GOOD_RU)
    assert {check.key for check in checks} == {
        "extract.check_date", "extract.check_inn", "extract.check_line", "extract.check_sum", "extract.check_vat"
    }  # fmt: skip
    assert _failed(checks) == []


def test_a_line_whose_amount_is_not_quantity_times_price():
    wrong = {**GOOD_RU, "lines": [GOOD_RU["lines"][0] | {"amount": "600,00"}, GOOD_RU["lines"][1]]}
    failed = [check for check in run_checks(RU, wrong) if not check.ok]
    assert ("extract.check_line", "lines", 0) in _failed(failed)
    line = next(check for check in failed if check.key == "extract.check_line")
    assert line.params == {"quantity": "2", "price": "250.00", "expected": "500.00", "amount": "600.00"}
    assert wrong["lines"][0]["amount"] == "600,00"  # reported, not corrected


def test_lines_that_do_not_add_up_to_the_total():
    assert ("extract.check_sum", "total", None) in _failed(run_checks(RU, {**GOOD_RU, "total": "1 300,00"}))


def test_vat_inconsistent_with_its_rate():
    assert _failed(run_checks(RU, {**GOOD_RU, "vat": "246,80"})) == [("extract.check_vat", "vat", None)]


def test_vat_on_top_of_a_subtotal_and_a_total_after_tax():
    invoice = {"date": "March 3, 2026", "lines": [{"quantity": 2, "price": "$50.00", "amount": "$100.00"}],
               "subtotal": "$100.00", "vat_rate": 10, "vat": "$10.00", "total": "$110.00"}  # fmt: skip
    assert _failed(run_checks(EN, invoice)) == []
    assert _failed(run_checks(EN, {**invoice, "vat": "$12.00"})) == [("extract.check_vat", "vat", None)]


def test_a_date_that_does_not_exist():
    assert _failed(run_checks(RU, {**GOOD_RU, "date": "30.02.2026"})) == [("extract.check_date", "date", None)]


@pytest.mark.parametrize(
    ("inn", "valid"),
    [("7707083893", True), ("500100732259", True), ("7707083894", False), ("500100732250", False),
     ("77070838", False), ("77070838AB", False)],
)  # fmt: skip
def test_inn_check_digits(inn, valid):
    assert inn_valid(inn) is valid


def test_a_wrong_inn_is_reported_on_its_field():
    assert _failed(run_checks(RU, {**GOOD_RU, "seller_inn": "7707083894"})) == [
        ("extract.check_inn", "seller_inn", None)
    ]


def test_missing_values_skip_their_checks():
    assert run_checks(RU, {"number": "42", "date": None, "lines": []}) == []
