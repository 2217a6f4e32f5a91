"""The labels of a drawing's boxes and arrows, as Graphviz DOT text.

A label is a list of `Line`s: plain text, or a caption with the cells of a grid of numbers.
`plain_label` writes the grids as aligned rows, `html_label` as Graphviz HTML-like tables (one
per grid); `quote` and `dot_attrs` write a DOT string and an attribute list. Used by
`chainrule.viz.graph`, which builds the lines.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from chainrule.viz.format import grid_lines

Line = tuple[str, list[list[str]] | None]
"""One line of a label: its text, or a caption and the cells of the grid it introduces."""


def quote(text: str, newline: str = "\\n") -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", newline)
    return '"' + escaped + '"'


def plain_label(lines: list[Line]) -> str:
    """The plain label: grids written as aligned rows under their caption."""
    out = []
    for caption, cells in lines:
        out.append(caption if cells is None else "\n".join([caption, *grid_lines(cells)]))
    return "\n".join(out)


def html_label(lines: list[Line]) -> str | None:
    """An HTML-like label with a table per grid; None when no line has a grid (plain label)."""
    if all(cells is None for _, cells in lines):
        return None
    rows = []
    for caption, cells in lines:
        text = html.escape(caption)
        if cells is None:
            rows.append(f'<TR><TD COLSPAN="2">{text}</TD></TR>')
        else:
            rows.append(f'<TR><TD ALIGN="RIGHT">{text}</TD><TD>{html_grid(cells)}</TD></TR>')
    return '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1">' + "".join(rows) + "</TABLE>"


def html_grid(cells: list[list[str]]) -> str:
    body = "".join(
        "<TR>" + "".join(f'<TD ALIGN="RIGHT">{html.escape(c)}</TD>' for c in row) + "</TR>"
        for row in cells
    )
    return f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="2">{body}</TABLE>'


def dot_attrs(attrs: Mapping[str, str], lead: str = "") -> str:
    return "".join(
        f"{lead if i == 0 else ', '}{k}={quote(str(v))}" for i, (k, v) in enumerate(attrs.items())
    )
