"""How values are written in drawings and ledgers: small ones in full, large ones summarised."""

from __future__ import annotations

from typing import Any

import numpy as np


def number(x: Any, digits: int = 4) -> str:
    """A number with `digits` significant digits, without trailing noise: 0.3047, 2, -1.5e-08."""
    x = float(x) if not isinstance(x, (bool, np.bool_)) else bool(x)
    if isinstance(x, bool):
        return str(x)
    if x == 0:
        return "0"
    if not np.isfinite(x):
        return str(x)
    text = f"{x:.{digits}g}"
    return text.replace("e-0", "e-").replace("e+0", "e+")


def format_value(value: Any, max_elements: int = 6, digits: int = 4) -> str:
    """Scalars and arrays of at most `max_elements` entries in full; larger arrays as
    `shape (3, 4): mean 0.1, min -1, max 2`.

    >>> format_value(np.array([[1.0, 2.0], [3.0, 4.5]]))
    '[[1, 2], [3, 4.5]]'
    >>> format_value(np.arange(12.0).reshape(3, 4))
    'shape (3, 4): mean 5.5, min 0, max 11'
    """
    if value is None:
        return "-"
    if isinstance(value, (int, float, bool, np.generic)):
        return number(value, digits)
    array = np.asarray(value)
    if array.ndim == 0:
        return number(array.item(), digits)
    if array.size <= max_elements:
        return _nested(array, digits)
    if array.dtype.kind in "fciu" and array.size > 0:
        stats = array.astype(np.float64)
        return (
            f"shape {tuple(array.shape)}: mean {number(stats.mean(), digits)}, "
            f"min {number(stats.min(), digits)}, max {number(stats.max(), digits)}"
        )
    return f"shape {tuple(array.shape)} ({array.dtype})"


def _nested(array: np.ndarray, digits: int) -> str:
    if array.ndim == 0:
        return number(array.item(), digits)
    return "[" + ", ".join(_nested(row, digits) for row in array) + "]"


def shape_text(shape: tuple[int, ...]) -> str:
    """(3, 4) as '(3, 4)', () as 'scalar'."""
    return "scalar" if len(shape) == 0 else str(tuple(shape))
