"""How values are written in drawings and ledgers: small ones in full, large ones summarised."""

from __future__ import annotations

from typing import Any

import numpy as np

MaxGrid = tuple[int, int] | None
"""The largest matrix (rows, columns) drawn as a grid of numbers; None: one-line lists."""

DEFAULT_GRID: MaxGrid = (6, 6)


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


def format_value(
    value: Any, max_elements: int = 6, digits: int = 4, max_grid: MaxGrid = None
) -> str:
    """Scalars and arrays of at most `max_elements` entries in full; larger arrays as
    `shape (3, 4): mean 0.1, min -1, max 2`. With `max_grid`, a matrix larger than it is always
    summarised (one that fits is a grid where the caller draws grids, see `grid`).

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
    too_big = max_grid is not None and array.ndim == 2 and grid(array, max_grid) is None
    if array.size <= max_elements and not too_big:
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


def grid(value: Any, max_grid: MaxGrid, digits: int = 4) -> list[list[str]] | None:
    """The formatted entries of a matrix (a 2-D array) of at most `max_grid` rows and columns,
    row by row; None for anything else (scalars, vectors, larger or higher-dimensional arrays).

    >>> grid(np.array([[1.0, -0.25], [3.0, 4.5]]), (6, 6))
    [['1', '-0.25'], ['3', '4.5']]
    >>> grid(np.zeros((7, 7)), (6, 6)) is None
    True
    """
    if max_grid is None or value is None or isinstance(value, (int, float, bool, np.generic)):
        return None
    array = np.asarray(value)
    if array.ndim != 2 or array.size == 0 or array.dtype.kind not in "fciub":
        return None
    rows, cols = max_grid
    if array.shape[0] > rows or array.shape[1] > cols:
        return None
    return [[number(v, digits) for v in row] for row in array]


def grid_lines(cells: list[list[str]]) -> list[str]:
    """A grid as text, one line per row, each column right-aligned.

    >>> print("\\n".join(grid_lines([["1", "-0.25"], ["3", "4.5"]])))
    [1  -0.25]
    [3    4.5]
    """
    widths = [max(len(row[j]) for row in cells) for j in range(len(cells[0]))]
    return [
        "[" + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + "]" for row in cells
    ]
