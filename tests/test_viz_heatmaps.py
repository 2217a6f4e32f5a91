"""Tensors too large for a grid are drawn as heat-map thumbnails (a table of coloured cells in
the Graphviz HTML label) with their shape and range beside; ledgers keep the summary line."""

from __future__ import annotations

import re
import shutil

import numpy as np

import chainrule as cr
from chainrule.viz.graph_labels import HEAT_CELLS, HeatMap


def _large() -> tuple[cr.Tensor, cr.Tensor]:
    cr.manual_seed(0)
    W = cr.randn(30, 40, dtype=cr.float64, requires_grad=True)
    W.name = "W"
    x = cr.randn(40, dtype=cr.float64)
    x.name = "x"
    with cr.viz.record():
        y = (W @ x).tanh().sum()
    y.backward(retain_graph=True)
    return y, W


def test_a_large_matrix_is_a_heat_map_with_its_shape_and_range() -> None:
    y, W = _large()
    node = cr.viz.draw(y).node("W")
    w = W.detach().numpy()
    low, high = cr.viz.format.number(w.min()), cr.viz.format.number(w.max())
    assert f"value (30, 40) in [{low}, {high}]" in node.label  # the plain label says it in words
    assert node.html is not None
    first = node.html.split("grad (30, 40)")[0]  # the value's thumbnail comes first
    cells = re.findall(r'<TD BGCOLOR="(#[0-9a-f]{6})"', first)
    assert len(cells) == HEAT_CELLS * HEAT_CELLS  # 30 rows and 40 columns, averaged to 24 x 24
    assert "shape (30, 40)" not in node.label  # no summary line where the thumbnail is


def test_heat_map_colours_follow_the_sign_and_size() -> None:
    heat = HeatMap.of(np.array([[-2.0, 0.0, 1.0, 2.0]]))
    assert heat is not None
    assert heat.colors == (("#0000ff", "#ffffff", "#ff8080", "#ff0000"),)
    big = HeatMap.of(np.arange(100.0))  # a vector: one row, averaged to HEAT_CELLS blocks
    assert big is not None and len(big.colors) == 1 and len(big.colors[0]) == HEAT_CELLS
    assert HeatMap.of(np.array(3.0)) is None


def test_switching_heat_maps_off_gives_the_summary_line() -> None:
    y, _ = _large()
    node = cr.viz.draw(y, heatmaps=False).node("W")
    assert "value shape (30, 40): mean" in node.label
    assert node.html is None or "BGCOLOR" not in node.html


def test_the_ledger_keeps_the_summary_with_the_shape() -> None:
    y, _ = _large()
    text = cr.explain(y).table()
    assert "shape (30, 40): mean" in text and "BGCOLOR" not in text


def test_heat_maps_render_with_dot_to_svg_and_png() -> None:
    y, _ = _large()
    g = cr.viz.draw(y)
    if shutil.which("dot") is None:  # without Graphviz: the DOT text is still well formed
        assert g.source.count("<TABLE") == g.source.count("</TABLE>")
        return
    svg = g.pipe("svg").decode()
    assert "<svg" in svg and 'fill="#ff0000"' in svg and 'fill="#0000ff"' in svg  # the cells
    png = g.pipe("png")
    assert png.startswith(b"\x89PNG")
