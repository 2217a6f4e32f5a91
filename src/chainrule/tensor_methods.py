"""Tensor's operators and methods, PyTorch-named, each delegating to `chainrule.ops`.

They live here (installed onto Tensor by tensor.py) so tensor.py stays about what a tensor *is*.
In-place methods (`add_`, `+=`, `x[i] = v`, ...) write into the tensor's memory and bump its
version counter; when the graph records, the tensor's history is re-based onto the new operation,
and any node that saved the old value refuses to run backward with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import backend, modes, ops
from chainrule.function import _apply_primitive
from chainrule.ops import binary
from chainrule.ops.promotion import promote
from chainrule.ops.promotion import result_type as promote_dtype
from chainrule.tensor import Tensor


def _operand(x: Any) -> Any:
    """The other operand of an operator: tensors and numbers as they are, else converted."""
    return x if isinstance(x, (Tensor, float, int)) else ops._operand(x)


class TensorMethods:
    """Mixed into Tensor by `install`."""

    # -- arithmetic operators ----------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _apply_primitive(ops.Add, promote(self, _operand(other)))

    def __radd__(self, other: Any) -> Tensor:
        return _apply_primitive(ops.Add, promote(_operand(other), self))

    def __sub__(self, other: Any) -> Tensor:
        return _apply_primitive(ops.Sub, promote(self, _operand(other)))

    def __rsub__(self, other: Any) -> Tensor:
        return _apply_primitive(ops.Sub, promote(_operand(other), self))

    def __mul__(self, other: Any) -> Tensor:
        return _apply_primitive(ops.Mul, promote(self, _operand(other)))

    def __rmul__(self, other: Any) -> Tensor:
        return _apply_primitive(ops.Mul, promote(_operand(other), self))

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _apply_primitive(ops.Pow, promote(self, _operand(other)))

    def __rpow__(self, other: Any) -> Tensor:
        return _apply_primitive(ops.Pow, promote(_operand(other), self))

    def __matmul__(self, other: Any) -> Tensor:
        return ops.Matmul.apply(self, ops.as_tensor(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.Matmul.apply(ops.as_tensor(other), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.Abs.apply(self)

    # -- comparisons and logic (never differentiable) -----------------------------------------
    def _compare(self, other: Any, fn: Any, op: str) -> Tensor:
        b = other._data if isinstance(other, Tensor) else other
        try:
            return Tensor._make(np.asarray(fn(self._data, b)))
        except ValueError:
            raise ValueError(binary.broadcast_message(op, self._data, b)) from None

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal, "eq")

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal, "ne")

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less, "lt")

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal, "le")

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater, "gt")

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal, "ge")

    def __and__(self, other: Any) -> Tensor:
        return self._compare(other, np.logical_and if self.dtype == bool else np.bitwise_and, "and")

    def __or__(self, other: Any) -> Tensor:
        return self._compare(other, np.logical_or if self.dtype == bool else np.bitwise_or, "or")

    def __xor__(self, other: Any) -> Tensor:
        return self._compare(other, np.logical_xor if self.dtype == bool else np.bitwise_xor, "xor")

    def __invert__(self) -> Tensor:
        data = self._data
        return Tensor._make(np.logical_not(data) if data.dtype == bool else np.invert(data))

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def logical_not(self) -> Tensor:
        return Tensor._make(np.logical_not(self._data))

    def isnan(self) -> Tensor:
        return Tensor._make(np.isnan(self._data))

    def isfinite(self) -> Tensor:
        return Tensor._make(np.isfinite(self._data))

    def allclose(self, other: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
        b = other._data if isinstance(other, Tensor) else other
        return bool(np.allclose(self._data, b, rtol=rtol, atol=atol))

    def equal(self, other: Tensor) -> bool:
        return self.shape == other.shape and bool(np.array_equal(self._data, other._data))

    # -- math (PyTorch method names) ----------------------------------------------------------
    add, sub, mul, div, pow = ops.add, ops.sub, ops.mul, ops.div, ops.pow
    matmul = ops.matmul
    neg, exp, log, sqrt, sin, cos = ops.neg, ops.exp, ops.log, ops.sqrt, ops.sin, ops.cos
    tanh, sigmoid, relu, abs, clamp = ops.tanh, ops.sigmoid, ops.relu, ops.abs, ops.clamp
    clip = clamp
    maximum, minimum = ops.maximum, ops.minimum
    sum, mean, var, std = ops.sum, ops.mean, ops.var, ops.std
    max, min, amax, amin = ops.max, ops.min, ops.amax, ops.amin
    argmax, argmin, logsumexp = ops.argmax, ops.argmin, ops.logsumexp
    softmax, log_softmax = ops.softmax, ops.log_softmax
    reshape, view, permute, transpose = ops.reshape, ops.reshape, ops.permute, ops.transpose
    expand, squeeze, unsqueeze, flatten = ops.expand, ops.squeeze, ops.unsqueeze, ops.flatten
    split, chunk, gather = ops.split, ops.chunk, ops.gather

    def square(self) -> Tensor:
        return ops.Mul.apply(self, self)

    def rsqrt(self) -> Tensor:
        return 1 / ops.sqrt(self)

    def reciprocal(self) -> Tensor:
        return 1 / self

    def mm(self, other: Tensor) -> Tensor:
        if self.ndim != 2 or other.ndim != 2:
            raise ValueError(
                f"mm: both arguments must be 2-D, got shapes {tuple(self.shape)} and "
                f"{tuple(other.shape)}"
            )
        return ops.matmul(self, other)

    def dot(self, other: Tensor) -> Tensor:
        if self.ndim != 1 or other.ndim != 1:
            raise ValueError(
                f"dot: both arguments must be 1-D, got shapes {tuple(self.shape)} and "
                f"{tuple(other.shape)}"
            )
        return ops.matmul(self, other)

    def norm(self, p: float = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
        """The p-norm over dim (all elements by default)."""
        if p == 2:
            return ops.sqrt(ops.sum(self * self, dim, keepdim))
        if p == 1:
            return ops.sum(ops.abs(self), dim, keepdim)
        return ops.sum(ops.abs(self) ** p, dim, keepdim) ** (1.0 / p)

    def expand_as(self, other: Tensor) -> Tensor:
        return ops.expand(self, other.shape)

    def view_as(self, other: Tensor) -> Tensor:
        return ops.reshape(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return ops.reshape(self, other.shape)

    @property
    def T(self) -> Tensor:
        return ops.permute(self, tuple(reversed(range(self.ndim)))) if self.ndim > 1 else self

    @property
    def mT(self) -> Tensor:
        if self.ndim < 2:
            raise ValueError(f"mT: tensor must have at least 2 dims, got shape {tuple(self.shape)}")
        return ops.transpose(self, -2, -1)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with <= 2 dims, got shape {tuple(self.shape)}")
        return self.T

    # -- dtype conversions --------------------------------------------------------------------
    def to(self, dtype: Any = None, *args: Any, **kwargs: Any) -> Tensor:
        """Convert to a dtype (device strings other than 'cpu' are not supported here)."""
        dtype = kwargs.get("dtype", dtype)
        if isinstance(dtype, str) and dtype == "cpu":
            return self
        if dtype is None:
            return self
        return ops.to(self, dtype)

    def type(self, dtype: Any = None) -> Any:
        return str(self.dtype) if dtype is None else ops.to(self, dtype)

    def float(self) -> Tensor:
        return ops.to(self, backend.float32)

    def double(self) -> Tensor:
        return ops.to(self, backend.float64)

    def half(self) -> Tensor:
        return ops.to(self, backend.float16)

    def long(self) -> Tensor:
        return ops.to(self, backend.int64)

    def int(self) -> Tensor:
        return ops.to(self, backend.int32)

    def bool(self) -> Tensor:
        return ops.to(self, backend.bool_)

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def clone(self) -> Tensor:
        """A copy that stays in the graph (its gradient flows back to self)."""
        return ops.Add.apply(self, 0) if self._requires_grad else Tensor._make(self._data.copy())

    def contiguous(self) -> Tensor:
        return self

    def cpu(self) -> Tensor:
        return self

    # -- indexing -----------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> Tensor:
        return ops.index(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        if _records(self, value):
            _rebase(self, ops.IndexPut, ops._key(key), ops._operand(value))
            return
        _check_writable(self, "setitem")
        try:
            self._data[ops._key(key)] = value._data if isinstance(value, Tensor) else value
        except (ValueError, IndexError) as error:
            raise type(error)(f"setitem: {error} (tensor of shape {tuple(self.shape)})") from None
        self._vc[0] += 1

    # -- in place -----------------------------------------------------------------------------
    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        other = other if alpha == 1 else other * alpha
        return _inplace(self, ops.Add, np.add, other)

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        other = other if alpha == 1 else other * alpha
        return _inplace(self, ops.Sub, np.subtract, other)

    def mul_(self, other: Any) -> Tensor:
        return _inplace(self, ops.Mul, np.multiply, other)

    def div_(self, other: Any) -> Tensor:
        return _inplace(self, ops.Div, np.true_divide, other)

    def pow_(self, other: Any) -> Tensor:
        return _inplace(self, ops.Pow, np.power, other)

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def addcmul_(self, t1: Tensor, t2: Tensor, value: float = 1) -> Tensor:
        return self.add_(t1 * t2 * value)

    def addcdiv_(self, t1: Tensor, t2: Tensor, value: float = 1) -> Tensor:
        return self.add_(t1 / t2 * value)

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        """Set every element to value."""
        if _records(self, value):
            return _rebase(self, ops.IndexPut, (Ellipsis,), ops._operand(value))
        _check_writable(self, "fill_")
        self._data[...] = value._data if isinstance(value, Tensor) else value
        self._vc[0] += 1
        return self

    def copy_(self, src: Any) -> Tensor:
        """Copy src's values (broadcast to self's shape) into self."""
        if _records(self, src):
            return _rebase(self, ops.IndexPut, (Ellipsis,), ops._operand(src))
        _check_writable(self, "copy_")
        data = src._data if isinstance(src, Tensor) else np.asarray(src)
        try:
            np.copyto(self._data, data, casting="unsafe")
        except ValueError:
            raise ValueError(binary.broadcast_message("copy_", self._data, data)) from None
        self._vc[0] += 1
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        if _records(self):
            return _rebase(self, ops.Clamp, min, max)
        return self.copy_(ops.clamp(self, min, max))

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        with modes.no_grad():
            return self.copy_(backend.rng().uniform(a, b, self.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        with modes.no_grad():
            return self.copy_(backend.rng().normal(mean, std, self.shape))


def _records(t: Tensor, *others: Any) -> bool:
    """True when an in-place op on t must be recorded in the graph."""
    return modes.grad_enabled and (
        t._requires_grad or any(isinstance(o, Tensor) and o._requires_grad for o in others)
    )


def _check_writable(t: Tensor, op: str) -> None:
    if isinstance(t._data, np.generic):
        # A 0-d result held as a NumPy scalar (fast, but immutable): give it memory to write
        # into. Nothing can share a scalar's memory, so this changes no one else's values.
        t._data = np.array(t._data)
    if not getattr(t._data, "flags", None) or not t._data.flags.writeable:
        raise RuntimeError(
            f"{op}: this tensor is a read-only view (e.g. from expand) of shape "
            f"{tuple(t.shape)}; clone() it before modifying it in place"
        )


def _inplace(t: Tensor, fn: Any, ufunc: Any, other: Any) -> Tensor:
    if _records(t, other):
        return _rebase(t, fn, ops._operand(other))
    _check_writable(t, fn.__name__.lower() + "_")
    b = other._data if isinstance(other, Tensor) else other
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
        raise ValueError(message) from None
    t._vc[0] += 1
    return t


def _rebase(t: Tensor, fn: Any, *args: Any) -> Tensor:
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
    old = Tensor._make(t._data.copy(), t._requires_grad, t.grad_fn, t._output_nr)
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


def install(cls: type) -> None:
    """Copy the methods above onto Tensor."""
    for name, value in vars(TensorMethods).items():
        if name.startswith("__") and name.endswith("__") and name not in _DUNDERS:
            continue
        setattr(cls, name, value)


# Class machinery that must not be copied (__hash__ is None here because __eq__ is defined).
_SKIP = {
    "__module__",
    "__dict__",
    "__weakref__",
    "__doc__",
    "__qualname__",
    "__hash__",
    "__firstlineno__",
    "__static_attributes__",
}
_DUNDERS = {name for name in vars(TensorMethods) if name.startswith("__")} - _SKIP


install(Tensor)
