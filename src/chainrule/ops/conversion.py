"""Turning Python data into arrays and tensors with PyTorch's dtype rules: the conversions every
function of the front door and the tensor methods share (the public creation functions in
`chainrule.creation` build on them).

Python floats become the default dtype (float32 unless set_default_dtype), Python ints int64,
bools bool; a NumPy array keeps its dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.errors import ShapeError
from chainrule.tensor_base import ArrayLike, TensorBase, TensorT


def _size(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"size must be a sequence of non-negative ints, got {size!r}")
        if s < 0:  # torch: RuntimeError
            raise ShapeError(f"size must be a sequence of non-negative ints, got {size!r}")
    return tuple(int(s) for s in size)


def _dtype(dtype: Any, floating: bool = True) -> np.dtype:
    if dtype is None:
        return backend.get_default_dtype() if floating else backend.int64
    return np.dtype(dtype)


def as_array(data: Any, dtype: Any = None) -> Any:
    """Convert data to an array with PyTorch's dtype inference."""
    if type(data) is float and dtype is None:  # the scalar fast path (e.g. one graph per x)
        return np.array(data, dtype=backend.get_default_dtype())
    if isinstance(data, TensorBase):
        array = data._data
        return array.copy() if dtype is None else array.astype(dtype)
    if hasattr(data, "__cuda_array_interface__"):
        return data if dtype is None else data.astype(dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data, dtype=dtype)  # a copy, as torch.tensor copies
        return array
    try:
        array = np.array(data, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise TypeError(
            f"tensor: cannot build a tensor from {type(data).__name__}: {error}"
        ) from None
    if array.dtype.kind not in "biufc":  # object (ragged lists), but also str ('abc'), bytes
        raise TypeError(f"tensor: could not infer a numeric dtype from {data!r}")
    if dtype is None:
        if array.dtype.kind == "f":
            array = array.astype(backend.get_default_dtype())
        elif array.dtype.kind in "iu":
            array = array.astype(np.int64)
    return array


def as_tensor(data: TensorT | ArrayLike, dtype: Any = None) -> TensorT:
    """`data` as a tensor: a tensor of the right dtype as it is, a NumPy array of the right dtype
    sharing memory, anything else copied (as torch.as_tensor)."""
    if isinstance(data, TensorBase):
        return (
            data
            if dtype is None or data.dtype == np.dtype(dtype)
            else data._make(as_array(data, dtype))
        )
    # Given no tensor, TensorT is its default, TensorBase, which is what these are; the checker
    # cannot tie this branch to the default.
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == np.dtype(dtype)):
        return TensorBase._make(data)  # type: ignore[return-value]
    return TensorBase._make(as_array(data, dtype))  # type: ignore[return-value]
