"""OCR: all readable text of the uploaded image or PDF page, or the page as a Markdown document."""

from ui import layout, ocr

with layout.page("ocr.title"):
    media = layout.require_image("ocr.need_media")
    ocr.render(media)
