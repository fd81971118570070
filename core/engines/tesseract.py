"""Tesseract 5 as an OCR engine behind the same Protocol and serving core as the models.

It runs Debian's ``tesseract`` binary through ``pytesseract`` (a thin wrapper over the command line:
nothing to compile, and the same binary OCRmyPDF uses). One call returns the words with their boxes
and confidences (TSV); the answer's text is built from them line by line, and the words and lines
travel with the answer as an :class:`OcrPage`, in ORIGINAL image pixels.

Images are prepared the way Tesseract expects: greyscale, no alpha, and small text scaled up so a
line of body text is comfortably above the ~20 px x-height the LSTM models were trained on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from PIL import Image, ImageOps

from core.boxes import Box
from core.engines.base import ProgressCallback, WeightlessEngine
from core.engines.prefix import PrefixSlot
from core.engines.streaming import Emit, RunnableStream
from core.engines.types import (
    EngineError,
    GenerationRequest,
    GenerationStats,
    ModelCard,
    OcrLine,
    OcrPage,
    OcrWord,
    RuntimeInfo,
)
from core.settings import Settings

LANGUAGES = {"auto": "rus+eng", "ru": "rus", "en": "eng"}  # the OCR page's hint -> Tesseract's -l
__all__ = ["OcrLine", "OcrPage", "OcrWord"]  # the layout types live with the other engine types

INSTALL_COMMAND = "sudo apt-get install tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng"
PAGE_SEGMENTATION = 3  # fully automatic page layout: documents with columns, headings and tables
SMALL_SIDE = 1600  # pictures smaller than this (longest side) are enlarged ...
MAX_UPSCALE = 3.0  # ... by at most this much
ENGINE_BYTES = 80 * 2**20  # the binary and its rus + eng models in memory, roughly


class TesseractMissing(EngineError):
    """The binary or a language pack is not installed; ``command`` installs them."""

    key = "tesseract.missing"


def languages_for(spec: str) -> str:
    """The ``-l`` value for a hint (``auto``/``ru``/``en``) or an explicit ``rus+eng``."""
    return LANGUAGES.get(spec, spec)


def prepare(image: Image.Image) -> tuple[Image.Image, float]:
    """Greyscale without alpha, enlarged when small; returns the picture and its scale."""
    picture = image
    if picture.mode in ("RGBA", "LA", "P"):
        background = Image.new("RGB", picture.size, "white")
        background.paste(picture.convert("RGBA"), mask=picture.convert("RGBA").getchannel("A"))
        picture = background
    grey = ImageOps.grayscale(picture)
    scale = min(MAX_UPSCALE, SMALL_SIDE / max(grey.size)) if max(grey.size) < SMALL_SIDE else 1.0
    if scale > 1.0:
        grey = grey.resize((round(grey.width * scale), round(grey.height * scale)), Image.Resampling.LANCZOS)
    return grey, scale


def page_from_data(data: dict[str, list[Any]], width: int, height: int, scale: float) -> OcrPage:
    """Tesseract's TSV (as pytesseract's dict) -> words and lines in original pixels."""
    page = OcrPage(width, height)
    grouped: dict[tuple[int, int, int, int], list[OcrWord]] = {}
    for index, raw in enumerate(data["text"]):
        text = str(raw).strip()
        confidence = float(data["conf"][index])
        if not text or confidence < 0:
            continue
        left, top = data["left"][index] / scale, data["top"][index] / scale
        right, bottom = left + data["width"][index] / scale, top + data["height"][index] / scale
        box = Box(max(0, int(left)), max(0, int(top)), min(width, round(right)), min(height, round(bottom)))
        if box.x2 <= box.x1 or box.y2 <= box.y1:
            continue
        key = (data["page_num"][index], data["block_num"][index], data["par_num"][index], data["line_num"][index])
        grouped.setdefault(key, []).append(OcrWord(text, box, confidence, -1))
    paragraphs: list[str] = []
    previous_block: tuple[int, int] | None = None
    for key in sorted(grouped):
        words = grouped[key]
        number = len(page.lines)
        page.words.extend(OcrWord(w.text, w.box, w.confidence, number) for w in words)
        box = Box(min(w.box.x1 for w in words), min(w.box.y1 for w in words),
                  max(w.box.x2 for w in words), max(w.box.y2 for w in words))  # fmt: skip
        line = OcrLine(" ".join(w.text for w in words), box, sum(w.confidence for w in words) / len(words))
        page.lines.append(line)
        if previous_block is not None and key[:2] != previous_block:
            paragraphs.append("")  # a blank line between blocks, as Tesseract's own text output has
        paragraphs.append(line.text)
        previous_block = key[:2]
    page.text = "\n".join(paragraphs)
    return page


def recognise(image: Image.Image, languages: str = "rus+eng") -> OcrPage:
    """Run Tesseract on ``image``; words, lines and text in the image's own pixels."""
    import pytesseract

    prepared, scale = prepare(image)
    data = pytesseract.image_to_data(
        prepared, lang=languages, config=f"--psm {PAGE_SEGMENTATION}", output_type=pytesseract.Output.DICT
    )
    return page_from_data(data, image.width, image.height, scale)


def searchable_pdf_page(image: Image.Image, languages: str = "rus+eng") -> bytes:
    """One PDF page: the picture with Tesseract's invisible text layer over it."""
    import pytesseract

    prepared, _ = prepare(image)
    return bytes(pytesseract.image_to_pdf_or_hocr(prepared, lang=languages, extension="pdf"))


def installed_languages() -> set[str] | None:
    """Tesseract's language packs, or None when the binary is missing."""
    import pytesseract

    try:
        return set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, OSError):
        return None


def check_installed(languages: str = "rus+eng") -> None:
    """:class:`TesseractMissing` naming what is missing and the command that installs it."""
    found = installed_languages()
    if found is None:
        raise TesseractMissing("tesseract is not installed", missing="tesseract-ocr", command=INSTALL_COMMAND)
    missing = [code for code in languages.split("+") if code not in found]
    if missing:
        packages = " ".join(f"tesseract-ocr-{code}" for code in missing)
        raise TesseractMissing(
            f"no language pack {missing}", missing=packages, command=f"sudo apt-get install {packages}"
        )


class TesseractEngine(WeightlessEngine):
    """The Engine Protocol for Tesseract: OCR of the request's image in the languages its prompt names.

    The family's OCR "prompt" for Tesseract is the ``-l`` value (``rus+eng``); the answer is the text,
    and the stream's ``text_layout`` holds the :class:`OcrPage` with the boxes.
    """

    def __init__(self, card: ModelCard, settings: Settings) -> None:
        super().__init__(card, RuntimeInfo(device="cpu", dtype="tesseract"))

    def estimated_bytes(self) -> int | None:
        return ENGINE_BYTES

    def load(self, on_progress: ProgressCallback | None = None) -> None:
        check_installed()
        self._loaded = True
        if on_progress is not None:
            on_progress(1.0, "load.ready")

    def stream(
        self,
        request: GenerationRequest,
        stop: threading.Event | None = None,
        prefix_cache: PrefixSlot | None = None,
    ) -> TesseractStream:
        images = [image for message in request.messages for image in message.images]
        if not images:
            raise ValueError("Tesseract needs an image")
        languages = languages_for(request.messages[-1].text.strip() or "auto")
        check_installed(languages)
        return TesseractStream(images[0], languages, stop)


class TesseractStream(RunnableStream):
    """Runs Tesseract; gives the page's text once, with the boxes in ``text_layout``.

    A Stop cannot interrupt the binary mid-page (a page takes a second or two); its text is then dropped.
    """

    def __init__(self, image: Image.Image, languages: str, stop: threading.Event | None) -> None:
        self.stats = GenerationStats(image_tiles=1)
        self.input_size: tuple[int, int] | None = None
        self.text_layout: OcrPage | None = None
        self._image, self._languages = image, languages
        self._stop = stop or threading.Event()
        self._started = time.perf_counter()

    def _run(self, emit: Emit) -> None:
        try:
            page = recognise(self._image, self._languages)
        except Exception as error:  # noqa: BLE001 - the binary's failure, in the person's words
            raise EngineError(f"{type(error).__name__}: {error}") from error
        if self._stop.is_set():
            return
        self.text_layout = page
        if page.text:
            self.stats.seconds_to_first_token = time.perf_counter() - self._started
            self.stats.new_tokens = len(page.words)
            emit(page.text)


def searchable_pdf(
    pages: Iterable[Image.Image], languages: str = "rus+eng", on_page: Callable[[int], None] | None = None
) -> bytes:
    """One searchable PDF of several pictures, in order; ``on_page(n)`` after each page is done."""
    import io

    import pypdfium2 as pdfium

    merged = pdfium.PdfDocument.new()
    for number, image in enumerate(pages, start=1):
        merged.import_pages(pdfium.PdfDocument(searchable_pdf_page(image, languages)))
        if on_page is not None:
            on_page(number)
    buffer = io.BytesIO()
    merged.save(buffer)
    return buffer.getvalue()
