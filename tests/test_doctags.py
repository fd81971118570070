"""DocTags -> DoclingDocument -> Markdown, HTML, JSON; mending cut-off answers; layout boxes in original pixels."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.doctags import Conversion, ConvertedPage, load_json, repair, strip_tags

PAGE = Image.new("RGB", (1000, 1400), "white")

# Written to the DocTags grammar: locations are 0-500 of the page's width and height, an OTSL table is a
# grid of cell tokens with <nl> ending each row, and <ched> marks column-header cells.
HEADER = "<section_header_level_1><loc_50><loc_20><loc_450><loc_40>Invoice 42</section_header_level_1>"
PARAGRAPH = "<text><loc_50><loc_50><loc_450><loc_70>Paid by card on 23 November.</text>"
LIST = (
    "<unordered_list><list_item><loc_50><loc_80><loc_450><loc_90>Delivery included</list_item>"
    "<list_item><loc_50><loc_90><loc_450><loc_100>Warranty two years</list_item></unordered_list>"
)
TABLE = (
    "<otsl><loc_50><loc_120><loc_450><loc_300>"
    "<ched>Item<ched>Qty<ched>Price<nl>"
    "<fcel>Pen<fcel>2<fcel>1.50<nl>"
    "<fcel>Cup<fcel>1<fcel>4.00<nl></otsl>"
)
CUT = "<text><loc_50><loc_320><loc_450><loc_340>Thank you for your bus"
SAMPLE = f"<doctag>{HEADER}{PARAGRAPH}{LIST}{TABLE}{CUT}"

EXPECTED_MARKDOWN = """## Invoice 42

Paid by card on 23 November.

- Delivery included
- Warranty two years

| Item   |   Qty |   Price |
|--------|-------|---------|
| Pen    |     2 |    1.50 |
| Cup    |     1 |    4.00 |

Thank you for your bus
"""


def _convert(*doctags: str, image: Image.Image = PAGE) -> Conversion:
    return Conversion([ConvertedPage(text, image) for text in doctags])


def test_the_grammar_sample_becomes_the_expected_markdown_with_the_cut_ending_kept():
    assert _convert(SAMPLE).markdown() == EXPECTED_MARKDOWN


def test_without_mending_docling_core_drops_the_cut_text():
    """Why :func:`repair` exists: the unclosed last element loses its words in docling-core."""
    from docling_core.types.doc.doctags import DocTagsDocument
    from docling_core.types.doc.document import DoclingDocument

    raw = DoclingDocument.load_from_doctags(DocTagsDocument.from_doctags_and_image_pairs([SAMPLE], [PAGE]))
    assert "Thank you" not in raw.export_to_markdown()
    assert "Thank you for your bus" in _convert(SAMPLE).markdown()


def test_the_table_keeps_its_three_by_three_cells():
    assert _convert(SAMPLE).tables() == [[["Item", "Qty", "Price"], ["Pen", "2", "1.50"], ["Cup", "1", "4.00"]]]


@pytest.mark.parametrize(
    ("cut_after", "rows"),
    [
        ("<fcel>Pen<fcel>2", [["Item", "Qty", "Price"], ["Pen", "2", ""]]),  # in the middle of a row
        ("<fcel>Pen<fcel>2<fcel>1.50<nl>", [["Item", "Qty", "Price"], ["Pen", "2", "1.50"]]),  # after a row
    ],
)
def test_a_table_cut_off_keeps_the_rows_read(cut_after, rows):
    doctags = "<doctag><otsl><loc_50><loc_120><loc_450><loc_300><ched>Item<ched>Qty<ched>Price<nl>" + cut_after
    assert _convert(doctags).tables() == [rows]


def test_repair_closes_open_elements_innermost_first_and_drops_chat_markers_and_a_half_tag():
    text = "<doctag><ordered_list><list_item><loc_1><loc_2><loc_3><loc_4>one</list_item><list_item>tw<loc_"
    assert repair(text + "<|end_of_text|>") == (
        "<doctag><ordered_list><list_item><loc_1><loc_2><loc_3><loc_4>one</list_item><list_item>tw"
        "</list_item></ordered_list></doctag>"
    )
    assert repair("<doctag><text>a</text></doctag><end_of_utterance>") == "<doctag><text>a</text></doctag>"
    assert repair("<text>a</text></caption>") == "<text>a</text></caption>"  # a stray closing tag is left alone
    assert repair("<text>P < 0.05 and P") == "<text>P < 0.05 and P</text>"  # a "<" in the text is not a tag
    assert repair("<text>done</text></") == "<text>done</text>"


def test_a_cut_ordered_list_keeps_its_items_and_numbers():
    text = "<doctag><ordered_list><list_item>First step</list_item><list_item>Second st"
    markdown = _convert(text).markdown()
    assert "1. First step" in markdown and "2. Second st" in markdown


def test_layout_boxes_are_in_the_original_pixels_of_each_page():
    """Locations are fractions of 500 of the page: (50, 20, 450, 40) on 1000 x 1400 is (100, 56, 900, 112)."""
    layout = _convert(SAMPLE).layout(1)
    assert [(d.label, d.box.as_tuple()) for d in layout[:2]] == [
        ("section header", (100, 56, 900, 112)),
        ("text", (100, 140, 900, 196)),
    ]
    assert ("table", (100, 336, 900, 840)) in [(d.label, d.box.as_tuple()) for d in layout]
    small = Image.new("RGB", (500, 250))
    two = Conversion([ConvertedPage(SAMPLE, PAGE), ConvertedPage(f"<doctag>{HEADER}</doctag>", small)])
    assert [d.box.as_tuple() for d in two.layout(2)] == [(50, 10, 450, 20)]
    assert len(two.layout(1)) == len(layout)


def test_pages_join_into_one_document_in_order():
    first = "<doctag><text><loc_1><loc_1><loc_9><loc_9>Page one text</text></doctag>"
    second = "<doctag><text><loc_1><loc_1><loc_9><loc_9>Page two text</text></doctag>"
    markdown = _convert(first, second).markdown()
    assert markdown.index("Page one text") < markdown.index("Page two text")
    assert sorted(_convert(first, second).document.pages) == [1, 2]


def test_the_json_export_loads_back_into_a_docling_document_with_the_same_markdown():
    conversion = _convert(SAMPLE)
    exported = conversion.json()
    document = load_json(exported)
    assert document.export_to_markdown().strip() == conversion.markdown().strip()
    assert "image" not in json.loads(exported)["pages"]["1"] or json.loads(exported)["pages"]["1"]["image"] is None


def test_the_html_export_is_well_formed_and_has_the_table():
    html = _convert(SAMPLE).html()

    class Balance(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.open: list[str] = []
            self.tables = 0

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.tables += 1
            if tag not in {"meta", "br", "img", "link", "hr", "input"}:
                self.open.append(tag)

        def handle_startendtag(self, tag, attrs):
            pass  # <meta ... /> opens and closes itself

        def handle_endtag(self, tag):
            assert self.open and self.open[-1] == tag, (tag, self.open[-3:])
            self.open.pop()

    parser = Balance()
    parser.feed(html)
    assert parser.tables == 1 and not parser.open
    assert "<td>Cup</td>" in html


def test_strip_tags_keeps_the_words_line_by_line():
    assert strip_tags(SAMPLE).splitlines()[:3] == ["Invoice 42", "Paid by card on 23 November.", "Delivery included"]


def test_a_parser_failure_falls_back_to_the_words(monkeypatch):
    from docling_core.types.doc.document import DoclingDocument

    def broken(*args, **kwargs):
        raise IndexError("parser fault")

    monkeypatch.setattr(DoclingDocument, "load_from_doctags", staticmethod(broken))
    markdown = _convert(SAMPLE).markdown()
    assert "Invoice 42" in markdown and "Paid by card on 23 November." in markdown


_VOCABULARY = [
    "<doctag>", "</doctag>", "<text>", "</text>", "<otsl>", "</otsl>", "<fcel>", "<ecel>", "<lcel>", "<ucel>",
    "<xcel>", "<nl>", "<ched>", "<rhed>", "<srow>", "<ordered_list>", "</ordered_list>", "<unordered_list>",
    "</unordered_list>", "<list_item>", "</list_item>", "<section_header_level_1>", "</section_header_level_1>",
    "<picture>", "</picture>", "<caption>", "</caption>", "<formula>", "</formula>", "<code>", "</code>",
    "<_Python_>", "<page_header>", "</page_header>", "<inline>", "</inline>", "<key_value_region>",
    "</key_value_region>", "<chart>", "</chart>", "<bar_chart>", "<page_break>", "<|end_of_text|>", "<loc_",
    "<", ">", "x < y", "Итого", "word", " ", "\n",
    *[f"<loc_{n}>" for n in (0, 1, 250, 499, 500, 999)],
]  # fmt: skip


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_VOCABULARY), max_size=60))
def test_any_token_soup_converts_without_raising(tokens):
    """A random-weight model writes exactly this kind of soup; the page must still get a document."""
    conversion = _convert("".join(tokens), image=Image.new("RGB", (300, 200)))
    assert isinstance(conversion.markdown(), str)
    for detection in conversion.layout(1):
        assert 0 <= detection.box.x1 < detection.box.x2 <= 300 and 0 <= detection.box.y1 < detection.box.y2 <= 200
    load_json(conversion.json())


def test_a_conversion_keeps_documents_not_page_images():
    """A 200-page PDF must not sit in memory as 200 rendered pages once it is converted."""
    conversion = _convert(SAMPLE, SAMPLE)
    assert not hasattr(conversion, "pages")
    assert all(page.image is None for page in conversion.document.pages.values())
    assert conversion.document.pages[2].size.width == 1000 and conversion.layout(2)
