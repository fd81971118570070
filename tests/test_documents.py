from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader, PdfWriter

from core.documents import PdfLimits, is_pdf, open_pdf, render_page, render_scale
from core.media import InvalidInput, MediaLimits


def make_pdf(pages: list[tuple[float, float]]) -> bytes:
    document = pdfium.PdfDocument.new()
    for width, height in pages:
        document.new_page(width, height)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


A4 = (595.0, 842.0)


def test_open_counts_pages():
    document = open_pdf(make_pdf([A4, A4, A4]), "three.pdf")
    assert document.page_count == 3
    assert document.name == "three.pdf"


def test_render_page_at_the_requested_dpi():
    document = open_pdf(make_pdf([A4, (842.0, 595.0)]), "doc.pdf")
    first = render_page(document, 0, PdfLimits(dpi=144))
    assert (first.width, first.height) == (1190, 1684)
    assert first.image.mode == "RGB"
    assert first.source_format == "PDF"
    second = render_page(document, 1, PdfLimits(dpi=144))
    assert second.width > second.height  # the landscape page stays landscape
    assert first.digest != second.digest  # pages are different media


def test_huge_page_is_rendered_within_the_pixel_budget():
    poster = open_pdf(make_pdf([(14_400.0, 14_400.0)]), "poster.pdf")  # 200 x 200 inches, the PDF maximum
    page = render_page(poster, 0, PdfLimits(dpi=300, max_render_pixels=4_000_000))
    assert page.width * page.height <= 4_000_000
    assert page.width >= 1990


@pytest.mark.parametrize(
    ("size", "dpi", "budget", "expected"),
    [
        ((595, 842), 72, 10**9, 1.0),  # 72 dpi is one pixel per point
        ((595, 842), 144, 10**9, 2.0),
        ((1000, 1000), 720, 1_000_000, 1.0),  # capped: sqrt(1e6 / 1e6)
    ],
)
def test_render_scale(size, dpi, budget, expected):
    assert render_scale(*size, dpi, budget) == pytest.approx(expected)


def test_too_many_pages():
    with pytest.raises(InvalidInput) as caught:
        open_pdf(make_pdf([A4] * 5), "long.pdf", PdfLimits(max_pages=4))
    assert caught.value.key == "pdf.too_many_pages"
    assert caught.value.params == {"pages": 5, "limit": 4}


def test_encrypted_pdf_is_refused_with_its_own_message():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([A4]))))
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(InvalidInput) as caught:
        open_pdf(buffer.getvalue(), "locked.pdf")
    assert caught.value.key == "pdf.encrypted"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\nthis is not really a pdf",  # header only
        make_pdf([A4])[:200],  # truncated
    ],
)
def test_corrupt_pdf(data):
    with pytest.raises(InvalidInput) as caught:
        open_pdf(data, "broken.pdf")
    assert caught.value.key == "pdf.corrupt"


def test_pdf_over_the_upload_limit():
    data = make_pdf([A4])
    with pytest.raises(InvalidInput) as caught:
        open_pdf(data, "big.pdf", media=MediaLimits(max_bytes=100))
    assert caught.value.key == "media.too_large"


def test_page_out_of_range():
    document = open_pdf(make_pdf([A4]), "one.pdf")
    with pytest.raises(InvalidInput) as caught:
        render_page(document, 3)
    assert caught.value.key == "pdf.no_such_page"


@pytest.mark.parametrize(("head", "expected"), [(b"%PDF-1.4", True), (b"\n\n%PDF-1.7", True), (b"\x89PNG", False)])
def test_is_pdf(head, expected):
    assert is_pdf(head) is expected
