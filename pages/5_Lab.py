"""Lab: compare models on a set of documents against reference answers."""

from ui import lab, layout

with layout.page("lab.title"):
    lab.render()
