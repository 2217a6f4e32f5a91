"""What a hand derivation says at a point where the function is not differentiable (a kink).

There no answer is wrong or right: ReLU's derivative at 0 may be taken as 0 (PyTorch's choice),
1, or the 1/2 that central finite differences give. A check skips such a point, and says which
of these the student's formula gives, so that `(x > 0)` for ReLU reads as a convention at x = 0
rather than a mistake."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.autograd.finite_differences import step
from chainrule.check.hints import close
from chainrule.check.inputs import Inputs, accepts
from chainrule.modes import no_grad
from chainrule.tensor import Tensor
from chainrule.viz.format import number

EPS = 1e-6  # central_differences' default step
KINK = "the slopes on either side differ"  # finite_differences' words for a kink


def kink_note(
    point: Inputs,
    fn: Callable,
    my_grad: Callable,
    values: dict[str, Any],
    names: Sequence[str],
    extra: dict,
    name: str,
    k: int,
    f0: np.ndarray,
) -> str | None:
    """'yours gives 0 there, the slope on the left: ...' for the kink in entry k of `name`, or
    None when the claim cannot be read there (it raised, or has an unexpected shape)."""
    try:
        with no_grad():
            kw = extra if accepts(my_grad, "beta", True) else {}
            claimed = point.call_as_given(my_grad, values, kw)
    except (ArithmeticError, ValueError, TypeError, IndexError):
        return None  # the full check will call it again and report what it raises
    if len(names) > 1:
        if not isinstance(claimed, (tuple, list)) or len(claimed) != len(names):
            return None
        claimed = claimed[list(names).index(name)]
    c = np.asarray(claimed._data if isinstance(claimed, Tensor) else claimed, dtype=np.float64)
    column = _column(c, np.shape(values[name]), f0.shape, k)
    if column is None:
        return None
    left, right = _one_sided(point, fn, values, names, extra, name, k, f0)
    j = int(np.argmax(np.abs(right - left)))  # the output entry with the kink
    yours = number(column[j], 6)
    for slope, words in (
        (left, "the slope on the left"),
        (right, "the slope on the right"),
        ((left + right) / 2, "the mean of the two, as central finite differences give"),
    ):
        if close(column, slope):
            return (
                f"yours gives {yours} there, {words}: a convention at a non-differentiable "
                "point, not a mistake"
            )
    return f"yours gives {yours} there, neither one-sided slope nor their mean"


def _column(
    c: np.ndarray, in_shape: tuple[int, ...], out_shape: tuple[int, ...], k: int
) -> np.ndarray | None:
    """The claim's derivative of every output entry in input entry k (a flat vector)."""
    in_size, out_size = int(np.prod(in_shape)), int(np.prod(out_shape))
    if c.size == out_size * in_size:
        return c.reshape(out_size, in_size)[:, k]
    if c.shape == tuple(in_shape) == tuple(out_shape):  # an elementwise derivative
        column = np.zeros(out_size)
        column[k] = c.reshape(-1)[k]
        return column
    return None


def _one_sided(
    point: Inputs,
    fn: Callable,
    values: dict[str, Any],
    names: Sequence[str],
    extra: dict,
    name: str,
    k: int,
    f0: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) one-sided slopes of every output entry in input entry k."""
    base = np.array(values[name], dtype=np.float64)
    h = step(float(base.reshape(-1)[k]), EPS)

    def at(moved_by: float) -> np.ndarray:
        moved = base.copy().reshape(-1)
        moved[k] += moved_by
        with no_grad():
            out = point.call(fn, {**values, name: moved.reshape(base.shape)}, names, extra)
        return np.asarray(out._data, dtype=np.float64).reshape(-1)

    f = np.asarray(f0, dtype=np.float64).reshape(-1)
    return (f - at(-h)) / h, (at(h) - f) / h
