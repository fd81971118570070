"""An owner's cached prefixes are freed when Streamlit has dropped the last of its sessions, after a grace
period that a refreshed tab's new session falls within."""

from __future__ import annotations

import gc
import time

import pytest

from ui import serving
from ui.serving import watch_session_end


class _Core:  # the serving core's one method this needs
    def __init__(self) -> None:
        self.forgotten: list[str] = []

    def forget(self, owner: str) -> None:
        self.forgotten.append(owner)


def _settle(seconds: float = 0.3) -> None:
    gc.collect()
    time.sleep(seconds)


def test_a_collected_session_state_frees_its_owner_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serving, "OWNER_GRACE_S", 0.05)
    core = _Core()
    state: dict = {}
    watch_session_end(state, core, "tab-1")
    watch_session_end(state, core, "tab-1")  # every page run calls it; one watch per session
    _settle()
    assert core.forgotten == []  # alive: nothing freed
    state.clear()
    _settle()
    deadline = time.monotonic() + 10
    while not core.forgotten and time.monotonic() < deadline:
        time.sleep(0.05)
    assert core.forgotten == ["tab-1"]


def test_a_refreshed_tab_keeps_the_owners_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serving, "OWNER_GRACE_S", 1.0)
    core = _Core()
    old: dict = {}
    watch_session_end(old, core, "t:person")
    old.clear()  # the refresh ends the old session first (its sentinel goes at once: no other reference)
    new: dict = {}
    watch_session_end(new, core, "t:person")  # within the grace period
    time.sleep(1.5)  # past the grace period: the owner still has a session
    assert core.forgotten == []
    new.clear()
    deadline = time.monotonic() + 10
    while not core.forgotten and time.monotonic() < deadline:
        time.sleep(0.05)
    assert core.forgotten == ["t:person"]
