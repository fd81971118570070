"""OCR: all readable text of the uploaded image or PDF page, editable and downloadable."""

from core.engines.types import Capability
from ui import layout, model, ocr

with layout.page("ocr.title"):
    media = layout.require_image("ocr.need_media")
    ocr.render(model.require(Capability.OCR), media)
