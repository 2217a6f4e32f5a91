"""Opt-in recording of forward values, and local derivatives taken from each node's own rule.

A graph node does not keep its output (that would hold every activation alive and make reference
cycles). Inside `record()` every recorded node also gets a `Record`: copies of its inputs and
outputs, and, after a backward through it, the gradient that reached each output. Outside
`record()` nothing is stored and the engine pays nothing (one global check per recorded node).

Local derivatives (dy/dinput at the recorded point) come from the primitive's own backward with a
unit upstream gradient: on the live node while its saved values are still there, else on a fresh
node made by re-running the op's forward on the recorded inputs.

>>> import chainrule as cr
>>> a = cr.tensor(2.0, requires_grad=True)
>>> with cr.viz.record():
...     y = a * 3.0
>>> cr.viz.recorded(y.grad_fn).outputs[0].item()
6.0
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Set
from typing import Any

import numpy as np

from chainrule import engine
from chainrule.function import Node
from chainrule.modes import enable_grad, no_grad
from chainrule.modes import state as _modes  # this thread's switches (grad mode, anomaly, ...)
from chainrule.primitives.base import REGISTRY
from chainrule.tensor import Tensor

_counter = itertools.count()


class Record:
    """What `record()` keeps for one node: inputs, outputs, and the gradients that reached it.

    `args` holds forward's arguments with each Tensor replaced by a copy of its values;
    `constants` the Tensor arguments that carry no gradient (so a drawing can show them once);
    `grads[nr]` the gradient dL/d(output nr) of the latest backward through this node.
    """

    __slots__ = ("args", "constants", "grads", "index", "is_tensor", "outputs")

    def __init__(self, args: tuple, outputs: tuple) -> None:
        self.index = next(_counter)
        self.is_tensor = tuple(isinstance(a, Tensor) for a in args)
        self.args = tuple(a._data.copy() if isinstance(a, Tensor) else a for a in args)
        self.constants = tuple(
            a if isinstance(a, Tensor) and not a._requires_grad else None for a in args
        )
        self.outputs = tuple(t._data.copy() for t in outputs)
        self.grads: list[Any] = [None] * len(outputs)


class _GradCatcher:
    """A node pre-hook that keeps a copy of the gradient reaching one output."""

    __slots__ = ("nr", "record")

    def __init__(self, record: Record, nr: int) -> None:
        self.record, self.nr = record, nr

    def __call__(self, grad: Tensor) -> None:
        self.record.grads[self.nr] = grad._data.copy()


def _recorder(node: Node, args: tuple, outputs: list) -> None:
    rec = Record(args, tuple(outputs))
    node.__dict__["_recorded"] = rec
    for nr in range(len(outputs)):
        node.register_prehook(nr, _GradCatcher(rec, nr))


class record:
    """Keep forward values (and, after backward, gradients) of the operations run inside.

    Used as a context manager; restores the previous setting on exit, even on an exception.
    """

    def __enter__(self) -> record:
        self._previous = _modes.recorder
        _modes.recorder = _recorder
        return self

    def __exit__(self, *exc: object) -> None:
        _modes.recorder = self._previous


def trace(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run `fn(*args, **kwargs)` with recording on and return its result.

    >>> import chainrule as cr
    >>> a = cr.tensor(0.5, requires_grad=True)
    >>> y = cr.viz.trace(lambda t: cr.sigmoid(t * 2.0), a)
    >>> cr.viz.recorded(y.grad_fn) is not None
    True
    """
    with record():
        return fn(*args, **kwargs)


def recorded(node: Any) -> Record | None:
    """The Record of a node made inside `record()`, else None."""
    if type(node) is not Node:
        return None
    return node.__dict__.get("_recorded")


# -- local derivatives ---------------------------------------------------------------------------


class _ElementwiseNames(Set[str]):
    """Names of the registered primitives that declare `elementwise = True`, read live from the
    registry (a primitive defined later is in it too): their local derivative is one value per
    element, so the ledger shows it as a vector rather than a diagonal matrix."""

    def __contains__(self, name: object) -> bool:
        primitive = REGISTRY.get(name) if isinstance(name, str) else None
        return primitive is not None and primitive.elementwise

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, p in REGISTRY.items() if p.elementwise])

    def __len__(self) -> int:
        return sum(1 for p in REGISTRY.values() if p.elementwise)


ELEMENTWISE: Set[str] = _ElementwiseNames()


def replay(node: Node, args: tuple | None = None) -> Node | None:
    """A fresh node for `node`'s op, made by re-running its forward on the recorded inputs (or on
    `args`, arrays in the same places). None when the node was not recorded."""
    rec = recorded(node)
    if rec is None:
        return None
    values = rec.args if args is None else args
    inputs = []
    for i, (value, is_tensor) in enumerate(zip(values, rec.is_tensor, strict=True)):
        if is_tensor:
            need = i < len(node.needs_input_grad) and node.needs_input_grad[i]
            inputs.append(Tensor._make(np.array(value, copy=True), bool(need)))
        else:
            inputs.append(value)
    previous, _modes.recorder = _modes.recorder, None  # the replay itself is not drawn
    try:
        with enable_grad():
            out = node.fn.apply(*inputs)
    finally:
        _modes.recorder = previous
    for t in out if isinstance(out, tuple) else (out,):
        if t.grad_fn is not None:
            return t.grad_fn
    return None


def forward_values(node: Node, args: tuple) -> tuple[np.ndarray, ...]:
    """The op's outputs for arguments `args` (arrays where the recorded inputs were Tensors)."""
    rec = recorded(node)
    assert rec is not None
    inputs = [
        Tensor._make(np.asarray(v)) if is_t else v
        for v, is_t in zip(args, rec.is_tensor, strict=True)
    ]
    previous, _modes.recorder = _modes.recorder, None
    try:
        with no_grad():
            out = node.fn.apply(*inputs)
    finally:
        _modes.recorder = previous
    return tuple(t._data for t in (out if isinstance(out, tuple) else (out,)))


def usable(node: Node) -> Node | None:
    """The node itself while its saved values exist, else a replay from the record, else None."""
    if not node._freed:
        return node
    return replay(node)


def vjp(node: Node, grads: list[Any]) -> tuple[np.ndarray | None, ...] | None:
    """The op's backward for upstream `grads`: one gradient per input, in the input's shape
    (broadcasting undone, as the engine does). None when neither the node's saved values nor a
    record are available."""
    source = usable(node)
    if source is None:
        return None
    with no_grad():
        result = engine._call_backward(source, list(grads), False)
    out: list[np.ndarray | None] = []
    for i, g in enumerate(result):
        if g is None or source.next_edges[i] is None or source.input_meta[i] is None:
            out.append(None)
        else:
            out.append(np.asarray(engine._fit(g, source, i, engine._as_array)))
    return tuple(out)


def local_factors(
    node: Node, out_shape: tuple[int, ...], out_dtype: Any, max_jacobian: int = 64
) -> list[np.ndarray | None]:
    """dy/d(input i) at the recorded point, per input (None where there is no gradient or it is
    too large to show): the elementwise derivative for elementwise ops, else the Jacobian of shape
    y.shape + input.shape when it has at most `max_jacobian` entries."""
    n = len(node.next_edges)
    factors: list[np.ndarray | None] = [None] * n
    if node.n_outputs != 1:
        return factors
    try:
        out_size = math.prod(out_shape)
        jacobian_inputs = []
        for i, edge in enumerate(node.next_edges):
            if edge is None or node.input_meta[i] is None:
                continue
            in_shape = node.input_meta[i][0]
            if node.fn.__name__ in ELEMENTWISE and tuple(in_shape) == tuple(out_shape):
                result = vjp(node, [np.ones(out_shape, dtype=out_dtype)])
                if result is not None:
                    factors[i] = result[i]
            elif out_size * math.prod(in_shape) <= max_jacobian:
                jacobian_inputs.append(i)
        if jacobian_inputs:
            rows: dict[int, list[np.ndarray]] = {i: [] for i in jacobian_inputs}
            for k in range(out_size):
                unit = np.zeros(out_size, dtype=out_dtype)
                unit[k] = 1
                result = vjp(node, [unit.reshape(out_shape)])
                if result is None:
                    return factors
                for i in jacobian_inputs:
                    g = result[i]
                    rows[i].append(np.zeros(node.input_meta[i][0]) if g is None else g)
            for i in jacobian_inputs:
                in_shape = tuple(node.input_meta[i][0])
                factors[i] = np.stack(rows[i]).reshape(tuple(out_shape) + in_shape)
    except (RuntimeError, ValueError, TypeError):
        # saved values changed in place since, or a user Function whose backward cannot run
        # outside the engine: there is simply no local factor to show
        return [None] * n
    return factors
