"""Small matrices as grids of numbers: Graphviz HTML-like tables in drawings (checked by parsing
the DOT text, and the SVG `dot` renders where it is installed), aligned rows in the ledger's
table, `<br>` rows and fenced blocks in its Markdown, `bmatrix` in its LaTeX."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr
from chainrule.viz import ledger_format
from chainrule.viz.format import format_value, grid, grid_lines, number

W_2x3 = [[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]]
C_2x3 = [[2.0, 0.5, -1.0], [1.0, 1.0, 4.0]]


def ex3_like() -> tuple[cr.Tensor, dict[str, cr.Tensor]]:
    """Seed 000 Ex3's shape: o = W2 relu(W1 x + b1) + b2, cross-entropy against class c."""
    rng = np.random.default_rng(3)
    params = {
        "W1": cr.tensor(rng.normal(size=(4, 3)), dtype=cr.float64, requires_grad=True),
        "b1": cr.tensor(rng.normal(size=4), dtype=cr.float64, requires_grad=True),
        "W2": cr.tensor(rng.normal(size=(3, 4)), dtype=cr.float64, requires_grad=True),
        "b2": cr.tensor(rng.normal(size=3), dtype=cr.float64, requires_grad=True),
    }
    x = cr.tensor([0.5, -1.0, 2.0], dtype=cr.float64)
    with cr.viz.record():
        z = cr.relu(params["W1"] @ x + params["b1"])
        o = params["W2"] @ z + params["b2"]
        loss = cr.nn.functional.cross_entropy(o.reshape(1, -1), cr.tensor([2]))
    loss.backward(retain_graph=True)
    return loss, params


def dot_labels(source: str) -> dict[str, str]:
    """Node id -> the inside of its HTML-like label (`label=<...>`), for nodes that have one."""
    found = {}
    for line in source.splitlines():
        match = re.fullmatch(r"\s*(\w+) \[label=<(.*)>(, [^<>]*)?\];", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def grid_after(table: ET.Element, caption: str) -> list[list[str]]:
    """The cells of the grid that follows the cell reading `caption` in a label's table."""
    for row in table.iter("TR"):
        cells = list(row)
        if len(cells) == 2 and cells[0].text == caption:
            (inner,) = cells[1].iter("TABLE")
            return [[td.text or "" for td in tr] for tr in inner.iter("TR")]
    raise AssertionError(f"no grid captioned {caption!r}")


def expected(array: np.ndarray) -> list[list[str]]:
    return [[number(v) for v in row] for row in np.asarray(array)]


def test_drawing_shows_small_matrices_as_tables_of_their_entries() -> None:
    loss, params = ex3_like()
    g = cr.viz.draw(loss, names=params)
    labels = dot_labels(g.source)
    for name in ("W1", "W2"):
        node = g.node(name)
        table = ET.fromstring(labels[node.id])
        assert next(table.iter("TD")).text == name  # the title, the name as given
        assert grid_after(table, "grad") == expected(params[name].grad.detach().numpy())
        assert grid_after(table, "value") == expected(params[name].detach().numpy())
    # vectors and scalars keep the plain label
    assert g.node("b2").html is None and g.node("b2").id not in labels
    assert "grad [" in g.node("b2").label


def test_edges_into_an_elementwise_op_on_a_matrix_carry_its_local_derivative_as_a_grid() -> None:
    a = cr.tensor(W_2x3, dtype=cr.float64, requires_grad=True)
    a.name = "a"
    with cr.viz.record():
        y = cr.relu(a).sum()
    g = cr.viz.draw(y)
    (edge,) = [e for e in g.edges if e.src == g.node("a").id]
    assert edge.html is not None and f"label=<{edge.html}>" in g.source
    assert grid_after(ET.fromstring(edge.html), "∂v1/∂a =") == [["1", "0", "1"], ["1", "1", "0"]]
    assert edge.label == "∂v1/∂a =\n[1  0  1]\n[1  1  0]"


def test_a_matrix_larger_than_max_grid_gets_the_summary_with_its_shape() -> None:
    big = cr.tensor(np.arange(49.0).reshape(7, 7), dtype=cr.float64, requires_grad=True)
    big.name = "big"
    loss = (big * big).sum()
    loss.backward(retain_graph=True)
    # even when it has few enough entries for a list (heat maps off: see test_viz_heatmaps)
    g = cr.viz.draw(loss, max_elements=100, heatmaps=False)
    node = g.node("big")
    assert node.html is None and node.id not in dot_labels(g.source)
    assert "value shape (7, 7): mean 24, min 0, max 48" in node.label
    assert "grad shape (7, 7): mean 48, min 0, max 96" in node.label
    heat = cr.viz.draw(loss, max_elements=100).node("big")  # the default: a thumbnail
    assert "value (7, 7) in [0, 48]" in heat.label and "BGCOLOR" in (heat.html or "")
    # the same tensor within a larger max_grid is a grid
    wide = cr.viz.draw(loss, max_grid=(7, 7)).node("big")
    assert wide.html is not None
    assert grid_after(ET.fromstring(wide.html), "grad") == expected(2 * big.detach().numpy())


def test_max_grid_none_keeps_the_one_line_lists() -> None:
    a = cr.tensor(W_2x3, dtype=cr.float64, requires_grad=True)
    a.name = "a"
    (a * a).sum().backward(retain_graph=True)
    node = cr.viz.draw(a, max_grid=None).node("a")
    assert node.html is None
    assert "value [[1, -2, 0.5], [0.25, 3, -1]]" in node.label


def test_html_labels_escape_names() -> None:
    a = cr.tensor(W_2x3, dtype=cr.float64, requires_grad=True)
    (a * 2).sum().backward(retain_graph=True)
    g = cr.viz.draw(a, names={"W<1>&b": a})
    assert "W&lt;1&gt;&amp;b" in g.source and "W<1>&b" not in g.source
    table = ET.fromstring(dot_labels(g.source)[g.node("W<1>&b").id])
    assert next(table.iter("TD")).text == "W<1>&b"


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's `dot`")
def test_the_ex3_like_drawing_renders_to_svg_with_the_grid_entries() -> None:
    loss, params = ex3_like()
    svg = cr.viz.draw(loss, names=params).pipe("svg").decode()
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for entry in expected(params["W2"].grad.detach().numpy())[0]:
        assert entry in texts


def test_format_helpers() -> None:
    assert grid(np.array(C_2x3), (6, 6)) == [["2", "0.5", "-1"], ["1", "1", "4"]]
    assert grid(np.array(C_2x3), (2, 2)) is None and grid(np.ones(3), (6, 6)) is None
    assert grid(np.array(C_2x3), None) is None
    assert grid_lines([["2", "0.5", "-1"], ["1", "1", "4"]]) == ["[2  0.5  -1]", "[1    1   4]"]
    assert format_value(np.ones((7, 1)), 10) == "[[1], [1], [1], [1], [1], [1], [1]]"
    assert format_value(np.ones((7, 1)), 10, max_grid=(6, 6)).startswith("shape (7, 1): mean 1")


# -- the ledger -----------------------------------------------------------------------------------
def ledger_2x3() -> cr.viz.Ledger:
    w = cr.tensor(W_2x3, dtype=cr.float64, requires_grad=True)
    w.name = "W"
    c = cr.tensor(C_2x3, dtype=cr.float64)
    c.name = "C"
    with cr.viz.record():
        loss = (w * c).sum()
    return cr.explain(loss, teaching=False)  # the full view's notation (dL/dW)


def test_ledger_table_writes_grids_as_aligned_rows() -> None:
    text = ledger_2x3().table()
    assert "Gradients of L:\n  dL/dW = [2  0.5  -1]\n          [1    1   4]\n" in text
    lines = text.splitlines()
    row = lines.index(next(x for x in lines if x.startswith("2  v1 = Mul(W, C)")))
    assert lines[row] == (
        "2  v1 = Mul(W, C)              [   2  -1  -0.5]  [1  1  1]  W      d(W*C)/dW = C  "
        "        [2  0.5  -1]  dL/dW = dL/dv1 ⊙ C  [1  1  1] ⊙ [2  0.5  -1] = [2  0.5  -1]"
    )  # the rule with the operands' names; the product as a grid equation
    assert lines[row + 1] == (
        "                               [0.25   3    -4]  [1  1  1]                         "
        "       [1    1   4]                      [1  1  1]   [1    1   4]   [1    1   4]"
    )


def test_ledger_markdown_writes_grids_as_rows_and_fenced_blocks() -> None:
    md = ledger_2x3().markdown()
    assert (
        "| 2 | `v1 = Mul(W, C)` | [   2  -1  -0.5]<br>[0.25   3    -4] | [1  1  1]<br>[1  1  1] "
        "| W | `d(W*C)/dW = C` | [2  0.5  -1]<br>[1    1   4] | `dL/dW = dL/dv1 ⊙ C` "
        "| [1  1  1] ⊙ [2  0.5  -1] = [2  0.5  -1]<br>[1  1  1]   [1    1   4]   [1    1   4] |"
    ) in md.splitlines()
    assert "-\n\n  ```text\n  dL/dW = [2  0.5  -1]\n          [1    1   4]\n  ```\n" in md


def test_ledger_latex_writes_grids_as_bmatrix() -> None:
    tex = ledger_2x3().latex()
    assert (
        r"\frac{\partial L}{\partial W} &= \frac{\partial L}{\partial v_{1}} \odot C = "
        r"\begin{bmatrix}1 & 1 & 1 \\ 1 & 1 & 1\end{bmatrix}"
        r" \odot \begin{bmatrix}2 & 0.5 & -1 \\ 1 & 1 & 4\end{bmatrix}"
        r" = \begin{bmatrix}2 & 0.5 & -1 \\ 1 & 1 & 4\end{bmatrix}"
        r" && \text{Mul: } \frac{\partial v_{1}}{\partial W} = C"
    ) in tex  # gradient formula and numbers, then the local partial in its own column
    assert r"{v_{1}}_j" in tex  # a named operand with an index: no double subscript
    assert ledger_format.latex_value(np.array(C_2x3)) == (
        r"\begin{bmatrix}2 & 0.5 & -1 \\ 1 & 1 & 4\end{bmatrix}"
    )
    assert (
        ledger_format.latex_value(np.ones((7, 7))) == r"\text{shape (7, 7): mean 1, min 1, max 1}"
    )


def test_ledger_max_grid_none_keeps_the_one_line_lists() -> None:
    ledger = ledger_2x3()
    assert "  dL/dW = [[2, 0.5, -1], [1, 1, 4]]" in ledger.table(max_grid=None)
    assert "- dL/dW = [[2, 0.5, -1], [1, 1, 4]]" in ledger.markdown(max_grid=None)
    assert "<br>" not in ledger.markdown(max_grid=None)


def test_grid_equations_put_fan_out_sums_side_by_side() -> None:
    w = cr.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=cr.float64, requires_grad=True)
    w.name = "W"
    with cr.viz.record():
        loss = (w * w + w).sum()
    text = cr.explain(loss, teaching=False).table()
    assert (
        "  dL/dW = [1  1] (#2) + [  1  -2] (#3) + [  1  -2] (#3) = [3  -3]  (fan-out: summed)\n"
        "          [1  1]        [0.5   3]        [0.5   3]        [2   7]\n"
    ) in text
    assert ledger_format.beside("a = ", "[1]\n[2]\n[3]", " + b") == "    [1]\na = [2] + b\n    [3]"
