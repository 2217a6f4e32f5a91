"""The rule table's front door: functions that check arguments where the user made the mistake,
then call the primitives (whose forward and backward sit side by side in the modules here) or
compose them. Compositions carry no derivative code: autodiff differentiates them.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import backend, errors
from chainrule.ops.composite import values_indices
from chainrule.ops.conversion import as_tensor
from chainrule.ops.operands import operand as _operand
from chainrule.ops.promotion import promote
from chainrule.ops.shaping import (  # shapes and indexing, re-exported here
    _key,
    cat,
    chunk,
    expand,
    flatten,
    gather,
    index,
    index_add,
    index_put,
    permute,
    reshape,
    scatter_add,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
    view,
)
from chainrule.primitives import PRIMITIVES  # the registry's primitives, re-exported
from chainrule.primitives.binary import Add, Div, Maximum, Minimum, Mul, Pow, Sub, Where
from chainrule.primitives.elementwise import (
    Abs,
    Cast,
    Clamp,
    Cos,
    Exp,
    Log,
    Neg,
    Relu,
    Sigmoid,
    Sin,
    Sqrt,
    Tanh,
)
from chainrule.primitives.indexing import Gather, Index, IndexAdd, IndexPut, ScatterAdd, is_basic
from chainrule.primitives.linalg import Linear, Matmul
from chainrule.primitives.loss import BinaryCrossEntropy, BinaryCrossEntropyWithLogits, CrossEntropy
from chainrule.primitives.reduction import (
    Amax,
    Amin,
    LogSumExp,
    Norm,
    Std,
    Sum,
    Var,
    normalize_dims,
    reduced_shape,
)
from chainrule.primitives.shape import Cat, Expand, Permute, Reshape
from chainrule.primitives.softmax import LogSoftmax, Softmax
from chainrule.tensor_base import TensorBase as Tensor  # the tensor layer types against the base
from chainrule.tensor_base import _check_dim


# -- elementwise ------------------------------------------------------------------------------
def add(a: Any, b: Any, alpha: float = 1) -> Tensor:
    a, b = promote(_operand(a), _operand(b))
    return Add.apply(a, b if alpha == 1 else b * alpha)


def sub(a: Any, b: Any, alpha: float = 1) -> Tensor:
    a, b = promote(_operand(a), _operand(b))
    return Sub.apply(a, b if alpha == 1 else b * alpha)


def mul(a: Any, b: Any) -> Tensor:
    return Mul.apply(*promote(_operand(a), _operand(b)))


def div(a: Any, b: Any) -> Tensor:
    a, b = promote(_operand(a), _operand(b))
    if _is_integral(a) and _is_integral(b):  # true division of integers gives the default float
        a = to(as_tensor(a), backend.get_default_dtype())
        if not isinstance(b, int):  # NumPy would promote float32 / int64 to float64
            b = to(as_tensor(b), backend.get_default_dtype())
    return Div.apply(a, b)


def _is_integral(x: Any) -> bool:
    if isinstance(x, bool):
        return True
    if isinstance(x, int):
        return True
    dtype = getattr(x, "dtype", None)
    return dtype is not None and np.dtype(dtype).kind in "iub"


def pow(a: Any, b: Any) -> Tensor:
    return Pow.apply(_operand(a), _operand(b))


def _floating(x: Any) -> Tensor:
    """x as a tensor, integers and bools cast to the default float dtype (PyTorch's rule for
    exp, log, sqrt, sin, cos, tanh, sigmoid: NumPy would give float64, or ints for sigmoid)."""
    x = as_tensor(x)
    # kind "O": object arrays of SymPy expressions (chainrule.symbolic) are exact, never cast
    return x if x.dtype.kind in "fcO" else to(x, backend.get_default_dtype())


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


def exp(x: Tensor) -> Tensor:
    """e^x elementwise."""
    return Exp.apply(_floating(x))


def log(x: Tensor) -> Tensor:
    """Natural logarithm elementwise."""
    return Log.apply(_floating(x))


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(_floating(x))


def sin(x: Tensor) -> Tensor:
    return Sin.apply(_floating(x))


def cos(x: Tensor) -> Tensor:
    return Cos.apply(_floating(x))


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(_floating(x))


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x), stable for any magnitude."""
    return Sigmoid.apply(_floating(x))


def relu(x: Tensor) -> Tensor:
    return Relu.apply(as_tensor(x))


def abs(x: Tensor) -> Tensor:
    return Abs.apply(as_tensor(x))


def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:
    if min is None and max is None:
        raise errors.ArgumentError("clamp: at least one of min and max must be given")
    return Clamp.apply(as_tensor(x), min, max)


def maximum(a: Any, b: Any) -> Tensor:
    return Maximum.apply(*promote(_operand(a), _operand(b)))


def minimum(a: Any, b: Any) -> Tensor:
    return Minimum.apply(*promote(_operand(a), _operand(b)))


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise choice: a where condition holds, else b."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise errors.DTypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    return Where.apply(cond, *promote(_operand(a), _operand(b)))


def to(x: Tensor, dtype: Any) -> Tensor:
    dtype = np.dtype(dtype)
    return x if x.dtype == dtype else Cast.apply(x, dtype)


# -- reductions -------------------------------------------------------------------------------
def sum(x: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    if dtype is not None:
        x = to(x, dtype)
    return Sum.apply(x, normalize_dims(dim, x.ndim, "sum"), keepdim)


def _count(x: Tensor, dims: tuple[int, ...] | None) -> int:
    if dims is None or x.ndim == 0:
        return x.numel()
    return math.prod(x.shape[d] for d in dims)


def mean(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    dims = normalize_dims(dim, x.ndim, "mean")
    if x.dtype.kind not in "fcO":  # integers and bools average as floats; SymPy objects stay
        x = to(x, backend.get_default_dtype())
    count = _count(x, dims)
    if count == 0:  # the mean of nothing is nan (PyTorch), with no 1/0 in forward or backward
        return Sum.apply(x, dims, keepdim) * float("nan")
    return Sum.apply(x, dims, keepdim) / count


def var(
    x: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: int | None = None,
) -> Tensor:
    """Variance with Bessel's correction by default (correction=1), as torch.var."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dims = normalize_dims(dim, x.ndim, "var")
    return Var.apply(_floating(x), dims, correction, keepdim)


def std(x: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
        *, correction: int | None = None) -> Tensor:  # fmt: skip
    """Standard deviation, one primitive so that its gradient at zero spread is 0 (PyTorch's),
    not sqrt's inf times var's 0."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dims = normalize_dims(dim, x.ndim, "std")
    return Std.apply(_floating(x), dims, correction, keepdim)


def norm(x: Tensor, p: float = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The vector p-norm over dim (all elements by default), as torch.linalg.vector_norm; its
    gradient at the zero vector is 0, as PyTorch's."""
    return Norm.apply(_floating(x), float(p), normalize_dims(dim, x.ndim, "norm"), keepdim)


def amax(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return Amax.apply(x, normalize_dims(dim, x.ndim, "amax"), keepdim)


def amin(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return Amin.apply(x, normalize_dims(dim, x.ndim, "amin"), keepdim)


def _extreme(x: Tensor, dim: Any, keepdim: bool, op: str) -> Any:
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return maximum(x, dim) if op == "max" else minimum(x, dim)
    if dim is None:
        _refuse_empty(x, op, errors.ShapeError)
        data = x._data
        if data.dtype.kind in "fc":
            nan = np.isnan(data)
            if nan.any():  # torch: the result is NaN, and the NaN elements share the gradient
                nan_at = np.flatnonzero(nan)
                picked = Index.apply(reshape(x, (x.numel(),)), nan_at)
                return Sum.apply(picked, None, False) / len(nan_at)
        return amax(x) if op == "max" else amin(x)
    axis = _check_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return values_indices(x, Tensor._make(np.asarray(0)))
    if x.shape[axis] == 0:
        raise IndexError(
            f"{op}(): Expected reduction dim {dim} to have non-zero size (input of shape "
            f"{tuple(x.shape)})"
        )
    arg = np.argmax if op == "max" else np.argmin
    data = x._data
    indices = np.expand_dims(arg(data, axis=axis), axis)
    values = Gather.apply(x, axis, indices)
    if not keepdim:
        values = values.reshape(reduced_shape(x.shape, (axis,)))
        indices = indices.reshape(values.shape)
    return values_indices(values, Tensor._make(indices))


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """max over all elements, or (values, indices) along dim, or the elementwise maximum."""
    return _extreme(x, dim, keepdim, "max")


def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return _extreme(x, dim, keepdim, "min")


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _argextreme(x, dim, keepdim, np.argmax, "argmax")


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _argextreme(x, dim, keepdim, np.argmin, "argmin")


def _refuse_empty(x: Tensor, op: str, error: type[Exception]) -> None:
    """torch's refusal to reduce all of an empty tensor (RuntimeError, IndexError for arg*)."""
    if x.numel() == 0:
        raise error(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0 (input of "
            f"shape {tuple(x.shape)}). Specify the reduction dim with the 'dim' argument."
        )


def _argextreme(x: Tensor, dim: Any, keepdim: bool, fn: Any, op: str) -> Tensor:
    # NumPy's argmax/argmin, like torch's, give the first NaN: NaN counts as the extreme
    if dim is None:
        _refuse_empty(x, op, IndexError)
        return Tensor._make(np.asarray(fn(x._data)))
    axis = _check_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return Tensor._make(np.asarray(0))
    if x.shape[axis] == 0:
        raise IndexError(
            f"{op}(): Expected reduction dim {dim} to have non-zero size (input of shape "
            f"{tuple(x.shape)})"
        )
    return Tensor._make(np.asarray(fn(x._data, axis=axis, keepdims=keepdim)))


def logsumexp(x: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) along dim, without overflow."""
    return LogSumExp.apply(x, normalize_dims(dim, x.ndim, "logsumexp"), keepdim)


def softmax(x: Tensor, dim: int = -1, beta: float = 1.0) -> Tensor:
    """exp(beta x_j) / sum_i exp(beta x_i) along dim (seed 001 §1.2's temperature beta)."""
    axis = _check_dim(dim, x.ndim, "softmax")
    if x.ndim == 0:  # a 0-d tensor is a one-element row (the rule's arrays need an axis)
        return reshape(Softmax.apply(reshape(x, 1), 0, beta), ())
    return Softmax.apply(x, axis, beta)


def log_softmax(x: Tensor, dim: int = -1, beta: float = 1.0) -> Tensor:
    """beta x - logsumexp(beta x) along dim, computed stably."""
    axis = _check_dim(dim, x.ndim, "log_softmax")
    if x.ndim == 0:  # a 0-d tensor is a one-element row (the rule's arrays need an axis)
        return reshape(LogSoftmax.apply(reshape(x, 1), 0, beta), ())
    return LogSoftmax.apply(x, axis, beta)


# -- products ---------------------------------------------------------------------------------
def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics (batched, broadcasting, 1-D promotion)."""
    return Matmul.apply(as_tensor(a), as_tensor(b))


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x W^T + b, one fused primitive."""
    return Linear.apply(x, weight, bias)
