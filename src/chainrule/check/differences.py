"""Central finite differences that also say where a function is not differentiable.

A central difference at a kink (|x| at 0, relu at 0) is a number, but not a derivative: it is the
mean of the two one-sided slopes. And where f is infinite or undefined nearby (sqrt at 0, log at
0) it is inf or NaN. Both kinds of point are reported, so that a check can skip them instead of
failing a correct derivative there.

A kink is told from curvature by how the jump between the one-sided slopes scales with the step:
at a smooth point, jump(h) = (f(x+h) - 2 f(x) + f(x-h)) / h is about h f''(x), so it grows
tenfold with a tenfold step; at a kink it is the difference of the slopes whatever the step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

NOT_FINITE = "f or the finite difference is not finite"
ULPS = 500  # the rounding noise of f(x+h) - 2 f(x) + f(x-h), relative to |f|, in units of eps


@dataclass
class Differences:
    """`numerical`: d f / d x, shape f.shape + x.shape. `problem`: None where f is differentiable
    at x, else (flat index of the entry of x, why) for the first entry where it is not."""

    numerical: np.ndarray
    problem: tuple[int, str] | None = None


def central_differences(
    f: Callable[[np.ndarray], np.ndarray],
    base: np.ndarray,
    f0: np.ndarray,
    eps: float = 1e-6,
    dtype: np.dtype | None = None,
) -> Differences:
    """Central differences of `f` at `base` (f0 = f(base)), entry by entry of `base`, with the
    first entry where f is not differentiable (see the module docstring). `f` gets `base` moved
    in one entry (cast to `dtype` when given) and returns an array (float64 is used here).
    Call it inside np.errstate(all="ignore"): at the points it is meant to find, the arithmetic
    overflows or divides by zero, and that is an answer, not a warning."""
    base = np.array(base, dtype=np.float64)
    f0 = np.asarray(f0)
    # f may compute in float32 although x is float64: its rounding noise is then far larger
    roundoff = ULPS * np.finfo(f0.dtype if f0.dtype.kind == "f" else np.float64).eps
    f0 = f0.astype(np.float64)
    flat = base.reshape(-1)
    columns = []
    problem: tuple[int, str] | None = None

    def at(k: int, step: float) -> np.ndarray:
        moved = flat.copy()
        moved[k] += step
        x = moved.reshape(base.shape)
        return np.asarray(f(x if dtype is None else x.astype(dtype)), dtype=np.float64)

    for k in range(flat.size):
        h = eps * max(1.0, abs(flat[k]))
        plus, minus = at(k, h), at(k, -h)
        central = (plus - minus) / (2 * h)
        columns.append(central)
        if problem is not None:
            continue
        if not (np.isfinite(central).all() and np.isfinite(f0).all()):
            problem = (k, NOT_FINITE)
            continue
        jump = (plus - 2 * f0 + minus) / h
        noise = roundoff * (np.abs(plus) + 2 * np.abs(f0) + np.abs(minus)) / h
        large = np.abs(jump) > noise + 1e-6 * (1 + np.abs(central))
        if not large.any():
            continue
        plus10, minus10 = at(k, 10 * h), at(k, -10 * h)
        jump10 = (plus10 - 2 * f0 + minus10) / (10 * h)
        if not np.isfinite(jump10[large]).all():
            problem = (k, NOT_FINITE)
            continue
        kink = large & ~(np.abs(jump10) > 3 * np.abs(jump))  # smooth: jump10 ≈ 10 jump
        if kink.any():
            j = np.flatnonzero(kink.reshape(-1))[0]
            right = ((plus - f0) / h).reshape(-1)[j]
            left = ((f0 - minus) / h).reshape(-1)[j]
            problem = (k, f"the slopes on either side differ: {left:.6g} and {right:.6g}")
    out_shape = f0.shape
    if not columns:
        return Differences(np.zeros(out_shape + base.shape))
    return Differences(np.stack(columns, axis=-1).reshape(out_shape + base.shape), problem)
