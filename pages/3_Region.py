"""Region: draw or type a box on the uploaded image and ask what is inside it."""

import streamlit as st

from core.engines.types import Capability
from ui import layout, model, region, state
from ui.i18n import t

layout.setup_page("region.title")
media = state.current_media()
if media is None:
    st.info(t("chat.need_media"))
    st.page_link("Home.py", label=t("nav.home"), icon=":material/home:")
    st.stop()

region.render(model.require(Capability.REGION), media)
