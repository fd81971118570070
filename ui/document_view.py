"""A specialist's Markdown shown as a document: tables as tables, display formulas typeset, and every piece of
model text escaped so that it can neither style the page nor plant a link."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.markup import Formula, Table, blocks, literal_markdown, safe_markdown


def _frame(table: Table) -> pd.DataFrame:
    width = table.width
    rows = [[literal_markdown(cell) for cell in row] + [""] * (width - len(row)) for row in table.rows]
    header, seen = [], set()
    for index, name in enumerate(rows[0]):
        label = name or " " * (index + 1)  # empty or repeated headers stay distinct columns
        while label in seen:
            label += " "
        seen.add(label)
        header.append(label)
    return pd.DataFrame(rows[1:], columns=header)


def show(markdown: str) -> None:
    for block in blocks(markdown):
        if isinstance(block, Table):
            st.table(_frame(block), hide_index=True)
        elif isinstance(block, Formula):
            st.latex(block.latex)
        else:
            st.markdown(safe_markdown(block.text))
