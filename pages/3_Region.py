"""Region: draw or type a box on the uploaded image and ask what is inside it."""

from core.engines.types import Capability
from ui import layout, region, widgets

with layout.page("region.title"):
    media = layout.require_image("region.need_media")
    region.render(widgets.require(Capability.REGION), media)
