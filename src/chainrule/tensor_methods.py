"""Tensor's operators and methods, PyTorch-named, each delegating to `chainrule.ops`.

`TensorMethods` is a mixin over `TensorBase`; `chainrule.tensor.Tensor` inherits it (with the
in-place methods of `tensor_inplace`), so type checkers and editors see every method.
In-place methods (`add_`, `+=`, `x[i] = v`, ...) write into the tensor's memory and bump its
version counter; when the graph records, the tensor's history is re-based onto the new operation,
and any node that saved the old value refuses to run backward with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import backend, errors, ops
from chainrule.function import _apply_primitive
from chainrule.ops import composite
from chainrule.ops.conversion import _size, as_array
from chainrule.ops.promotion import promote
from chainrule.primitives import binary
from chainrule.tensor_base import TensorBase
from chainrule.tensor_base import TensorBase as Tensor  # results are made as the full Tensor

# The float dtypes a Python float never widens (NumPy keeps the tensor's dtype for it).
_FLOATS = frozenset({np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)})


def _operand(x: Any) -> Any:
    """The other operand of an operator: tensors and numbers as they are, else converted."""
    return x if isinstance(x, (Tensor, float, int)) else ops._operand(x)


class TensorMethods(TensorBase):
    """Operators, math, shapes, reductions and conversions (see chainrule.tensor.Tensor)."""

    __slots__ = ()
    # Defining __eq__ would otherwise make tensors unhashable; they hash by identity, as torch's.
    __hash__ = TensorBase.__hash__

    # -- arithmetic operators ----------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        if type(other) is float and self._data.dtype in _FLOATS:  # nothing to promote
            return _apply_primitive(ops.Add, (self, other))
        return _apply_primitive(ops.Add, promote(self, _operand(other)))

    def __radd__(self, other: Any) -> Tensor:
        if type(other) is float and self._data.dtype in _FLOATS:
            return _apply_primitive(ops.Add, (other, self))
        return _apply_primitive(ops.Add, promote(_operand(other), self))

    def __sub__(self, other: Any) -> Tensor:
        if type(other) is float and self._data.dtype in _FLOATS:  # nothing to promote
            return _apply_primitive(ops.Sub, (self, other))
        return _apply_primitive(ops.Sub, promote(self, _operand(other)))

    def __rsub__(self, other: Any) -> Tensor:
        if type(other) is float and self._data.dtype in _FLOATS:
            return _apply_primitive(ops.Sub, (other, self))
        return _apply_primitive(ops.Sub, promote(_operand(other), self))

    def __mul__(self, other: Any) -> Tensor:
        if type(other) is float and self._data.dtype in _FLOATS:  # nothing to promote
            return _apply_primitive(ops.Mul, (self, other))
        return _apply_primitive(ops.Mul, promote(self, _operand(other)))

    def __rmul__(self, other: Any) -> Tensor:
        if type(other) is float and self._data.dtype in _FLOATS:
            return _apply_primitive(ops.Mul, (other, self))
        return _apply_primitive(ops.Mul, promote(_operand(other), self))

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        if type(other) is float and self._data.dtype in _FLOATS:  # nothing to promote
            return _apply_primitive(ops.Pow, (self, other))
        return _apply_primitive(ops.Pow, promote(self, _operand(other)))

    def __rpow__(self, other: Any) -> Tensor:
        if type(other) is float and self._data.dtype in _FLOATS:
            return _apply_primitive(ops.Pow, (other, self))
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
            raise errors.ShapeError(binary.broadcast_message(op, self._data, b)) from None

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
    reshape, view, permute, transpose = ops.reshape, ops.view, ops.permute, ops.transpose
    expand, squeeze, unsqueeze, flatten = ops.expand, ops.squeeze, ops.unsqueeze, ops.flatten
    split, chunk, gather = ops.split, ops.chunk, ops.gather

    masked_fill, sort, topk = composite.masked_fill, composite.sort, composite.topk
    unbind, repeat, flip = composite.unbind, composite.repeat, composite.flip
    all, any = composite.all, composite.any

    def __floordiv__(self, other: Any) -> Tensor:
        return composite.floor_divide(self, _operand(other))

    def __rfloordiv__(self, other: Any) -> Tensor:
        return composite.floor_divide(_operand(other), self)

    def __mod__(self, other: Any) -> Tensor:
        return composite.remainder(self, _operand(other))

    def __rmod__(self, other: Any) -> Tensor:
        return composite.remainder(_operand(other), self)

    def new_zeros(self, *size: Any) -> Tensor:
        """zeros of this tensor's dtype (torch.Tensor.new_zeros)."""
        return Tensor._make(np.zeros(_size(size), dtype=self.dtype))

    def new_ones(self, *size: Any) -> Tensor:
        return Tensor._make(np.ones(_size(size), dtype=self.dtype))

    def new_full(self, size: Any, fill_value: Any) -> Tensor:
        shape = _size(size if isinstance(size, (tuple, list)) else (size,))
        return Tensor._make(np.full(shape, fill_value, dtype=self.dtype))

    def new_tensor(self, data: Any) -> Tensor:
        return Tensor._make(as_array(data, self.dtype))

    def square(self) -> Tensor:
        return ops.Mul.apply(self, self)

    def rsqrt(self) -> Tensor:
        return 1 / ops.sqrt(self)

    def reciprocal(self) -> Tensor:
        return 1 / self

    def mm(self, other: Tensor) -> Tensor:
        if self.ndim != 2 or other.ndim != 2:
            raise errors.ShapeError(
                f"mm: both arguments must be 2-D, got shapes {tuple(self.shape)} and "
                f"{tuple(other.shape)}"
            )
        return ops.matmul(self, other)

    def dot(self, other: Tensor) -> Tensor:
        if self.ndim != 1 or other.ndim != 1:
            raise errors.ShapeError(
                f"dot: both arguments must be 1-D, got shapes {tuple(self.shape)} and "
                f"{tuple(other.shape)}"
            )
        return ops.matmul(self, other)

    def norm(self, p: float = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
        """The p-norm over dim (all elements by default); one primitive, so that the gradient at
        the zero vector is PyTorch's 0 rather than sqrt's inf times 0."""
        return ops.norm(self, p, dim, keepdim)

    def expand_as(self, other: Tensor) -> Tensor:
        return ops.expand(self, other.shape)

    def view_as(self, other: Tensor) -> Tensor:
        return ops.view(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return ops.reshape(self, other.shape)

    @property
    def T(self) -> Tensor:
        return ops.permute(self, tuple(reversed(range(self.ndim)))) if self.ndim > 1 else self

    @property
    def mT(self) -> Tensor:
        if self.ndim < 2:
            raise errors.ShapeError(
                f"mT: tensor must have at least 2 dims, got shape {tuple(self.shape)}"
            )
        return ops.transpose(self, -2, -1)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise errors.ShapeError(
                f"t: expects a tensor with <= 2 dims, got shape {tuple(self.shape)}"
            )
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
