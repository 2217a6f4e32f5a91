"""Guessing the mistake behind a wrong hand derivation, for check.derivation's report: `c` is
the claimed gradient, `a` the right one, `bad` where they differ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule.viz.format import number


def guess_mistake(
    c: np.ndarray, a: np.ndarray, bad: np.ndarray, values: Mapping[str, Any]
) -> str | None:
    """A guess at the mistake: a constant factor (a missing beta?), a sign, a transpose."""
    if c.ndim == 2 and c.shape[0] == c.shape[1] and np.allclose(c.T, a, rtol=1e-5, atol=1e-9):
        return "yours is the transpose of the right Jacobian: rows are outputs, columns inputs"
    mask = bad & (np.abs(a) > 1e-12) & np.isfinite(c)  # a ratio needs two finite numbers
    if not mask.any():
        return None
    ratios = c[mask] / a[mask]
    r = float(np.median(ratios))
    if not np.allclose(ratios, r, rtol=1e-4) or not np.isfinite(r):
        return None
    if np.isclose(r, -1.0):
        return "yours has the opposite sign everywhere it differs"
    beta = values.get("beta")
    if beta is not None and np.ndim(beta) == 0:
        if np.isclose(r * float(beta), 1.0):
            return f"yours is 1/beta times the right value (beta = {number(beta)}): a missing beta?"
        if np.isclose(r, float(beta)):
            return f"yours is beta times the right value (beta = {number(beta)}): an extra beta?"
    if mask.sum() < 2:  # one entry: any ratio is "constant", so it says nothing
        return None
    return f"yours is {number(r)} times the right value where it differs: a constant factor?"
