"""Central finite differences: the one numerical derivative of chainrule (gradcheck,
gradgradcheck, `cr.check.derivation` and `cr.check.per_node` all use it).

The step rule: entry k of x moves by h = eps * max(1, |x_k|). Why relative: float64 has about
16 significant digits wherever the number is, so an absolute step of 1e-6 on x = 1e6 is lost to
rounding (x + h rounds to a neighbour of x only 1e-10 away), while a step relative to |x| keeps
the same share of the digits at every magnitude. Why not purely relative (eps * |x|): at x = 0
the step would be 0. Below |x| = 1 the rule is the absolute step torch's gradcheck takes, so the
two agree on the usual test points.

Besides the derivative, a check often needs to know where a function is *not* differentiable.
A central difference at a kink (|x| at 0, relu at 0) is a number, but not a derivative: it is the
mean of the two one-sided slopes. And where f is infinite or undefined nearby (sqrt at 0, log at
0) it is inf or NaN. Given f(x), `central_differences` reports the first such point, so that a
check can skip it instead of failing a correct derivative there.

A kink is told from curvature by how the jump between the one-sided slopes scales with the step:
at a smooth point, jump(h) = (f(x+h) - 2 f(x) + f(x-h)) / h is about h f''(x), so it grows
tenfold with a tenfold step; at a kink it is the difference of the slopes whatever the step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

NOT_FINITE = "f or the finite difference is not finite"
ULPS = 500  # the rounding noise of f(x+h) - 2 f(x) + f(x-h), relative to |f|, in units of eps


def step(x: float, eps: float) -> float:
    """The step central differences take at x: eps * max(1, |x|) (see the module docstring).

    >>> step(0.5, 1e-6), step(-300.0, 1e-6)
    (1e-06, 0.0003)
    """
    return eps * max(1.0, abs(x))


@dataclass
class Differences:
    """`numerical`: d f / d x, shape f.shape + x.shape. `problem`: None where f is differentiable
    at x (or was not asked about), else (flat index of the entry of x, why) for the first entry
    where it is not."""

    numerical: np.ndarray
    problem: tuple[int, str] | None = None


def central_differences(
    f: Callable[[np.ndarray], ArrayLike],
    base: ArrayLike,
    f0: ArrayLike | None = None,
    eps: float = 1e-6,
    dtype: np.dtype | None = None,
) -> Differences:
    """Central differences (f(x + h e_k) - f(x - h e_k)) / 2h of `f` at `base`, entry by entry,
    with h = step(x_k, eps). `f` gets `base` moved in one entry (cast to `dtype` when given) and
    returns an array (float64 is used here).

    With f0 = f(base), also the first entry where f is not differentiable (see the module
    docstring); without it, only the derivative (two evaluations of f per entry, as gradcheck
    needs). Call it inside np.errstate(all="ignore") when looking for such points: there the
    arithmetic overflows or divides by zero, and that is an answer, not a warning.

    >>> import numpy as np
    >>> d = central_differences(np.abs, np.array([0.0, 2.0]), f0=np.abs(np.array([0.0, 2.0])))
    >>> d.numerical.diagonal().round(6).tolist(), d.problem
    ([0.0, 1.0], (0, 'the slopes on either side differ: -1 and 1'))
    """
    base = np.array(base, dtype=np.float64)
    flat = base.reshape(-1)
    columns = []
    problem: tuple[int, str] | None = None
    if f0 is not None:
        f0 = np.asarray(f0)
        # f may compute in float32 although x is float64: its rounding noise is then far larger
        roundoff = ULPS * np.finfo(f0.dtype if f0.dtype.kind == "f" else np.float64).eps
        f0 = f0.astype(np.float64)

    def at(k: int, moved_by: float) -> np.ndarray:
        moved = flat.copy()
        moved[k] += moved_by
        x = moved.reshape(base.shape)
        return np.asarray(f(x if dtype is None else x.astype(dtype)), dtype=np.float64)

    for k in range(flat.size):
        h = step(flat[k], eps)
        plus, minus = at(k, h), at(k, -h)
        central = (plus - minus) / (2 * h)
        columns.append(central)
        if f0 is None or problem is not None:
            continue
        problem = _problem(at, k, h, f0, plus, minus, central, roundoff)
    if not columns:
        # no entry to move: f at base gives the shape of the (empty) derivative
        out_shape = f0.shape if f0 is not None else np.shape(f(base))
        return Differences(np.zeros(out_shape + base.shape))
    out_shape = columns[0].shape
    return Differences(np.stack(columns, axis=-1).reshape(out_shape + base.shape), problem)


def _problem(
    at: Callable[[int, float], np.ndarray],
    k: int,
    h: float,
    f0: np.ndarray,
    plus: np.ndarray,
    minus: np.ndarray,
    central: np.ndarray,
    roundoff: float,
) -> tuple[int, str] | None:
    """(k, why) when f is not differentiable in entry k of x (see the module docstring)."""
    if not (np.isfinite(central).all() and np.isfinite(f0).all()):
        return (k, NOT_FINITE)
    jump = (plus - 2 * f0 + minus) / h
    noise = roundoff * (np.abs(plus) + 2 * np.abs(f0) + np.abs(minus)) / h
    large = np.abs(jump) > noise + 1e-6 * (1 + np.abs(central))
    if not large.any():
        return None
    plus10, minus10 = at(k, 10 * h), at(k, -10 * h)
    jump10 = (plus10 - 2 * f0 + minus10) / (10 * h)
    if not np.isfinite(jump10[large]).all():
        return (k, NOT_FINITE)
    kink = large & ~(np.abs(jump10) > 3 * np.abs(jump))  # smooth: jump10 ≈ 10 jump
    if not kink.any():
        return None
    j = np.flatnonzero(kink.reshape(-1))[0]
    right = ((plus - f0) / h).reshape(-1)[j]
    left = ((f0 - minus) / h).reshape(-1)[j]
    return (k, f"the slopes on either side differ: {left:.6g} and {right:.6g}")
