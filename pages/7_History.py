"""History: past work of this person (or this link), to reopen, download or delete."""

from ui import history_view, layout

with layout.page("history.title"):
    history_view.render()
