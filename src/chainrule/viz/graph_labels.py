"""The labels of a drawing's boxes and arrows, as Graphviz DOT text.

A label is a list of `Line`s: plain text, a caption with the cells of a grid of numbers, or a
caption with a `HeatMap` (a tensor too large for a grid). `plain_label` writes the grids as
aligned rows (a heat map as its caption alone), `html_label` as Graphviz HTML-like tables (one
per grid; a heat map as a table of coloured cells, which `dot` renders to SVG and PNG alike
with no image file); `quote` and `dot_attrs` write a DOT string and an attribute list. Used by
`chainrule.viz.graph`, which builds the lines.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.viz.format import grid_lines, number

HEAT_CELLS = 24
"""A heat map has at most this many cells a side: larger tensors are averaged over blocks."""


@dataclass(frozen=True)
class HeatMap:
    """A thumbnail of a large tensor: one colour per (block of) entries, blue for negative,
    white for 0, red for positive, scaled by the largest magnitude."""

    colors: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, value: Any) -> HeatMap | None:
        """The heat map of a real tensor of at least two entries (None otherwise): a vector is
        one row, higher dimensions are flattened after the first."""
        array = np.asarray(value)
        if array.dtype.kind not in "fiub" or array.size < 2 or array.ndim == 0:
            return None
        a = array.astype(np.float64).reshape(1, -1) if array.ndim == 1 else array
        a = a.reshape(a.shape[0], -1)
        a = _blocks(_blocks(a, 0), 1)
        finite = np.where(np.isfinite(a), a, 0.0)
        scale = float(np.abs(finite).max()) or 1.0
        return cls(tuple(tuple(_color(v / scale) for v in row) for row in finite))


def heat_caption(caption: str, value: Any) -> str:
    """`value (30, 40) in [-1.2, 3.4]`: the shape and range shown beside a heat map."""
    array = np.asarray(value, dtype=np.float64)
    low, high = number(np.nanmin(array)), number(np.nanmax(array))
    return f"{caption} {tuple(array.shape)} in [{low}, {high}]"


def _blocks(a: np.ndarray, axis: int) -> np.ndarray:
    """Average over blocks along `axis` so that it has at most HEAT_CELLS entries."""
    n = a.shape[axis]
    if n <= HEAT_CELLS:
        return a
    edges = np.linspace(0, n, HEAT_CELLS + 1).astype(int)
    parts = [
        np.take(a, range(lo, hi), axis=axis).mean(axis=axis) for lo, hi in itertools.pairwise(edges)
    ]
    return np.stack(parts, axis=axis)


def _color(t: float) -> str:
    """-1 -> blue, 0 -> white, 1 -> red (a diverging scale, linear in each half)."""
    t = max(-1.0, min(1.0, t))
    fade = round(255 * (1 - abs(t)))
    return f"#{fade:02x}{fade:02x}ff" if t < 0 else f"#ff{fade:02x}{fade:02x}"


Cells = list[list[str]] | HeatMap
Line = tuple[str, Cells | None]
"""One line of a label: its text, or a caption and the grid (or heat map) it introduces."""


def quote(text: str, newline: str = "\\n") -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", newline)
    return '"' + escaped + '"'


def plain_label(lines: list[Line]) -> str:
    """The plain label: grids written as aligned rows under their caption."""
    out = []
    for caption, cells in lines:
        if cells is None or isinstance(cells, HeatMap):
            out.append(caption)
        else:
            out.append("\n".join([caption, *grid_lines(cells)]))
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
        elif isinstance(cells, HeatMap):
            rows.append(f'<TR><TD ALIGN="RIGHT">{text}</TD><TD>{html_heat(cells)}</TD></TR>')
        else:
            rows.append(f'<TR><TD ALIGN="RIGHT">{text}</TD><TD>{html_grid(cells)}</TD></TR>')
    return '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1">' + "".join(rows) + "</TABLE>"


def html_grid(cells: list[list[str]]) -> str:
    body = "".join(
        "<TR>" + "".join(f'<TD ALIGN="RIGHT">{html.escape(c)}</TD>' for c in row) + "</TR>"
        for row in cells
    )
    return f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="2">{body}</TABLE>'


def html_heat(heat: HeatMap) -> str:
    """A heat map as a table of small coloured cells (no text in them)."""
    body = "".join(
        "<TR>"
        + "".join(f'<TD BGCOLOR="{c}" WIDTH="6" HEIGHT="6" FIXEDSIZE="TRUE"></TD>' for c in row)
        + "</TR>"
        for row in heat.colors
    )
    return f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{body}</TABLE>'


def dot_attrs(attrs: Mapping[str, str], lead: str = "") -> str:
    return "".join(
        f"{lead if i == 0 else ', '}{k}={quote(str(v))}" for i, (k, v) in enumerate(attrs.items())
    )
