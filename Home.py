"""Home: upload once, see the model's state, pick the model and the language."""

import streamlit as st

from core.media import InvalidInput, MediaLimits, load_image, thumbnail
from ui import layout, model, state
from ui.i18n import t

layout.setup_page("home.title")
settings = model.settings()
st.write(t("home.intro"))

upload_col, model_col = st.columns([3, 2], gap="large")

with upload_col:
    upload = st.file_uploader(
        t("home.upload"), help=t("home.upload_help", limit_mb=settings.max_upload_mb), key=state.uploader_key()
    )
    if upload is not None and st.session_state.get(state.UPLOAD_ID_KEY) != upload.file_id:
        try:
            media = load_image(upload.getvalue(), upload.name, MediaLimits(max_bytes=settings.max_upload_mb * 2**20))
        except InvalidInput as error:
            st.error(t(error.key, **error.params))
        else:
            state.set_media(media)
            st.session_state[state.UPLOAD_ID_KEY] = upload.file_id

    media = state.current_media()
    if media is None:
        st.info(t("home.no_media"))
    else:
        st.subheader(t("home.current"))
        st.image(thumbnail(media.image, 1024), width="content")
        st.caption(
            t("home.image_info", name=media.name, width=media.width, height=media.height, format=media.source_format)
        )
        st.caption(t("home.replace_hint"))
        actions = st.columns(2)
        actions[0].page_link("pages/1_Chat.py", label=t("home.go_chat"), icon=":material/chat:")
        if actions[1].button(t("home.clear"), key="home_clear", icon=":material/delete:"):
            state.clear_media()
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
