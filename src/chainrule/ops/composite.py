"""More of PyTorch's tensor functions, as compositions of the primitives (no derivative code:
autodiff differentiates them). Indices and masks they compute are constants."""

from __future__ import annotations

from typing import Any, Generic, NamedTuple

import numpy as np

from chainrule import errors
from chainrule.errors import ShapeError
from chainrule.ops.operands import operand
from chainrule.ops.promotion import promote
from chainrule.ops.shaping import expand, index, reshape
from chainrule.primitives.binary import Where, broadcast_message
from chainrule.primitives.indexing import Gather
from chainrule.primitives.reduction import normalize_dims
from chainrule.tensor_base import ArrayLike, TensorT, _check_dim
from chainrule.tensor_base import TensorBase as Tensor  # the tensor layer types against the base


class values_indices(NamedTuple, Generic[TensorT]):  # the name it had as a namedtuple
    """What sort, topk and max/min along a dim return: (values, indices), as torch's."""

    values: TensorT
    indices: TensorT


def masked_fill(x: TensorT, mask: Any, value: Any) -> TensorT:
    """x with `value` where `mask` (a bool tensor broadcastable to x) is True."""
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise errors.DTypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}")
    if _broadcast_shape(m.shape, x.shape) != x.shape:
        raise errors.ShapeError(
            f"masked_fill: mask of shape {m.shape} does not broadcast to the tensor's shape "
            f"{tuple(x.shape)}"
        )
    # the mask as given (Where broadcasts it): a view made here would hide from cr.compile
    # that the mask is a traced value, and the replay would have to fall back
    return Where.apply(m, *promote(operand(value), x))


def _broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape the shapes broadcast to, or None where they do not."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


def _sorted_along(x: Tensor, dim: int, descending: bool, op: str) -> tuple[int, np.ndarray]:
    axis = _check_dim(dim, x.ndim, op) if x.ndim else 0
    data = np.asarray(x._data)
    if data.ndim == 0:
        return 0, np.zeros((), dtype=np.int64)
    if not descending:  # NumPy, like torch, puts NaN last when ascending
        return axis, np.argsort(data, axis=axis, kind="stable").astype(np.int64)
    # Descending, stably, with NaN first (torch: NaN is the largest): sort the reversed data
    # ascending and reverse the order. Negating instead would keep NaN last, and wraps unsigned
    # ints and bools.
    n = data.shape[axis]
    order = np.argsort(np.flip(data, axis), axis=axis, kind="stable")
    return axis, (n - 1 - np.flip(order, axis)).astype(np.int64)


def sort(
    x: TensorT, dim: int = -1, descending: bool = False, *, stable: bool = False
) -> values_indices[TensorT]:
    """(values, indices) sorted along dim; values carry gradients back to where they came from.
    The sort is always stable (equal values keep their order), so `stable` changes nothing."""
    axis, order = _sorted_along(x, dim, descending, "sort")
    if x.ndim == 0:
        return values_indices(x, x._make(order))
    return values_indices(Gather.apply(x, axis, order), x._make(order))


def topk(
    x: TensorT, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
) -> values_indices[TensorT]:
    """The k largest (or smallest) entries along dim, as (values, indices)."""
    axis = _check_dim(dim, x.ndim, "topk") if x.ndim else 0
    size = x.shape[axis] if x.ndim else 1
    if not 0 <= k <= size:
        raise errors.ArgumentError(
            f"topk: k={k} is out of range for dimension {dim} of size {size}"
        )
    axis, order = _sorted_along(x, dim, largest, "topk")
    if x.ndim == 0:
        return values_indices(x, x._make(order))
    index = np.take(order, np.arange(k), axis=axis)
    return values_indices(Gather.apply(x, axis, index), x._make(index))


def unbind(x: TensorT, dim: int = 0) -> tuple[TensorT, ...]:
    """The slices of x along dim, each without that dim."""
    axis = _check_dim(dim, x.ndim, "unbind")
    lead = (slice(None),) * axis
    return tuple(index(x, (*lead, i)) for i in range(x.shape[axis]))


def repeat(x: TensorT, *sizes: Any) -> TensorT:
    """x tiled sizes[i] times along each dim (torch.Tensor.repeat), by reshape and expand."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if len(sizes) < x.ndim:
        raise errors.ShapeError(
            f"repeat: give at least as many sizes ({len(sizes)}) as the tensor has dims ({x.ndim})"
        )
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    interleaved = tuple(v for n in shape for v in (1, n))
    grown = tuple(v for r, n in zip(sizes, shape, strict=True) for v in (r, n))
    tiled = expand(reshape(x, interleaved), grown)
    return reshape(tiled, tuple(r * n for r, n in zip(sizes, shape, strict=True)))


def flip(x: TensorT, *dims: Any) -> TensorT:
    """x reversed along each of dims (`x.flip(0, 1)` or `x.flip([0, 1])`)."""
    if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)):
        dims = tuple(dims[0])
    axes = [_check_dim(d, x.ndim, "flip") for d in dims]
    for i, axis in enumerate(axes):
        if axis in axes[:i]:
            raise ShapeError(
                f"flip: dim {axis} appears multiple times in the list of dims {list(dims)} "
                f"(tensor of shape {tuple(x.shape)})"
            )
    if x.ndim == 0:  # a 0-d tensor has nothing to reverse (its only dim is the implicit one)
        return index(x, ())
    key = [slice(None)] * x.ndim
    for axis in axes:
        key[axis] = slice(None, None, -1)
    return index(x, tuple(key))


def all(x: TensorT, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
        keepdims: bool | None = None) -> TensorT:  # fmt: skip
    """True where every element (over dim: an int or a tuple) is nonzero; uint8 in, uint8 out."""
    return _logical_reduction(x, dim, keepdim, axis, keepdims, "all")


def any(x: TensorT, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
        keepdims: bool | None = None) -> TensorT:  # fmt: skip
    """True where some element (over dim: an int or a tuple) is nonzero; uint8 in, uint8 out."""
    return _logical_reduction(x, dim, keepdim, axis, keepdims, "any")


def _logical_reduction(
    x: TensorT, dim: Any, keepdim: bool, axis: Any, keepdims: bool | None, op: str
) -> TensorT:
    if axis is not None or keepdims is not None:  # NumPy's names, which torch accepts too
        if (axis is not None and dim is not None) or (keepdims is not None and keepdim):
            raise TypeError(f"{op}: got both dim and axis, or keepdim and keepdims (give one)")
        dim = dim if axis is None else axis
        keepdim = keepdim if keepdims is None else bool(keepdims)
    data = np.asarray(x._data)
    dims = normalize_dims(dim, x.ndim, op)
    out = getattr(data, op)(axis=None if x.ndim == 0 else dims, keepdims=keepdim)
    # torch keeps uint8 for uint8 input (its old bool type); every other dtype gives bool
    return x._make(np.asarray(out, dtype=np.uint8 if data.dtype == np.uint8 else np.bool_))


def _numeric_operands(a: Any, b: Any, op: str, symbol: str) -> None:
    """Refuse, naming the op, operands that are neither tensors nor numbers nor numeric arrays
    (a string, a list of strings), which NumPy would report as a ufunc casting failure."""
    for x in (a, b):
        kind = getattr(getattr(x, "dtype", None), "kind", None)
        if isinstance(x, (int, float)) or kind in ("b", "i", "u", "f"):
            continue
        raise TypeError(
            f"{op}: unsupported operand type(s) for {symbol}: {_describe(a)} and {_describe(b)}"
        )


def _describe(x: Any) -> str:
    if isinstance(x, (Tensor, np.ndarray)):
        return f"'{type(x).__name__}' of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"'{type(x).__name__}'"


def floor_divide(
    a: TensorT | ArrayLike, b: TensorT | ArrayLike, op: str = "floor_divide", symbol: str = "//"
) -> TensorT:
    """floor(a / b), elementwise; not differentiable (PyTorch gives it no gradient either)."""
    _numeric_operands(a, b, op, symbol)
    a, b = promote(a, b)
    da = a._data if isinstance(a, Tensor) else a
    db = b._data if isinstance(b, Tensor) else b
    message = broadcast_message(op, da, db)
    if message:
        raise errors.ShapeError(message)
    with np.errstate(divide="ignore", invalid="ignore"):
        # made of the concrete class, the kind of the tensor operand (the checker cannot tell
        # which of a and b that is)
        return Tensor._make(np.asarray(np.floor_divide(da, db)))  # type: ignore[return-value]


def remainder(a: TensorT | ArrayLike, b: TensorT | ArrayLike) -> TensorT:
    """a - b floor(a / b) (Python's sign convention, as torch.remainder); d/da = 1,
    d/db = -floor(a / b) for floats."""
    quotient = floor_divide(a, b, "remainder", "%")
    if quotient.dtype.kind != "f":
        return quotient._make(np.asarray(np.remainder(_raw(a), _raw(b))))
    # Tensor's operators, which TensorBase (all the checker knows of a and b here) does not have
    return a - b * quotient  # type: ignore[operator, return-value]


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def one_hot(t: TensorT, num_classes: int = -1) -> TensorT:
    """Class indices (int) -> int64 one-hot rows (torch.nn.functional.one_hot)."""
    labels = np.asarray(t._data)
    if labels.dtype.kind not in "iu":
        raise errors.DTypeError(
            f"one_hot: needs an integer tensor of class indices, got {labels.dtype}"
        )
    n = int(labels.max()) + 1 if num_classes == -1 and labels.size else num_classes
    if labels.size and (labels.min() < 0 or labels.max() >= n):
        raise errors.IndexOutOfRangeError(
            f"one_hot: class values must be in [0, {n - 1}] for {n} classes"
        )
    return t._make(np.eye(n, dtype=np.int64)[labels])
