"""Pages of real text rendered with DejaVu Sans (Debian's fonts), for the Tesseract tests."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
MIXED_LINES = [
    "Счёт на оплату № 42 от 12.03.2025",
    "Invoice number 42, due 2025-04-01",
    "Поставщик: ООО Ромашка, Москва",
    "Итого к оплате: 12 345,67 руб.",
    "Total amount: 12,345.67 RUB",
]
LINE_STEP = 70
TOP = 30
LEFT = 40


def render_lines(lines: list[str] = MIXED_LINES, size: tuple[int, int] = (1200, 420), px: int = 30) -> Image.Image:
    """Black text on white, one line every ``LINE_STEP`` px from ``TOP``."""
    page = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, px)
    for index, line in enumerate(lines):
        draw.text((LEFT, TOP + index * LINE_STEP), line, fill="black", font=font)
    return page
