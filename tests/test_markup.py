"""Tables and formulas the OCR specialists write, as Markdown and as blocks a page shows."""

from __future__ import annotations

import pytest

from core.markup import (
    Formula,
    Paragraph,
    Table,
    blocks,
    html_table_rows,
    otsl_rows,
    safe_markdown,
    table_markdown,
    to_markdown,
)

GLM_TABLE = (
    "<table><tr><th>Товар</th><th>Кол-во</th><th>Сумма</th></tr>"
    "<tr><td>Бумага A4</td><td>2</td><td>1 234,56</td></tr>"
    '<tr><td colspan="2">Итого</td><td>1 234,56</td></tr></table>'
)


def test_an_html_table_becomes_a_pipe_table_with_spans_kept_in_place():
    assert to_markdown(GLM_TABLE) == (
        "| Товар | Кол-во | Сумма |\n|---|---|---|\n| Бумага A4 | 2 | 1 234,56 |\n| Итого |  | 1 234,56 |"
    )


def test_a_rowspan_leaves_an_empty_cell_below_so_columns_stay_aligned():
    rows = html_table_rows(
        '<table><tr><td rowspan="2">A</td><td>1</td></tr><tr><td>2</td></tr><tr><td>B</td><td>3</td></tr></table>'
    )
    assert rows == [["A", "1"], ["", "2"], ["B", "3"]]


def test_a_table_cut_off_mid_row_keeps_the_cells_read_so_far():
    text = "Счёт № 12\n<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d"
    assert to_markdown(text) == "Счёт № 12\n\n| a | b |\n|---|---|\n| c | d |"


def test_otsl_cells_become_rows_with_merged_cells_empty():
    otsl = "<fcel>Name<fcel>Qty<nl><fcel>Pen<fcel>3<nl><fcel>Total<lcel><nl>"
    assert otsl_rows(otsl) == [["Name", "Qty"], ["Pen", "3"], ["Total", ""]]
    assert to_markdown("Before " + otsl + " after") == (
        "Before \n\n| Name | Qty |\n|---|---|\n| Pen | 3 |\n| Total |  |\n\n after"
    )


def test_otsl_cut_before_its_last_row_end_keeps_that_row():
    assert otsl_rows("<fcel>a<ecel><nl><fcel>b<fcel>c") == [["a", ""], ["b", "c"]]


def test_a_pipe_in_a_cell_is_escaped_and_read_back_whole():
    markdown = table_markdown([["x|y", "z"], ["1", "2"]])
    assert markdown.splitlines()[0] == "| x\\|y | z |"
    assert blocks(markdown) == [Table((("x|y", "z"), ("1", "2")))]


def test_blocks_split_text_tables_and_display_formulas():
    text = "Title line\nsecond line\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n$$E = mc^2$$\nAfter \\[x^2\\]"
    assert blocks(text) == [
        Paragraph("Title line\nsecond line"),
        Table((("a", "b"), ("1", "2"))),
        Formula("E = mc^2"),
        Paragraph("After"),
        Formula("x^2"),
    ]


@pytest.mark.parametrize("text", ["", "<table>", "<fcel>", "$$", "| |", "<table><tr></tr></table>", "<nl><nl>"])
def test_degenerate_answers_give_no_crash_and_no_empty_tables(text):
    for block in blocks(to_markdown(text)):
        if isinstance(block, Table):
            assert block.rows and block.width > 0


@pytest.mark.parametrize(
    "text",
    [":red[alarm]", "[click](http://evil.example)", "<b>bold</b>", "$x^2$", "**strong** _em_", ":material/home:"],
)
def test_literal_markdown_escapes_every_mark_that_could_format(text):
    from core.markup import literal_markdown

    escaped = literal_markdown(text)
    # Each punctuation mark is preceded by a backslash; removing them gives the text back.
    assert escaped.replace("\\", "") == text.replace("\\", "")
    for index, char in enumerate(escaped):
        if char in ":[]()<>$*_" and (index == 0 or escaped[index - 1] != "\\"):
            pytest.fail(f"unescaped {char!r} in {escaped!r}")


def test_literal_markdown_keeps_line_breaks():
    from core.markup import literal_markdown

    assert literal_markdown("a\nb") == "a  \nb"


# A model's answers that must show as text: each with what Streamlit is then given.
NASTY_ANSWERS = [
    ("It costs $5, or $10 with VAT", r"It costs \$5, or \$10 with VAT"),  # no accidental maths
    # no directives, icons or emoji: the colon escaped and a word joiner after it (Streamlit reads icon names
    # from escaped text too)
    (":red[alarm] :material/home: :smile:", "\\:\u2060red\\[alarm] \\:\u2060material/home\\: \\:\u2060smile\\:"),
    ("<b>bold</b><img src=x onerror=alert(1)>", r"\<b>bold\</b>\<img src=x onerror=alert(1)>"),  # no HTML
    ("[click here](https://evil.example/x)", "click here (`https://evil.example/x`)"),  # a link is its text + target
    ("![logo](http://evil.example/p.png)", "logo (`http://evil.example/p.png`)"),  # no image fetched
    ("see https://evil.example/a, then www.evil.example.", "see `https://evil.example/a`, then `www.evil.example`."),
    ("<https://evil.example>", r"\<`https://evil.example`>"),  # an autolink
    ("[a](javascript:alert(1))", "\\[a](`javascript:alert(1`))"),  # not read as a link: no link left either
    ("**bold**, _italic_\n- one\n- two\n> quoted", "**bold**, _italic_\n- one\n- two\n> quoted"),  # formatting stays
    ("| a | b |\n|---|---|\n| $1 | 2 |", "| a | b |\n|---|---|\n| \\$1 | 2 |"),
    ("```\n:red[x] $1 <b> [l](u)\n```", "```\n:red[x] $1 <b> [l](u)\n```"),  # code is shown as it is
    ("run `:red[x]` now", "run `:red[x]` now"),
    ("a \\:red[x] b", "a \\\\\\:\u2060red\\[x] b"),  # an escape cannot re-arm a directive
    ("time 12:30", "time 12\\:30"),
]


@pytest.mark.parametrize(("answer", "expected"), NASTY_ANSWERS)
def test_a_models_answer_is_disarmed_and_keeps_its_formatting(answer, expected):
    assert safe_markdown(answer) == expected


def test_a_converted_documents_formulas_stay_formulas():
    text = "Area $$\\frac{a}{b}$$ and $x_1$ cost $5 :red[x]"
    assert safe_markdown(text, math=True) == "Area $$\\frac{a}{b}$$ and $x_1$ cost $5 \\:\u2060red\\[x]"
