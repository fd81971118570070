"""The History page: this person's past work, newest first, to reopen on its page, download or delete."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from core.history import HistoryUnavailable, ItemSummary
from core.history.codec import CodecError
from core.history.downloads import download_for
from ui import auth, history, serving, state, upload
from ui.i18n import literal, t

PAGE_OF = {"chat": "pages/1_Chat.py", "ocr": "pages/2_OCR.py", "detection": "pages/4_Detection.py",
           "convert": "pages/2_OCR.py", "extract": "pages/6_Extract.py"}  # fmt: skip
ICON = {"chat": ":material/chat:", "ocr": ":material/document_scanner:", "detection": ":material/center_focus_strong:",
        "convert": ":material/article:", "extract": ":material/fact_check:"}  # fmt: skip
ALL = "all"


def render() -> None:
    settings = serving.settings()
    if not settings.history:
        st.info(t("history.off"))
        return
    opened, who = history.store(), history.owner()
    if opened is None or who is None:
        st.warning(t("history.unavailable", reason=history.problem() or "—"))
        return
    email = auth.user_email()
    st.caption(t("history.whose_user", email=email) if email else t("history.whose_link"))
    st.caption(t("history.retention", days=settings.history_days))
    kinds = {ALL: t("history.kind_all"), **{kind: t(f"history.kind_{kind}") for kind in PAGE_OF}}
    chosen = st.segmented_control(t("history.filter"), list(kinds), format_func=kinds.__getitem__, default=ALL,
                                  key="history_filter")  # fmt: skip
    try:
        items = opened.items(who, None if chosen in (None, ALL) else chosen)
    except HistoryUnavailable as error:
        st.warning(t("history.unavailable", reason=str(error)[:200]))
        return
    if not items:
        st.info(t("history.empty"))
        return
    for item in items:
        _row(item)


def _when(summary: ItemSummary) -> str:
    return datetime.fromtimestamp(summary.updated).strftime("%Y-%m-%d %H:%M")


def _row(item: ItemSummary) -> None:
    with st.container(border=True, key=f"history_item_{item.id}"):
        # room for three labelled buttons in Russian ("Открыть", "Скачать", "Удалить") without cutting them
        text, actions = st.columns([1, 1], vertical_alignment="center")
        name = literal(item.file_name) if item.file_name else "—"
        page = f" · {t('history.page', page=item.page)}" if item.page > 1 else ""
        text.markdown(f"{ICON.get(item.kind, '')} **{t(f'history.kind_{item.kind}')}** · {name}{page}")
        text.caption(f"{literal(item.model) or '—'} · {_when(item)}")
        reopen, download, remove = actions.columns(3)
        if reopen.button(t("history.open"), key=f"history_open_{item.id}", icon=":material/open_in_new:"):
            kind = history.reopen(item.id, upload.reopen)
            if kind is None:
                st.warning(t("history.gone"))
            else:
                state.HISTORY_OPENED.set(item.id)
                st.switch_page(PAGE_OF[kind])
        _download(download, item)
        with remove.popover(t("history.delete"), icon=":material/delete:"):
            st.write(t("history.delete_confirm"))
            if st.button(t("history.delete_yes"), key=f"history_delete_{item.id}", type="primary"):
                _delete(item)


def _download(column: st.delta_generator.DeltaGenerator, item: ItemSummary) -> None:
    opened, who = history.store(), history.owner()
    if opened is None or who is None:
        return
    try:
        stored = opened.item(who, item.id)
    except (HistoryUnavailable, CodecError):
        stored = None
    found = download_for(item, stored.payload) if stored is not None else None
    if found is None:
        column.button(t("history.download"), key=f"history_download_{item.id}", disabled=True,
                      icon=":material/download:")  # fmt: skip
        return
    column.download_button(t("history.download"), found.data, found.file_name, found.mime,
                           key=f"history_download_{item.id}", icon=":material/download:",
                           on_click="ignore")  # fmt: skip


def _delete(item: ItemSummary) -> None:
    opened, who = history.store(), history.owner()
    if opened is None or who is None:
        return
    try:
        opened.delete_item(who, item.id)
    except HistoryUnavailable as error:
        st.warning(t("history.unavailable", reason=str(error)[:200]))
        return
    _forget_shown(item.id)
    st.toast(t("history.deleted"), icon=":material/delete:")
    st.rerun()


def _forget_shown(item_id: str) -> None:
    """The deleted item is no longer what its page shows in this session."""
    saved = state.HISTORY_SAVED.get() or {}
    for kind, (saved_id, _) in list(saved.items()):
        if saved_id == item_id:
            history.slot_of(kind).clear()
            saved.pop(kind)
    state.HISTORY_SAVED.set(saved)
    chat = state.CHAT_HISTORY.get()
    if chat is not None and chat.record_id == item_id:
        state.CHAT_HISTORY.clear()
