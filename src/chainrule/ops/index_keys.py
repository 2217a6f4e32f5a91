"""Index keys: a torch index key translated to the NumPy key that selects the same elements in
the same layout (`_key`), with the helpers that decide when NumPy would place the advanced-index
block elsewhere and rewrite the key as all-advanced arrays (`_all_advanced`)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from chainrule.tensor_base import TensorBase as Tensor  # the tensor layer types against the base


def _key(key: Any, shape: tuple[int, ...] | None = None) -> Any:
    """A torch index key as the NumPy key that selects the same elements in the same layout.

    Tensors and lists become arrays, 0-d integer tensors become ints. The two libraries then
    differ in one rule only: torch applies integer indices first, as a select that removes the
    dim, so they do not count when deciding whether the advanced indices (arrays) are adjacent,
    and so where their broadcast block goes; NumPy counts them. When that changes the layout
    (see `_numpy_places_block_differently`), the key is rewritten as all-advanced arrays laid out
    as torch would (`_all_advanced`). Converting a converted key again changes nothing, so rules
    can index with `ctx.key` on arrays and Tensors alike."""
    kind = type(key)
    if kind is int or kind is slice or key is None or key is Ellipsis:
        return key  # the common keys, the same in both libraries
    if kind is list and _sequence_is_tuple(key):
        key, kind = tuple(key), tuple  # torch's (deprecated) x[[0, slice(None)]] == x[0, :]
    if kind is not tuple:
        return _key_part(key)  # one part: no placement to differ on
    parts = []
    has_int = has_array = has_ellipsis = False
    for p in key:
        p = _key_part(p)
        if type(p) is int:
            has_int = True
        elif p is Ellipsis:
            has_ellipsis = True
        elif _is_array(p):
            has_array = True
        parts.append(p)
    converted = tuple(parts)
    if not has_array or shape is None:
        return converted
    ndim = len(shape)
    if has_ellipsis:  # an Ellipsis standing for no dims still parts NumPy's advanced indices
        converted = _expand_ellipsis(converted, ndim)
    if has_int and _numpy_places_block_differently(converted):
        return _all_advanced(converted, shape)
    return converted


def _sequence_is_tuple(seq: list) -> bool:
    """torch's treatSequenceAsTuple: a short list holding tensors, sequences, slices, None or
    Ellipsis indexes like a tuple of them."""
    if len(seq) >= 32:
        return False
    return builtins.any(
        isinstance(p, (Tensor, np.ndarray, list, tuple, slice)) or p is None or p is Ellipsis
        for p in seq
    )


def _key_part(part: Any) -> Any:
    kind = type(part)
    if kind is int or kind is slice or part is None or part is Ellipsis:
        return part
    if isinstance(part, Tensor):
        part = part._data
    elif isinstance(part, (list, tuple)):
        part = np.asarray([p._data if isinstance(p, Tensor) else p for p in part])
        if part.size == 0:
            part = part.astype(np.int64)  # x[[]] selects nothing (NumPy would make it float)
    if isinstance(part, (np.ndarray, np.generic)) and not isinstance(part, np.bool_):
        if part.dtype.kind not in "biu":
            raise IndexError(
                f"index: tensors used as indices must be long, int, byte or bool tensors, "
                f"got dtype {part.dtype}"
            )
        if part.ndim == 0 and part.dtype.kind in "iu":
            return int(part)  # a 0-d integer tensor selects, as an int does (torch)
    return part


def _is_array(part: Any) -> bool:
    """An advanced index: an array or a bool scalar (which adds a dim of size 1 or 0)."""
    return isinstance(part, (np.ndarray, np.bool_, bool))


def _dims_used(part: Any) -> int:
    """How many dims of the indexed tensor a key part consumes."""
    if part is None or isinstance(part, (bool, np.bool_)):
        return 0
    if isinstance(part, np.ndarray) and part.dtype == np.bool_:
        return part.ndim
    return 1


def _expand_ellipsis(parts: tuple, ndim: int) -> tuple:
    if not builtins.any(p is Ellipsis for p in parts):
        return parts
    at = next(i for i, p in enumerate(parts) if p is Ellipsis)
    used = builtins.sum(_dims_used(p) for p in parts if p is not Ellipsis)
    fill = (slice(None),) * builtins.max(ndim - used, 0)
    return (*parts[:at], *fill, *(p for p in parts[at + 1 :] if p is not Ellipsis))


def _numpy_places_block_differently(parts: tuple) -> bool:
    """True when NumPy would put the advanced-index block elsewhere than torch (`parts` holds
    ints and arrays, and no Ellipsis).

    NumPy's advanced indices are the arrays and the ints, torch's only the arrays. If NumPy
    finds them adjacent, torch does too (a subset of an unbroken run) and both put the block
    where the first one stands (the ints before it produce no dims). If NumPy finds them apart
    it puts the block first: torch agrees unless its arrays are adjacent and not at the front."""
    numpy_adv = []
    torch_adv = []
    for i, p in enumerate(parts):
        if type(p) is int:
            numpy_adv.append(i)
        elif _is_array(p):
            numpy_adv.append(i)
            torch_adv.append(i)
    if numpy_adv[-1] - numpy_adv[0] + 1 == len(numpy_adv):
        return False  # NumPy finds them adjacent
    between = parts[torch_adv[0] : torch_adv[-1] + 1]
    torch_adjacent = builtins.all(_is_array(p) or type(p) is int for p in between)
    dims_before = builtins.sum(1 for p in parts[: torch_adv[0]] if type(p) is not int)
    return torch_adjacent and dims_before > 0


def _all_advanced(parts: tuple, shape: tuple[int, ...]) -> tuple:
    """An equivalent key of integer arrays only, broadcasting to torch's result layout: the
    slice and None dims in order, with the arrays' broadcast block where torch puts it."""
    parts = _expand_ellipsis(parts, len(shape))
    used = builtins.sum(_dims_used(p) for p in parts)
    parts = (*parts, *(slice(None),) * (len(shape) - used))  # the dims the key leaves whole
    block: list[Any] = []  # (x dim or None, index array) for each member of the block
    others: list[Any] = []  # (x dim or None, index array or None) for each slice/None dim
    place = None  # how many slice/None dims precede the block
    ints: list[tuple[int, int]] = []
    d = 0
    for p in parts:
        if type(p) is int:
            ints.append((d, p))
            d += 1
        elif isinstance(p, slice):
            others.append((d, np.arange(*p.indices(shape[d]))))
            d += 1
        elif p is None:
            others.append((None, None))
        elif _is_array(p):
            if place is None:
                place = len(others)
            p = np.asarray(p)
            if p.dtype == np.bool_ and p.ndim == 0:  # a dim of 1 (True) or 0 (False)
                block.append((None, np.zeros(int(p), dtype=np.int64)))
            elif p.dtype == np.bool_:
                for coords in np.nonzero(p):
                    block.append((d, coords))
                    d += 1
            else:
                block.append((d, p))
                d += 1
    # callers pass keys with at least one array (else NumPy's own indexing is torch's)
    assert place is not None
    block_shape = np.broadcast_shapes(*(a.shape for _, a in block))
    n_out = len(others) + len(block_shape)
    key: list[Any] = [None] * len(shape)
    for dim, a in block:
        if dim is not None:
            a = np.broadcast_to(a, block_shape).reshape(
                (1,) * place + block_shape + (1,) * (len(others) - place)
            )
            key[dim] = a
    for i, (dim, a) in enumerate(others):
        if dim is not None:
            at = i if i < place else i + len(block_shape)
            key[dim] = a.reshape((1,) * at + (len(a),) + (1,) * (n_out - at - 1))
    # The ints carry the block's shape too, for a block of bool scalars only (x[0, :, True]).
    full = (1,) * place + block_shape + (1,) * (len(others) - place)
    for dim, i in ints:
        if not -shape[dim] <= i < shape[dim]:
            raise IndexError(
                f"index: index {i} is out of bounds for dimension {dim} with size {shape[dim]}"
            )
        key[dim] = np.full(full, i % shape[dim], dtype=np.int64)
    return tuple(key)
