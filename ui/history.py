"""This session's side of the persistent history: who owns the work, restoring where the person was, and
saving each page's results as they are made.

A person is a signed-in user or, without sign-in, an unguessable token in the page's URL (``?s=…``), so a
refresh, a closed tab opened again from its link or a restarted server finds the same work. Whatever the
history cannot do (full disk, unwritable folder, database down) is said once in the sidebar and the pages
go on without it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from core.engines.types import Role
from core.history import HistoryStore, HistoryUnavailable
from core.history.codec import CodecError
from core.history.store import TURN_WRITE_INTERVAL_S
from core.settings import Settings
from core.tasks.chat import ChatHistory, ChatTurn
from ui import auth, serving, state
from ui.i18n import t

log = logging.getLogger(__name__)

TOKEN_PARAM = "s"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
CLEAN_EVERY_S = 3600.0


@st.cache_resource(show_spinner=False, on_release=lambda opened: opened.close() if opened else None)
def _opened(data_dir: str, database_url: str) -> HistoryStore | None:
    """The process's store, opened once; None (and a log line) when it cannot be opened."""
    try:
        return HistoryStore.open(Path(data_dir), database_url)
    except HistoryUnavailable as error:
        log.warning("history is unavailable, the app works without it: %s", error)
        _PROBLEM[(data_dir, database_url)] = str(error)
        return None


_PROBLEM: dict[tuple[str, str], str] = {}  # why a store could not be opened, for every session to say
_cleaning: set[int] = set()  # the stores (by id) a retention thread already runs for


def enabled(settings: Settings | None = None) -> bool:
    return (settings or serving.settings()).history


def store() -> HistoryStore | None:
    settings = serving.settings()
    if not settings.history:
        return None
    opened = _opened(str(settings.data_dir), str(settings.database_url))
    if opened is not None and id(opened) not in _cleaning:
        _cleaning.add(id(opened))
        threading.Thread(target=_clean_forever, args=(opened, settings), name="history-cleaner", daemon=True).start()
    return opened


def _clean_forever(opened: HistoryStore, settings: Settings) -> None:
    """Retention in the background: items untouched for HISTORY_DAYS, then the oldest past HISTORY_MAX_GB."""
    limit = int(settings.history_max_gb * 2**30) if settings.history_max_gb else None
    while True:
        try:
            cleaned = opened.clean(older_than_days=settings.history_days, max_bytes=limit)
            if cleaned.items:
                log.info("history retention removed %d items and %d files (%d bytes)", cleaned.items,
                         cleaned.files, cleaned.bytes_freed)  # fmt: skip
        except HistoryUnavailable as error:
            log.warning("history retention could not run: %s", error)
        time.sleep(CLEAN_EVERY_S)


def _failed(error: HistoryUnavailable) -> None:
    """A write or read the history refused: said once per session, and the page goes on."""
    log.warning("history could not be written: %s", error)
    state.HISTORY_PROBLEM.set(str(error))


def problem() -> str | None:
    settings = serving.settings()
    if not settings.history:
        return None
    if store() is None:
        return _PROBLEM.get((str(settings.data_dir), str(settings.database_url)), "—")
    return state.HISTORY_PROBLEM.get()


# -- who owns the work --------------------------------------------------------------------------------


def owner() -> str | None:
    """The history's owner of this session: the signed-in user, else the URL's token (set up by :func:`identify`)."""
    user = auth.user_email()
    if user is not None:
        return f"u:{user}"
    token = state.HISTORY_TOKEN.get()
    return f"t:{token}" if token else None


def identify() -> None:
    """Take the URL's token, or make one and put it in the URL; kept in the session for page switches."""
    if not enabled() or auth.user_email() is not None:
        return
    given = st.query_params.get(TOKEN_PARAM)
    if given and _TOKEN.match(given):
        if given != state.HISTORY_TOKEN.get():
            state.HISTORY_TOKEN.set(given)
            state.HISTORY_RESTORED.clear()  # a link to other work opened in this tab: that work is restored
        return
    token = state.HISTORY_TOKEN.get() or secrets.token_urlsafe(24)
    state.HISTORY_TOKEN.set(token)
    st.query_params[TOKEN_PARAM] = token


# -- restoring --------------------------------------------------------------------------------------


OpenFile = Callable[[bytes, str, int], None]


def restore(open_file: OpenFile) -> None:
    """Once per session: the file on Home, its page, and each page's last result, as the person left them.

    ``open_file(data, name, page)`` turns a stored upload back into the session's media (it is
    :func:`ui.upload.restore`, passed in because the upload code draws with this module's help).
    """
    if state.HISTORY_RESTORED.get():
        return
    state.HISTORY_RESTORED.set(True)
    opened, who = store(), owner()
    if opened is None or who is None:
        return
    try:
        place = opened.place(who)
        if place is None:
            return
        if place.file_sha and state.current_media() is None:
            data = opened.read_file(place.file_sha)
            if data is not None:
                open_file(data, place.file_name, place.page)
                state.HISTORY_FILE.set(place.file_sha)
        for kind, item_id in place.current.items():
            _reopen_item(opened, who, kind, item_id)
    except (HistoryUnavailable, CodecError) as error:
        _failed(HistoryUnavailable(str(error)))


_SLOTS: dict[str, state.Slot[Any]] = {"ocr": state.OCR_RESULT, "detection": state.DETECTION,
                                      "convert": state.CONVERT_RESULT, "extract": state.EXTRACT_RESULT}  # fmt: skip


def slot_of(kind: str) -> state.Slot[Any]:
    """The session slot a page keeps its result of ``kind`` in (chat keeps a conversation instead)."""
    return _SLOTS.get(kind, state.CHAT_HISTORY)


def _reopen_item(opened: HistoryStore, who: str, kind: str, item_id: str) -> bool:
    stored = opened.item(who, item_id)
    if stored is None:
        return False
    if kind == "chat":
        state.CHAT_HISTORY.set(ChatHistory(stored.media_digest, list(stored.payload), record_id=item_id))
    elif kind in _SLOTS:
        _SLOTS[kind].set(stored.payload)
        state.HISTORY_SAVED.set({**(state.HISTORY_SAVED.get() or {}), kind: (item_id, stored.payload)})
    return True


def reopen(item_id: str, open_file: OpenFile) -> str | None:
    """Make item ``item_id`` (and its file) what the pages show; returns its kind, or None when it is gone."""
    opened, who = store(), owner()
    if opened is None or who is None:
        return None
    try:
        stored = opened.item(who, item_id)
        if stored is None:
            return None
        if stored.file_sha and stored.file_sha != state.HISTORY_FILE.get():
            data = opened.read_file(stored.file_sha)
            if data is None:
                return None
            open_file(data, stored.summary.file_name, stored.summary.page)
            remember_file(stored.file_sha, stored.summary.file_name, stored.summary.page)
        _reopen_item(opened, who, stored.summary.kind, item_id)
        opened.save_place(who, current={stored.summary.kind: item_id})
        return stored.summary.kind
    except (HistoryUnavailable, CodecError) as error:
        _failed(HistoryUnavailable(str(error)))
        return None


# -- saving -------------------------------------------------------------------------------------------


def remember_upload(data: bytes, name: str) -> None:
    """A new upload: its bytes kept under their hash, and it becomes where the person is (page 1, no results)."""
    opened, who = store(), owner()
    if opened is None or who is None:
        return
    try:
        sha = opened.put_file(data)
        state.HISTORY_FILE.set(sha)
        opened.save_place(who, file_sha=sha, file_name=name, page=1,
                          current=dict.fromkeys(("chat", *_SLOTS)))  # fmt: skip
    except HistoryUnavailable as error:
        _failed(error)


def remember_file(sha: str, name: str, page: int) -> None:
    opened, who = store(), owner()
    if opened is None or who is None:
        return
    state.HISTORY_FILE.set(sha)
    try:
        opened.save_place(who, file_sha=sha, file_name=name, page=page)
    except HistoryUnavailable as error:
        _failed(error)


def remember_page(page: int) -> None:
    opened, who = store(), owner()
    if opened is None or who is None or state.HISTORY_FILE.get() is None:
        return
    try:
        opened.save_place(who, page=page)
    except HistoryUnavailable as error:
        _failed(error)


def forget_upload() -> None:
    opened, who = store(), owner()
    state.HISTORY_FILE.clear()
    if opened is None or who is None:
        return
    try:
        opened.save_place(who, file_sha=None, file_name="", page=1, current=dict.fromkeys(("chat", *_SLOTS)))
    except HistoryUnavailable as error:
        _failed(error)


def _file_fields() -> dict[str, Any]:
    document, media = state.current_document(), state.current_media()
    return {"file_sha": state.HISTORY_FILE.get(), "file_name": document.name if document else media.name if media
            else "", "page": state.DOCUMENT_PAGE.get() or 1}  # fmt: skip


def save_result(kind: str, result: Any, *, media_digest: str = "", model: str = "") -> None:
    """A page's finished (or stopped) result: stored, and made that page's current item."""
    opened, who = store(), owner()
    if opened is None or who is None:
        return
    saved = state.HISTORY_SAVED.get() or {}
    previous = saved.get(kind)
    item_id = previous[0] if previous is not None and previous[1] is result else None
    try:
        item_id = opened.save_item(who, kind, result, item_id=item_id, media_digest=media_digest, model=model,
                                   **_file_fields())  # fmt: skip
        opened.save_place(who, current={kind: item_id})
    except HistoryUnavailable as error:
        _failed(error)
        return
    state.HISTORY_SAVED.set({**saved, kind: (item_id, result)})


def save_edit(kind: str, result: Any, edited: Any) -> None:
    """The person corrected ``result`` (now ``edited``): the stored item holds the correction."""
    saved = (state.HISTORY_SAVED.get() or {}).get(kind)
    if saved is None or saved[1] is not result or state.HISTORY_EDIT.get() == (kind, edited):
        return
    opened, who = store(), owner()
    if opened is None or who is None:
        return
    state.HISTORY_EDIT.set((kind, edited))
    try:
        stored = opened.item(who, saved[0])
        if stored is not None:
            corrected = dataclasses.replace(result, text=edited) if kind == "ocr" else edited
            opened.save_item(who, kind, corrected, item_id=saved[0], media_digest=stored.media_digest,
                             model=stored.summary.model, file_sha=stored.file_sha,
                             file_name=stored.summary.file_name, page=stored.summary.page)  # fmt: skip
    except HistoryUnavailable as error:
        _failed(error)


class AnswerRecorder:
    """A chat answer stored while it streams: the question at once, the answer at most every half second,
    so a server killed mid-answer keeps what the person had seen."""

    def __init__(self, history: ChatHistory, model: str) -> None:
        self._store, self._owner = store(), owner()
        self._history, self._model = history, model
        self._turn_id: int | None = None
        self._last_write = 0.0

    def begin(self) -> None:
        """After the question was added to the history: store it and an empty answer being written."""
        if self._store is None or self._owner is None:
            return
        try:
            if self._history.record_id is None:
                item_id = self._store.save_item(self._owner, "chat", None, media_digest=self._history.media_digest,
                                                model=self._model, **_file_fields())  # fmt: skip
                self._history.record_id = item_id
                self._store.save_place(self._owner, current={"chat": item_id})
            self._store.add_turn(self._history.record_id, self._history.turns[-1])
            self._turn_id = self._store.add_turn(self._history.record_id, ChatTurn(Role.ASSISTANT, ""), writing=True)
        except HistoryUnavailable as error:
            self._store = None
            _failed(error)

    def progress(self, text: str) -> None:
        if self._store is None or self._turn_id is None:
            return
        now = time.monotonic()
        if now - self._last_write < TURN_WRITE_INTERVAL_S:
            return
        self._last_write = now
        try:
            self._store.write_answer(self._turn_id, text)
        except HistoryUnavailable as error:
            self._store = None
            _failed(error)

    def finish(self, turn: ChatTurn) -> None:
        if self._store is None or self._turn_id is None:
            return
        try:
            self._store.finish_turn(self._turn_id, turn)
        except HistoryUnavailable as error:
            _failed(error)


def warn_if_unavailable() -> None:
    """In the sidebar: the history is off for this session, and why."""
    reason = problem()
    if reason is not None:
        st.sidebar.warning(t("history.unavailable", reason=reason[:200]))
