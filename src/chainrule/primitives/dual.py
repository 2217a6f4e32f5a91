"""Math for backward formulas that works on raw arrays and on Tensors alike.

A primitive's backward runs on arrays during a first-order backward (no graph, no overhead) and on
Tensors under `create_graph=True` (recorded, so it can be differentiated again). Python operators,
`.reshape`, `.mT` and indexing already mean the same on both; the few operations whose spelling
differs between NumPy and Tensor live here, each dispatching on the type of its first argument.

The Tensor branches find their primitive in the registry by name when they run, so the
primitives can use this module without this module importing theirs (no import cycle).
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import namespace
from chainrule.primitives.base import primitive
from chainrule.tensor_base import (
    TensorBase as Tensor,  # the state of a tensor; its methods sit above
)


def _is_tensor(a: Any) -> bool:
    return isinstance(a, Tensor)


def sum(a: Any, axis: tuple[int, ...] | None, keepdims: bool = False) -> Any:

    if _is_tensor(a):
        return primitive("Sum").apply(a, axis, keepdims)
    return a.sum(axis=axis, keepdims=keepdims)


def expand(a: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast `a` to `shape` (a read-only view for arrays)."""

    if _is_tensor(a):
        return primitive("Expand").apply(a, shape)
    return namespace(a).broadcast_to(a, shape)


def sum_to(a: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast gradient back to `shape`: the one place broadcasting is undone."""
    if a.shape == shape:
        return a
    lead = len(a.shape) - len(shape)
    if lead < 0:
        return a
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and a.shape[i + lead] != 1
    )
    if axes:
        a = sum(a, axes, keepdims=True)
    return a.reshape(shape) if lead or a.shape != shape else a


def exp(a: Any) -> Any:

    return primitive("Exp").apply(a) if _is_tensor(a) else namespace(a).exp(a)


def log(a: Any) -> Any:

    if _is_tensor(a):
        return primitive("Log").apply(a)
    xp = namespace(a)
    with _quiet(xp):
        return xp.log(a)


def sin(a: Any) -> Any:

    return primitive("Sin").apply(a) if _is_tensor(a) else namespace(a).sin(a)


def cos(a: Any) -> Any:

    return primitive("Cos").apply(a) if _is_tensor(a) else namespace(a).cos(a)


def sigmoid(a: Any) -> Any:
    if _is_tensor(a):
        return primitive("Sigmoid").apply(a)
    return primitive("Sigmoid").forward(_NoSave(), a)


def log_softmax(a: Any, dim: int) -> Any:
    if _is_tensor(a):
        return primitive("LogSoftmax").apply(a, dim, 1.0)
    return primitive("LogSoftmax").forward(_NoSave(), a, dim, 1.0)


class _NoSave:
    """A stand-in ctx for calling a primitive's forward as plain array math: it has what
    `function.FunctionCtx` says a forward may call, and keeps nothing (what forward stores on it
    is dropped with it)."""

    needs_input_grad: tuple[bool, ...] = ()  # no input of plain array math needs a gradient

    def save_for_backward(self, *values: Any) -> None:
        pass

    def mark_non_differentiable(self, *outputs: Any) -> None:
        pass

    def set_materialize_grads(self, value: bool) -> None:
        pass


def sign(a: Any) -> Any:
    """sign(a) as a constant: its derivative is zero wherever it exists."""
    if _is_tensor(a):
        return Tensor._make(namespace(a._data).sign(a._data))
    return namespace(a).sign(a)


def where(condition: Any, a: Any, b: Any) -> Any:

    if _is_tensor(a) or _is_tensor(b):
        return primitive("Where").apply(condition, a, b)
    cond = condition._data if _is_tensor(condition) else condition
    return namespace(cond).where(cond, a, b)


def permute(a: Any, axes: tuple[int, ...]) -> Any:

    return primitive("Permute").apply(a, axes) if _is_tensor(a) else a.transpose(axes)


def index_add(g: Any, key: Any, shape: tuple[int, ...]) -> Any:
    """zeros(shape) with `g` added at `key` (repeated indices accumulate)."""

    if _is_tensor(g):
        return primitive("IndexAdd").apply(g, key, shape)
    return primitive("IndexAdd").forward(_NoSave(), g, key, shape)


def gather(a: Any, dim: int, index: Any) -> Any:

    if _is_tensor(a):
        return primitive("Gather").apply(a, dim, index)
    return primitive("Gather").forward(_NoSave(), a, dim, index)


def scatter_add(g: Any, dim: int, index: Any, shape: tuple[int, ...]) -> Any:
    """zeros(shape) with `g` added along `dim` at `index` (inverse of gather)."""

    if _is_tensor(g):
        return primitive("ScatterAdd").apply(g, dim, index, shape)
    return primitive("ScatterAdd").forward(_NoSave(), g, dim, index, shape)


def cast(a: Any, dtype: Any) -> Any:

    if _is_tensor(a):
        return primitive("Cast").apply(a, dtype)
    return a.astype(dtype, copy=False)


class _quiet:
    """Silence NumPy's divide/invalid warnings where inf or nan is the intended result."""

    def __init__(self, xp: Any) -> None:
        self._state = (
            xp.errstate(divide="ignore", invalid="ignore") if hasattr(xp, "errstate") else None
        )

    def __enter__(self) -> None:
        if self._state is not None:
            self._state.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._state is not None:
            self._state.__exit__(*exc)
