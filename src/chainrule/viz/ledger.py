"""The backward ledger: backpropagation written out node by node, as one would by hand.

`explain(loss)` runs backward (through `autograd.grad` with `retain_graph=True`, so the graph and
the leaves' `.grad` are left as they were) while watching every node through pre-hooks. For each
node, in the order the engine visits it, the ledger holds the op and its local rule, the upstream
gradient dL/dy that reached it, the local derivative dy/dinput at the recorded point, and the
gradient dL/dinput it sends to each input; where a value feeds several ops (fan-out) the ledger
shows the sum of what each use sent back.

>>> import chainrule as cr
>>> a = cr.tensor(2.0, requires_grad=True); a.name = "a"
>>> with cr.viz.record():
...     y = cr.sigmoid(a * a)
>>> ledger = cr.explain(y)
>>> [row.call for row in ledger.rows]
['Sigmoid(v1)', 'Mul(a, a)']
>>> round(ledger.gradients["a"].item(), 6) == round(4 * 0.017662706, 6)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule.autograd.grad import grad as autograd_grad
from chainrule.function import Node
from chainrule.tensor import Tensor
from chainrule.viz import ledger_format
from chainrule.viz.factors import factors_of
from chainrule.viz.format import DEFAULT_GRID, MaxGrid
from chainrule.viz.ledger_rows import LedgerRows, Row, Term, Total
from chainrule.viz.notation import (
    Notation,
    Superscript,
    first_is_vector,
    forward_text,
    node_names,
    term_text,
)
from chainrule.viz.recording import local_factors, recorded, vjp
from chainrule.viz.rules import input_names, partial_for, rule_for
from chainrule.viz.walk import TEACHING_MAX_NODES, GraphWalk, Key, edge_key, node_key


class Ledger(LedgerRows):
    """The rows of a backward pass, the leaves' gradients, and their renderings.

    `table()` for a terminal, `markdown()`, `latex()`; `str(ledger)` is the table and notebooks
    show the Markdown.
    """

    def table(self, max_elements: int = 6, max_grid: MaxGrid = DEFAULT_GRID) -> str:
        return ledger_format.table(self, max_elements, max_grid)

    def markdown(self, max_elements: int = 6, max_grid: MaxGrid = DEFAULT_GRID) -> str:
        return ledger_format.markdown(self, max_elements, max_grid)

    def latex(self, max_elements: int = 6, max_grid: MaxGrid = DEFAULT_GRID) -> str:
        return ledger_format.latex(self, max_elements, max_grid)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<Ledger for {self.root}: {len(self.rows)} rows; print it or .markdown()>"

    def _repr_markdown_(self) -> str:
        return self.markdown()


class _Visit:
    """A pre-hook that notes when the engine reaches a node, and the gradient it brings."""

    __slots__ = ("node", "nr", "order", "upstream")

    def __init__(self, order: list, upstream: dict, node: Node, nr: int) -> None:
        self.order, self.upstream, self.node, self.nr = order, upstream, node, nr

    def __call__(self, g: Tensor) -> None:
        grads = self.upstream.get(self.node)
        if grads is None:
            grads = self.upstream[self.node] = [None] * self.node.n_outputs
            self.order.append(self.node)
        grads[self.nr] = g._data.copy()


def explain(
    loss: Tensor,
    names: Mapping[str, Tensor] | Any = None,
    gradient: Any = None,
    max_jacobian: int = 36,
    *,
    teaching: bool | None = None,
    mode: str = "ledger",
    superscript: Superscript = "W_1",
) -> Any:
    """The backward ledger of `loss` (see the module docstring).

    Forward values of intermediate results appear when the graph was built inside
    `cr.viz.record()`; gradients and local derivatives appear either way. `names` maps names to
    tensors (a Module gives its parameters); `gradient` is dL/dloss for a non-scalar loss (the
    rows then hold dL/d..., not d(loss)/d...). Each rule is written with the operands' names, as
    the course writes it (`grad_W2 = grad_o z^T`), its local partial and the resulting gradient
    in separate columns.

    `teaching` (default: on for graphs of at most `TEACHING_MAX_NODES` boxes, the size of a graph
    written out by hand) hides reshapes and one-element sums that keep values in order, and
    default options, and lists each node's parameters before the value the chain continues
    through (the course's order: grad_W2, grad_b2, then grad_z).

    `superscript` writes layer numbers in LaTeX as W_{2} ("W_1") or, as the seeds do, W^{(2)}
    ("W^{(1)}").

    `mode="factors"` returns `Factors` instead: each leaf's gradient as the product of its chain
    of local Jacobians (`chainrule.viz.factors`).
    Call it before `loss.backward()` (or after `backward(retain_graph=True)`): it needs the graph.
    """
    if mode not in ("ledger", "factors"):
        raise ValueError(f"explain: mode must be 'ledger' or 'factors', got {mode!r}")
    if not isinstance(loss, Tensor):
        raise TypeError(f"explain: expected a Tensor, got {type(loss).__name__}")
    if loss.grad_fn is None:
        raise ValueError(
            "explain: the tensor has no graph (it is a leaf or was computed without grad); "
            "compute it from tensors with requires_grad=True"
        )
    if names is not None and not isinstance(names, Mapping) and hasattr(names, "named_parameters"):
        names = dict(names.named_parameters())
    walk = GraphWalk(loss, names)
    if teaching is None:
        teaching = walk.boxes() <= TEACHING_MAX_NODES
    if teaching:
        walk.teach()
    hidden = walk.passthrough() if teaching else {}
    for key, source in hidden.items():  # a hidden value is called by the one it hands on
        walk.names[key] = walk.names[source]
    order: list[Node] = []
    upstream: dict[Node, list] = {}
    hooks = []
    # retain_grad() hooks would store this replay's gradients into .grad: set them aside
    retained = [
        (node, nr, hook)
        for node in walk.nodes
        for nr, node_hooks in (node.pre_hooks or {}).items()
        for hook in node_hooks
        if getattr(hook, "retains_grad", False)
    ]
    for node, nr, hook in retained:
        table = node.pre_hooks
        assert table is not None  # `retained` was read from it
        table[nr].remove(hook)
    for node in walk.nodes:
        for nr in range(node.n_outputs):
            hook = _Visit(order, upstream, node, nr)
            node.register_prehook(nr, hook)
            hooks.append((node, nr, hook))
    leaves = list(walk.leaves.values())
    try:
        results = autograd_grad(loss, leaves, gradient, retain_graph=True, allow_unused=True)
    except RuntimeError as error:
        if "second time" in str(error):
            raise RuntimeError(
                "explain: this graph was freed by an earlier backward; call cr.explain(loss) "
                "before loss.backward(), or use loss.backward(retain_graph=True)"
            ) from None
        raise
    finally:  # leave the nodes as they were: an empty hook table would still cost the engine
        for node, nr, hook in hooks:
            table = node.pre_hooks
            assert table is not None  # register_prehook made it
            table[nr].remove(hook)
            if not table[nr]:
                del table[nr]
            if not table:
                node.pre_hooks = None
        for node, nr, hook in retained:
            node.register_prehook(nr, hook)
    gradients = {
        walk.names[key]: (None if g is None else g._data)
        for key, g in zip(walk.leaves, results, strict=True)
    }
    root = walk.names[walk.root_key]
    # given dL/droot, the rows hold gradients of L (the loss behind the root), not of the root
    wrt = "L" if gradient is not None else root
    # grad_W2 in the teaching view, else dL/dW2
    notation = Notation(wrt, course=teaching, superscript=superscript)
    if mode == "factors":
        return factors_of(walk, order, upstream, gradients, notation, hidden, max_jacobian)
    rows, parts = _rows(walk, order, upstream, max_jacobian, notation, hidden, gradient is None)
    totals = [
        Total(walk.names[key], parts.get(key, []), gradients[walk.names[key]], True)
        for key in walk.leaves
    ]
    # the root's value is always known; intermediate ones only when recorded
    recorded = all(walk.values.get(node_key(n, 0)) is not None for n in walk.nodes[:-1])
    ledger = Ledger(root, loss._data, rows, totals, gradients, recorded, wrt, teaching)
    ledger.superscript = superscript
    return ledger


def _rows(
    walk: GraphWalk,
    order: list[Node],
    upstream: dict,
    max_jacobian: int,
    notation: Notation,
    hidden: Mapping[Key, Key],
    unit_root: bool,
) -> tuple:
    parts: dict[Key, list[tuple[int, Any]]] = {}
    rows: list[Row] = []
    step = 0
    for node in order:
        key = node_key(node, 0)
        if key in hidden:
            continue
        step += 1
        rows.append(_row(walk, node, step, upstream, max_jacobian, notation, hidden, unit_root))
        if walk.fanout(key) > 1:
            rows[-1].upstream_parts = parts.get(key, [])
        for term in rows[-1].terms:
            if term.gradient is not None:
                parts.setdefault(term.key, []).append((step, term.gradient))
    return rows, parts


def _row(
    walk: GraphWalk,
    node: Node,
    step: int,
    upstream: dict,
    max_jacobian: int,
    notation: Notation,
    hidden: Mapping[Key, Key],
    unit_root: bool,
) -> Row:
    grads = upstream[node]
    key = node_key(node, 0)
    shape, dtype = walk.meta.get(key, (np.shape(grads[0]), np.asarray(grads[0]).dtype))
    contributions = vjp(node, grads) or (None,) * len(node.next_edges)
    factors = local_factors(node, tuple(shape), dtype, max_jacobian)
    rule = rule_for(node.fn)
    args = input_names(node.fn)
    arg_names = node_names(walk, node)
    rec = recorded(node)
    vector = first_is_vector(node)  # one sample: the course's column-vector form
    out = walk.names[key]
    formula, formula_latex = forward_text(
        node.fn, arg_names, out, vector=vector, superscript=notation.superscript
    )
    row = Row(
        step=step,
        output=out,
        call=walk.call(node),
        op=node.fn.__name__,
        words=rule.words,
        value=walk.values.get(key),
        upstream=grads[0] if node.n_outputs == 1 else grads,
        forward=rule.forward,
        upstream_parts=[],
        formula=formula,
        formula_latex=formula_latex,
        inputs={} if rec is None else dict(zip(args, rec.args, strict=False)),
    )
    scalar = int(np.prod(shape)) == 1
    unit = unit_root and key == walk.root_key
    for i, edge in enumerate(node.next_edges):
        if edge is None:
            continue
        in_key = edge_key(edge)
        in_key = hidden.get(in_key, in_key)
        text, latex = partial_for(node.fn, i)
        g = contributions[i]
        in_shape = walk.meta.get(in_key, (None,))[0]
        if g is not None and in_shape is not None and np.size(g) == int(np.prod(in_shape)):
            g = np.reshape(g, in_shape)  # a hidden reshape's gradient, in its source's shape
        named = term_text(
            node.fn, i, arg_names, out, notation, vector=vector, scalar=scalar, unit_upstream=unit
        )
        term = Term(walk.label(in_key), in_key, text, latex, walk.values.get(in_key), factors[i], g)
        term.arg = args[min(i, len(args) - 1)] if args else f"x{i}"
        term.partial, term.partial_latex = named.partial, named.partial_latex
        term.gradient_formula, term.gradient_latex = named.gradient, named.gradient_latex
        row.terms.append(term)
    if walk.targets:  # teaching: the course's order, parameters, then where the chain goes on
        row.terms.sort(key=lambda t: t.key[0] != "leaf")
    return row
