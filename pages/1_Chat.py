"""Chat: questions and captions about the uploaded image or video, answers streamed."""

from core.engines.types import Capability
from core.video import NormalizedVideo
from ui import chat, layout, widgets

with layout.page("chat.title"):
    media = layout.require_media()
    needs = Capability.VIDEO if isinstance(media, NormalizedVideo) else Capability.CHAT
    chat.render(widgets.require(needs), media)
