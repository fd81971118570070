"""A session's cached prefixes are freed when Streamlit drops the session's state."""

from __future__ import annotations

import gc

from ui.serving import watch_session_end


class _Core:  # the serving core's one method this needs
    def __init__(self) -> None:
        self.forgotten: list[str] = []

    def forget(self, owner: str) -> None:
        self.forgotten.append(owner)


def test_a_collected_session_state_frees_its_owner_once() -> None:
    core = _Core()
    state: dict = {}
    watch_session_end(state, core, "tab-1")
    watch_session_end(state, core, "tab-1")  # every page run calls it; one watch per session
    gc.collect()
    assert core.forgotten == []  # alive: nothing freed
    state.clear()
    gc.collect()
    assert core.forgotten == ["tab-1"]
