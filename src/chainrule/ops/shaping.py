"""Front-end functions for shapes and indexing: argument checks where the user made the mistake,
then the primitives of shape.py and indexing.py (or compositions of them). The translation of a
torch index key into a NumPy one lives in index_keys.py (`_key`, imported here)."""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.errors import ArgumentError, DTypeError, IndexOutOfRangeError, ShapeError
from chainrule.ops.conversion import as_tensor
from chainrule.ops.index_keys import _key  # re-exported: ops and tensor_inplace use it
from chainrule.ops.operands import operand
from chainrule.primitives.indexing import Gather, Index, IndexAdd, IndexPut, ScatterAdd, is_basic
from chainrule.primitives.reduction import normalize_dims
from chainrule.primitives.shape import Cat, Expand, Permute, Reshape
from chainrule.tensor_base import TensorBase as Tensor  # the tensor layer types against the base
from chainrule.tensor_base import TensorT, _check_dim


# -- shapes -----------------------------------------------------------------------------------
def _shape_arg(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def reshape(x: TensorT, *shape: Any) -> TensorT:
    shape = _shape_arg(shape)
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape)


def view(x: TensorT, *shape: Any) -> TensorT:
    """x with a new shape, sharing its memory; refused (as torch does) where the memory layout
    cannot be read with the new shape without a copy: use reshape there."""
    new = _infer_size(_shape_arg(shape), x.numel(), "view")
    data = x._data
    if new == x.shape or data.ndim == 0:
        return reshape(x, new)
    itemsize = data.dtype.itemsize
    strides = tuple(st // itemsize for st in data.strides)
    if _view_strides(tuple(x.shape), strides, new) is None:
        raise ShapeError(
            f"view: view size is not compatible with input tensor's size and stride (at least "
            f"one dimension spans across two contiguous subspaces): shape {new} from a tensor of "
            f"shape {tuple(x.shape)} with strides {strides}. Use .reshape(...) instead."
        )
    return reshape(x, new)


def _infer_size(shape: tuple[int, ...], numel: int, op: str) -> tuple[int, ...]:
    """shape with its one -1 filled in, checked against numel (torch's infer_size)."""
    unknown = [i for i, n in enumerate(shape) if n == -1]
    if len(unknown) > 1:
        raise ShapeError(f"{op}: only one dimension can be inferred, got shape {shape}")
    if builtins.any(n < -1 for n in shape):
        raise ShapeError(f"{op}: invalid shape dimension in {shape}")
    known = math.prod(n for n in shape if n != -1)
    if unknown and known != 0 and numel % known == 0:
        return tuple(numel // known if n == -1 else n for n in shape)
    if unknown or known != numel:
        raise ShapeError(f"{op}: shape {shape} is invalid for input of size {numel}")
    return shape


def _view_strides(
    shape: tuple[int, ...], strides: tuple[int, ...], new: tuple[int, ...]
) -> tuple[int, ...] | None:
    """The strides that read memory laid out as (shape, strides) with shape `new`, or None when
    there are none (torch's computeStride). Dims are grouped into chunks that are contiguous
    among themselves; each dim of `new` must fall inside one chunk."""
    if not shape:
        return (1,) * len(new)
    numel = math.prod(shape)
    if numel == 0:
        return strides if shape == new else tuple(_contiguous_strides(new))
    out = [0] * len(new)
    view_d = len(new) - 1
    chunk_base = strides[-1]
    tensor_numel = view_numel = 1
    for tensor_d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[tensor_d]
        chunk_ends = tensor_d == 0 or (
            shape[tensor_d - 1] != 1 and strides[tensor_d - 1] != tensor_numel * chunk_base
        )
        if chunk_ends:
            while view_d >= 0 and (view_numel < tensor_numel or new[view_d] == 1):
                out[view_d] = view_numel * chunk_base
                view_numel *= new[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base = strides[tensor_d - 1]
                tensor_numel = view_numel = 1
    return tuple(out) if view_d == -1 else None


def _contiguous_strides(shape: tuple[int, ...]) -> list[int]:
    out, step = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        out[d] = step
        step *= builtins.max(shape[d], 1)
    return out


def permute(x: TensorT, *dims: Any) -> TensorT:
    dims = _shape_arg(dims)
    if len(dims) != x.ndim:
        raise ShapeError(f"permute: got {len(dims)} dims {dims} for a tensor of {x.ndim} dims")
    axes = tuple(_check_dim(d, x.ndim, "permute") for d in dims)
    if sorted(axes) != list(range(x.ndim)):
        raise ShapeError(f"permute: dims {dims} is not a permutation of 0..{x.ndim - 1}")
    return Permute.apply(x, axes)


def transpose(x: TensorT, dim0: int, dim1: int) -> TensorT:
    if x.ndim == 0:
        return x
    a, b = _check_dim(dim0, x.ndim, "transpose"), _check_dim(dim1, x.ndim, "transpose")
    if a == b:
        return x
    axes = list(range(x.ndim))
    axes[a], axes[b] = b, a
    return Permute.apply(x, tuple(axes))


def expand(x: TensorT, *shape: Any) -> TensorT:
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ShapeError(
            f"expand: the number of sizes ({len(shape)}) must be at least the tensor's "
            f"dimensions ({x.ndim}), got shape {shape} for a tensor of shape {tuple(x.shape)}"
        )
    full = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    return x if full == x.shape else Expand.apply(x, full)


def squeeze(x: TensorT, dim: Any = None) -> TensorT:
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dims = normalize_dims(dim, x.ndim, "squeeze") or ()
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1)))


def unsqueeze(x: TensorT, dim: int) -> TensorT:
    axis = _check_dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, (*x.shape[:axis], 1, *x.shape[axis:]))


def flatten(x: TensorT, start_dim: int = 0, end_dim: int = -1) -> TensorT:
    if x.ndim == 0:
        return reshape(x, (1,))
    s = _check_dim(start_dim, x.ndim, "flatten")
    e = _check_dim(end_dim, x.ndim, "flatten")
    return reshape(x, (*x.shape[:s], math.prod(x.shape[s : e + 1]), *x.shape[e + 1 :]))


def cat(tensors: Sequence[TensorT], dim: int = 0) -> TensorT:
    """Join tensors along an existing dim."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ArgumentError("cat: expected a non-empty sequence of tensors")
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    for i, t in enumerate(tensors):
        if t.ndim != ndim:
            raise ShapeError(
                f"cat: tensor {i} has {t.ndim} dims but tensor 0 has {ndim} (shapes "
                f"{tuple(t.shape)} and {tuple(tensors[0].shape)})"
            )
    return Cat.apply(_check_dim(dim, ndim, "cat"), *tensors)


def stack(tensors: Sequence[TensorT], dim: int = 0) -> TensorT:
    """Join tensors along a new dim."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ArgumentError("stack: expected a non-empty sequence of tensors")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise ShapeError(
                f"stack: all tensors must have the same shape, tensor 0 has {tuple(shape)} and "
                f"tensor {i} has {tuple(t.shape)}"
            )
    axis = _check_dim(dim, len(shape) + 1, "stack")
    return Cat.apply(axis, *[unsqueeze(t, axis) for t in tensors])


def split(x: TensorT, split_size: Any, dim: int = 0) -> tuple[TensorT, ...]:
    axis = _check_dim(dim, x.ndim, "split")
    n = x.shape[axis]
    sizes = [split_size] * (-(-n // split_size)) if isinstance(split_size, int) else split_size
    if isinstance(split_size, int):
        sizes[-1] = n - split_size * (len(sizes) - 1)
    if builtins.sum(sizes) != n:
        raise ShapeError(f"split: sizes {list(sizes)} do not add up to {n} along dim {dim}")
    out, start = [], 0
    lead = (slice(None),) * axis
    for size in sizes:
        out.append(index(x, (*lead, slice(start, start + size))))
        start += size
    return tuple(out)


def chunk(x: TensorT, chunks: int, dim: int = 0) -> tuple[TensorT, ...]:
    axis = _check_dim(dim, x.ndim, "chunk")
    return split(x, -(-x.shape[axis] // chunks), dim)


# -- indexing ---------------------------------------------------------------------------------
def index(x: TensorT, key: Any) -> TensorT:
    key = _key(key, x.shape)
    y = Index.apply(x, key)
    if is_basic(key):  # basic indexing gives a view: share the version counter
        y._vc = x._vc
        y._base = x._base if x._base is not None else x
        y._base_fn = y._base.grad_fn
    return y


def index_put(x: TensorT, key: Any, value: Any) -> TensorT:
    """Out-of-place x[key] = value."""
    return IndexPut.apply(x, _key(key, x.shape), operand(value))


def gather(x: TensorT, dim: int, index: Tensor | np.ndarray) -> TensorT:
    """out[i][j] = x[index[i][j]][j] for dim 0 (torch.gather)."""
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"gather: index must be an integer tensor, got dtype {idx.dtype}")
    if idx.ndim != x.ndim:
        raise ShapeError(
            f"gather: index has {idx.ndim} dims but input has {x.ndim} (shapes "
            f"{tuple(idx.shape)} and {tuple(x.shape)})"
        )
    axis = _check_dim(dim, x.ndim, "gather")
    for d, (n, size) in enumerate(zip(idx.shape, x.shape, strict=True)):
        if d != axis and n > size:
            raise IndexOutOfRangeError(
                f"gather: index of shape {tuple(idx.shape)} is larger than input of shape "
                f"{tuple(x.shape)} in dim {d} (only dim {dim} may be larger)"
            )
    return Gather.apply(x, axis, idx)


def scatter_add(g: TensorT, dim: int, index: Any, shape: tuple[int, ...]) -> TensorT:
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    return ScatterAdd.apply(g, _check_dim(dim, g.ndim, "scatter_add"), idx, tuple(shape))


def index_add(g: TensorT, key: Any, shape: tuple[int, ...]) -> TensorT:
    return IndexAdd.apply(g, _key(key, tuple(shape)), tuple(shape))
