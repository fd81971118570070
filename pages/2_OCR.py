"""OCR: all readable text of the uploaded image or PDF page, editable and downloadable."""

import streamlit as st

from core.engines.types import Capability
from ui import layout, model, ocr, state
from ui.i18n import t

layout.setup_page("ocr.title")
media = state.current_media()
if media is None:
    st.info(t("ocr.need_media"))
    st.page_link("Home.py", label=t("nav.home"), icon=":material/home:")
    st.stop()

ocr.render(model.require(Capability.OCR), media)
