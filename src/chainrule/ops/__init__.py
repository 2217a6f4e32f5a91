"""The rule table's front door: functions that check arguments where the user made the mistake,
then call the primitives (whose forward and backward sit side by side in the modules here) or
compose them. Compositions carry no derivative code: autodiff differentiates them.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from collections.abc import Sequence
from typing import Any, overload

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
    Log1p,
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
from chainrule.tensor_base import ArrayLike, TensorBase, TensorT, _check_dim
from chainrule.tensor_base import TensorBase as Tensor  # the tensor layer types against the base


# -- elementwise ------------------------------------------------------------------------------
def add(a: TensorT | ArrayLike, b: TensorT | ArrayLike, alpha: float = 1) -> TensorT:
    x, y = promote(_operand(a), _operand(b))
    return Add.apply(x, y if alpha == 1 else y * alpha)


def sub(a: TensorT | ArrayLike, b: TensorT | ArrayLike, alpha: float = 1) -> TensorT:
    x, y = promote(_operand(a), _operand(b))
    return Sub.apply(x, y if alpha == 1 else y * alpha)


def mul(a: TensorT | ArrayLike, b: TensorT | ArrayLike) -> TensorT:
    return Mul.apply(*promote(_operand(a), _operand(b)))


def div(
    a: TensorT | ArrayLike, b: TensorT | ArrayLike, *, rounding_mode: str | None = None
) -> TensorT:
    """a / b; rounding_mode "trunc" or "floor" rounds the quotient (integers stay integers,
    and the gradient is 0, as torch)."""
    if rounding_mode is not None:
        return _rounding.rounded_div(a, b, rounding_mode)
    x, y = promote(_operand(a), _operand(b))
    if _is_integral(x) and _is_integral(y):  # true division of integers gives the default float
        x = to(as_tensor(x), backend.get_default_dtype())
        if not isinstance(y, int):  # NumPy would promote float32 / int64 to float64
            y = to(as_tensor(y), backend.get_default_dtype())
    return Div.apply(x, y)


def _is_integral(x: Any) -> bool:
    if isinstance(x, bool):
        return True
    if isinstance(x, int):
        return True
    dtype = getattr(x, "dtype", None)
    return dtype is not None and np.dtype(dtype).kind in "iub"


def pow(a: TensorT | ArrayLike, b: TensorT | ArrayLike) -> TensorT:
    return Pow.apply(_operand(a), _operand(b))


def _floating(x: TensorT | ArrayLike) -> TensorT:
    """x as a tensor, integers and bools cast to the default float dtype (PyTorch's rule for
    exp, log, sqrt, sin, cos, tanh, sigmoid: NumPy would give float64, or ints for sigmoid)."""
    t = as_tensor(x)
    # kind "O": object arrays of SymPy expressions (chainrule.symbolic) are exact, never cast
    return t if t.dtype.kind in "fcO" else to(t, backend.get_default_dtype())


def neg(x: TensorT) -> TensorT:
    return Neg.apply(x)


def exp(x: TensorT | ArrayLike) -> TensorT:
    """e^x elementwise."""
    return Exp.apply(_floating(x))


def log(x: TensorT | ArrayLike) -> TensorT:
    """Natural logarithm elementwise."""
    return Log.apply(_floating(x))


def log1p(x: TensorT | ArrayLike) -> TensorT:
    """ln(1 + x) elementwise, exact for small |x|."""
    return Log1p.apply(_floating(x))


def sqrt(x: TensorT | ArrayLike) -> TensorT:
    return Sqrt.apply(_floating(x))


def sin(x: TensorT | ArrayLike) -> TensorT:
    return Sin.apply(_floating(x))


def cos(x: TensorT | ArrayLike) -> TensorT:
    return Cos.apply(_floating(x))


def tanh(x: TensorT | ArrayLike) -> TensorT:
    return Tanh.apply(_floating(x))


def sigmoid(x: TensorT | ArrayLike) -> TensorT:
    """1 / (1 + e^-x), stable for any magnitude."""
    return Sigmoid.apply(_floating(x))


def relu(x: TensorT | ArrayLike) -> TensorT:
    return Relu.apply(as_tensor(x))


def abs(x: TensorT | ArrayLike) -> TensorT:
    return Abs.apply(as_tensor(x))


def clamp(x: TensorT | ArrayLike, min: Any = None, max: Any = None) -> TensorT:
    """x limited to [min, max]; tensor bounds broadcast and promote (ops.pointwise.clamp)."""
    return _pointwise.clamp(x, min, max)


def maximum(a: TensorT | ArrayLike, b: TensorT | ArrayLike) -> TensorT:
    return Maximum.apply(*promote(_operand(a), _operand(b)))


def minimum(a: TensorT | ArrayLike, b: TensorT | ArrayLike) -> TensorT:
    return Minimum.apply(*promote(_operand(a), _operand(b)))


def where(condition: Any, a: TensorT | ArrayLike, b: TensorT | ArrayLike) -> TensorT:
    """Elementwise choice: a where condition holds, else b."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise errors.DTypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    return Where.apply(cond, *promote(_operand(a), _operand(b)))


def to(x: TensorT, dtype: Any) -> TensorT:
    dtype = np.dtype(dtype)
    return x if x.dtype == dtype else Cast.apply(x, dtype)


# -- reductions -------------------------------------------------------------------------------
def sum(x: TensorT, dim: Any = None, keepdim: bool = False, dtype: Any = None, *,
        axis: Any = None, keepdims: bool | None = None) -> TensorT:  # fmt: skip
    if axis is not None or keepdims is not None:  # NumPy's names, which torch accepts too
        dim, keepdim = _reduce.aliases("sum", dim, axis, keepdim, keepdims)
    if dtype is not None:
        x = to(x, dtype)
    elif x._data.dtype.kind in "biu":  # torch sums bools and integers as int64
        x = to(x, np.int64)
    return Sum.apply(x, normalize_dims(dim, x.ndim, "sum"), keepdim)


def _count(x: Tensor, dims: tuple[int, ...] | None) -> int:
    if dims is None or x.ndim == 0:
        return x.numel()
    return math.prod(x.shape[d] for d in dims)


def mean(x: TensorT, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
         axis: Any = None, keepdims: bool | None = None) -> TensorT:  # fmt: skip
    if axis is not None or keepdims is not None:  # NumPy's names, which torch accepts too
        dim, keepdim = _reduce.aliases("mean", dim, axis, keepdim, keepdims)
    dims = normalize_dims(dim, x.ndim, "mean")
    if dtype is not None:
        if np.dtype(dtype).kind not in "fc":
            raise errors.DTypeError(f"mean: dtype must be floating point or complex, got {dtype}")
        x = to(x, dtype)
    elif x._data.dtype.kind not in "fcO":  # "O": SymPy object arrays (chainrule.symbolic)
        raise errors.DTypeError(
            f"mean: input dtype must be floating point or complex, got {x.dtype} (torch does "
            f"not infer an output dtype for it; convert with .float() or pass dtype=)"
        )
    count = _count(x, dims)
    if count == 0:  # the mean of nothing is nan (PyTorch), with no 1/0 in forward or backward
        return Sum.apply(x, dims, keepdim) * float("nan")
    return Sum.apply(x, dims, keepdim) / count


def var(
    x: TensorT,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
    axis: Any = None,
    keepdims: bool | None = None,
) -> TensorT:
    """Variance with Bessel's correction by default (correction=1), as torch.var."""
    if axis is not None or keepdims is not None:  # NumPy's names, which torch accepts too
        dim, keepdim = _reduce.aliases("var", dim, axis, keepdim, keepdims)
    dims, correction = _reduce.spread_arguments("var", x, dim, unbiased, correction)
    return Var.apply(x, dims, correction, keepdim)


def std(x: TensorT, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
        *, correction: float | None = None, axis: Any = None,
        keepdims: bool | None = None) -> TensorT:  # fmt: skip
    """Standard deviation, one primitive so that its gradient at zero spread is 0 (PyTorch's),
    not sqrt's inf times var's 0."""
    if axis is not None or keepdims is not None:  # NumPy's names, which torch accepts too
        dim, keepdim = _reduce.aliases("std", dim, axis, keepdim, keepdims)
    dims, correction = _reduce.spread_arguments("std", x, dim, unbiased, correction)
    return Std.apply(x, dims, correction, keepdim)


def norm(x: TensorT, p: float = 2, dim: Any = None, keepdim: bool = False) -> TensorT:
    """The vector p-norm over dim (all elements by default), as torch.linalg.vector_norm; its
    gradient at the zero vector is 0, as PyTorch's."""
    return Norm.apply(_floating(x), float(p), normalize_dims(dim, x.ndim, "norm"), keepdim)


def amax(x: TensorT, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> TensorT:  # fmt: skip
    if axis is not None or keepdims is not None:  # NumPy's names, which torch accepts too
        dim, keepdim = _reduce.aliases("amax", dim, axis, keepdim, keepdims)
    return Amax.apply(x, normalize_dims(dim, x.ndim, "amax"), keepdim)


def amin(x: TensorT, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> TensorT:  # fmt: skip
    if axis is not None or keepdims is not None:  # NumPy's names, which torch accepts too
        dim, keepdim = _reduce.aliases("amin", dim, axis, keepdim, keepdims)
    return Amin.apply(x, normalize_dims(dim, x.ndim, "amin"), keepdim)


def _extreme(x: TensorT, dim: Any, keepdim: bool, op: str) -> Any:
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
        return values_indices(x, x._make(np.asarray(0)))
    if x.shape[axis] == 0:
        raise IndexError(
            f"{op}(): Expected reduction dim {dim} to have non-zero size (input of shape "
            f"{tuple(x.shape)})"
        )
    arg = np.argmax if op == "max" else np.argmin
    # the positions through _argextreme, a function cr.compile records (computed again on each
    # replay), rather than NumPy here (a plain array, which a trace would freeze)
    positions: Any = _argextreme(x, dim, True, arg, "argmax" if op == "max" else "argmin")
    values = Gather.apply(x, axis, positions._data)
    if not keepdim:
        values = values.reshape(reduced_shape(x.shape, (axis,)))
        positions = positions.reshape(values.shape)  # a recorded op, as the argmax is
    return values_indices(values, positions)


@overload
def max(x: TensorT, dim: None = None, keepdim: bool = False, *, axis: None = None,
        keepdims: bool | None = None) -> TensorT: ...  # fmt: skip
@overload
def max(x: TensorT, dim: int, keepdim: bool = False, *,
        keepdims: bool | None = None) -> values_indices[TensorT]: ...  # fmt: skip
@overload
def max(x: TensorT, *, axis: int, keepdim: bool = False,
        keepdims: bool | None = None) -> values_indices[TensorT]: ...  # fmt: skip
@overload
def max(x: TensorT, dim: TensorBase, keepdim: bool = False) -> TensorT: ...
def max(x: TensorT, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
        keepdims: bool | None = None) -> Any:  # fmt: skip
    """max over all elements, or (values, indices) along dim, or the elementwise maximum."""
    if axis is not None or keepdims is not None:  # NumPy's names, which torch accepts too
        dim, keepdim = _reduce.aliases("max", dim, axis, keepdim, keepdims)
    return _extreme(x, dim, keepdim, "max")


@overload
def min(x: TensorT, dim: None = None, keepdim: bool = False, *, axis: None = None,
        keepdims: bool | None = None) -> TensorT: ...  # fmt: skip
@overload
def min(x: TensorT, dim: int, keepdim: bool = False, *,
        keepdims: bool | None = None) -> values_indices[TensorT]: ...  # fmt: skip
@overload
def min(x: TensorT, *, axis: int, keepdim: bool = False,
        keepdims: bool | None = None) -> values_indices[TensorT]: ...  # fmt: skip
@overload
def min(x: TensorT, dim: TensorBase, keepdim: bool = False) -> TensorT: ...
def min(x: TensorT, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
        keepdims: bool | None = None) -> Any:  # fmt: skip
    if axis is not None or keepdims is not None:  # NumPy's names, which torch accepts too
        dim, keepdim = _reduce.aliases("min", dim, axis, keepdim, keepdims)
    return _extreme(x, dim, keepdim, "min")


def argmax(x: TensorT, dim: int | None = None, keepdim: bool = False, *,
           axis: int | None = None, keepdims: bool | None = None) -> TensorT:  # fmt: skip
    if axis is not None or keepdims is not None:  # NumPy's names, which torch accepts too
        dim, keepdim = _reduce.aliases("argmax", dim, axis, keepdim, keepdims)
    return _argextreme(x, dim, keepdim, np.argmax, "argmax")


def argmin(x: TensorT, dim: int | None = None, keepdim: bool = False, *,
           axis: int | None = None, keepdims: bool | None = None) -> TensorT:  # fmt: skip
    if axis is not None or keepdims is not None:  # NumPy's names, which torch accepts too
        dim, keepdim = _reduce.aliases("argmin", dim, axis, keepdim, keepdims)
    return _argextreme(x, dim, keepdim, np.argmin, "argmin")


def _refuse_empty(x: Tensor, op: str, error: type[Exception]) -> None:
    """torch's refusal to reduce all of an empty tensor (RuntimeError, IndexError for arg*)."""
    if x.numel() == 0:
        raise error(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0 (input of "
            f"shape {tuple(x.shape)}). Specify the reduction dim with the 'dim' argument."
        )


def _argextreme(x: TensorT, dim: Any, keepdim: bool, fn: Any, op: str) -> TensorT:
    # NumPy's argmax/argmin, like torch's, give the first NaN: NaN counts as the extreme
    if dim is None:
        _refuse_empty(x, op, IndexError)
        return x._make(np.asarray(fn(x._data)))
    axis = _check_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return x._make(np.asarray(0))
    if x.shape[axis] == 0:
        raise IndexError(
            f"{op}(): Expected reduction dim {dim} to have non-zero size (input of shape "
            f"{tuple(x.shape)})"
        )
    return x._make(np.asarray(fn(x._data, axis=axis, keepdims=keepdim)))


def logsumexp(x: TensorT, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
              keepdims: bool | None = None) -> TensorT:  # fmt: skip
    """log(sum(exp(x))) along dim, without overflow."""
    if axis is not None or keepdims is not None:  # NumPy's names, which torch accepts too
        dim, keepdim = _reduce.aliases("logsumexp", dim, axis, keepdim, keepdims)
    return LogSumExp.apply(x, normalize_dims(dim, x.ndim, "logsumexp"), keepdim)


def softmax(x: TensorT, dim: int = -1, beta: float = 1.0) -> TensorT:
    """exp(beta x_j) / sum_i exp(beta x_i) along dim (seed 001 §1.2's temperature beta)."""
    axis = _check_dim(dim, x.ndim, "softmax")
    if x.ndim == 0:  # a 0-d tensor is a one-element row (the rule's arrays need an axis)
        return reshape(Softmax.apply(reshape(x, 1), 0, beta), ())
    return Softmax.apply(x, axis, beta)


def log_softmax(x: TensorT, dim: int = -1, beta: float = 1.0) -> TensorT:
    """beta x - logsumexp(beta x) along dim, computed stably."""
    axis = _check_dim(dim, x.ndim, "log_softmax")
    if x.ndim == 0:  # a 0-d tensor is a one-element row (the rule's arrays need an axis)
        return reshape(LogSoftmax.apply(reshape(x, 1), 0, beta), ())
    return LogSoftmax.apply(x, axis, beta)


# -- products ---------------------------------------------------------------------------------
def matmul(a: TensorT | ArrayLike, b: TensorT | ArrayLike) -> TensorT:
    """Matrix product with NumPy/PyTorch semantics (batched, broadcasting, 1-D promotion)."""
    return Matmul.apply(as_tensor(a), as_tensor(b))


def linear(x: TensorT, weight: Tensor, bias: Tensor | None = None) -> TensorT:
    """x W^T + b, one fused primitive."""
    return Linear.apply(x, weight, bias)


# div's rounding modes (rounding.py) and clamp's bounds (pointwise.py) live there; those modules
# need none of this one, so they are imported here, after it
from chainrule.ops import pointwise as _pointwise  # noqa: E402
from chainrule.ops import rounding as _rounding  # noqa: E402
from chainrule.ops.logic import (  # noqa: E402
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    isclose,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    isreal,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    nan_to_num,
)
from chainrule.ops.pointwise import (  # noqa: E402
    acos,
    acosh,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    clamp_max,
    clamp_min,
    cosh,
    deg2rad,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    float_power,
    hypot,
    lerp,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    rad2deg,
    sinc,
    sinh,
    tan,
    xlogy,
)
from chainrule.ops.rounding import (  # noqa: E402
    ceil,
    copysign,
    fix,
    floor,
    fmod,
    frac,
    round,
    sgn,
    sign,
    signbit,
    trunc,
)

# torch's aliases of the basic ops
absolute, negative, multiply, subtract, divide, true_divide = abs, neg, mul, sub, div, div


def positive(x: TensorT) -> TensorT:
    """x itself (torch.positive); refused for bool, as torch."""
    if x.dtype == bool:
        raise errors.DTypeError("positive: the `+` operator, on a bool tensor is not supported")
    return x


# the argument rules the reductions above share (imported here, after them: reduce.py needs none
# of this module, so the import sits in this block rather than at the top)
from chainrule.ops import reduce as _reduce  # noqa: E402
from chainrule.ops.linalg import (  # noqa: E402  (after the functions above, as the blocks)
    addmm,
    addmv,
    baddbmm,
    bmm,
    cross,
    einsum,
    ger,
    inner,
    kron,
    mv,
    outer,
    tensordot,
    trace,
)
from chainrule.ops.order import (  # noqa: E402
    median,
    nanmedian,
    nanquantile,
    quantile,
)
from chainrule.ops.reduce import (  # noqa: E402
    aminmax,
    count_nonzero,
    cummax,
    cummin,
    cumprod,
    cumsum,
    diff,
    logcumsumexp,
    nanmean,
    nansum,
    prod,
    std_mean,
    var_mean,
)
from chainrule.ops.selection import (  # noqa: E402
    argsort,
    argwhere,
    index_select,
    masked_select,
    msort,
    narrow,
    nonzero,
    scatter,
    scatter_reduce,
    take,
    take_along_dim,
)
from chainrule.ops.structure import (  # noqa: E402
    atleast_1d,
    atleast_2d,
    atleast_3d,
    block_diag,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    cartesian_prod,
    column_stack,
    diag,
    diag_embed,
    diagflat,
    diagonal,
    dstack,
    fliplr,
    flipud,
    hstack,
    meshgrid,
    moveaxis,
    movedim,
    repeat_interleave,
    roll,
    rot90,
    row_stack,
    swapaxes,
    swapdims,
    tile,
    tril,
    tril_indices,
    triu,
    triu_indices,
    unflatten,
    unfold,
    vstack,
)
