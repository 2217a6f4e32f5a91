"""Guessing the mistake behind a wrong hand derivation, for check.derivation's report: `c` is
the claimed gradient of one variable, `a` the right one, `bad` where they differ. Each guess is
a pattern that a student's slip leaves in the numbers (seed 000 Ex2, Ex3; 001 §1.1, §1.2)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from chainrule.check.activations import Activation, aligned
from chainrule.viz.format import number

TRANSPOSED = "yours is the transpose of the right Jacobian: rows are outputs, columns inputs"


def close(x: Any, y: Any) -> bool:
    return bool(np.allclose(x, y, rtol=1e-5, atol=1e-9))


def guess_mistake(
    c: np.ndarray,
    a: np.ndarray,
    bad: np.ndarray,
    values: Mapping[str, Any],
    found: Callable[[], list[Activation]] = list,
) -> str | None:
    """A guess at the mistake (transpose, sign, a constant factor, a missing -1_c, a sum that
    stops short, a wrong index, a missing sigma'(u), alpha and 1 - alpha swapped, a dropped ReLU
    mask), or None.
    `found()` lists the function's sigmoids and ReLUs (computed only when a guess needs them)."""
    if c.ndim == 2 and c.shape[0] == c.shape[1] and close(c.T, a):
        return TRANSPOSED
    for guess in (_missing_one_hot, _stops_short, _wrong_index):
        hint = guess(c, a, bad, values)
        if hint is not None:
            return hint
    mask = bad & (np.abs(a) > 1e-12) & np.isfinite(c)  # a ratio needs two finite numbers
    if mask.any() and mask.sum() == bad.sum():
        ratios = c[mask] / a[mask]
        r = float(np.median(ratios))
        if np.isfinite(r) and np.allclose(ratios, r, rtol=1e-4):
            hint = _constant(r, int(mask.sum()), values)
            if hint is not None:
                return hint
    return _activation(c, a, bad, found)


def _constant(r: float, count: int, values: Mapping[str, Any]) -> str | None:
    """The claim is r times the right value wherever it differs: name r if it is a known factor."""
    if np.isclose(r, -1.0):
        return "yours has the opposite sign everywhere it differs: a sign error"
    beta = values.get("beta")
    if beta is not None and np.ndim(beta) == 0:
        if np.isclose(r * float(beta), 1.0):
            return f"yours is 1/beta times the right value (beta = {number(beta)}): a missing beta?"
        if np.isclose(r, float(beta)):
            return f"yours is beta times the right value (beta = {number(beta)}): an extra beta?"
    for n in _batch_sizes(values):
        if np.isclose(r, n):
            return (
                f"yours is {n} times the right value ({n} = the batch size): a sum over the "
                "batch where the loss takes the mean?"
            )
        if np.isclose(r * n, 1.0):
            return (
                f"yours is 1/{n} times the right value ({n} = the batch size): a mean over the "
                "batch where the loss sums?"
            )
    for name, v in values.items():
        if name == "beta" or np.ndim(v) != 0 or not 0.0 < float(v) < 1.0:
            continue
        t = float(v)
        if np.isclose(r, (1 - t) / t) or np.isclose(r, t / (1 - t)):
            return (
                f"yours is {number(r)} times the right value, (1 - {name})/{name} or its "
                f"inverse ({name} = {number(t)}): {name} and 1 - {name} swapped?"
            )
    if r > 0 and (r >= 4.0 - 1e-9 or r <= 0.25 + 1e-9) and count == 1:
        return None  # one number could be sigma'(u) for some u: let the activations decide
    if count < 2:  # one entry: any ratio is "constant", so it says nothing
        return None
    return f"yours is {number(r)} times the right value where it differs: a constant factor?"


def _batch_sizes(values: Mapping[str, Any]) -> list[int]:
    """Candidate batch sizes: the length of class-index targets and of batched (2-d) inputs."""
    sizes = {
        int(np.shape(v)[0])
        for v in values.values()
        if np.ndim(v) >= 1 and (np.asarray(v).dtype.kind in "iu" or np.ndim(v) == 2)
    }
    return sorted(n for n in sizes if n >= 2)


def _targets(values: Mapping[str, Any]) -> list[tuple[str, np.ndarray]]:
    """The class-index inputs (integer arrays), by name."""
    out = []
    for name, v in values.items():
        t = np.asarray(v)
        if t.dtype.kind in "iu" and t.size:
            out.append((name, t.reshape(-1)))
    return out


def _missing_one_hot(
    c: np.ndarray, a: np.ndarray, bad: np.ndarray, values: Mapping[str, Any]
) -> str | None:
    """grad_o = softmax(o) - 1_c without the -1_c: the claim differs only at the class entries
    (rows), by exactly the upstream factor, so that yours - right = 1_c (times that factor)."""
    if c.ndim == 0 or not bad.any():
        return None
    rows = sorted({int(i) for i in np.nonzero(bad)[0]})
    d = c - a
    for name, t in _targets(values):
        if c.ndim == 1:
            counts = np.bincount(t[(t >= 0) & (t < c.shape[0])], minlength=c.shape[0])
            if not counts.any():
                continue
            for scale in (1.0, 1.0 / len(t)):
                if close(d, counts * scale):
                    return _one_hot_text(name, t, "entry", scale)
        elif len(t) == 1 and rows == [int(t[0])]:
            row_c, row_a = c[rows[0]], a[rows[0]]
            keep = np.abs(row_a) > 1e-12
            if not keep.any():
                continue
            r = row_c[keep] / row_a[keep]
            p = r / (r - 1)  # yours p u against (p - 1) u: the ratio is p / (p - 1)
            if np.allclose(r, r[0], rtol=1e-4) and 0.0 < float(p[0]) < 1.0:
                return _one_hot_text(name, t, "row", 1.0)
    return None


def _one_hot_text(name: str, t: np.ndarray, where: str, scale: float) -> str:
    classes = ", ".join(str(int(k)) for k in sorted(set(t.tolist())))
    per = f" (/{len(t)}: the mean over the batch)" if scale != 1.0 else ""
    return (
        f"yours differs only at the class {where} {name} = {classes}, by exactly the upstream "
        f"factor{per}: a missing -1_c in grad_o = softmax(o) - 1_c?"
    )


def _stops_short(
    c: np.ndarray, a: np.ndarray, bad: np.ndarray, values: Mapping[str, Any]
) -> str | None:
    """A sum over an index range that ends too early (000 Ex3 Q2: l = 1..Z where o has M
    entries): along one axis, yours is right up to some index and 0 from there on, where the
    right values are not."""
    if c.ndim == 0 or not bad.any():
        return None
    words = ("entry", "entries") if c.ndim == 1 else ("row", "rows")
    for axis in range(min(c.ndim, 2)):
        if c.ndim == 2 and axis == 1:
            words = ("column", "columns")
        moved_bad = np.asarray(np.moveaxis(bad, axis, 0).reshape(c.shape[axis], -1).any(axis=1))
        n = moved_bad.size
        first = int(np.argmax(moved_bad))
        if first == 0 or not moved_bad[first:].all():
            continue  # the differing part must be a tail, with a right part before it
        tail = np.moveaxis(c, axis, 0)[first:]
        if not np.all(tail == 0):
            continue
        sized = [k for k, v in values.items() if np.ndim(v) >= 1 and np.shape(v)[0] == first]
        why = f" ({first} is the length of {sized[0]})" if sized else ""
        return (
            f"yours is right in {words[1]} 0..{first - 1} and 0 in {words[1]} {first}..{n - 1} "
            f"of {n}: a sum that stops short, its index running to {first}{why} where it should "
            f"run to {n}?"
        )
    return None


def _wrong_index(
    c: np.ndarray, a: np.ndarray, bad: np.ndarray, values: Mapping[str, Any]
) -> str | None:
    """A row or column off: each differing row (column) of yours is another row of the right one."""
    words = ("entry", "entry") if c.ndim == 1 else ("row", "column")
    for axis in range(min(c.ndim, 2)):
        moved_c, moved_a = np.moveaxis(c, axis, 0), np.moveaxis(a, axis, 0)
        differing = [i for i in range(moved_c.shape[0]) if not close(moved_c[i], moved_a[i])]
        if not differing:
            continue
        pairs = []
        for i in differing:
            match = [
                j
                for j in range(moved_a.shape[0])
                if j != i and np.abs(moved_a[j]).max() > 1e-12 and close(moved_c[i], moved_a[j])
            ]
            if not match:
                break
            pairs.append((i, match[0]))
        else:
            word = words[axis]
            told = ", ".join(f"your {word} {i} is the right {word} {j}" for i, j in pairs[:3])
            article = "an" if word[0] in "aeiou" else "a"
            return f"{told}: a wrong index ({article} {word} off or swapped)?"
    return None


def _activation(
    c: np.ndarray, a: np.ndarray, bad: np.ndarray, found: Callable[[], list[Activation]]
) -> str | None:
    """A missing sigma'(u) (the ratio is sigma'(u) or its inverse) or a dropped ReLU mask (the
    claim differs exactly where the ReLU's input is negative)."""
    acts = found()
    for act in acts:
        u = aligned(act.u, c.shape)
        if u is None:
            continue
        if act.kind == "sigmoid":
            s = 0.5 * (1 + np.tanh(u / 2))
            ds = s * (1 - s)
            keep = bad & (np.abs(a) > 1e-12) & np.isfinite(c)
            if not keep.any() or keep.sum() != bad.sum():
                continue
            ratio = c[keep] / a[keep]
            where = f"(u = {act.name}, the sigmoid's input)"
            if close(ratio * ds[keep], 1.0):
                return f"yours is 1/sigma'(u) times the right value {where}: a missing sigma'(u)?"
            if close(ratio, ds[keep]):
                return f"yours is sigma'(u) times the right value {where}: an extra sigma'(u)?"
        else:
            negative = u < 0
            if (
                negative.any()
                and not bad[~negative].any()
                and np.all(np.abs(a[bad]) <= 1e-12)
                and bad.any()
            ):
                return (
                    f"yours differs exactly where the ReLU's input {act.name} is negative "
                    f"(there the right value is 0): a dropped ReLU mask 1[{act.name} > 0]?"
                )
    return None
