"""Detection: find objects by phrase with a grounding model; annotated image, table and downloads."""

from ui import detection, layout, widgets

with layout.page("detect.title"):
    media = layout.require_image("region.need_media")
    detection.render(widgets.require(), media)
