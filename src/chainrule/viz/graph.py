"""Drawing the computational graph of a result as Graphviz DOT (rendered by `dot` when present).

Data flows down the page (rankdir TB), from the inputs to the result:

* op nodes (rounded blue boxes) show the value's name, the op, its shape and dtype, the forward
  value and, after backward, the gradient dL/dvalue;
* leaves that require grad are green ellipses, `nn.Parameter`s orange double-bordered ellipses,
  inputs that carry no gradient grey notes, the result (the loss) a bold red box;
* each edge into an op is labelled with the local derivative d(op's output)/d(that input) at the
  recorded point (a number for scalars, the elementwise derivative or the Jacobian for small
  tensors, the rule otherwise);
* a value used by several ops (fan-out: its gradient is the sum of what each use sends back) has
  orange edges and a `fan-out ×k: gradients summed` line.

Forward values of intermediate results exist only for graphs built inside `cr.viz.record()` (or
`cr.viz.trace`); leaves, constants and the result always show theirs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.tensor import Tensor
from chainrule.viz.format import format_value, shape_text
from chainrule.viz.recording import ELEMENTWISE, local_factors
from chainrule.viz.rules import partial_for
from chainrule.viz.walk import GraphWalk, Key, edge_key, node_key

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
            label = _quote(text, "\\l" if n.left else "\\n")
            lines.append(f"  {n.id} [label={label}" + _attrs(n.attrs, lead=", ") + "];")
        for e in self.edges:
            attrs = {"label": e.label, **e.attrs} if e.label else dict(e.attrs)
            lines.append(f"  {e.src} -> {e.dst}" + (f" [{_attrs(attrs)}]" if attrs else "") + ";")
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


def _quote(text: str, newline: str = "\\n") -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", newline)
    return '"' + escaped + '"'


def _attrs(attrs: Mapping[str, str], lead: str = "") -> str:
    return "".join(
        f"{lead if i == 0 else ', '}{k}={_quote(str(v))}" for i, (k, v) in enumerate(attrs.items())
    )


def draw(
    tensor: Tensor,
    *,
    show_values: bool = True,
    show_grads: bool = True,
    show_local: bool = True,
    names: Mapping[str, Tensor] | Any = None,
    max_elements: int = 6,
    rankdir: str = "TB",
) -> Graph:
    """The computational graph of `tensor` (see the module docstring for what is drawn).

    `names` maps names to tensors (leaves or intermediate results); a Module gives its named
    parameters. Leaves are otherwise named by `Tensor.name`.

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
    ids: dict[Key, str] = {}
    nodes: list[GraphNode] = []

    def line_items(key: Key, shape: tuple, dtype: Any) -> list[str]:
        lines = [f"{shape_text(tuple(shape))} {np.dtype(dtype).name}" if dtype else ""]
        value = walk.constants[key].value if key[0] == "const" else walk.values.get(key)
        if show_values and value is not None:
            lines.append(f"value {format_value(value, max_elements)}")
        grad = walk.grad(key) if key[0] != "const" else None
        if show_grads and grad is not None:
            lines.append(f"grad {format_value(grad, max_elements)}")
        k = walk.fanout(key)
        if k > 1 and key[0] != "const":
            lines.append(f"fan-out ×{k}: gradients summed")
        return [x for x in lines if x]

    for key, t in walk.leaves.items():
        kind = "param" if walk.is_parameter(key) else "leaf"
        ids[key] = f"n{len(ids)}"
        name = walk.names[key]
        title = f"{name} (parameter)" if kind == "param" else name
        label = "\n".join([title, *line_items(key, t.shape, t.dtype)])
        nodes.append(_node(ids[key], kind, name, None, label, walk, key, t.shape, t.dtype))
    for key, const in walk.constants.items():
        ids[key] = f"n{len(ids)}"
        value = np.asarray(const.value)
        title = const.name or "constant"
        label = "\n".join([title, *line_items(key, value.shape, value.dtype)])
        nodes.append(
            _node(ids[key], "const", const.name, None, label, walk, key, value.shape, value.dtype)
        )
    for node in walk.nodes:
        key = node_key(node, 0)
        ids[key] = f"n{len(ids)}"
        for nr in range(1, node.n_outputs):
            ids[node_key(node, nr)] = ids[key]
        shape, dtype = walk.meta.get(key, ((), None))
        lines = [f"{walk.names[key]} = {walk.call(node)}"]
        for nr in range(node.n_outputs):
            k = node_key(node, nr)
            s, d = walk.meta.get(k, ((), None))
            if node.n_outputs > 1:
                lines.append(f"output {nr}: {walk.names[k]}")
            lines.extend(line_items(k, s, d))
        if key == walk.root_key:
            lines.append("result (loss)")
        label = "\n".join(lines)
        nodes.append(_node(ids[key], "op", walk.names[key], node.fn.__name__, label, walk, key,
                           shape, dtype))  # fmt: skip
    edges = _edges(walk, ids, show_local, max_elements)
    return Graph(nodes, edges, rankdir)


def _node(
    id_: str,
    kind: str,
    name: str | None,
    op: str | None,
    label: str,
    walk: GraphWalk,
    key: Key,
    shape: Any,
    dtype: Any,
) -> GraphNode:
    attrs = dict(STYLES[kind])
    is_root = key == walk.root_key
    if is_root:
        attrs.update(STYLES["root"])
    fanout = walk.fanout(key) if kind != "const" else 0
    if fanout > 1:
        attrs["color"] = FANOUT_EDGE["color"]
        attrs["penwidth"] = attrs.get("penwidth", "1.8")
    return GraphNode(
        id=id_,
        kind=kind,
        name=name,
        op=op,
        label=label,
        shape=tuple(shape),
        dtype=np.dtype(dtype).name if dtype is not None else "",
        value=walk.constants[key].value if kind == "const" else walk.values.get(key),
        grad=walk.grad(key) if kind != "const" else None,
        is_root=is_root,
        fanout=fanout,
        attrs=attrs,
    )


def _edges(walk: GraphWalk, ids: dict[Key, str], show_local: bool, max_elements: int) -> list:
    edges: list[GraphEdge] = []
    for node in walk.nodes:
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
            label = ""
            if show_local:
                in_name = walk.label(key)
                local = factors[i]
                shown = local is not None and (
                    np.size(local) <= max_elements or node.fn.__name__ in ELEMENTWISE
                )  # a large Jacobian says less than its rule
                if shown:
                    label = f"∂{out_name}/∂{in_name} = {format_value(local, max_elements)}"
                else:
                    label = partial_for(node.fn, i)[0]
            fan = walk.fanout(key) > 1
            attrs = dict(FANOUT_EDGE) if fan else {}
            edges.append(GraphEdge(ids[key], dst, i, label, factors[i], fan, attrs))
    return edges
