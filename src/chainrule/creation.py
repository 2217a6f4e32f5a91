"""Making tensors: from data, filled, random, ranges. PyTorch's names and dtype rules.

Python floats become the default dtype (float32 unless set_default_dtype), Python ints int64,
bools bool; a NumPy array keeps its dtype.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.errors import ArgumentError, UnsupportedDTypeError
from chainrule.ops import conversion
from chainrule.ops.conversion import _dtype, _size, as_array
from chainrule.tensor import Tensor


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of data.

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0]).dtype
    dtype('float32')
    """
    t = Tensor._make(as_array(data, dtype))
    t.requires_grad = requires_grad
    return t


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """Like tensor(), but shares memory with a NumPy array of the right dtype."""
    return conversion.as_tensor(data, dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (changes show in both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    return Tensor._make(array)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return tensor(np.zeros(_size(size), dtype=_dtype(dtype)), requires_grad=requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return tensor(np.ones(_size(size), dtype=_dtype(dtype)), requires_grad=requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = (
            backend.bool_
            if isinstance(fill_value, bool)
            else backend.int64
            if isinstance(fill_value, (int, np.integer))
            else backend.get_default_dtype()
        )
    shape = _size(size if isinstance(size, (tuple, list)) else (size,))
    return tensor(np.full(shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return tensor(np.eye(n, m, dtype=_dtype(dtype)), requires_grad=requires_grad)


def randn(
    *size: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    generator: backend.Generator | None = None,
) -> Tensor:
    """Standard normal samples from chainrule's generator (see manual_seed), or `generator`."""
    data = backend.rng(generator).standard_normal(_size(size)).astype(_dtype(dtype))
    return tensor(data, requires_grad=requires_grad)


def rand(
    *size: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    generator: backend.Generator | None = None,
) -> Tensor:
    """Uniform samples in [0, 1) from chainrule's generator, or `generator`."""
    data = backend.rng(generator).random(_size(size)).astype(_dtype(dtype))
    return tensor(data, requires_grad=requires_grad)


def randint(
    low: int,
    high: Any = None,
    size: Any = (),
    dtype: Any = None,
    generator: backend.Generator | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers in [low, high); `randint(high, size)` as torch, low then being 0."""
    if isinstance(high, (tuple, list)) or (high is None and size != ()):
        # torch's randint(high, size): the second positional argument is the size
        low, high, size = 0, low, size if high is None else high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise ArgumentError(f"randint: expected low < high, got low={low} and high={high}")
    data = backend.rng(generator).integers(low, high, _size(tuple(size)))
    return tensor(data, dtype=dtype or backend.int64, requires_grad=requires_grad)


def randperm(n: int, dtype: Any = None, generator: backend.Generator | None = None) -> Tensor:
    """A random permutation of 0..n-1."""
    return tensor(backend.rng(generator).permutation(n), dtype=dtype or backend.int64)


def arange(
    start: Any, end: Any = None, step: Any = 1, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    if end is None:
        start, end = 0, start
    floating = any(isinstance(v, float) for v in (start, end, step))
    d = _dtype(dtype, floating=floating)
    return tensor(np.arange(start, end, step, dtype=d), requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None) -> Tensor:
    """`steps` values from start to end, evenly spaced, computed as torch does.

    The first half counts up from start and the second down from end (so both ends are exact);
    for integer dtypes start and end are cast first and the values truncated toward zero (not
    floored).

    >>> import chainrule as cr
    >>> cr.linspace(-5, 5, 4, dtype=cr.int64).tolist()
    [-5, -1, 1, 5]
    """
    d = _dtype(dtype)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"linspace: steps must be an int, got {type(steps).__name__}")
    if steps < 0:
        raise ArgumentError(f"linspace: number of steps must be non-negative, got {steps}")
    if d.kind == "b":
        raise UnsupportedDTypeError("linspace: not implemented for dtype bool")
    if d.kind not in "iuf":
        return tensor(np.linspace(start, end, steps, dtype=d))
    if steps == 1:  # torch fills with start (the formula below would give end)
        return tensor(np.full(1, start).astype(d))
    # In float64 throughout: torch's vectorised kernels differ from this scalar formula by an
    # ulp at times (and so, where a value lies within an ulp of an integer, by one after
    # truncation); its scalar kernel is this one.
    first, last = np.array(start).astype(d).astype(np.float64), np.array(end).astype(d)
    step = (last.astype(np.float64) - first) / builtins.max(steps - 1, 1)
    i = np.arange(steps, dtype=np.float64)
    values = np.where(i < steps // 2, first + step * i, last - step * (steps - 1 - i))
    if d.kind in "iu":
        values = np.trunc(values)
    return tensor(values.astype(d))


def _like(x: Tensor, fill: Any, dtype: Any, requires_grad: bool) -> Tensor:
    d = x.dtype if dtype is None else np.dtype(dtype)
    return tensor(np.full(x.shape, fill, dtype=d), requires_grad=requires_grad)


def zeros_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(x, 0, dtype, requires_grad)


def ones_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(x, 1, dtype, requires_grad)


def full_like(x: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(x, fill_value, dtype, requires_grad)


def randn_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def rand_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)
