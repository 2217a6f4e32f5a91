"""Front-end functions for shapes and indexing: argument checks where the user made the mistake,
then the primitives of shape.py and indexing.py (or compositions of them)."""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.creation import as_tensor
from chainrule.ops.operands import operand
from chainrule.primitives.indexing import Gather, Index, IndexAdd, IndexPut, ScatterAdd, is_basic
from chainrule.primitives.reduction import normalize_dims
from chainrule.primitives.shape import Cat, Expand, Permute, Reshape
from chainrule.tensor import Tensor, _check_dim


# -- shapes -----------------------------------------------------------------------------------
def _shape_arg(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def reshape(x: Tensor, *shape: Any) -> Tensor:
    shape = _shape_arg(shape)
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape)


def permute(x: Tensor, *dims: Any) -> Tensor:
    dims = _shape_arg(dims)
    if len(dims) != x.ndim:
        raise ValueError(f"permute: got {len(dims)} dims {dims} for a tensor of {x.ndim} dims")
    axes = tuple(_check_dim(d, x.ndim, "permute") for d in dims)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {dims} is not a permutation of 0..{x.ndim - 1}")
    return Permute.apply(x, axes)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    if x.ndim == 0:
        return x
    a, b = _check_dim(dim0, x.ndim, "transpose"), _check_dim(dim1, x.ndim, "transpose")
    if a == b:
        return x
    axes = list(range(x.ndim))
    axes[a], axes[b] = b, a
    return Permute.apply(x, tuple(axes))


def expand(x: Tensor, *shape: Any) -> Tensor:
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(
            f"expand: the number of sizes ({len(shape)}) must be at least the tensor's "
            f"dimensions ({x.ndim}), got shape {shape} for a tensor of shape {tuple(x.shape)}"
        )
    full = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    return x if full == x.shape else Expand.apply(x, full)


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dims = normalize_dims(dim, x.ndim, "squeeze") or ()
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1)))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    axis = _check_dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, (*x.shape[:axis], 1, *x.shape[axis:]))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, (1,))
    s = _check_dim(start_dim, x.ndim, "flatten")
    e = _check_dim(end_dim, x.ndim, "flatten")
    return reshape(x, (*x.shape[:s], math.prod(x.shape[s : e + 1]), *x.shape[e + 1 :]))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    for i, t in enumerate(tensors):
        if t.ndim != ndim:
            raise ValueError(
                f"cat: tensor {i} has {t.ndim} dims but tensor 0 has {ndim} (shapes "
                f"{tuple(t.shape)} and {tuple(tensors[0].shape)})"
            )
    return Cat.apply(_check_dim(dim, ndim, "cat"), *tensors)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along a new dim."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise ValueError(
                f"stack: all tensors must have the same shape, tensor 0 has {tuple(shape)} and "
                f"tensor {i} has {tuple(t.shape)}"
            )
    axis = _check_dim(dim, len(shape) + 1, "stack")
    return Cat.apply(axis, *[unsqueeze(t, axis) for t in tensors])


def split(x: Tensor, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
    axis = _check_dim(dim, x.ndim, "split")
    n = x.shape[axis]
    sizes = [split_size] * (-(-n // split_size)) if isinstance(split_size, int) else split_size
    if isinstance(split_size, int):
        sizes[-1] = n - split_size * (len(sizes) - 1)
    if builtins.sum(sizes) != n:
        raise ValueError(f"split: sizes {list(sizes)} do not add up to {n} along dim {dim}")
    out, start = [], 0
    lead = (slice(None),) * axis
    for size in sizes:
        out.append(index(x, (*lead, slice(start, start + size))))
        start += size
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    axis = _check_dim(dim, x.ndim, "chunk")
    return split(x, -(-x.shape[axis] // chunks), dim)


# -- indexing ---------------------------------------------------------------------------------
def _key(key: Any) -> Any:
    """Replace Tensors inside an index key by their arrays."""
    if isinstance(key, Tensor):
        return key._data
    if isinstance(key, tuple):
        return tuple(k._data if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, list):
        return np.asarray(key)
    return key


def index(x: Tensor, key: Any) -> Tensor:
    key = _key(key)
    y = Index.apply(x, key)
    if is_basic(key):  # basic indexing gives a view: share the version counter
        y._vc = x._vc
        y._base = x._base if x._base is not None else x
        y._base_fn = y._base.grad_fn
    return y


def index_put(x: Tensor, key: Any, value: Any) -> Tensor:
    """Out-of-place x[key] = value."""
    return IndexPut.apply(x, _key(key), operand(value))


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j] = x[index[i][j]][j] for dim 0 (torch.gather)."""
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got dtype {idx.dtype}")
    if idx.ndim != x.ndim:
        raise ValueError(
            f"gather: index has {idx.ndim} dims but input has {x.ndim} (shapes "
            f"{tuple(idx.shape)} and {tuple(x.shape)})"
        )
    axis = _check_dim(dim, x.ndim, "gather")
    for d, (n, size) in enumerate(zip(idx.shape, x.shape, strict=True)):
        if d != axis and n > size:
            raise IndexError(
                f"gather: index of shape {tuple(idx.shape)} is larger than input of shape "
                f"{tuple(x.shape)} in dim {d} (only dim {dim} may be larger)"
            )
    return Gather.apply(x, axis, idx)


def scatter_add(g: Tensor, dim: int, index: Any, shape: tuple[int, ...]) -> Tensor:
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    return ScatterAdd.apply(g, _check_dim(dim, g.ndim, "scatter_add"), idx, tuple(shape))


def index_add(g: Tensor, key: Any, shape: tuple[int, ...]) -> Tensor:
    return IndexAdd.apply(g, _key(key), tuple(shape))
