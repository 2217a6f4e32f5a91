"""torch's structural functions: triangles, diagonals, rolls, grids, unfolding, repeats,
moving and stacking dims (selecting and scattering: ops/selection.py).

All are compositions of the shape and indexing primitives (Index, IndexAdd, IndexPut, Gather,
ScatterAdd, Where, Permute, Reshape, Expand, Cat), so they carry no derivative code; the indices
and masks they compute are constants.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.errors import ArgumentError, DTypeError, ShapeError
from chainrule.ops.composite import flip, repeat
from chainrule.ops.conversion import as_tensor
from chainrule.ops.promotion import result_type
from chainrule.ops.shaping import (
    cat,
    expand,
    index,
    index_add,
    permute,
    reshape,
    transpose,
)
from chainrule.primitives.binary import Where
from chainrule.primitives.elementwise import Cast
from chainrule.tensor_base import TensorBase as Tensor  # the tensor layer types against the base
from chainrule.tensor_base import TensorT, _check_dim

_select = index  # the functions below take an argument named `index`, as torch's


def _data(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _ints(op: str, name: str, x: Any) -> np.ndarray:
    data = _data(x)
    if data.dtype.kind not in "iu":
        raise DTypeError(f"{op}: {name} must be an integer tensor, got dtype {data.dtype}")
    return data.astype(np.int64, copy=False)


def _along(axis: int, part: Any) -> tuple[Any, ...]:
    """An index key that applies `part` to dim `axis` and keeps the dims before it whole."""
    return (*(slice(None),) * axis, part)


def _same_dtype(tensors: Sequence[Any]) -> list[Any]:
    dtype = result_type(*tensors)
    return [t if dtype is None or t.dtype == dtype else Cast.apply(t, dtype) for t in tensors]


# -- triangles and diagonals ------------------------------------------------------------------
def _triangle(x: TensorT, diagonal: int, lower: bool, op: str) -> TensorT:
    if x.ndim < 2:
        raise ShapeError(f"{op}: input tensor must have at least 2 dimensions, got {x.ndim}")
    n, m = x.shape[-2:]
    keep = np.tri(n, m, diagonal, dtype=bool) if lower else ~np.tri(n, m, diagonal - 1, dtype=bool)
    # select, not multiply, so an inf outside the triangle gives 0 (torch), not nan
    return Where.apply(keep, x, x._data.dtype.type(0))


def tril(input: TensorT, diagonal: int = 0) -> TensorT:
    """The lower triangle of the last two dims (entries above `diagonal` set to 0)."""
    return _triangle(input, diagonal, True, "tril")


def triu(input: TensorT, diagonal: int = 0) -> TensorT:
    """The upper triangle of the last two dims (entries below `diagonal` set to 0)."""
    return _triangle(input, diagonal, False, "triu")


def _diagonal_positions(n: int, m: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    start_row, start_col = builtins.max(-offset, 0), builtins.max(offset, 0)
    length = builtins.max(builtins.min(n - start_row, m - start_col), 0)
    return np.arange(length) + start_row, np.arange(length) + start_col


def diagonal(input: TensorT, offset: int = 0, dim1: int = 0, dim2: int = 1) -> TensorT:
    """The diagonal over dims dim1 and dim2, as the last dim (a copy, where torch's is a view)."""
    a = _check_dim(dim1, input.ndim, "diagonal")
    b = _check_dim(dim2, input.ndim, "diagonal")
    if a == b:
        raise ShapeError(f"diagonal: dimensions cannot be identical {dim1}, {dim2}")
    rest = [d for d in range(input.ndim) if d not in (a, b)]
    moved = permute(input, (*rest, a, b))
    rows, cols = _diagonal_positions(input.shape[a], input.shape[b], offset)
    return index(moved, (Ellipsis, rows, cols))


_diagonal_of = diagonal  # diag's argument `diagonal` hides the function there


def diag_embed(input: TensorT, offset: int = 0, dim1: int = -2, dim2: int = -1) -> TensorT:
    """Matrices with input's last dim on their diagonal (at `offset`), in dims dim1 and dim2."""
    ndim = input.ndim + 1
    a, b = _check_dim(dim1, ndim, "diag_embed"), _check_dim(dim2, ndim, "diag_embed")
    if a == b:
        raise ShapeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = (input.shape[-1] if input.ndim else 1) + builtins.abs(offset)
    batch = tuple(input.shape[:-1])
    rows, cols = _diagonal_positions(n, n, offset)
    square = index_add(input, (Ellipsis, rows, cols), (*batch, n, n))
    order, rest = [], iter(range(len(batch)))
    for d in range(ndim):
        order.append(len(batch) if d == a else len(batch) + 1 if d == b else next(rest))
    return permute(square, tuple(order))


def diag(input: TensorT, diagonal: int = 0) -> TensorT:
    """A 1-D input as a square matrix with it on the diagonal; a 2-D input's diagonal."""
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim == 2:
        return _diagonal_of(input, diagonal)
    raise ShapeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def diagflat(input: TensorT, offset: int = 0) -> TensorT:
    """The flattened input on the diagonal of a square matrix."""
    return diag_embed(reshape(input, (input.numel(),)), offset)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = np.int64) -> Tensor:
    """The (2, N) coordinates of the upper triangle of a row x col matrix, row by row."""
    return Tensor._make(np.stack(np.triu_indices(row, offset, col)).astype(dtype))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = np.int64) -> Tensor:
    """The (2, N) coordinates of the lower triangle of a row x col matrix, row by row."""
    return Tensor._make(np.stack(np.tril_indices(row, offset, col)).astype(dtype))


# -- rearranging ------------------------------------------------------------------------------
def roll(
    input: TensorT, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None
) -> TensorT:
    """input with its entries moved `shifts` places along dims (wrapping round); with no dims,
    along the flattened tensor."""
    shift_list = [shifts] if isinstance(shifts, (int, np.integer)) else list(shifts)
    if dims is None:
        if len(shift_list) != 1:
            raise ArgumentError(f"roll: with no dims, give one shift, got {shift_list}")
        flat = reshape(input, (input.numel(),))
        return reshape(roll(flat, shift_list, 0), tuple(input.shape))
    dim_list = [dims] if isinstance(dims, (int, np.integer)) else list(dims)
    if len(shift_list) != len(dim_list):
        raise ArgumentError(
            f"roll: shifts and dimensions must align. shifts: {len(shift_list)}, dims: "
            f"{len(dim_list)}"
        )
    out = input
    for shift, dim in zip(shift_list, dim_list, strict=True):
        axis = _check_dim(dim, input.ndim, "roll")
        n = input.shape[axis] if input.ndim else 1
        if n and shift % n:
            out = index(out, _along(axis, (np.arange(n) - shift) % n))
    return out


def movedim(
    input: TensorT, source: int | Sequence[int], destination: int | Sequence[int]
) -> TensorT:
    """input with dims `source` moved to positions `destination` (the others keep their order)."""
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise ArgumentError(
            f"movedim: Invalid source or destination dims: source ({src} dims) should contain "
            f"the same number of dims as destination ({dst} dims)"
        )
    src = [_check_dim(d, input.ndim, "movedim") for d in src]
    dst = [_check_dim(d, input.ndim, "movedim") for d in dst]
    if len(set(src)) < len(src) or len(set(dst)) < len(dst):
        raise ArgumentError(f"movedim: repeated dim in source {src} or destination {dst}")
    order: list[int | None] = [None] * input.ndim
    for s, d in zip(src, dst, strict=True):
        order[d] = s
    rest = iter(d for d in range(input.ndim) if d not in src)
    return permute(input, tuple(next(rest) if o is None else o for o in order))


moveaxis = movedim


def swapaxes(input: TensorT, axis0: int, axis1: int) -> TensorT:
    return transpose(input, axis0, axis1)


swapdims = swapaxes


def rot90(input: TensorT, k: int = 1, dims: Sequence[int] = (0, 1)) -> TensorT:
    """input rotated k quarter turns in the plane of dims, from the first towards the second."""
    if len(dims) != 2:
        raise ArgumentError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise ShapeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim}")
    a, b = (_check_dim(d, input.ndim, "rot90") for d in dims)
    if a == b:
        raise ArgumentError(f"rot90: expected rotation dims to be different, got {list(dims)}")
    turns = k % 4
    if turns == 1:
        return transpose(flip(input, b), a, b)
    if turns == 2:
        return flip(input, a, b)
    if turns == 3:
        return transpose(flip(input, a), a, b)
    return index(input, ())


def fliplr(input: TensorT) -> TensorT:
    if input.ndim < 2:
        raise ShapeError(f"fliplr: Input must be >= 2-d, got shape {tuple(input.shape)}")
    return flip(input, 1)


def flipud(input: TensorT) -> TensorT:
    if input.ndim < 1:
        raise ShapeError("flipud: Input must be >= 1-d, got a 0-d tensor")
    return flip(input, 0)


def unflatten(input: TensorT, dim: int, sizes: Sequence[int]) -> TensorT:
    """Dim `dim` split into dims of `sizes` (one may be -1)."""
    axis = _check_dim(dim, input.ndim, "unflatten")
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise ArgumentError("unflatten: sizes must be non-empty")
    n = input.shape[axis]
    known = int(np.prod([s for s in sizes if s != -1]))
    if (
        list(sizes).count(-1) > 1
        or (-1 not in sizes and known != n)
        or (-1 in sizes and (known == 0 or n % known))
    ):
        raise ShapeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
            f"{dim} ({n}) in the input tensor of shape {tuple(input.shape)}"
        )
    sizes = tuple(n // known if s == -1 else s for s in sizes)
    return reshape(input, (*input.shape[:axis], *sizes, *input.shape[axis + 1 :]))


def unfold(input: TensorT, dimension: int, size: int, step: int) -> TensorT:
    """Tensor.unfold: the windows of `size` entries every `step` along a dim, as a new last dim."""
    axis = _check_dim(dimension, input.ndim, "unfold")
    n = input.shape[axis] if input.ndim else 1
    if size > n:
        raise ShapeError(f"maximum size for tensor at dimension {axis} is {n} but size is {size}")
    if step <= 0:
        raise ArgumentError(f"step is {step} but must be > 0")
    if size < 0:
        raise ArgumentError(f"size is {size} but must be >= 0")
    if input.ndim == 0:
        return reshape(input, (1,))
    windows = np.arange((n - size) // step + 1)[:, None] * step + np.arange(size)
    picked = index(input, _along(axis, windows))  # (..., count, size, ...after)
    return movedim(picked, axis + 1, -1)


# -- repeating and stacking -------------------------------------------------------------------
def tile(input: TensorT, dims: Sequence[int]) -> TensorT:
    """input repeated dims[i] times along each dim (missing leading dims count as 1)."""
    dims = tuple(dims)
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def repeat_interleave(input: TensorT, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> TensorT:  # fmt: skip
    """Each entry repeated `repeats` times in place (an int, or one count per entry) along dim
    (the flattened tensor when dim is None). Given only counts, the indices repeated."""
    if repeats is None:  # torch.repeat_interleave(counts): 0, .., 0, 1, .., 1, ...
        counts = _ints("repeat_interleave", "repeats", input)
        return Tensor._make(np.repeat(np.arange(len(counts)), counts))  # type: ignore[return-value]
    x = reshape(input, (input.numel(),)) if dim is None else input
    axis = 0 if dim is None else _check_dim(dim, x.ndim, "repeat_interleave")
    n = x.shape[axis] if x.ndim else 1
    counts = (
        np.asarray(repeats)
        if isinstance(repeats, (int, np.integer))
        else _ints("repeat_interleave", "repeats", repeats)
    )
    if counts.ndim > 1 or (counts.ndim == 1 and counts.shape[0] not in (1, n)):
        raise ShapeError(
            f"repeat_interleave: repeats must have the same size as input along dim {dim}, "
            f"but got repeats of shape {tuple(counts.shape)} and input of size {n}"
        )
    if (counts < 0).any():
        raise ArgumentError("repeat_interleave: repeats can not be negative")
    positions = np.repeat(np.arange(n), np.broadcast_to(counts, (n,)))
    if output_size is not None and len(positions) != output_size:
        raise ArgumentError(
            f"repeat_interleave: output_size {output_size} does not match the {len(positions)} "
            f"repeated entries"
        )
    if x.ndim == 0:
        x = reshape(x, (1,))
    return index(x, _along(axis, positions))


def broadcast_to(input: TensorT, size: Sequence[int]) -> TensorT:
    return expand(input, tuple(size))


def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    """The shape the shapes broadcast to (an int is a 1-D shape), as torch.broadcast_shapes."""
    return _broadcast("broadcast_shapes", *shapes)


def _broadcast(op: str, *shapes: Any) -> tuple[int, ...]:
    as_tuples = [tuple(s) if isinstance(s, (list, tuple)) else (s,) for s in shapes]
    try:
        return tuple(np.broadcast_shapes(*as_tuples))
    except ValueError:
        raise ShapeError(f"{op}: shapes {as_tuples} cannot be broadcast") from None


def broadcast_tensors(*tensors: TensorT) -> tuple[TensorT, ...]:
    """The tensors expanded to their common broadcast shape."""
    shape = _broadcast("broadcast_tensors", *[tuple(t.shape) for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


def _atleast(tensors: tuple[Any, ...], ndim: int) -> Any:
    single = len(tensors) == 1 and not isinstance(tensors[0], (list, tuple))
    items = [tensors[0]] if single else list(tensors[0] if len(tensors) == 1 else tensors)
    out = []
    for t in items:
        t = as_tensor(t)
        shape = tuple(t.shape)
        if t.ndim < ndim:
            if ndim == 3 and t.ndim == 2:
                shape = (*shape, 1)  # torch: a matrix (m, n) becomes (m, n, 1)
            elif ndim == 3 and t.ndim == 1:
                shape = (1, *shape, 1)
            else:
                shape = (1,) * (ndim - t.ndim) + shape
            t = reshape(t, shape)
        out.append(t)
    return out[0] if single else tuple(out)


def atleast_1d(*tensors: Any) -> Any:
    return _atleast(tensors, 1)


def atleast_2d(*tensors: Any) -> Any:
    return _atleast(tensors, 2)


def atleast_3d(*tensors: Any) -> Any:
    return _atleast(tensors, 3)


def _stack_along(op: str, tensors: Sequence[Any], ndim: int, dim: int) -> Any:
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise ArgumentError(f"{op}: expected a non-empty list or tuple of tensors")
    parts = _same_dtype([_atleast((t,), ndim) for t in tensors])
    return cat(parts, dim)


def hstack(tensors: Sequence[TensorT]) -> TensorT:
    """Join along dim 1 (dim 0 for vectors)."""
    parts = [_atleast((t,), 1) for t in tensors]
    return _stack_along("hstack", parts, 1, 0 if parts and parts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[TensorT]) -> TensorT:
    """Join along dim 0, vectors as rows."""
    return _stack_along("vstack", tensors, 2, 0)


row_stack = vstack


def dstack(tensors: Sequence[TensorT]) -> TensorT:
    """Join along dim 2, after making each at least 3-D."""
    return _stack_along("dstack", tensors, 3, 2)


def column_stack(tensors: Sequence[TensorT]) -> TensorT:
    """Join along dim 1, vectors (and scalars) as columns."""
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise ArgumentError("column_stack: expected a non-empty list or tuple of tensors")
    columns = []
    for t in tensors:
        t = as_tensor(t)
        columns.append(reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t)
    return cat(_same_dtype(columns), 1)


def meshgrid(*tensors: TensorT | Sequence[TensorT], indexing: str = "ij") -> tuple[TensorT, ...]:
    """Coordinate grids from 1-D tensors: output k varies along dim k ('ij'), or with the first
    two dims swapped ('xy', as NumPy's)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"meshgrid: indexing must be one of 'xy' or 'ij', got {indexing!r}")
    items = [as_tensor(t) for t in tensors]
    for k, t in enumerate(items):
        if t.ndim > 1:
            raise ShapeError(
                f"meshgrid: Expected 0D or 1D tensor in the tensor list but got {t.ndim}D "
                f"(tensor {k})"
            )
    sizes = [t.numel() for t in items]
    order = list(range(len(items)))
    if indexing == "xy" and len(items) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[i] for i in order)
    out = []
    for k, t in enumerate(items):
        place = order.index(k)
        column = reshape(t, tuple(-1 if d == place else 1 for d in range(len(items))))
        out.append(expand(column, shape))
    return tuple(out)


def block_diag(*tensors: TensorT) -> TensorT:
    """A block-diagonal matrix of the tensors (0-d and 1-D ones are 1 x n blocks)."""
    items = [as_tensor(t) for t in tensors]
    blocks = _same_dtype([reshape(t, (1, t.numel())) if t.ndim < 2 else t for t in items])
    if any(b.ndim != 2 for b in blocks):
        raise ShapeError("block_diag: Input tensors must have 2 or fewer dimensions")
    shape = (builtins.sum(b.shape[0] for b in blocks), builtins.sum(b.shape[1] for b in blocks))
    out, r, c = None, 0, 0
    for b in blocks:
        placed = index_add(b, (slice(r, r + b.shape[0]), slice(c, c + b.shape[1])), shape)
        out = placed if out is None else out + placed
        r, c = r + b.shape[0], c + b.shape[1]
    return out  # type: ignore[return-value]


def cartesian_prod(*tensors: TensorT) -> TensorT:
    """Every combination of the 1-D tensors' entries, one per row (one tensor: itself)."""
    if len(tensors) == 1:
        return tensors[0]
    grids: list[Any] = list(meshgrid(*_same_dtype(list(tensors)), indexing="ij"))
    columns = [reshape(g, (g.numel(), 1)) for g in grids]
    return cat(columns, 1)
