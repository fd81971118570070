from __future__ import annotations

from datetime import date

import pytest

from core.lab.metrics import (
    anls,
    cer,
    levenshtein,
    parse_date,
    parse_number,
    percentile,
    score_fields,
    values_match,
    wer,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234.56", 1234.56),
        ("1 234,56", 1234.56),  # Russian: space thousands, comma decimals
        ("1.234,56", 1234.56),  # German
        ("1,234.56", 1234.56),  # English
        ("$ 1,234.56", 1234.56),  # currency sign
        ("1 234,56 ₽", 1234.56),
        ("12,5", 12.5),  # a decimal comma
        ("1,234", 1234.0),  # three digits after a comma: thousands
        (42, 42.0),
        ("-7", -7.0),
        ("abc", None),
        ("", None),
        (True, None),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2026-11-23", date(2026, 11, 23)),
        ("23.11.2026", date(2026, 11, 23)),
        ("23/11/2026", date(2026, 11, 23)),
        ("23 November 2026", date(2026, 11, 23)),
        ("Nov 23, 2026", date(2026, 11, 23)),
        ("23.11.26", date(2026, 11, 23)),
        ("yesterday", None),
    ],
)
def test_parse_date(text, value):
    assert parse_date(text) == value


@pytest.mark.parametrize(
    ("expected", "got", "match"),
    [
        ("1 234,56", "1234.56", True),  # the same amount written differently
        ("1234.56", "1234.57", True),  # within one cent
        ("1234.56", "1234.58", False),  # beyond it
        ("2026-11-23", "23.11.2026", True),  # the same date
        ("2026-11-23", "24.11.2026", False),
        ("ООО «Ромашка»", "  ооо   «ромашка» ", True),  # case and spaces ignored
        ("ACME Ltd", "ACME Limited", False),
        ("INV-42", None, False),  # missing
    ],
)
def test_values_match(expected, got, match):
    assert values_match(expected, got) is match


def test_score_fields_by_hand():
    expected = {"seller": "ACME", "number": "42", "total": "100.00", "date": "2026-11-23"}
    parsed = {"seller": "acme", "number": "43", "total": "100", "currency": "EUR"}  # 2 right of 4 given
    score = score_fields(expected, parsed)
    assert score.matched == {"seller": True, "number": False, "total": True, "date": False}
    assert score.precision == pytest.approx(2 / 4)
    assert score.recall == pytest.approx(2 / 4)
    assert score.f1 == pytest.approx(0.5)


def test_score_fields_when_nothing_parsed():
    score = score_fields({"a": "1"}, None)
    assert (score.precision, score.recall, score.f1) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("a", "b", "distance"), [("kitten", "sitting", 3), ("", "abc", 3), ("same", "same", 0), (["a", "b"], ["b"], 1)]
)
def test_levenshtein(a, b, distance):
    assert levenshtein(a, b) == distance


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected_cer", "expected_wer"),
    [
        ("hello world", "hello world", 0.0, 0.0),
        ("hello world", "hallo world", 1 / 11, 1 / 2),  # one character, one word
        ("hello  world\n", "hello world", 0.0, 0.0),  # spacing is not an error
        ("abc", "", 1.0, 1.0),
        ("", "", 0.0, 0.0),
    ],
)
def test_cer_and_wer(reference, hypothesis, expected_cer, expected_wer):
    assert cer(reference, hypothesis) == pytest.approx(expected_cer)
    assert wer(reference, hypothesis) == pytest.approx(expected_wer)


@pytest.mark.parametrize(
    ("references", "hypothesis", "score"),
    [
        (["42"], "42", 1.0),
        (["ACME Ltd"], "acme ltd", 1.0),  # case and spaces
        (["invoice"], "invoices", 1 - 1 / 8),  # one edit in eight characters
        (["abcd"], "wxyz", 0.0),  # below the 0.5 threshold
        (["no", "42"], "42", 1.0),  # the best accepted answer counts
    ],
)
def test_anls(references, hypothesis, score):
    assert anls(references, hypothesis) == pytest.approx(score)


@pytest.mark.parametrize(
    ("values", "share", "expected"), [([1, 2, 3, 4], 0.5, 2), ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95, 10), ([], 0.9, 0)]
)
def test_percentile(values, share, expected):
    assert percentile(values, share) == expected


def test_markdown_similarity_ignores_layout_only_differences():
    from core.lab.metrics import text_similarity

    padded = "## Invoice\n\n\n| Item   |   Qty |\n|--------|------:|\n| Pen    |     2 |\n"
    plain = "## Invoice\n| Item | Qty |\n|---|---|\n| Pen | 2 |"
    assert text_similarity(plain, padded) == 1.0
    assert text_similarity("", "") == 1.0 and text_similarity("abc", "") == 0.0
    assert 0.0 < text_similarity(plain, plain.replace("Pen", "Pan")) < 1.0


def test_markdown_tables_are_found_with_escaped_pipes_and_separated_by_text():
    from core.lab.metrics import markdown_tables

    text = "| a | b \\| c |\n|---|---|\n| 1 | 2 |\n\nText between.\n\n| x |\n|---|\n| y |\n"
    assert markdown_tables(text) == [[["a", "b | c"], ["1", "2"]], [["x"], ["y"]]]
    assert markdown_tables("no tables here") == []


@pytest.mark.parametrize(
    ("predicted", "accuracy"),
    [
        ([["Item", "Qty"], ["Pen", "2"], ["Cup", "1"]], 1.0),
        ([["item", "qty"], ["pen", "2.0"], ["Cup", "1"]], 1.0),  # normalised text, as field matching does
        ([["Item", "Qty"], ["Pen", "2"]], 4 / 6),  # a missing row costs its cells
        ([["Item", "Qty", "Extra"], ["Pen", "2", ""], ["Cup", "1", ""]], 6 / 9),  # an extra column costs too
        ([["Qty", "Item"], ["2", "Pen"], ["1", "Cup"]], 0.0),  # right values, wrong places
    ],
)
def test_cell_accuracy(predicted, accuracy):
    from core.lab.metrics import cell_accuracy

    assert cell_accuracy([["Item", "Qty"], ["Pen", "2"], ["Cup", "1"]], predicted) == pytest.approx(accuracy)


def test_table_accuracy_takes_each_reference_tables_best_match():
    from core.lab.metrics import table_accuracy

    first, second = [["a"], ["1"]], [["b", "c"], ["2", "3"]]
    assert table_accuracy([first, second], [second, first]) == 1.0  # order does not matter
    assert table_accuracy([first, second], [first]) == 0.5  # the second is missing
    assert table_accuracy([], [first]) is None  # nothing to score


def test_line_items_are_paired_so_that_the_most_cells_match():
    from core.lab.metrics import score_rows

    expected = [{"name": "Pen", "quantity": "2", "price": "1.50"}, {"name": "Cup", "quantity": "1", "price": "4.00"}]
    assert score_rows(expected, list(reversed(expected))) == 1.0  # order does not matter
    assert score_rows(expected, [{"name": "Cup", "quantity": "1", "price": "4,00"}]) == pytest.approx(3 / 6)
    wrong_first = [{"name": "Pen", "quantity": "3", "price": "1.50"}, expected[1], {"name": "Extra"}]
    assert score_rows(expected, wrong_first) == pytest.approx(5 / 6)  # an extra row costs nothing it did not take
    assert score_rows(expected, []) == 0.0 and score_rows([], []) == 1.0


def test_many_rows_fall_back_to_the_best_pairs_first():
    from core.lab.metrics import score_rows

    expected = [{"name": f"item {index}", "quantity": str(index)} for index in range(9)]
    shuffled = expected[3:] + expected[:3]
    assert score_rows(expected, shuffled) == 1.0
