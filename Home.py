"""Home: upload once, see the model's state, pick the model and the language."""

import streamlit as st

from core.engines.types import EngineError
from core.video import NormalizedVideo
from ui import layout, pictures, prepare, serving, state, upload, widgets
from ui.i18n import t

with layout.page("home.title"):
    settings = serving.settings()
    st.write(t("home.intro"))

    upload_col, model_col = st.columns([3, 2], gap="large")

    with upload_col:
        uploaded = st.file_uploader(
            t("home.upload"), help=t("home.upload_help", limit_mb=settings.max_upload_mb), key=state.uploader_key()
        )
        upload.accept(uploaded, settings)
        more = st.file_uploader(t("home.more"), type=["jpg", "jpeg", "png", "webp"], accept_multiple_files=True,
                                key=state.uploader_key("home_more_upload"), help=t("home.more_help"))  # fmt: skip
        upload.accept_more(more, settings)
        upload.sampling_settings()

        media = state.current_media()
        if media is None:
            st.info(t("home.no_media"))
        else:
            st.subheader(t("home.current"))
            upload.show(media)
            extra = state.MORE_PICTURES.get() or ()
            if extra:
                st.caption(t("home.more_shown", count=len(extra)))
                pictures.show_strip([picture.image for picture in extra], 120)
            st.caption(t("home.replace_hint"))
            actions = st.columns(3)
            actions[0].page_link("pages/1_Chat.py", label=t("home.go_chat"), icon=":material/chat:")
            if not isinstance(media, NormalizedVideo):
                actions[1].page_link("pages/2_OCR.py", label=t("home.go_ocr"), icon=":material/document_scanner:")
            if actions[2].button(t("home.clear"), key="home_clear", icon=":material/delete:"):
                upload.clear()
                st.rerun()

    with model_col:
        st.subheader(t("model.header"))
        widgets.picker()
        chosen = serving.client()
        try:
            card, runtime = chosen.card, chosen.runtime
        except EngineError as error:
            widgets.show_engine_error(error)
            st.stop()
        if runtime.device_note:
            st.warning(t(runtime.device_note))
        st.caption(t("model.abilities", abilities=widgets.abilities(card)))
        if widgets.load_with_progress(chosen):
            st.success(widgets.status_line(chosen))
            prepare.prepare(state.current_media(), chosen)  # the picture's prefix, while the person goes on
