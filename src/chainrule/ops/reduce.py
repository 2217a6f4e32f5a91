"""Reductions and scans beyond sum/mean/max: prod, cumulative sums, products, extremes and
log-sum-exps, nan-ignoring sums and means, counts, differences (medians and quantiles:
ops/order.py), and the argument rules
(numpy's `axis=`/`keepdims=`, torch's `unbiased=`/`correction=`) the older reductions share.

Compositions of the primitives where the gradient convention allows (cummax gathers at the
returned index, median spreads evenly over ties as torch does); the scans and prod are the
primitives of `primitives/scan.py`. Indices and masks computed here are constants.
"""

from __future__ import annotations

from typing import Any, Generic, NamedTuple

import numpy as np

from chainrule import errors
from chainrule.ops.composite import masked_fill, values_indices
from chainrule.ops.conversion import as_tensor
from chainrule.ops.promotion import result_type
from chainrule.ops.shaping import cat, index, reshape
from chainrule.primitives.binary import Div, Mul, Sub
from chainrule.primitives.elementwise import Cast
from chainrule.primitives.indexing import Gather
from chainrule.primitives.reduction import Amax, Amin, Std, Sum, Var, normalize_dims
from chainrule.primitives.scan import Cumprod, Cumsum, LogCumSumExp, Prod
from chainrule.tensor_base import TensorBase, TensorT, _check_dim


class min_max(NamedTuple, Generic[TensorT]):
    """What aminmax returns: (min, max), as torch's."""

    min: TensorT
    max: TensorT


# -- the argument rules the reductions share ---------------------------------------------------
def aliases(op: str, dim: Any, axis: Any, keepdim: bool, keepdims: bool | None) -> tuple[Any, bool]:
    """(dim, keepdim) from torch's NumPy-style aliases axis= and keepdims=, which torch accepts
    by keyword wherever it takes dim and keepdim."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: got both dim={dim!r} and axis={axis!r} (axis is another name "
                            f"for dim; give one)")  # fmt: skip
        dim = axis
    if keepdims is not None:
        if keepdim:
            raise TypeError(f"{op}: got both keepdim and keepdims (the same flag; give one)")
        keepdim = bool(keepdims)
    return dim, keepdim


def _required_dim(op: str, dim: Any, axis: Any) -> Any:
    dim, _ = aliases(op, dim, axis, False, None)
    if dim is None:
        raise TypeError(f"{op}() missing 1 required argument: 'dim'")
    return dim


def _cast(x: TensorT, dtype: Any) -> TensorT:
    dtype = np.dtype(dtype)
    return x if x.dtype == dtype else Cast.apply(x, dtype)


def accumulated(x: TensorT, dtype: Any) -> TensorT:
    """x cast to `dtype`, or bools and integers to int64 (torch's sum, prod, cumsum, cumprod
    never accumulate in a narrow integer type)."""
    if dtype is not None:
        return _cast(x, dtype)
    return _cast(x, np.int64) if x.dtype.kind in "biu" else x


def _floating_only(x: TensorBase, op: str) -> None:
    if x.dtype.kind not in "fcO":  # "O": SymPy object arrays (chainrule.symbolic)
        raise errors.DTypeError(
            f"{op}: input dtype must be floating point or complex, got {x.dtype} (torch does "
            f"not infer an output dtype; convert with .float() or pass dtype=)"
        )


def spread_arguments(
    op: str, x: TensorBase, dim: Any, unbiased: bool | None, correction: float | None
) -> tuple[tuple[int, ...] | None, float]:
    """(dims, correction) of var, std, var_mean, std_mean, read as torch reads them: a bool in
    dim's place is `unbiased` (torch.var(x, False)), unbiased=True is correction=1."""
    if isinstance(dim, bool):
        if unbiased is not None:
            raise TypeError(f"{op}: got unbiased twice (positionally as {dim} and by keyword)")
        unbiased, dim = dim, None
    if unbiased is not None and correction is not None:
        raise TypeError(
            f"{op}: give unbiased or correction, not both (unbiased=True is correction=1)"
        )
    if correction is None:
        correction = 0 if unbiased is False else 1
    if x.dtype.kind not in "fcO":
        raise errors.DTypeError(
            f"{op}: std and var only support floating point and complex dtypes, got {x.dtype}"
        )
    return normalize_dims(dim, x.ndim, op), correction


def _mean(x: TensorT, dims: tuple[int, ...] | None, keepdim: bool) -> TensorT:
    count = x.numel() if dims is None or x.ndim == 0 else int(np.prod([x.shape[d] for d in dims]))
    total = Sum.apply(x, dims, keepdim)
    return Mul.apply(total, float("nan")) if count == 0 else Div.apply(total, count)


# -- products and scans -------------------------------------------------------------------------
def prod(x: TensorT, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None,
         axis: int | None = None, keepdims: bool | None = None) -> TensorT:  # fmt: skip
    """The product of all elements, or along one dim; its gradient is right at zeros (one or
    several), as torch's.

    >>> import chainrule as cr
    >>> cr.tensor([[1.0, 2.0], [3.0, 4.0]]).prod(1)
    tensor([ 2., 12.])
    """
    if axis is not None or keepdims is not None:
        dim, keepdim = aliases("prod", dim, axis, keepdim, keepdims)
    x = accumulated(x, dtype)
    if dim is None:
        return Prod.apply(x if x.ndim == 1 else reshape(x, (x.numel(),)), 0, False)
    axis = _check_dim(dim, x.ndim, "prod")
    if x.ndim == 0:
        return Prod.apply(reshape(x, (1,)), 0, False)
    return Prod.apply(x, axis, keepdim)


def _scan(x: TensorT, dim: Any, axis: Any, op: str, primitive: Any) -> TensorT:
    """primitive along dim; a 0-d tensor is scanned as a one-element vector."""
    at = _check_dim(_required_dim(op, dim, axis), x.ndim, op)
    if x.ndim == 0:
        return reshape(primitive.apply(reshape(x, (1,)), 0), ())
    return primitive.apply(x, at)


def cumsum(x: TensorT, dim: int | None = None, *, dtype: Any = None, axis: int | None = None
           ) -> TensorT:  # fmt: skip
    """Running sums along dim (bools and integers sum as int64, as torch).

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0, 3.0]).cumsum(0)
    tensor([1., 3., 6.])
    """
    return _scan(accumulated(x, dtype), dim, axis, "cumsum", Cumsum)


def cumprod(x: TensorT, dim: int | None = None, *, dtype: Any = None, axis: int | None = None
            ) -> TensorT:  # fmt: skip
    """Running products along dim; the gradient is right at zeros, as torch's.

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0, 3.0]).cumprod(0)
    tensor([1., 2., 6.])
    """
    return _scan(accumulated(x, dtype), dim, axis, "cumprod", Cumprod)


def logcumsumexp(x: TensorT, dim: int | None = None, *, axis: int | None = None) -> TensorT:
    """log(cumsum(exp(x))) along dim, without overflow.

    >>> import chainrule as cr
    >>> cr.tensor([0.0, 1000.0]).logcumsumexp(0)
    tensor([   0., 1000.])
    """
    if x.dtype.kind not in "fcO":
        raise errors.UnsupportedDTypeError(
            f"logcumsumexp: not implemented for dtype {x.dtype} (floating point only, as torch)"
        )
    return _scan(x, dim, axis, "logcumsumexp", LogCumSumExp)


def _cumulative_extreme(x: TensorT, dim: Any, axis: Any, op: str) -> values_indices[TensorT]:
    at = _check_dim(_required_dim(op, dim, axis), x.ndim, op)
    if x.ndim == 0:
        return values_indices(index(x, ()), x._make(np.zeros((), dtype=np.int64)))
    data = np.asarray(x._data)
    running = (np.maximum if op == "cummax" else np.minimum).accumulate(data, axis=at)
    # torch moves the index on ties (x >= running max) and to every NaN (NaN is the extreme from
    # its first appearance on), so the index is the last position that holds the running value
    hit = data == running
    if data.dtype.kind in "fc":
        hit |= np.isnan(data)
    positions = np.arange(data.shape[at]).reshape((-1,) + (1,) * (data.ndim - at - 1))
    indices = np.maximum.accumulate(np.where(hit, positions, 0), axis=at).astype(np.int64)
    # the values are read at the indices, so the gradient goes where torch sends it
    return values_indices(Gather.apply(x, at, indices), x._make(indices))


def cummax(x: TensorT, dim: int | None = None, *, axis: int | None = None
           ) -> values_indices[TensorT]:  # fmt: skip
    """(values, indices) of the running maximum along dim; the gradient goes to the index.

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 3.0, 2.0, 3.0]).cummax(0).indices
    tensor([0, 1, 1, 3])
    """
    return _cumulative_extreme(x, dim, axis, "cummax")


def cummin(x: TensorT, dim: int | None = None, *, axis: int | None = None
           ) -> values_indices[TensorT]:  # fmt: skip
    """(values, indices) of the running minimum along dim; the gradient goes to the index."""
    return _cumulative_extreme(x, dim, axis, "cummin")


# -- spreads with their means, extremes together -----------------------------------------------
def _spread_mean(op: str, spread: Any, x: Any, dim: Any, unbiased: Any, keepdim: bool,
                 correction: Any, axis: Any, keepdims: Any) -> Any:  # fmt: skip
    if axis is not None or keepdims is not None:
        dim, keepdim = aliases(op, dim, axis, keepdim, keepdims)
    dims, correction = spread_arguments(op, x, dim, unbiased, correction)
    return spread.apply(x, dims, correction, keepdim), _mean(x, dims, keepdim)


def var_mean(x: TensorT, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
             *, correction: float | None = None, axis: Any = None, keepdims: bool | None = None,
             ) -> tuple[TensorT, TensorT]:  # fmt: skip
    """(var, mean) over dim, as torch.var_mean (Bessel's correction by default)."""
    return _spread_mean("var_mean", Var, x, dim, unbiased, keepdim, correction, axis, keepdims)


def std_mean(x: TensorT, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
             *, correction: float | None = None, axis: Any = None, keepdims: bool | None = None,
             ) -> tuple[TensorT, TensorT]:  # fmt: skip
    """(std, mean) over dim, as torch.std_mean (Bessel's correction by default)."""
    return _spread_mean("std_mean", Std, x, dim, unbiased, keepdim, correction, axis, keepdims)


def aminmax(
    x: TensorT, *, dim: int | None = None, keepdim: bool = False, axis: int | None = None,
    keepdims: bool | None = None,
) -> min_max[TensorT]:  # fmt: skip
    """(min, max) over all elements or along dim; ties share the gradient, as amin/amax."""
    if axis is not None or keepdims is not None:
        dim, keepdim = aliases("aminmax", dim, axis, keepdim, keepdims)
    dims = None if dim is None else (_check_dim(dim, x.ndim, "aminmax"),)
    sizes = x.shape if dims is None or x.ndim == 0 else [x.shape[d] for d in dims]
    if 0 in sizes:
        raise errors.ShapeError(
            f"aminmax: cannot reduce an empty dimension (input of shape {tuple(x.shape)}, "
            f"dim={dim}): the min and max of nothing are undefined"
        )
    if x.ndim == 0:
        dims = None
    return min_max(Amin.apply(x, dims, keepdim), Amax.apply(x, dims, keepdim))


# -- ignoring NaN ---------------------------------------------------------------------------------
def _without_nan(x: TensorT) -> tuple[TensorT, np.ndarray | None]:
    """x with its NaNs replaced by 0 (selected, so they get no gradient), and where they were."""
    if x.dtype.kind not in "fc":
        return x, None
    nan = np.isnan(x._data)
    return (masked_fill(x, nan, 0.0), nan) if nan.any() else (x, None)


def nansum(
    x: TensorT, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,
    keepdims: bool | None = None,
) -> TensorT:  # fmt: skip
    """The sum with NaNs counted as 0 (they get no gradient)."""
    if axis is not None or keepdims is not None:
        dim, keepdim = aliases("nansum", dim, axis, keepdim, keepdims)
    filled, _ = _without_nan(accumulated(x, dtype))
    return Sum.apply(filled, normalize_dims(dim, x.ndim, "nansum"), keepdim)


def nanmean(
    x: TensorT, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,
    keepdims: bool | None = None,
) -> TensorT:  # fmt: skip
    """The mean of the non-NaN elements (NaN where there are none, as torch)."""
    if axis is not None or keepdims is not None:
        dim, keepdim = aliases("nanmean", dim, axis, keepdim, keepdims)
    if dtype is not None:
        x = _cast(x, dtype)
    _floating_only(x, "nanmean")
    dims = normalize_dims(dim, x.ndim, "nanmean")
    filled, nan = _without_nan(x)
    if nan is None:
        return _mean(x, dims, keepdim)
    axes = None if x.ndim == 0 else dims
    count = (~nan).sum(axis=axes, keepdims=keepdim)
    none = count == 0
    # a row of NaNs is NaN by selection, not 0/0, so its (zero) gradient stays finite
    mean = Div.apply(Sum.apply(filled, dims, keepdim), np.where(none, 1, count).astype(x.dtype))
    return masked_fill(mean, np.asarray(none), float("nan")) if none.any() else mean


# -- counts and differences -----------------------------------------------------------------------
def count_nonzero(x: TensorT, dim: Any = None, *, axis: Any = None) -> TensorT:
    """How many elements are not zero, over all or over dim (an int or a tuple), as int64."""
    dim, _ = aliases("count_nonzero", dim, axis, False, None)
    dims = normalize_dims(dim, x.ndim, "count_nonzero")
    axes = None if x.ndim == 0 else dims
    return x._make(np.asarray(np.count_nonzero(x._data, axis=axes), dtype=np.int64))


def diff(x: TensorT, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> TensorT:
    """The n-th forward difference along dim, after joining prepend and append to x there
    (bools differ by xor, as torch).

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 4.0, 9.0, 16.0]).diff()
    tensor([3., 5., 7.])
    """
    if x.ndim == 0:
        raise errors.ShapeError("diff: expects a tensor of at least one dimension, got a 0-d one")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise errors.ArgumentError(f"diff: order n must be a non-negative int, got {n!r}")
    at = _check_dim(dim, x.ndim, "diff")
    parts = [x]
    for name, extra in (("prepend", prepend), ("append", append)):
        if extra is None:
            continue
        t = as_tensor(extra)
        others = [s for d, s in enumerate(t.shape) if d != at]
        if t.ndim != x.ndim or others != [s for d, s in enumerate(x.shape) if d != at]:
            raise errors.ShapeError(
                f"diff: {name} must have the input's shape except along dim {dim}, got "
                f"{tuple(t.shape)} for an input of shape {tuple(x.shape)}"
            )
        parts.insert(0 if name == "prepend" else len(parts), t)
    if len(parts) > 1:
        common = result_type(*parts)
        x = cat([p if common is None else _cast(p, common) for p in parts], at)
    lead = (slice(None),) * at
    for _ in range(n):
        later, earlier = index(x, (*lead, slice(1, None))), index(x, (*lead, slice(None, -1)))
        if x.dtype == np.bool_:  # torch: a change of a bool is xor, not a subtraction
            x = x._make(np.not_equal(later._data, earlier._data))
        else:
            x = Sub.apply(later, earlier)
    return x
