"""Which primitive is wrong? Every node's backward against central differences of its own forward.

A whole-function gradient check says *that* a gradient is wrong; this says *where*. The function
runs once with recording on; then, for each node in forward order and each input that needs a
gradient, the node's backward applied to a random upstream gradient u is compared with
d(u . forward(inputs))/d(input) by central differences, at the recorded input values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.autograd.finite_differences import Differences, central_differences
from chainrule.autograd.gradcheck import GradcheckError
from chainrule.autograd.gradcheck import gradcheck as _gradcheck
from chainrule.modes import enable_grad
from chainrule.tensor import Tensor
from chainrule.viz.format import format_value, number
from chainrule.viz.recording import forward_values, record, recorded, vjp
from chainrule.viz.walk import GraphWalk, node_key


@dataclass
class NodeCheck:
    """One (node, input) pair: backward's vector-Jacobian product against finite differences."""

    step: int
    node: str
    op: str
    input: str
    ok: bool
    max_error: float
    backward: np.ndarray
    numerical: np.ndarray
    skipped: str | None = None  # why it was not compared: the forward is not differentiable


class NodeReport:
    """`.ok`, `.checks` (forward order), `.first_failure`, and `str(report)`."""

    def __init__(self, checks: list[NodeCheck], nodes: int) -> None:
        self.checks, self.nodes = checks, nodes
        failures = [c for c in checks if not c.ok]
        self.skipped = [c for c in checks if c.skipped is not None]
        self.first_failure: NodeCheck | None = failures[0] if failures else None
        self.failures = failures
        self.ok = not failures

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = f"per-node check: {self.nodes} nodes, {len(self.checks)} (node, input) pairs"
        if self.skipped:
            head += f" ({len(self.skipped)} skipped where the forward is not differentiable"
            head += f", e.g. {self.skipped[0].op}: {self.skipped[0].skipped})"
        c = self.first_failure
        if c is None:
            return head + ": every backward agrees with finite differences of its forward"
        lines = [
            head + f", {len(self.failures)} disagree",
            f"first disagreement (node {c.step} in forward order): {c.node}",
            f"  {c.op}.backward's gradient for its input {c.input} does not match central "
            f"differences of {c.op}.forward at the recorded inputs:",
            f"  backward gives            {format_value(c.backward)}",
            f"  finite differences give   {format_value(c.numerical)}",
            f"  (max |error| {number(c.max_error)}; the upstream gradient was random)",
        ]
        others = sorted({f.op for f in self.failures[1:] if f.op != c.op})
        if others:
            lines.append(f"  other ops that disagree: {', '.join(others)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<NodeReport ok={self.ok}: {len(self.checks)} checks>"


def per_node(
    fn: Callable[..., Any],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> NodeReport:
    """Check each primitive's backward separately (see the module docstring). Use float64.

    >>> import chainrule as cr
    >>> x = cr.tensor([0.5, -1.0], dtype=cr.float64, requires_grad=True)
    >>> cr.check.per_node(lambda x: (cr.sigmoid(x) * x).sum(), (x,)).ok
    True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise TypeError(
                f"check.per_node: input {i} is {t.dtype}; finite differences need float64 "
                "inputs (use .double())"
            )
    # at a point where a primitive is not differentiable, its arithmetic overflows or divides
    # by zero: the check reports that point, so NumPy's warnings would only repeat it as noise
    with np.errstate(all="ignore"):
        with record(), enable_grad():
            out = fn(*inputs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        rng = np.random.default_rng(seed)
        checks: list[NodeCheck] = []
        count = 0
        seen: set[int] = set()
        for o in outs:
            if not isinstance(o, Tensor) or o.grad_fn is None:
                continue
            walk = GraphWalk(o)
            for node in walk.nodes:
                if id(node) in seen:
                    continue
                seen.add(id(node))
                count += 1
                checks += _check_node(node, walk, len(seen), rng, eps, atol, rtol)
    return NodeReport(checks, count)


def _check_node(
    node: Any,
    walk: GraphWalk,
    step: int,
    rng: np.random.Generator,
    eps: float,
    atol: float,
    rtol: float,
) -> list[NodeCheck]:
    rec = recorded(node)
    if rec is None:
        return []
    u = [rng.standard_normal(np.shape(y)).astype(y.dtype) for y in rec.outputs]
    analytic = vjp(node, u)
    if analytic is None:
        return []
    out = []
    for i, edge in enumerate(node.next_edges):
        if edge is None or analytic[i] is None or not rec.is_tensor[i]:
            continue
        differences = _numerical(node, rec, i, u, eps)
        numerical = differences.numerical
        a = np.asarray(analytic[i], dtype=np.float64)
        bad = ~(np.abs(a - numerical) <= atol + rtol * np.abs(numerical))
        error = float(np.max(np.abs(a - numerical), initial=0.0))
        label = walk.input_label(node, i) or str(i)
        skipped = None
        if differences.problem is not None:
            k, why = differences.problem
            skipped = f"not differentiable at {_entry(label, rec.args[i], k)} ({why})"
        elif not np.isfinite(a).all():
            skipped = f"backward is not finite at {format_value(rec.args[i])} (its input {label})"
        out.append(
            NodeCheck(
                step,
                f"{walk.names[node_key(node, 0)]} = {walk.call(node)}",
                node.fn.__name__,
                label,
                skipped is not None or not bad.any(),
                error,
                a,
                numerical,
                skipped,
            )
        )
    return out


def _numerical(node: Any, rec: Any, i: int, u: list[np.ndarray], eps: float) -> Differences:
    """d(u . forward)/d(input i) by central differences at the recorded inputs, and whether the
    forward is differentiable there."""
    dtype = np.asarray(rec.args[i]).dtype

    def projected(x: np.ndarray) -> float:
        args = list(rec.args)
        args[i] = x
        ys = forward_values(node, tuple(args))
        return _dot(ys, u)

    f0 = _dot(rec.outputs, u)
    return central_differences(projected, rec.args[i], np.float64(f0), eps, dtype)


def _dot(ys: Any, u: list[np.ndarray]) -> float:
    return sum(float(np.sum(np.asarray(y, np.float64) * g)) for y, g in zip(ys, u, strict=True))


def _entry(label: str, value: Any, k: int) -> str:
    """'x=0' or 'x[1]=0': the k-th (flat) entry of an input."""
    v = np.asarray(value)
    if v.ndim == 0:
        return f"{label}={number(float(v), 6)}"
    index = np.unravel_index(k, v.shape)
    return f"{label}[{', '.join(map(str, index))}]={number(float(v[index]), 6)}"


def gradcheck(fn: Callable[..., Any], inputs: Any, **kwargs: Any) -> bool:
    """`cr.autograd.gradcheck`, whose failure message also names the first wrong primitive.

    >>> import chainrule as cr
    >>> x = cr.tensor([0.5, 2.0], dtype=cr.float64, requires_grad=True)
    >>> cr.check.gradcheck(lambda x: (x * x).exp().sum(), (x,))
    True
    """
    try:
        return _gradcheck(fn, inputs, **kwargs)
    except GradcheckError as error:
        report = per_node(fn, inputs)
        raise GradcheckError(f"{error}\n{report}") from None
