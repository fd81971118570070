"""DocTags, the page markup Granite-Docling and SmolDocling write, turned into a document.

docling-core does the conversion (``DocTagsDocument`` -> ``DoclingDocument`` -> Markdown, HTML,
JSON). What is ours: mending an answer that was cut off or carries chat markers, so that what was
written survives, and reading the element boxes back in the pixels of the page as uploaded.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from PIL import Image

from core.grounding import Detection, to_box

log = logging.getLogger(__name__)

# Elements that open and close; everything else in DocTags (locations, table cells, picture classes,
# code languages) is a single token with no closing partner.
_CONTAINERS = frozenset(
    {
        "doctag", "otsl", "chart", "ordered_list", "unordered_list", "inline", "caption", "footnote",
        "formula", "list_item", "page_footer", "page_header", "picture", "text", "title", "document_index",
        "code", "checkbox_selected", "checkbox_unselected", "form", "key_value_region", "paragraph",
        "reference", "handwritten_text", "smiles",
        *(f"section_header_level_{level}" for level in range(7)),
    }
)  # fmt: skip
_TAG = re.compile(r"<(/?)([A-Za-z_][\w]*)>")
# Chat markers a decode with special tokens keeps: <|end_of_text|>, <end_of_utterance>, <|im_end|> ...
_CHAT_MARKERS = re.compile(
    r"<\|[^<>|]{1,40}\|>|<end_of_utterance>|<fake_token_around_image>|<global-img>|<image>|<row_\d+_col_\d+>"
)
_CUT_TAG = re.compile(r"</?(?:[A-Za-z_]\w*)?$")  # a tag the answer stopped in the middle of ("<loc_4")
_OTSL_ROW_END = ("<nl>", "<otsl>")


def repair(doctags: str) -> str:
    """``doctags`` with chat markers removed and every element left open by a cut-off answer closed.

    docling-core keeps an unclosed element's kind but drops its text; closing it keeps the text.
    A closing tag with no open element is left alone (docling-core ignores it).
    """
    text = _CUT_TAG.sub("", _CHAT_MARKERS.sub("", doctags)).strip()
    open_tags: list[str] = []
    for match in _TAG.finditer(text):
        closing, name = match.group(1) == "/", match.group(2)
        if name not in _CONTAINERS:
            continue
        if not closing:
            open_tags.append(name)
        elif name in open_tags:
            while open_tags and open_tags.pop() != name:
                pass
    for name in reversed(open_tags):
        if name == "otsl" and not text.endswith(_OTSL_ROW_END):
            text += "<nl>"  # the last row was cut mid-way: end it so its cells are kept
        text += f"</{name}>"
    return text


def strip_tags(doctags: str) -> str:
    """The words of ``doctags`` without any markup: the last resort when it cannot be parsed."""
    without = re.sub(r"<loc_\d+>", "", doctags)
    without = re.sub(r"<(?:nl|/?(?:" + "|".join(sorted(_CONTAINERS)) + r"))>", "\n", without)
    without = _TAG.sub(" ", without)
    return "\n".join(line.strip() for line in without.splitlines() if line.strip())


@dataclass(frozen=True)
class ConvertedPage:
    doctags: str  # as the model wrote it
    image: Image.Image  # the page as uploaded: element boxes are in its pixels


def page_document(page: ConvertedPage, name: str = "document") -> Any:
    """One page's DoclingDocument; the page image is only read for its size and picture crops, then let go."""
    from docling_core.types.doc.doctags import DocTagsDocument
    from docling_core.types.doc.document import DoclingDocument

    mended = repair(page.doctags)
    image = page.image.convert("RGB")
    images: list[Path | Image.Image] = [image]
    try:
        document = DoclingDocument.load_from_doctags(
            DocTagsDocument.from_doctags_and_image_pairs([mended], images), document_name=name
        )
    except Exception:  # noqa: BLE001 - docling-core's parser is regex soup; any failure falls back to plain text
        from docling_core.types.doc import DocItemLabel, Size

        log.warning("docling-core could not read the DocTags; keeping their text only", exc_info=True)
        document = DoclingDocument(name=name)
        document.add_page(page_no=1, size=Size(width=image.width, height=image.height))
        for paragraph in strip_tags(mended).splitlines():
            document.add_text(label=DocItemLabel.TEXT, text=paragraph)
    for page_item in document.pages.values():
        page_item.image = None  # the upload itself: the JSON should carry the structure, not the page again
    return document


def markdown_page_document(markdown: str, image: Image.Image, name: str = "document") -> Any:
    """One page's DoclingDocument from a page reader's Markdown: headings, paragraphs, tables and formulas in
    reading order (no element boxes: such a reader gives none)."""
    from docling_core.types.doc import DocItemLabel, Size, TableCell, TableData
    from docling_core.types.doc.document import DoclingDocument

    from core.markup import Formula, Table, blocks, to_markdown

    document = DoclingDocument(name=name)
    document.add_page(page_no=1, size=Size(width=image.width, height=image.height))
    for block in blocks(to_markdown(markdown)):
        if isinstance(block, Table):
            cells = [
                TableCell(
                    text=text,
                    start_row_offset_idx=row,
                    end_row_offset_idx=row + 1,
                    start_col_offset_idx=column,
                    end_col_offset_idx=column + 1,
                    column_header=row == 0,
                )  # fmt: skip
                for row, cells_of_row in enumerate(block.rows)
                for column, text in enumerate(cells_of_row)
            ]
            document.add_table(data=TableData(num_rows=len(block.rows), num_cols=block.width, table_cells=cells))
        elif isinstance(block, Formula):
            document.add_text(label=DocItemLabel.FORMULA, text=block.latex)
        else:
            _add_paragraph(document, block.text)
    return document


def _add_paragraph(document: Any, text: str) -> None:
    """Headings (``#`` lines) as headings; the lines between them as one paragraph each run."""
    from docling_core.types.doc import DocItemLabel

    lines: list[str] = []

    def flush() -> None:
        if lines:
            document.add_text(label=DocItemLabel.TEXT, text="\n".join(lines))
        lines.clear()

    for line in text.splitlines():
        heading = re.match(r"^(#{1,6})\s+(.*)", line)
        if heading:
            flush()
            level, title = len(heading.group(1)), heading.group(2).strip()
            # Docling writes a title as "#" and a section header of level n as n + 1 "#": the same marks come back
            if level == 1:
                document.add_title(text=title)
            else:
                document.add_heading(text=title, level=level - 1)
        elif line.strip():
            lines.append(line.strip())
    flush()


class Conversion:
    """One DoclingDocument made from the DocTags of one or more pages, and its three exports.

    Pages are converted one by one (:func:`page_document`) and joined, so a long PDF is never held
    as images: only the documents are kept.
    """

    def __init__(self, pages: Sequence[ConvertedPage], name: str = "document") -> None:
        self.__init_from([page_document(page, name) for page in pages], name)

    @classmethod
    def of_documents(cls, documents: Sequence[Any], name: str = "document") -> Conversion:
        conversion = cls.__new__(cls)
        conversion.__init_from(documents, name)
        return conversion

    def __init_from(self, documents: Sequence[Any], name: str) -> None:
        from docling_core.types.doc.document import DoclingDocument

        if not documents:
            raise ValueError("a conversion needs at least one page")
        self.document = documents[0] if len(documents) == 1 else DoclingDocument.concatenate(documents)
        self.document.name = name

    # Exports are made once: a page shows and offers them on every rerun of its script.
    @cached_property
    def _markdown(self) -> str:
        return str(self.document.export_to_markdown()).strip() + "\n"

    @cached_property
    def _html(self) -> str:
        from docling_core.types.doc import ImageRefMode

        return str(self.document.export_to_html(image_mode=ImageRefMode.EMBEDDED))

    @cached_property
    def _json(self) -> str:
        return json.dumps(self.document.export_to_dict(), ensure_ascii=False, indent=1)

    def markdown(self) -> str:
        return self._markdown

    def html(self) -> str:
        return self._html

    def json(self) -> str:
        return self._json

    def layout(self, page_no: int = 1) -> list[Detection]:
        """The elements of page ``page_no`` (1-based) as labelled boxes in that page's original pixels."""
        size = self.document.pages[page_no].size
        width, height = round(size.width), round(size.height)
        found: list[Detection] = []
        for item, _level in self.document.iterate_items(with_groups=False):
            for prov in getattr(item, "prov", None) or ():
                if prov.page_no != page_no:
                    continue
                bbox = prov.bbox.to_top_left_origin(page_height=height)
                box = to_box(bbox.l, bbox.t, bbox.r, bbox.b, width, height)
                if box is not None:
                    found.append(Detection(str(getattr(item, "label", "")).replace("_", " "), box))
        return found

    def tables(self) -> list[list[list[str]]]:
        """Every table as rows of cell texts (spanned cells repeated), in reading order."""
        return [[[cell.text for cell in row] for row in table.data.grid] for table in self.document.tables]


def load_json(text: str) -> Any:
    """A DoclingDocument back from :meth:`Conversion.json` (to check a download, or to reopen it)."""
    from docling_core.types.doc.document import DoclingDocument

    return DoclingDocument.model_validate_json(text)
