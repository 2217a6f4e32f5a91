"""Drawing the computational graph of a result as Graphviz DOT (rendered by `dot` when present).

Data flows down the page (rankdir TB), from the inputs to the result:

* op nodes (rounded blue boxes) show the value's name, the op, its shape and dtype, the forward
  value and, after backward, the gradient dL/dvalue;
* leaves that require grad are green ellipses, `nn.Parameter`s orange double-bordered ellipses,
  inputs that carry no gradient grey notes, the result (the loss) a bold red box;
* each edge into an op is labelled with the local derivative d(op's output)/d(that input) at the
  recorded point (a number for scalars, the elementwise derivative or the Jacobian for small
  tensors, the rule otherwise);
* matrices of at most `max_grid` (rows, columns) are drawn as grids of numbers (Graphviz
  HTML-like labels, one table per value, gradient or local derivative); larger tensors are
  summarised with their shape;
* a value used by several ops (fan-out: its gradient is the sum of what each use sends back) has
  orange edges and a `fan-out ×k: gradients summed` line.

The teaching view (`teaching=True`, the default for graphs of at most 40 boxes) draws the graph
as the course writes it: reshapes and expands that keep the values in their order, and sums of
one element, are hidden (their neighbours joined directly); every gradient is the one delivered
by the latest backward, not a leaf's accumulated `.grad`. `show_dtype=False` drops the dtype.

Forward values of intermediate results exist only for graphs built inside `cr.viz.record()` (or
`cr.viz.trace`); leaves, constants and the result always show theirs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.tensor import Tensor
from chainrule.viz.format import DEFAULT_GRID, MaxGrid, format_value, grid, shape_text
from chainrule.viz.graph_labels import (
    HeatMap,
    Line,
    dot_attrs,
    heat_caption,
    html_label,
    plain_label,
    quote,
)
from chainrule.viz.notation import Notation, named_term
from chainrule.viz.recording import ELEMENTWISE, local_factors
from chainrule.viz.walk import TEACHING_MAX_NODES, GraphWalk, Key, edge_key, node_key

STYLES: dict[str, dict[str, str]] = {
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#dbe9f6"},
    "leaf": {"shape": "ellipse", "style": "filled", "fillcolor": "#d4f0d4"},
    "param": {"shape": "ellipse", "style": "filled", "fillcolor": "#fde2bf", "peripheries": "2"},
    "const": {"shape": "note", "style": "filled", "fillcolor": "#eeeeee", "color": "#888888"},
    "root": {"color": "#c0392b", "penwidth": "2.5", "fillcolor": "#f9d2cd"},
}
FANOUT_EDGE = {"color": "#e67e22", "penwidth": "1.8"}


@dataclass
class GraphNode:
    """One box of the drawing. kind: 'op', 'leaf', 'param' or 'const'."""

    id: str
    kind: str
    name: str | None
    op: str | None
    label: str
    shape: tuple[int, ...] = ()
    dtype: str = ""
    value: Any = None
    grad: Any = None
    is_root: bool = False
    fanout: int = 0
    attrs: dict[str, str] = field(default_factory=dict)
    left: bool = False  # left-justified label lines (module views)
    html: str | None = None  # a Graphviz HTML-like label (grids), drawn instead of `label`


@dataclass
class GraphEdge:
    """An arrow from a value to the op that uses it as input number `input` (kind 'forward'),
    or, in module views, the gradient going back (kind 'backward')."""

    src: str
    dst: str
    input: int
    label: str = ""
    local: Any = None
    fanout: bool = False
    attrs: dict[str, str] = field(default_factory=dict)
    kind: str = "forward"
    html: str | None = None  # a Graphviz HTML-like label (a grid), drawn instead of `label`


class Graph:
    """A drawing: `.source` is the DOT text; `.nodes` / `.edges` the same, structured."""

    def __init__(self, nodes: list[GraphNode], edges: list[GraphEdge], rankdir: str = "TB"):
        self.nodes, self.edges, self.rankdir = nodes, edges, rankdir

    def node(self, name: str) -> GraphNode:
        """The node whose value is called `name` (or, failing that, whose op is `name`)."""
        for n in self.nodes:
            if n.name == name:
                return n
        for n in self.nodes:
            if n.op == name:
                return n
        raise KeyError(f"no node named {name!r}; names: {[n.name for n in self.nodes]}")

    def edges_into(self, node_id: str) -> list[GraphEdge]:
        return sorted((e for e in self.edges if e.dst == node_id), key=lambda e: e.input)

    @property
    def source(self) -> str:
        lines = [
            "digraph chainrule {",
            f'  graph [rankdir={self.rankdir}, fontname="Helvetica", nodesep=0.35];',
            '  node [fontname="Helvetica", fontsize=11];',
            '  edge [fontname="Helvetica", fontsize=9];',
        ]
        for n in self.nodes:
            text = n.label + "\n" if n.left else n.label  # a last \l justifies the last line
            label = f"<{n.html}>" if n.html else quote(text, "\\l" if n.left else "\\n")
            lines.append(f"  {n.id} [label={label}" + dot_attrs(n.attrs, lead=", ") + "];")
        for e in self.edges:
            if e.html:
                attrs = f"label=<{e.html}>" + dot_attrs(e.attrs, lead=", ")
                lines.append(f"  {e.src} -> {e.dst} [{attrs}];")
                continue
            attrs_ = {"label": e.label, **e.attrs} if e.label else dict(e.attrs)
            lines.append(
                f"  {e.src} -> {e.dst}" + (f" [{dot_attrs(attrs_)}]" if attrs_ else "") + ";"
            )
        lines.append("}")
        return "\n".join(lines) + "\n"

    def pipe(self, format: str = "svg") -> bytes:
        """The drawing rendered by Graphviz's `dot` (RuntimeError with advice if it is missing)."""
        dot = shutil.which("dot")
        if dot is None:
            raise RuntimeError(
                "rendering needs the Graphviz `dot` program, which is not on PATH: install "
                "Graphviz (apt-get install graphviz / brew install graphviz / conda install "
                "graphviz), or save the DOT text with render('graph.dot') and render it "
                "elsewhere (dot -Tsvg graph.dot -o graph.svg)"
            )
        done = subprocess.run(
            [dot, f"-T{format}"], input=self.source.encode(), capture_output=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def render(self, path: str | os.PathLike, format: str | None = None) -> str:
        """Write the drawing to `path`: DOT text for .dot/.gv (no Graphviz needed), else rendered
        by `dot` in `format` (default: the file's extension, e.g. svg or png)."""
        path = os.fspath(path)
        fmt = (format or os.path.splitext(path)[1].lstrip(".") or "svg").lower()
        if fmt in ("dot", "gv"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.source)
            return path
        data = self.pipe(fmt)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def _repr_svg_(self) -> str | None:
        if shutil.which("dot") is None:
            return None  # the notebook falls back to the text repr
        return self.pipe("svg").decode("utf-8")

    def __repr__(self) -> str:
        return f"<Graph: {len(self.nodes)} nodes, {len(self.edges)} edges; .source for DOT>"


def draw(
    tensor: Tensor,
    *,
    show_values: bool = True,
    show_grads: bool = True,
    show_local: bool = True,
    names: Mapping[str, Tensor] | Any = None,
    max_elements: int = 6,
    rankdir: str = "TB",
    max_grid: MaxGrid = DEFAULT_GRID,
    teaching: bool | None = None,
    show_dtype: bool = True,
    heatmaps: bool = True,
) -> Graph:
    """The computational graph of `tensor` (see the module docstring for what is drawn).

    `names` maps names to tensors (leaves or intermediate results); a Module gives its named
    parameters. Leaves are otherwise named by `Tensor.name`. Matrices of at most `max_grid`
    (rows, columns) are drawn as grids of numbers, larger ones summarised with their shape;
    `max_grid=None` writes every tensor of at most `max_elements` entries on one line instead.
    `teaching` (default: on for at most TEACHING_MAX_NODES boxes) hides order-keeping reshapes and
    one-element sums and shows this backward's gradients; `show_dtype=False` hides dtypes.
    A tensor too large for a grid (or for `max_elements`) is drawn as a heat-map thumbnail with
    its shape and range (`heatmaps=False`: a summary line instead; `max_grid=None` too).

    >>> import chainrule as cr
    >>> a = cr.tensor(2.0, requires_grad=True); a.name = "a"
    >>> with cr.viz.record():
    ...     y = cr.sigmoid(a * a)
    >>> g = cr.viz.draw(y)
    >>> sorted(n.op or n.name for n in g.nodes)
    ['Mul', 'Sigmoid', 'a']
    >>> g.node("a").fanout
    2
    """
    if rankdir not in ("TB", "BT", "LR", "RL"):
        raise ValueError(f"draw: rankdir must be TB, BT, LR or RL, got {rankdir!r}")
    if names is not None and not isinstance(names, Mapping):
        if hasattr(names, "named_parameters"):
            names = dict(names.named_parameters())
        else:
            raise TypeError(f"draw: names must be a mapping or a Module, got {type(names)}")
    walk = GraphWalk(tensor, names)
    if teaching is None:
        teaching = walk.boxes() <= TEACHING_MAX_NODES
    if teaching:
        walk.teach()
    hidden = walk.passthrough() if teaching else {}
    for key, source in hidden.items():  # the hidden value is the one it hands on
        walk.names[key] = walk.names[source]
    grads: dict[Key, Any] = {}

    def grad_of(key: Key) -> Any:
        """The gradient shown for a value (computed once: a leaf's may run its consumers' rules)."""
        if key not in grads:
            grads[key] = walk.delivered_grad(key) if teaching else walk.grad(key)
        return grads[key]

    def fanout(key: Key) -> int:
        """Uses of a value, counting those of the hidden values it passes on to."""
        if not hidden:
            return walk.fanout(key)
        passed_on = [key, *(k for k, source in hidden.items() if source == key)]
        uses = [
            use
            for k in passed_on
            for use in walk.consumers.get(k, ())
            if node_key(use[0], 0) not in hidden
        ]
        return len(uses)

    ids: dict[Key, str] = {}
    nodes: list[GraphNode] = []

    def shown(caption: str, value: Any) -> Line:
        cells = grid(value, max_grid)
        if cells is not None:
            return caption, cells
        text = format_value(value, max_elements, max_grid=max_grid)
        if heatmaps and max_grid is not None and text.startswith("shape "):
            heat = HeatMap.of(value)  # too large for a grid: a thumbnail, shape and range
            if heat is not None:
                return heat_caption(caption, value), heat
        return f"{caption} {text}", None

    def line_items(key: Key, shape: tuple, dtype: Any) -> list[Line]:
        lines: list[Line] = []
        if dtype and show_dtype:
            lines.append((f"{shape_text(tuple(shape))} {np.dtype(dtype).name}", None))
        value = walk.constants[key].value if key[0] == "const" else walk.values.get(key)
        if show_values and value is not None:
            lines.append(shown("value", value))
        grad = grad_of(key) if key[0] != "const" else None
        if show_grads and grad is not None:
            lines.append(shown("grad", grad))
        k = fanout(key)
        if k > 1 and key[0] != "const":
            lines.append((f"fan-out ×{k}: gradients summed", None))
        return lines

    for key, t in walk.leaves.items():
        kind = "param" if walk.is_parameter(key) else "leaf"
        ids[key] = f"n{len(ids)}"
        name = walk.names[key]
        title = f"{name} (parameter)" if kind == "param" else name
        lines = [(title, None), *line_items(key, t.shape, t.dtype)]
        nodes.append(
            _node(ids[key], kind, name, None, lines, walk, key, t.shape, t.dtype, grad_of, fanout)
        )
    for key, const in walk.constants.items():
        ids[key] = f"n{len(ids)}"
        value = np.asarray(const.value)
        title = const.name or "constant"
        lines = [(title, None), *line_items(key, value.shape, value.dtype)]
        nodes.append(
            _node(ids[key], "const", const.name, None, lines, walk, key, value.shape, value.dtype,
                  grad_of, fanout)
        )  # fmt: skip
    for node in walk.nodes:
        key = node_key(node, 0)
        if key in hidden:
            continue
        ids[key] = f"n{len(ids)}"
        for nr in range(1, node.n_outputs):
            ids[node_key(node, nr)] = ids[key]
        shape, dtype = walk.meta.get(key, ((), None))
        lines = [(f"{walk.names[key]} = {walk.call(node)}", None)]
        for nr in range(node.n_outputs):
            k = node_key(node, nr)
            s, d = walk.meta.get(k, ((), None))
            if node.n_outputs > 1:
                lines.append((f"output {nr}: {walk.names[k]}", None))
            lines.extend(line_items(k, s, d))
        if key == walk.root_key:
            lines.append(("result (loss)", None))
        nodes.append(_node(ids[key], "op", walk.names[key], node.fn.__name__, lines, walk, key,
                           shape, dtype, grad_of, fanout))  # fmt: skip
    for key, source in hidden.items():  # arrows from a hidden value start at what it hands on
        ids[key] = ids[source]
    edges = _edges(walk, ids, show_local, max_elements, max_grid, hidden, fanout)
    return Graph(nodes, edges, rankdir)


def _node(
    id_: str,
    kind: str,
    name: str | None,
    op: str | None,
    lines: list[Line],
    walk: GraphWalk,
    key: Key,
    shape: Any,
    dtype: Any,
    grad_of: Callable[[Key], Any],
    fanout_of: Callable[[Key], int],
) -> GraphNode:
    attrs = dict(STYLES[kind])
    is_root = key == walk.root_key
    if is_root:
        attrs.update(STYLES["root"])
    fanout = fanout_of(key) if kind != "const" else 0
    if fanout > 1:
        attrs["color"] = FANOUT_EDGE["color"]
        attrs["penwidth"] = attrs.get("penwidth", "1.8")
    return GraphNode(
        id=id_,
        kind=kind,
        name=name,
        op=op,
        label=plain_label(lines),
        shape=tuple(shape),
        dtype=np.dtype(dtype).name if dtype is not None else "",
        value=walk.constants[key].value if kind == "const" else walk.values.get(key),
        grad=grad_of(key) if kind != "const" else None,
        is_root=is_root,
        fanout=fanout,
        attrs=attrs,
        html=html_label(lines),
    )


def _edges(
    walk: GraphWalk,
    ids: dict[Key, str],
    show_local: bool,
    max_elements: int,
    max_grid: MaxGrid,
    hidden: Mapping[Key, Key],
    fanout_of: Callable[[Key], int],
) -> list:
    edges: list[GraphEdge] = []
    notation = Notation(walk.names[walk.root_key], course=walk.targets)  # course: teaching
    for node in walk.nodes:
        if node_key(node, 0) in hidden:
            continue
        dst = ids[node_key(node, 0)]
        out_name = walk.names[node_key(node, 0)]
        factors: list[Any] = [None] * len(node.next_edges)
        if show_local:
            shape, dtype = walk.meta.get(node_key(node, 0), ((), np.float64))
            factors = local_factors(node, tuple(shape), dtype, max_jacobian=max(36, max_elements))
        for i, edge in enumerate(node.next_edges):
            if edge is None:
                const_key = walk.const_inputs.get((id(node), i))
                if const_key is not None:
                    edges.append(GraphEdge(ids[const_key], dst, i, attrs={"style": "dashed"}))
                continue
            key = edge_key(edge)
            label, html_text = "", None
            if show_local:
                in_name = walk.label(key)
                local = factors[i]
                cells = grid(local, max_grid)
                shown = local is not None and (
                    np.size(local) <= max_elements or node.fn.__name__ in ELEMENTWISE
                )  # a large Jacobian says less than its rule
                caption = f"∂{out_name}/∂{in_name} ="
                if cells is not None:
                    label, html_text = (
                        plain_label([(caption, cells)]),
                        html_label([(caption, cells)]),
                    )
                elif shown:
                    label = f"{caption} {format_value(local, max_elements, max_grid=max_grid)}"
                else:  # the rule, with the operands' names: grad_W2 = grad_o z^T
                    named = named_term(walk, node, i, notation)
                    label = named.partial or named.gradient
            fan = fanout_of(hidden.get(key, key)) > 1
            attrs = dict(FANOUT_EDGE) if fan else {}
            edges.append(GraphEdge(ids[key], dst, i, label, factors[i], fan, attrs, html=html_text))
    return edges
