"""Extract: a template's fields and line items from the page, as JSON valid under its schema, checked, located."""

from ui import extract, layout

with layout.page("extract.title"):
    extract.render(layout.require_image("extract.need_media"))
