"""Tensor's in-place operations (`add_`, `+=`, `x[i] = v`, `copy_`, ...), with version counters.

They write into the tensor's memory and bump its version counter. When the graph records, the
operation runs out of place on a snapshot and the result is written back, re-basing the tensor's
history onto the new node (PyTorch's semantics); any node that saved the old value then refuses
to run backward with it.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from chainrule import backend, errors, modes, ops
from chainrule.modes import state as _modes  # this thread's switches (grad mode, anomaly, ...)
from chainrule.ops.promotion import result_type as promote_dtype
from chainrule.primitives import binary
from chainrule.tensor_base import TensorBase, TensorLike, TensorT
from chainrule.tensor_methods import TensorMethods  # the operators addcmul_/addcdiv_ use


class InPlaceMethods(TensorBase):
    """In-place operations with version counters (see chainrule.tensor.Tensor)."""

    __slots__ = ()

    def __setitem__(self, key: Any, value: TensorLike) -> None:
        if _records(self, value):
            _rebase(self, ops.IndexPut, ops._key(key, self.shape), ops._operand(value))
            return
        _check_writable(self, "setitem")
        data = value._data if isinstance(value, TensorBase) else value
        try:
            self._data[ops._key(key, self.shape)] = data
        except (ValueError, IndexError) as error:  # a ValueError (shapes) is torch's RuntimeError
            kind = errors.dual(type(error))
            raise kind(f"setitem: {error} (tensor of shape {tuple(self.shape)})") from None
        self._vc[0] += 1

    def add_(self, other: TensorLike, alpha: float = 1) -> Self:
        # `other * alpha` is a tensor's operator or a number's (TensorBase, all the checker
        # knows of a tensor here, has none; a list times alpha fails, as it always has)
        other = other if alpha == 1 else other * alpha  # type: ignore[operator]
        return _inplace(self, ops.Add, np.add, other)

    def sub_(self, other: TensorLike, alpha: float = 1) -> Self:
        # `other * alpha` is a tensor's operator or a number's (TensorBase, all the checker
        # knows of a tensor here, has none; a list times alpha fails, as it always has)
        other = other if alpha == 1 else other * alpha  # type: ignore[operator]
        return _inplace(self, ops.Sub, np.subtract, other)

    def mul_(self, other: TensorLike) -> Self:
        return _inplace(self, ops.Mul, np.multiply, other)

    def div_(self, other: TensorLike) -> Self:
        return _inplace(self, ops.Div, np.true_divide, other)

    def pow_(self, other: TensorLike) -> Self:
        return _inplace(self, ops.Pow, np.power, other)

    def __iadd__(self, other: TensorLike) -> Self:
        return self.add_(other)

    def __isub__(self, other: TensorLike) -> Self:
        return self.sub_(other)

    def __imul__(self, other: TensorLike) -> Self:
        return self.mul_(other)

    def __itruediv__(self, other: TensorLike) -> Self:
        return self.div_(other)

    def addcmul_(self, t1: TensorMethods, t2: TensorMethods, value: float = 1) -> Self:
        return self.add_(t1 * t2 * value)

    def addcdiv_(self, t1: TensorMethods, t2: TensorMethods, value: float = 1) -> Self:
        return self.add_(t1 / t2 * value)

    def zero_(self) -> Self:
        return self.fill_(0)

    def fill_(self, value: TensorLike) -> Self:
        """Set every element to value."""
        if _records(self, value):
            return _rebase(self, ops.IndexPut, (Ellipsis,), ops._operand(value))
        _check_writable(self, "fill_")
        self._data[...] = value._data if isinstance(value, TensorBase) else value
        self._vc[0] += 1
        return self

    def copy_(self, src: TensorLike) -> Self:
        """Copy src's values (broadcast to self's shape) into self."""
        if _records(self, src):
            return _rebase(self, ops.IndexPut, (Ellipsis,), ops._operand(src))
        _check_writable(self, "copy_")
        data = src._data if isinstance(src, TensorBase) else np.asarray(src)
        try:
            np.copyto(self._data, data, casting="unsafe")
        except ValueError:
            raise errors.ShapeError(binary.broadcast_message("copy_", self._data, data)) from None
        self._vc[0] += 1
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> Self:
        if _records(self):
            return _rebase(self, ops.Clamp, min, max)
        return self.copy_(ops.clamp(self, min, max))

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Self:
        with modes.no_grad():
            return self.copy_(backend.rng().uniform(a, b, self.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Self:
        with modes.no_grad():
            return self.copy_(backend.rng().normal(mean, std, self.shape))


def _records(t: TensorBase, *others: Any) -> bool:
    """True when an in-place op on t must be recorded in the graph."""
    return _modes.grad_enabled and (
        t._requires_grad or any(isinstance(o, TensorBase) and o._requires_grad for o in others)
    )


def _check_writable(t: TensorBase, op: str) -> None:
    t._memory()  # a 0-d result held as a NumPy scalar gets memory to write into
    if not getattr(t._data, "flags", None) or not t._data.flags.writeable:
        raise RuntimeError(
            f"{op}: this tensor is a read-only view (e.g. from expand) of shape "
            f"{tuple(t.shape)}; clone() it before modifying it in place"
        )


def _inplace(t: TensorT, fn: Any, ufunc: Any, other: TensorLike) -> TensorT:
    if _records(t, other):
        return _rebase(t, fn, ops._operand(other))
    _check_writable(t, fn.__name__.lower() + "_")
    b = other._data if isinstance(other, TensorBase) else other
    op = fn.__name__.lower() + "_"
    result = promote_dtype(t, b)
    if result is not None and not np.can_cast(result, t._data.dtype, "same_kind"):
        raise RuntimeError(
            f"{op}: result type {result} can't be cast to the desired output type "
            f"{t._data.dtype} (the tensor modified in place)"
        )
    try:
        ufunc(t._data, b, out=t._data, casting="unsafe")
    except ValueError:
        message = binary.broadcast_message(op, t._data, b) or (
            f"{op}: the result does not fit in place into shape {tuple(t.shape)} (other has "
            f"shape {tuple(np.shape(b))})"
        )
        raise errors.ShapeError(message) from None
    t._vc[0] += 1
    return t


def _rebase(t: TensorT, fn: Any, *args: Any) -> TensorT:
    """Run `fn(t, *args)` out of place, write the result into t, and make t its output."""
    name = fn.__name__.lower()
    if t.grad_fn is None and t._requires_grad:
        raise RuntimeError(
            f"{name} (in place): a leaf Variable that requires grad is being used in an in-place "
            "operation; wrap it in `with cr.no_grad():` (as optimizers do) or use an out-of-place "
            "op"
        )
    if t._base is not None:
        # Also when the base does not require grad (x = zeros(4); x[:2].copy_(w)): the base's
        # memory would change without it gaining the history, losing w's gradient silently.
        raise RuntimeError(
            f"{name} (in place): modifying a view of another tensor in place is not supported "
            "when the operation is recorded; use an out-of-place operation (e.g. torch.where "
            "or index_put) or write into the base tensor (x[i] = v)"
        )
    _check_writable(t, name)
    # The old value must survive for nodes that saved it: give the new node a snapshot.
    old = t._make(t._data.copy(), t._requires_grad, t.grad_fn, t._output_nr)
    out = fn.apply(old, *args)
    if out.shape != t.shape:
        raise RuntimeError(
            f"{name} (in place): the result of shape {tuple(out.shape)} does not fit in place "
            f"into shape {tuple(t.shape)}"
        )
    if not np.can_cast(out.dtype, t.dtype, "same_kind"):
        raise RuntimeError(
            f"{name} (in place): result type {out.dtype} can't be cast to the tensor's dtype "
            f"{t.dtype}"
        )
    t._data[...] = out._data
    t._vc[0] += 1
    node = out.grad_fn
    if node is not None and node._saved:  # saved outputs now live in t: check t's versions
        node._saved = tuple(
            (t._data, nr, t._vc, t._vc[0]) if type(nr) is int else (a, nr, c, v)
            for a, nr, c, v in node._saved
        )
    t.grad_fn, t._output_nr, t._requires_grad = node, 0, out._requires_grad
    return t
