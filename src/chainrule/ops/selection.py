"""torch's selecting and scattering functions: index_select, take, take_along_dim, narrow,
nonzero, argwhere, masked_select, argsort, scatter and scatter_reduce.

Compositions of the indexing primitives (Index, IndexPut, ScatterAdd, Where) except
scatter_reduce, whose prod/amax/amin rules for ties and zeros are a primitive of their own; the
indices and masks they compute are constants.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from chainrule.errors import ArgumentError, DTypeError, IndexOutOfRangeError, ShapeError
from chainrule.ops.composite import _sorted_along, sort
from chainrule.ops.conversion import as_tensor
from chainrule.ops.shaping import (
    expand,
    gather,
    index,
    reshape,
)
from chainrule.ops.structure import _along, _broadcast, _data, _ints, _same_dtype
from chainrule.primitives.binary import Where
from chainrule.primitives.indexing import Index, IndexPut, ScatterAdd
from chainrule.primitives.structure import ScatterReduce
from chainrule.tensor_base import TensorBase as Tensor  # the tensor layer types against the base
from chainrule.tensor_base import TensorT, _check_dim

_select = index  # the functions below take an argument named `index`, as torch's


# -- selecting --------------------------------------------------------------------------------
def index_select(input: TensorT, dim: int, index: Any) -> TensorT:
    """The entries at `index` (a vector of positions) along dim."""
    idx = _ints("index_select", "index", index)
    if idx.ndim > 1:
        raise ShapeError("index_select(): Index is supposed to be a vector")
    axis = _check_dim(dim, input.ndim, "index_select")
    n = input.shape[axis] if input.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):  # torch refuses, NumPy would wrap -1
        raise IndexError(f"index_select(): index out of range in self (size {n} along dim {dim})")
    x = reshape(input, (1,)) if input.ndim == 0 else input
    picked = Index.apply(x, _along(axis, idx.reshape(-1)))
    return reshape(picked, ()) if input.ndim == 0 else picked


def take(input: TensorT, index: Any) -> TensorT:
    """input read as 1-D at `index`, in index's shape."""
    idx = _ints("take", "index", index)
    n = input.numel()
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"take(): index out of range in self (tensor of {n} elements)")
    return Index.apply(reshape(input, (n,)), idx)


def take_along_dim(input: TensorT, indices: Any, dim: int | None = None) -> TensorT:
    """gather with broadcasting: the entries at `indices` along dim (of the flattened tensor
    when dim is None)."""
    idx = _ints("take_along_dim", "indices", indices)
    if dim is None:
        return take(input, idx.reshape(-1))
    axis = _check_dim(dim, input.ndim, "take_along_dim")
    if idx.ndim != input.ndim:
        raise ShapeError(
            f"take_along_dim(): input and indices should have the same number of dimensions, "
            f"but got {input.ndim} dimensions for input, and {idx.ndim} dimensions for indices"
        )
    x_shape, i_shape = list(input.shape), list(idx.shape)
    x_shape[axis] = i_shape[axis] = 1
    common = _broadcast("take_along_dim", tuple(x_shape), tuple(i_shape))
    x = expand(input, tuple(input.shape[axis] if d == axis else n for d, n in enumerate(common)))
    idx = np.broadcast_to(
        idx, tuple(idx.shape[axis] if d == axis else n for d, n in enumerate(common))
    )
    return gather(x, axis, idx)


def narrow(input: TensorT, dim: int, start: Any, length: int) -> TensorT:
    """length entries along dim from start (negative start counts from the end)."""
    axis = _check_dim(dim, input.ndim, "narrow")
    n = input.shape[axis]
    begin = int(_data(start)) if isinstance(start, Tensor) else int(start)
    if not -n <= begin <= n:
        raise IndexError(f"narrow(): start ({begin}) is out of range for dimension of size {n}")
    begin %= builtins.max(n, 1) if begin < 0 else n + 1
    if length < 0 or begin + length > n:
        raise ShapeError(
            f"narrow(): start ({begin}) + length ({length}) exceeds dimension size ({n})."
        )
    return index(input, _along(axis, slice(begin, begin + length)))


def nonzero(input: Any, *, as_tuple: bool = False) -> Any:
    """The coordinates of the nonzero entries: an (n, ndim) int64 tensor, or one vector per dim."""
    data = _data(input)
    if as_tuple:
        return tuple(Tensor._make(c.astype(np.int64)) for c in np.nonzero(np.atleast_1d(data)))
    return Tensor._make(np.argwhere(data).astype(np.int64))


def argwhere(input: TensorT) -> TensorT:
    return nonzero(input)


def masked_select(input: TensorT, mask: Any) -> TensorT:
    """The entries where mask (a bool tensor; the two broadcast) holds, as a vector."""
    m = _data(mask)
    if m.dtype != np.bool_:
        raise DTypeError(f"masked_select: expected BoolTensor for mask, got dtype {m.dtype}")
    shape = _broadcast("masked_select", tuple(input.shape), m.shape)
    return Index.apply(expand(input, shape), np.broadcast_to(m, shape))


def argsort(
    input: TensorT, dim: int = -1, descending: bool = False, stable: bool = False
) -> TensorT:
    """The int64 positions that sort input along dim (always stable here)."""
    _, order = _sorted_along(input, dim, descending, "argsort")
    return input._make(order)


def msort(input: TensorT) -> TensorT:
    """input sorted along dim 0."""
    return sort(input, 0).values


# -- scattering -------------------------------------------------------------------------------
def _scatter_key(op: str, x: Tensor, dim: int, index: Any, src: Any) -> tuple[int, Any, Any]:
    """(axis, the full NumPy key index addresses in x, the part of src it reads), checked."""
    idx = _ints(op, "index", index)
    axis = _check_dim(dim, x.ndim, op)
    if idx.ndim != x.ndim:
        raise ShapeError(
            f"{op}(): Index tensor must have the same number of dimensions as self tensor "
            f"(index of shape {tuple(idx.shape)}, self of shape {tuple(x.shape)})"
        )
    src_shape = tuple(src.shape) if isinstance(src, Tensor) else None
    for d, n in enumerate(idx.shape):
        too_big = (d != axis and n > x.shape[d]) or (src_shape is not None and n > src_shape[d])
        if too_big:
            raise ShapeError(
                f"{op}(): Expected index {tuple(idx.shape)} to be smaller than self "
                f"{tuple(x.shape)} apart from dimension {axis} and to be smaller size than src "
                f"{src_shape}"
            )
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[axis]):
        raise IndexOutOfRangeError(
            f"{op}(): index {int(idx.min() if idx.min() < 0 else idx.max())} is out of bounds "
            f"for dimension {axis} with size {x.shape[axis]}"
        )
    grids: list[Any] = list(np.indices(idx.shape, sparse=True))
    grids[axis] = idx
    part = src
    if isinstance(src, Tensor):
        corner = tuple(slice(0, n) for n in idx.shape)  # the part of src that index covers
        part = _select(src, corner) if src.shape != idx.shape else src
    return axis, tuple(grids), part


def scatter(input: TensorT, dim: int, index: Any, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> TensorT:  # fmt: skip
    """input with src's entries (or one value) written at `index` along dim:
    out[i][index[i][j]] = src[i][j] for dim 1. reduce='add' or 'multiply' combines instead."""
    source = value if src is None else src
    if source is None:
        raise ArgumentError("scatter(): give src (a tensor) or value (a number)")
    if isinstance(source, (int, float, bool, np.number)) and not isinstance(source, Tensor):
        source = input._make(np.full(_data(index).shape, source, dtype=input.dtype))
    source = _same_dtype([as_tensor(source), input])[0] if isinstance(source, Tensor) else source
    if reduce is not None:
        names = {"add": "sum", "multiply": "prod"}
        if reduce not in names:
            raise ArgumentError(
                f"scatter(): reduce argument must be either add or multiply, got {reduce!r}"
            )
        return scatter_reduce(input, dim, index, source, names[reduce])
    _, key, part = _scatter_key("scatter", input, dim, index, source)
    return IndexPut.apply(input, key, part)


def scatter_reduce(input: TensorT, dim: int, index: Any, src: Any, reduce: str, *,
                   include_self: bool = True) -> TensorT:  # fmt: skip
    """input with src's entries combined in at `index` along dim by 'sum', 'prod', 'mean',
    'amax' or 'amin' (input's own entry counted unless include_self=False)."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise ArgumentError(
            f"scatter_reduce(): reduce argument must be either sum, prod, mean, amax or amin, "
            f"got {reduce!r}"
        )
    src = _same_dtype([as_tensor(src), input])[0]
    axis, key, part = _scatter_key("scatter_reduce", input, dim, index, src)
    touched = np.zeros(input.shape, dtype=bool)
    touched[key] = True
    base = input if include_self else Where.apply(touched, input._data.dtype.type(0), input)
    if reduce in ("sum", "mean"):
        total = base + ScatterAdd.apply(part, axis, key[axis], tuple(input.shape))
        if reduce == "sum":
            return total
        count = np.zeros(input.shape, dtype=np.int64)
        np.add.at(count, key, 1)
        count += 1 if include_self else 0
        count = np.maximum(count, 1)
        if input.dtype.kind in "iu":  # torch floors the integer mean
            return input._make(np.floor_divide(total._data, count).astype(input.dtype))
        return total / count.astype(input.dtype)
    return ScatterReduce.apply(input, part, key, reduce, include_self)
