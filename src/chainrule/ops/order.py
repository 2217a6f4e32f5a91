"""Order statistics (torch's names): median and nanmedian (values and indices along a dim, the
lower median, as torch) and quantile/nanquantile (torch's five interpolations).

Compositions of the sorting and indexing ops; the gradient goes to the entries the statistic
is read from (split between the two that linear interpolation mixes).
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np

from chainrule import errors
from chainrule.ops.composite import values_indices
from chainrule.ops.reduce import aliases
from chainrule.ops.shaping import index, permute, reshape
from chainrule.primitives.binary import Add, Div, Mul, Sub
from chainrule.primitives.indexing import Gather, Index
from chainrule.primitives.reduction import Sum
from chainrule.tensor_base import TensorBase, TensorT, _check_dim


# -- order statistics -----------------------------------------------------------------------------
def _median(x: TensorT, dim: Any, keepdim: bool, op: str, skip_nan: bool) -> Any:
    if dim is None:
        return _median_all(x, op, skip_nan)
    at = _check_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return values_indices(index(x, ()), x._make(np.zeros((), dtype=np.int64)))
    if x.shape[at] == 0:
        raise IndexError(
            f"{op}(): Expected reduction dim {dim} to have non-zero size (input of shape "
            f"{tuple(x.shape)})"
        )
    data = np.asarray(x._data)
    order = np.argsort(data, axis=at, kind="stable")  # NaN sorts last, in its original order
    n = data.shape[at]
    valid = (~np.isnan(data)).sum(axis=at, keepdims=True) if data.dtype.kind in "fc" else n
    # nanmedian: the lower median of the valid entries, the first NaN where there are none;
    # median: the lower median, or the first NaN of a row that has one (torch's pick)
    k = (np.maximum(valid, 1) - 1) // 2 if skip_nan else np.where(valid < n, valid, (n - 1) // 2)
    kept = (*order.shape[:at], 1, *order.shape[at + 1 :])
    indices = np.take_along_axis(order, np.broadcast_to(k, kept), at)
    values = Gather.apply(x, at, indices)
    if not keepdim:
        indices = indices.squeeze(at)
        values = reshape(values, indices.shape)
    return values_indices(values, x._make(indices.astype(np.int64)))


def _median_all(x: TensorT, op: str, skip_nan: bool) -> TensorT:
    """The lower median of all elements; its gradient is spread evenly over the elements equal
    to it (torch's evenly_distribute_backward), NaNs counting as equal to a NaN median."""
    flat = reshape(x, (x.numel(),))
    data = np.asarray(flat._data)
    if data.size == 0:
        if data.dtype.kind not in "fc":
            raise errors.ShapeError(
                f"{op}: the median of an empty {data.dtype} tensor is undefined (NaN, torch's "
                f"answer for floats, is not an integer)"
            )
        return Mul.apply(Sum.apply(flat, None, False), float("nan"))  # torch's nan
    nan = np.isnan(data) if data.dtype.kind in "fc" else np.zeros(data.shape, dtype=bool)
    valid = np.sort(data[~nan]) if skip_nan else np.sort(data)
    if (nan.any() and not skip_nan) or valid.size == 0:
        ties = np.flatnonzero(nan)
    else:
        ties = np.flatnonzero(data == valid[(valid.size - 1) // 2])
    picked = Sum.apply(Index.apply(flat, ties), None, False)
    return picked if len(ties) == 1 else Div.apply(picked, len(ties))


@overload
def median(x: TensorT, dim: None = None, keepdim: bool = False, *, axis: None = None,
           keepdims: bool | None = None) -> TensorT: ...  # fmt: skip
@overload
def median(x: TensorT, dim: int, keepdim: bool = False, *,
           keepdims: bool | None = None) -> values_indices[TensorT]: ...  # fmt: skip
@overload
def median(x: TensorT, *, axis: int, keepdim: bool = False,
           keepdims: bool | None = None) -> values_indices[TensorT]: ...  # fmt: skip
def median(x: TensorT, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: bool | None = None) -> Any:  # fmt: skip
    """The lower median of all elements, or (values, indices) along dim, as torch.median:
    NaN if there is a NaN. Which of several equal entries the index names is unspecified (as in
    torch); the gradient along dim goes to that index.

    >>> import chainrule as cr
    >>> cr.tensor([4.0, 1.0, 3.0, 2.0]).median()
    tensor(2.)
    """
    if axis is not None or keepdims is not None:
        dim, keepdim = aliases("median", dim, axis, keepdim, keepdims)
    return _median(x, dim, keepdim, "median", skip_nan=False)


@overload
def nanmedian(x: TensorT, dim: None = None, keepdim: bool = False, *, axis: None = None,
              keepdims: bool | None = None) -> TensorT: ...  # fmt: skip
@overload
def nanmedian(x: TensorT, dim: int, keepdim: bool = False, *,
              keepdims: bool | None = None) -> values_indices[TensorT]: ...  # fmt: skip
@overload
def nanmedian(x: TensorT, *, axis: int, keepdim: bool = False,
              keepdims: bool | None = None) -> values_indices[TensorT]: ...  # fmt: skip
def nanmedian(x: TensorT, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
              keepdims: bool | None = None) -> Any:  # fmt: skip
    """median ignoring NaNs (NaN only where every entry is NaN), as torch.nanmedian."""
    if axis is not None or keepdims is not None:
        dim, keepdim = aliases("nanmedian", dim, axis, keepdim, keepdims)
    return _median(x, dim, keepdim, "nanmedian", skip_nan=True)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x: Any, q: Any, dim: Any, keepdim: bool, how: str, op: str, skip_nan: bool) -> Any:
    """Quantiles read from the sorted values (gathered, so the gradient goes back to the entries
    they came from), at rank q (N - 1) between two neighbours, as torch.quantile."""
    if how not in _INTERPOLATIONS:
        choices = ", ".join(_INTERPOLATIONS)
        raise errors.ArgumentError(f"{op}: interpolation must be one of {choices}, got {how!r}")
    if x.dtype.kind != "f":
        raise errors.DTypeError(f"{op}: input must be a float tensor, got dtype {x.dtype}")
    if isinstance(q, TensorBase) and q.dtype != x.dtype:
        raise errors.DTypeError(f"{op}: q must have the input's dtype {x.dtype}, got {q.dtype}")
    qs = np.asarray(q._data if isinstance(q, TensorBase) else q, dtype=np.float64)
    if qs.ndim > 1 or x.numel() == 0 or ((qs < 0) | (qs > 1)).any():
        raise errors.ArgumentError(f"{op}: q must be a scalar or a 1-D tensor of values in [0, 1]"
                                   f" (got {qs.tolist()}), and the input non-empty (shape "
                                   f"{tuple(x.shape)})")  # fmt: skip
    at = 0 if dim is None else _check_dim(dim, x.ndim, op)
    src = reshape(x, (x.numel(),)) if dim is None or x.ndim == 0 else x
    data = np.asarray(src._data)
    ranked = Gather.apply(src, at, np.argsort(data, axis=at, kind="stable"))  # NaN last
    n = data.shape[at]
    valid = (~np.isnan(data)).sum(axis=at, keepdims=True)
    along = qs.reshape((-1,) + (1,) * (data.ndim - at - 1))  # the q values along dim `at`
    # nanquantile ranks among the valid entries (a row of NaNs reads its NaN at 0); quantile
    # reads the last entry, a NaN, in a row that has one
    rank = (
        along * np.maximum(valid - 1, 0)
        if skip_nan
        else np.where(valid < n, n - 1, along * (n - 1))
    )
    low, high = np.floor(rank).astype(np.int64), np.ceil(rank).astype(np.int64)
    if how in ("lower", "higher", "nearest"):
        pick = {"lower": low, "higher": high, "nearest": np.round(rank).astype(np.int64)}[how]
        out = Gather.apply(ranked, at, pick)
    else:
        a, b = Gather.apply(ranked, at, low), Gather.apply(ranked, at, high)
        w = np.full(rank.shape, 0.5) if how == "midpoint" else rank - low
        out = Add.apply(a, Mul.apply(Sub.apply(b, a), w.astype(x.dtype)))
    out = permute(out, (at, *[d for d in range(out.ndim) if d != at]))  # q's dim first
    if keepdim:
        out = reshape(out, (len(along), *(1 if dim is None or d == at else s
                                          for d, s in enumerate(x.shape))))  # fmt: skip
    return index(out, 0) if qs.ndim == 0 else out


def quantile(x: TensorT, q: Any, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> TensorT:  # fmt: skip
    """The q-th quantiles (q a number or a 1-D tensor in [0, 1]) of all elements or along dim;
    NaN where a NaN is present, as torch.quantile.

    >>> import chainrule as cr
    >>> cr.quantile(cr.tensor([1.0, 2.0, 3.0, 4.0]), 0.5)
    tensor(2.5000)
    """
    return _quantile(x, q, dim, keepdim, interpolation, "quantile", skip_nan=False)


def nanquantile(x: TensorT, q: Any, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> TensorT:  # fmt: skip
    """quantile ignoring NaNs (NaN only where every entry is NaN), as torch.nanquantile."""
    return _quantile(x, q, dim, keepdim, interpolation, "nanquantile", skip_nan=True)
