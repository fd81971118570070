"""Lab: compare models on a set of documents against reference answers."""

from ui import lab, layout

layout.setup_page("lab.title")
lab.render()
