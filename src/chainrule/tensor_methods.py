"""Tensor's operators and methods, PyTorch-named, each delegating to `chainrule.ops`.

`TensorMethods` is a mixin over `TensorBase`; `chainrule.tensor.Tensor` inherits it (with the
in-place methods of `tensor_inplace`), so type checkers and editors see every method.
In-place methods (`add_`, `+=`, `x[i] = v`, ...) write into the tensor's memory and bump its
version counter; when the graph records, the tensor's history is re-based onto the new operation,
and any node that saved the old value refuses to run backward with it.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from chainrule import backend, errors, ops
from chainrule.function import _apply
from chainrule.ops import composite, logic
from chainrule.ops.conversion import _size, as_array
from chainrule.ops.promotion import promote
from chainrule.primitives import binary
from chainrule.tensor_base import TensorBase, TensorLike

# The float dtypes a Python float never widens (NumPy keeps the tensor's dtype for it).
_FLOATS = frozenset({np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)})


def _operand(x: TensorLike) -> Any:
    """The other operand of an operator: tensors and numbers as they are, else converted."""
    return x if isinstance(x, (TensorBase, float, int)) else ops._operand(x)


class TensorMethods(TensorBase):
    """Operators, math, shapes, reductions and conversions (see chainrule.tensor.Tensor)."""

    __slots__ = ()
    # Defining __eq__ would otherwise make tensors unhashable; they hash by identity, as torch's.
    __hash__ = TensorBase.__hash__

    # -- arithmetic operators ----------------------------------------------------------------
    def __add__(self, other: TensorLike) -> Self:
        if type(other) is float and self._data.dtype in _FLOATS:  # nothing to promote
            return _apply(ops.Add, (self, other))
        return _apply(ops.Add, promote(self, _operand(other)))

    def __radd__(self, other: TensorLike) -> Self:
        if type(other) is float and self._data.dtype in _FLOATS:
            return _apply(ops.Add, (other, self))
        return _apply(ops.Add, promote(_operand(other), self))

    def __sub__(self, other: TensorLike) -> Self:
        if type(other) is float and self._data.dtype in _FLOATS:  # nothing to promote
            return _apply(ops.Sub, (self, other))
        return _apply(ops.Sub, promote(self, _operand(other)))

    def __rsub__(self, other: TensorLike) -> Self:
        if type(other) is float and self._data.dtype in _FLOATS:
            return _apply(ops.Sub, (other, self))
        return _apply(ops.Sub, promote(_operand(other), self))

    def __mul__(self, other: TensorLike) -> Self:
        if type(other) is float and self._data.dtype in _FLOATS:  # nothing to promote
            return _apply(ops.Mul, (self, other))
        return _apply(ops.Mul, promote(self, _operand(other)))

    def __rmul__(self, other: TensorLike) -> Self:
        if type(other) is float and self._data.dtype in _FLOATS:
            return _apply(ops.Mul, (other, self))
        return _apply(ops.Mul, promote(_operand(other), self))

    # A tensor `other` would make div's TensorT the common base, TensorBase; the result is made
    # of the concrete class, which is what Self stands for.
    def __truediv__(self, other: TensorLike) -> Self:
        return ops.div(self, other)  # type: ignore[return-value]

    def __rtruediv__(self, other: TensorLike) -> Self:
        return ops.div(other, self)  # type: ignore[return-value]

    def __pow__(self, other: TensorLike) -> Self:
        if type(other) is float and self._data.dtype in _FLOATS:  # nothing to promote
            return _apply(ops.Pow, (self, other))
        return _apply(ops.Pow, promote(self, _operand(other)))

    def __rpow__(self, other: TensorLike) -> Self:
        if type(other) is float and self._data.dtype in _FLOATS:
            return _apply(ops.Pow, (other, self))
        return _apply(ops.Pow, promote(_operand(other), self))

    def __matmul__(self, other: TensorLike) -> Self:
        return ops.Matmul.apply(self, ops.as_tensor(other))

    def __rmatmul__(self, other: TensorLike) -> Self:
        return ops.Matmul.apply(ops.as_tensor(other), self)

    def __neg__(self) -> Self:
        return ops.Neg.apply(self)

    def __pos__(self) -> Self:
        return self

    def __abs__(self) -> Self:
        return ops.Abs.apply(self)

    # -- comparisons and logic (never differentiable) -----------------------------------------
    def _compare(self, other: TensorLike, fn: Any, op: str) -> Self:
        b = other._data if isinstance(other, TensorBase) else other
        try:
            return self._make(np.asarray(fn(self._data, b)))
        except ValueError:
            raise errors.ShapeError(binary.broadcast_message(op, self._data, b)) from None

    # elementwise, as torch's: a bool tensor, not object's bool (hence the [override])
    def __eq__(self, other: TensorLike) -> Self:  # type: ignore[override]
        return self._compare(other, np.equal, "eq")

    def __ne__(self, other: TensorLike) -> Self:  # type: ignore[override]
        return self._compare(other, np.not_equal, "ne")

    def __lt__(self, other: TensorLike) -> Self:
        return self._compare(other, np.less, "lt")

    def __le__(self, other: TensorLike) -> Self:
        return self._compare(other, np.less_equal, "le")

    def __gt__(self, other: TensorLike) -> Self:
        return self._compare(other, np.greater, "gt")

    def __ge__(self, other: TensorLike) -> Self:
        return self._compare(other, np.greater_equal, "ge")

    # &, |, ^ and ~ are torch's bitwise ops: logical on bools, bitwise on integers, refused on
    # floats with torch's NotImplementedError (ops.logic), and promoted as torch promotes
    def __and__(self, other: TensorLike) -> Self:
        return logic.bitwise_and(self, other)  # type: ignore[return-value]

    def __rand__(self, other: TensorLike) -> Self:
        return logic.bitwise_and(other, self)  # type: ignore[return-value]

    def __or__(self, other: TensorLike) -> Self:
        return logic.bitwise_or(self, other)  # type: ignore[return-value]

    def __ror__(self, other: TensorLike) -> Self:
        return logic.bitwise_or(other, self)  # type: ignore[return-value]

    def __xor__(self, other: TensorLike) -> Self:
        return logic.bitwise_xor(self, other)  # type: ignore[return-value]

    def __rxor__(self, other: TensorLike) -> Self:
        return logic.bitwise_xor(other, self)  # type: ignore[return-value]

    def __invert__(self) -> Self:
        return logic.bitwise_not(self)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def logical_not(self) -> Self:
        return self._make(np.logical_not(self._data))

    def isnan(self) -> Self:
        return self._make(np.isnan(self._data))

    def isfinite(self) -> Self:
        return self._make(np.isfinite(self._data))

    def allclose(self, other: TensorLike, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
        b = other._data if isinstance(other, TensorBase) else other
        return bool(np.allclose(self._data, b, rtol=rtol, atol=atol))

    def equal(self, other: TensorBase) -> bool:
        return self.shape == other.shape and bool(np.array_equal(self._data, other._data))

    # -- math (PyTorch method names) ----------------------------------------------------------
    if TYPE_CHECKING:
        # These functions also take numbers first (`TensorT | ArrayLike`), and the checker does
        # not infer TensorT from `self` through such a union, so the methods are declared as
        # what they are on a tensor: the same kind of tensor back. At run time (the `else`)
        # they are the functions themselves.
        def add(self, other: TensorLike, alpha: float = 1) -> Self: ...
        def sub(self, other: TensorLike, alpha: float = 1) -> Self: ...
        def mul(self, other: TensorLike) -> Self: ...
        def div(self, other: TensorLike, *, rounding_mode: str | None = None) -> Self: ...
        def pow(self, other: TensorLike) -> Self: ...
        def matmul(self, other: TensorLike) -> Self: ...
        def exp(self) -> Self: ...
        def log(self) -> Self: ...
        def log1p(self) -> Self: ...
        def sqrt(self) -> Self: ...
        def sin(self) -> Self: ...
        def cos(self) -> Self: ...
        def tanh(self) -> Self: ...
        def sigmoid(self) -> Self: ...
        def relu(self) -> Self: ...
        def abs(self) -> Self: ...
        def clamp(self, min: Any = None, max: Any = None) -> Self: ...
        def maximum(self, other: TensorLike) -> Self: ...
        def minimum(self, other: TensorLike) -> Self: ...
    else:
        add, sub, mul, div, pow = ops.add, ops.sub, ops.mul, ops.div, ops.pow
        matmul = ops.matmul
        exp, log, log1p, sqrt = ops.exp, ops.log, ops.log1p, ops.sqrt
        sin, cos = ops.sin, ops.cos
        tanh, sigmoid, relu, abs, clamp = ops.tanh, ops.sigmoid, ops.relu, ops.abs, ops.clamp
        maximum, minimum = ops.maximum, ops.minimum
    neg = ops.neg
    clip = clamp
    sum, mean, var, std = ops.sum, ops.mean, ops.var, ops.std
    max, min, amax, amin = ops.max, ops.min, ops.amax, ops.amin
    argmax, argmin, logsumexp = ops.argmax, ops.argmin, ops.logsumexp
    softmax, log_softmax = ops.softmax, ops.log_softmax
    reshape, view, permute, transpose = ops.reshape, ops.view, ops.permute, ops.transpose
    expand, squeeze, unsqueeze, flatten = ops.expand, ops.squeeze, ops.unsqueeze, ops.flatten
    split, chunk, gather = ops.split, ops.chunk, ops.gather

    masked_fill, sort, topk = composite.masked_fill, composite.sort, composite.topk
    unbind, repeat, flip = composite.unbind, composite.repeat, composite.flip
    all, any = composite.all, composite.any

    def __floordiv__(self, other: TensorLike) -> Self:
        return composite.floor_divide(self, _operand(other))

    def __rfloordiv__(self, other: TensorLike) -> Self:
        return composite.floor_divide(_operand(other), self)

    def __mod__(self, other: TensorLike) -> Self:
        return composite.remainder(self, _operand(other))

    def __rmod__(self, other: TensorLike) -> Self:
        return composite.remainder(_operand(other), self)

    def new_zeros(self, *size: Any) -> Self:
        """zeros of this tensor's dtype (torch.Tensor.new_zeros)."""
        return self._make(np.zeros(_size(size), dtype=self.dtype))

    def new_ones(self, *size: Any) -> Self:
        return self._make(np.ones(_size(size), dtype=self.dtype))

    def new_full(self, size: Any, fill_value: Any) -> Self:
        shape = _size(size if isinstance(size, (tuple, list)) else (size,))
        return self._make(np.full(shape, fill_value, dtype=self.dtype))

    def new_tensor(self, data: Any) -> Self:
        return self._make(as_array(data, self.dtype))

    def square(self) -> Self:
        return ops.Mul.apply(self, self)

    def rsqrt(self) -> Self:
        return 1 / ops.sqrt(self)

    def reciprocal(self) -> Self:
        return 1 / self

    def mm(self, other: TensorBase) -> Self:
        if self.ndim != 2 or other.ndim != 2:
            raise errors.ShapeError(
                f"mm: both arguments must be 2-D, got shapes {tuple(self.shape)} and "
                f"{tuple(other.shape)}"
            )
        return ops.Matmul.apply(self, ops.as_tensor(other))  # ops.matmul, as __matmul__ calls it

    def dot(self, other: TensorBase) -> Self:
        if self.ndim != 1 or other.ndim != 1:
            raise errors.ShapeError(
                f"dot: both arguments must be 1-D, got shapes {tuple(self.shape)} and "
                f"{tuple(other.shape)}"
            )
        return ops.Matmul.apply(self, ops.as_tensor(other))  # ops.matmul, as __matmul__ calls it

    def norm(self, p: float = 2, dim: Any = None, keepdim: bool = False) -> Self:
        """The p-norm over dim (all elements by default); one primitive, so that the gradient at
        the zero vector is PyTorch's 0 rather than sqrt's inf times 0."""
        return ops.norm(self, p, dim, keepdim)

    def expand_as(self, other: TensorBase) -> Self:
        return ops.expand(self, other.shape)

    def view_as(self, other: TensorBase) -> Self:
        return ops.view(self, other.shape)

    def reshape_as(self, other: TensorBase) -> Self:
        return ops.reshape(self, other.shape)

    @property
    def T(self) -> Self:
        return ops.permute(self, tuple(reversed(range(self.ndim)))) if self.ndim > 1 else self

    @property
    def mT(self) -> Self:
        if self.ndim < 2:
            raise errors.ShapeError(
                f"mT: tensor must have at least 2 dims, got shape {tuple(self.shape)}"
            )
        return ops.transpose(self, -2, -1)

    def t(self) -> Self:
        if self.ndim > 2:
            raise errors.ShapeError(
                f"t: expects a tensor with <= 2 dims, got shape {tuple(self.shape)}"
            )
        return self.T

    # -- dtype conversions --------------------------------------------------------------------
    def to(self, dtype: Any = None, *args: Any, **kwargs: Any) -> Self:
        """Convert to a dtype (device strings other than 'cpu' are not supported here)."""
        dtype = kwargs.get("dtype", dtype)
        if isinstance(dtype, str) and dtype == "cpu":
            return self
        if dtype is None:
            return self
        return ops.to(self, dtype)

    def type(self, dtype: Any = None) -> str | Self:
        return str(self.dtype) if dtype is None else ops.to(self, dtype)

    def float(self) -> Self:
        return ops.to(self, backend.float32)

    def double(self) -> Self:
        return ops.to(self, backend.float64)

    def half(self) -> Self:
        return ops.to(self, backend.float16)

    def long(self) -> Self:
        return ops.to(self, backend.int64)

    def int(self) -> Self:
        return ops.to(self, backend.int32)

    def bool(self) -> Self:
        return ops.to(self, backend.bool_)

    def is_floating_point(self) -> builtins.bool:  # `bool` is the method above
        return self.dtype.kind == "f"

    def clone(self) -> Self:
        """A copy that stays in the graph (its gradient flows back to self)."""
        return ops.Add.apply(self, 0) if self._requires_grad else self._make(self._data.copy())

    def contiguous(self) -> Self:
        return self

    def cpu(self) -> Self:
        return self

    # -- indexing -----------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> Self:
        return ops.index(self, key)

    def __iter__(self) -> Iterator[Self]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))
