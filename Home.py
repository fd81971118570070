"""Home: upload once, see the model's state, pick the model and the language."""

import streamlit as st

from core.media import thumbnail
from core.video import NormalizedVideo
from ui import chat, layout, model, state, upload
from ui.i18n import t

layout.setup_page("home.title")
settings = model.settings()
st.write(t("home.intro"))

upload_col, model_col = st.columns([3, 2], gap="large")

with upload_col:
    uploaded = st.file_uploader(
        t("home.upload"), help=t("home.upload_help", limit_mb=settings.max_upload_mb), key=state.uploader_key()
    )
    upload.accept(uploaded, settings)
    upload.sampling_settings()

    media = state.current_media()
    if media is None:
        st.info(t("home.no_media"))
    else:
        st.subheader(t("home.current"))
        if isinstance(media, NormalizedVideo):
            st.caption(
                t("home.video_info", name=media.name, width=media.width, height=media.height,
                  seconds=f"{media.duration_s:.1f}", format=media.container,
                  frames=len(media.clip.frames), decoded=media.decoded_frames)
            )  # fmt: skip
            chat.frame_strip(media, columns=6)
        else:
            upload.page_picker()
            st.image(thumbnail(media.image, 1024), width="content")
            st.caption(
                t(
                    "home.image_info",
                    name=media.name,
                    width=media.width,
                    height=media.height,
                    format=media.source_format,
                )
            )
        st.caption(t("home.replace_hint"))
        actions = st.columns(3)
        actions[0].page_link("pages/1_Chat.py", label=t("home.go_chat"), icon=":material/chat:")
        actions[1].page_link("pages/2_OCR.py", label=t("home.go_ocr"), icon=":material/document_scanner:")
        if actions[2].button(t("home.clear"), key="home_clear", icon=":material/delete:"):
            state.clear_media()
            upload.forget_document()
            st.rerun()

with model_col:
    st.subheader(t("model.header"))
    model.picker()
    engine = model.active_engine()
    if engine.runtime.device_note:
        st.warning(t(engine.runtime.device_note))
    st.caption(t("model.abilities", abilities=model.abilities(engine.card)))
    if model.ensure_loaded(engine):
        st.success(model.status_line(engine))
