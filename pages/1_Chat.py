"""Chat: questions and captions about the uploaded image or video, answers streamed; or the same question to
two or three models side by side (Compare)."""

from core.engines.types import Capability
from core.video import NormalizedVideo
from ui import chat, compare, layout, widgets

with layout.page("chat.title"):
    media = layout.require_media()
    needs = Capability.VIDEO if isinstance(media, NormalizedVideo) else Capability.CHAT
    chosen = widgets.require(needs)
    asked = chat.setup(chosen, media)
    if chat.comparing(media):
        compare.render(chosen.model_id, media, asked.pictures, asked.digest, asked.opts)
    else:
        chat.render(chosen, media, asked)
