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
from chainrule.viz.format import DEFAULT_GRID, MaxGrid
from chainrule.viz.ledger_rows import LedgerRows, Row, Term, Total
from chainrule.viz.recording import local_factors, vjp
from chainrule.viz.rules import partial_for, rule_for
from chainrule.viz.walk import GraphWalk, Key, edge_key, node_key


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
) -> Ledger:
    """The backward ledger of `loss` (see the module docstring).

    Forward values of intermediate results appear when the graph was built inside
    `cr.viz.record()`; gradients and local derivatives appear either way. `names` maps names to
    tensors (a Module gives its parameters); `gradient` is dL/dloss for a non-scalar loss.
    Call it before `loss.backward()` (or after `backward(retain_graph=True)`): it needs the graph.
    """
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
    rows, parts = _rows(walk, order, upstream, max_jacobian)
    totals = [
        Total(walk.names[key], parts.get(key, []), gradients[walk.names[key]], True)
        for key in walk.leaves
    ]
    # the root's value is always known; intermediate ones only when recorded
    recorded = all(walk.values.get(node_key(n, 0)) is not None for n in walk.nodes[:-1])
    return Ledger(walk.names[walk.root_key], loss._data, rows, totals, gradients, recorded)


def _rows(walk: GraphWalk, order: list[Node], upstream: dict, max_jacobian: int) -> tuple:
    parts: dict[Key, list[tuple[int, Any]]] = {}
    rows: list[Row] = []
    for step, node in enumerate(order, start=1):
        grads = upstream[node]
        key = node_key(node, 0)
        shape, dtype = walk.meta.get(key, (np.shape(grads[0]), np.asarray(grads[0]).dtype))
        contributions = vjp(node, grads) or (None,) * len(node.next_edges)
        factors = local_factors(node, tuple(shape), dtype, max_jacobian)
        rule = rule_for(node.fn)
        row = Row(
            step=step,
            output=walk.names[key],
            call=walk.call(node),
            op=node.fn.__name__,
            words=rule.words,
            value=walk.values.get(key),
            upstream=grads[0] if node.n_outputs == 1 else grads,
            forward=rule.forward,
            upstream_parts=parts.get(key, []) if walk.fanout(key) > 1 else [],
        )
        for i, edge in enumerate(node.next_edges):
            if edge is None:
                continue
            in_key = edge_key(edge)
            text, latex = partial_for(node.fn, i)
            g = contributions[i]
            row.terms.append(
                Term(
                    walk.label(in_key), in_key, text, latex, walk.values.get(in_key), factors[i], g
                )
            )
            if g is not None:
                parts.setdefault(in_key, []).append((step, g))
        rows.append(row)
    return rows, parts
