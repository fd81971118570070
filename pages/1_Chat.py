"""Chat: questions and captions about the uploaded image, answers streamed."""

import streamlit as st

from core.engines.types import Capability
from ui import chat, layout, model, state
from ui.i18n import t

layout.setup_page("chat.title")
media = state.current_media()
if media is None:
    st.info(t("chat.need_media"))
    st.page_link("Home.py", label=t("nav.home"), icon=":material/home:")
    st.stop()

chat.render(model.require(Capability.CHAT), media)
