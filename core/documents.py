"""PDF documents: open safely, count pages, render one page to an image under a pixel budget."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from core.media import InvalidInput, MediaLimits, NormalizedImage, check_size, to_rgb

PDF_SIGNATURE = b"%PDF-"
_POINTS_PER_INCH = 72.0


@dataclass(frozen=True)
class PdfLimits:
    max_pages: int = 200
    dpi: int = 200  # enough for OCR of body text
    max_render_pixels: int = 12_000_000  # an A0 poster or a mis-sized page cannot exhaust memory


@dataclass(frozen=True)
class PdfDocument:
    data: bytes
    name: str
    page_count: int
    digest: str


def is_pdf(head: bytes) -> bool:
    # The header may sit after a little junk; PDF readers accept it within the first kilobyte.
    return PDF_SIGNATURE in head[:1024]


def render_scale(width_pt: float, height_pt: float, dpi: int, max_pixels: int) -> float:
    """Scale (pixels per point) for ``dpi``, lowered so the page stays within ``max_pixels``."""
    if width_pt <= 0 or height_pt <= 0:
        raise InvalidInput("pdf.corrupt")
    scale = dpi / _POINTS_PER_INCH
    if width_pt * height_pt * scale * scale > max_pixels:
        scale = math.sqrt(max_pixels / (width_pt * height_pt))
    return scale


def _open(data: bytes):  # type: ignore[no-untyped-def]  # pypdfium2 has no stubs
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_raw

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if getattr(error, "err_code", None) == pdfium_raw.FPDF_ERR_PASSWORD:
            raise InvalidInput("pdf.encrypted") from None
        raise InvalidInput("pdf.corrupt") from None


def open_pdf(data: bytes, name: str, limits: PdfLimits | None = None, media: MediaLimits | None = None) -> PdfDocument:
    limits = limits or PdfLimits()
    media = media or MediaLimits()
    check_size(data, media.max_bytes)
    if not is_pdf(data[:1024]):
        raise InvalidInput("pdf.corrupt")
    document = _open(data)
    try:
        pages = len(document)
    finally:
        document.close()
    if pages == 0:
        raise InvalidInput("pdf.no_pages")
    if pages > limits.max_pages:
        raise InvalidInput("pdf.too_many_pages", pages=pages, limit=limits.max_pages)
    return PdfDocument(data, name, pages, hashlib.sha256(data).hexdigest()[:16])


def page_digest(document: PdfDocument, index: int) -> str:
    """The media digest page ``index`` (0-based) gets when rendered, known without rendering it."""
    return f"{document.digest}-p{index + 1}"


def render_page(document: PdfDocument, index: int, limits: PdfLimits | None = None) -> NormalizedImage:
    """Render page ``index`` (0-based) to an RGB image; raise :class:`InvalidInput` if it cannot be drawn."""
    limits = limits or PdfLimits()
    if not 0 <= index < document.page_count:
        raise InvalidInput("pdf.no_such_page", page=index + 1, pages=document.page_count)
    pdf = _open(document.data)
    try:
        # A damaged page can fail to load, to measure or to draw, and pdfium says so in many ways.
        try:
            page = pdf[index]
            width_pt, height_pt = page.get_size()
            scale = render_scale(width_pt, height_pt, limits.dpi, limits.max_render_pixels)
            picture = page.render(scale=scale).to_pil()
        except Exception:  # noqa: BLE001
            raise InvalidInput("pdf.corrupt") from None
    finally:
        pdf.close()
    return NormalizedImage(
        image=to_rgb(picture),
        name=f"{document.name} [{index + 1}/{document.page_count}]",
        source_format="PDF",
        source_mode=picture.mode,
        digest=page_digest(document, index),
    )
