"""Checking a hand derivation: a closed-form gradient (or Jacobian) against autodiff and central
finite differences, at the given point, at random points and at hard cases (zeros, large
magnitudes, extreme beta when the function takes one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from chainrule.autograd.finite_differences import NOT_FINITE, Differences, central_differences
from chainrule.autograd.grad import grad
from chainrule.check.activations import Activation, activations
from chainrule.check.hints import guess_mistake
from chainrule.check.inputs import Inputs as _Inputs
from chainrule.check.inputs import accepts as _accepts
from chainrule.check.kinks import KINK, kink_note
from chainrule.check.report import Mismatch, PointResult, Report
from chainrule.modes import enable_grad, no_grad
from chainrule.tensor import Tensor
from chainrule.viz.format import format_value, number

BETAS = (10.0, 0.1)  # extreme temperatures tried when the function takes `beta`
LARGE = 50.0  # scale of the large-magnitude points
RETRIES = 10  # draws of a random point before reporting it as not differentiable


# -- derivation ----------------------------------------------------------------------------------
def derivation(
    fn: Callable[..., Tensor],
    my_grad: Callable[..., Any],
    inputs: Any,
    *,
    wrt: str | int | Sequence[str | int] | None = None,
    points: int = 5,
    seed: int = 0,
    atol: float = 1e-7,
    rtol: float = 1e-5,
    hard_cases: bool = True,
    drawn: Sequence[str] = (),
    verbose: bool = False,
) -> Report:
    """Check a hand-derived gradient (or Jacobian) `my_grad` of `fn`.

    `inputs` are the point (a sequence in fn's argument order, or a mapping of keyword
    arguments); `my_grad` takes the same arguments and returns d fn/d wrt: shape
    `output.shape + input.shape` (the input's shape for a scalar output), or a tuple of those
    when `wrt` names several inputs (default: every float input). `fn` gets the wrt inputs as
    float64 tensors, other Python numbers as numbers and arrays as tensors; `my_grad` gets every
    input as it was given (number, NumPy array or tensor), so it may be written with NumPy.
    Besides the given point: `points - 1` random points, and, with `hard_cases`, zeros, large
    magnitudes and extreme beta (when fn takes `beta`, or `beta` is one of the inputs).

    A point where fn is not differentiable (fn, its finite difference or autodiff is not
    finite there, or the one-sided slopes differ: a kink) is reported as such and skipped; the
    verdict is over the other points. Random points that fall on one are drawn again, and so is
    the given point's entry for each input named in `drawn` (values the caller drew at random,
    as `chainrule check` does for variables without a value).

    `str(report)` starts with a line per variable (holds, or differs in k of n entries, with a
    hint naming the likely mistake) and lists one differing entry per point; `report.details()`
    (or `verbose=True`) lists them all.

    >>> import chainrule as cr
    >>> f = lambda a, x: cr.sigmoid(a * x)
    >>> sig = lambda t: 1 / (1 + np.exp(-t))
    >>> cr.check.derivation(f, lambda a, x: sig(a * x) * (1 - sig(a * x)) * x,
    ...                     (0.5, 2.0), wrt="a").ok
    True
    >>> r = cr.check.derivation(cr.sqrt, lambda x: 0.5 / np.sqrt(x), (0.0,))
    >>> r.ok, r.points[0].skipped
    (True, 'not differentiable at x=0 (f or the finite difference is not finite)')
    """
    point = _Inputs(fn, inputs)
    names = _wrt_names(point, wrt)
    drawn = list(drawn)
    unknown = [n for n in drawn if n not in point.values]
    if unknown:
        raise ValueError(f"check.derivation: drawn {unknown} are not inputs; inputs: {point.names}")
    rng = np.random.default_rng(seed)

    def given() -> dict[str, Any]:
        return {**point.values, **{n: _random(point, rng, 1.0)[n] for n in drawn}}

    # (label, a fresh draw of the values or None for a fixed point, the values, extra kwargs)
    cases: list[tuple[str, Callable | None, dict[str, Any], dict]] = [
        ("given point", given if drawn else None, dict(point.values), {})
    ]
    for k in range(1, points):
        draw_random = lambda: _random(point, rng, 1.0)  # noqa: E731
        cases.append((f"random point {k}", draw_random, draw_random(), {}))
    if hard_cases:
        zeros = {n: (np.zeros_like(v) if n != "beta" else v) for n, v in point.values.items()}
        cases.append(("zeros", None, zeros, {}))
        draw_large = lambda: _random(point, rng, LARGE)  # noqa: E731
        cases.append((f"large (×{LARGE:g})", draw_large, draw_large(), {}))
        for beta in BETAS:
            if "beta" in point.values:
                values = {**point.values, "beta": np.float64(beta)}
                cases.append((f"beta = {beta:g}", None, values, {}))
            elif _accepts(fn, "beta"):
                cases.append((f"beta = {beta:g}", None, dict(point.values), {"beta": beta}))
    results, out_shape = [], ()
    # a point where fn is not differentiable says nothing about the derivation: the arithmetic
    # warnings that find such points are answers, not news for the user
    with np.errstate(all="ignore"):
        for label, draw, values, extra in cases:
            for _ in range(RETRIES if draw is not None else 1):
                result, shape = _check_point(fn, my_grad, point, values, names, extra, atol, rtol)
                if result.skipped is None or draw is None:
                    break
                values = draw()  # a random point that fell where fn is not differentiable
            result.label = label
            results.append(result)
            out_shape = shape if shape is not None else out_shape
    return Report(names, results, out_shape, verbose=verbose)


def _wrt_names(point: _Inputs, wrt: Any) -> list[str]:
    if wrt is None:
        floats = [n for n in point.names if point.values[n].dtype.kind == "f" and n != "beta"]
        return floats[:1] if len(point.names) == 1 else floats
    items = [wrt] if isinstance(wrt, (str, int)) else list(wrt)
    out = []
    for w in items:
        name = point.names[w] if isinstance(w, int) else w
        if name not in point.values:
            raise ValueError(f"check.derivation: wrt {w!r} is not an input; inputs: {point.names}")
        out.append(name)
    return out


def _random(point: _Inputs, rng: np.random.Generator, scale: float) -> dict[str, Any]:
    """Random values keeping each float input's shape (and positivity: logs stay defined)."""
    out = {}
    for n, v in point.values.items():
        if v.dtype.kind != "f" or n == "beta":
            out[n] = v
        elif v.size and (v > 0).all():
            out[n] = rng.uniform(0.1, 3.0, v.shape) * scale
        else:
            out[n] = rng.standard_normal(v.shape) * scale
    return out


def _check_point(
    fn: Callable,
    my_grad: Callable,
    point: _Inputs,
    values: dict,
    names: list[str],
    extra: dict,
    atol: float,
    rtol: float,
) -> tuple[PointResult, Any]:
    result = PointResult("", values, ok=False)
    leaves: dict[str, Tensor] = {}
    with enable_grad():
        out = point.call(fn, values, names, extra, leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"check.derivation: fn must return a Tensor, got {type(out).__name__}")
    if not np.isfinite(out._data).all():
        result.skipped = _not_differentiable(values, names, None, NOT_FINITE)
        return result, None
    f0 = np.asarray(out._data)
    autodiff = _autodiff(out, [leaves[n] for n in names])
    numerical = []
    for n in names:
        differences = _numerical(fn, point, values, n, names, extra, f0)
        if differences.problem is not None:
            entry, why = differences.problem
            result.skipped = _not_differentiable(values, names, (n, entry), why)
            if why.startswith(KINK):  # say which convention the hand formula takes there
                note = kink_note(point, fn, my_grad, values, names, extra, n, entry, f0)
                result.skipped += f"; {note}" if note else ""
            return result, None
        numerical.append(differences.numerical)
    if not all(np.isfinite(a).all() for a in autodiff):
        # FD is finite and no kink was seen, so it is the engine's formula that breaks down
        # here (0 * inf inside a chain rule): no answer to compare the hand derivation with
        result.skipped = _not_differentiable(values, names, None, "autodiff is not finite")
        return result, None
    with no_grad():
        claimed = point.call_as_given(
            my_grad, values, extra if _accepts(my_grad, "beta", True) else {}
        )
    if len(names) > 1:
        if not isinstance(claimed, (tuple, list)) or len(claimed) != len(names):
            raise ValueError(
                f"check.derivation: my_grad must return one gradient per input of wrt {names}"
            )
        claimed = list(claimed)
    else:
        claimed = [claimed]
    found: list[list[Activation]] = []

    def sigmoids_and_relus() -> list[Activation]:
        if not found:  # computed once, and only when a hint needs the pre-activations
            found.append(activations(lambda: point.call(fn, values, names, extra, {})))
        return found[0]

    # the inputs a hint may name as a factor (beta, alpha, a batch of samples, the target)
    others = {**{n: v for n, v in values.items() if n not in names}, **extra}
    for name, c, a, fd in zip(names, claimed, autodiff, numerical, strict=True):
        c = np.asarray(c._data if isinstance(c, Tensor) else c, dtype=np.float64)
        if c.shape != a.shape and c.shape == tuple(out.shape) == np.shape(values[name]):
            a, fd = _diagonal(a, c.shape), _diagonal(fd, c.shape)  # an elementwise derivative
        result.entries += a.size
        result.sizes[name] = a.size
        result.fd_error = max(result.fd_error, float(np.max(np.abs(fd - a), initial=0)))
        if c.shape != a.shape and c.ndim == 2 and c.shape[::-1] == a.shape:
            _transposed_shape(result, name, c, a, fd)
            continue
        c = _claimed_array(c, a.shape, name)
        with np.errstate(invalid="ignore", over="ignore"):
            bad = ~(np.abs(c - a) <= atol + rtol * np.abs(a))
            error = np.abs(c - a)
        result.max_error = max(result.max_error, float(np.max(error, initial=0)))
        for index in np.ndindex(bad.shape):
            if bad[index]:
                result.mismatches.append(
                    Mismatch(name, index, float(c[index]), float(a[index]), float(fd[index]))
                )
        if bad.any():
            with np.errstate(all="ignore"):
                hint = guess_mistake(c, a, bad, others, sigmoids_and_relus)
            if hint is not None:
                result.hints[name] = hint
                result.hint = result.hint if result.hint is not None else hint
    result.ok = not result.mismatches
    return result, tuple(out.shape)


def _autodiff(out: Tensor, leaves: list[Tensor]) -> list[np.ndarray]:
    """d out / d leaf for each leaf, shape out.shape + leaf.shape (one backward per entry)."""
    rows: list[list[np.ndarray]] = [[] for _ in leaves]
    flat = out.reshape(-1)
    gs: Sequence[Tensor | None]
    with enable_grad():
        for k in range(flat.shape[0]):
            if not flat.requires_grad:
                gs = [None] * len(leaves)
            else:
                gs = grad(flat[k], leaves, retain_graph=True, allow_unused=True)
            for j, g in enumerate(gs):
                rows[j].append(np.zeros(leaves[j].shape) if g is None else g._data)
    return [
        np.stack(r).astype(np.float64).reshape(tuple(out.shape) + tuple(t.shape))
        for r, t in zip(rows, leaves, strict=True)
    ]


def _numerical(
    fn: Callable,
    point: _Inputs,
    values: dict,
    name: str,
    names: list[str],
    extra: dict,
    f0: np.ndarray,
) -> Differences:
    """Central differences of fn in input `name`, shape out.shape + input.shape, and where fn
    is not differentiable in it. Every wrt input is passed as a float64 tensor, as for f0: a
    sum of Python numbers would otherwise reach an op as a default-dtype (float32) tensor."""

    def moved(x: np.ndarray) -> np.ndarray:
        with no_grad():
            return point.call(fn, {**values, name: x}, names, extra)._data

    return central_differences(moved, values[name], f0)


def _not_differentiable(
    values: Mapping[str, Any], names: list[str], entry: tuple[str, int] | None, why: str
) -> str:
    """'not differentiable at x=0 (why)': at the entry where it was found, or at the wrt values."""
    if entry is not None:
        name, k = entry
        v = np.asarray(values[name])
        index = np.unravel_index(k, v.shape) if v.ndim else ()
        where = f"{name}[{', '.join(map(str, index))}]" if index else name
        at = f"{where}={number(float(v[index]) if v.ndim else float(v), 6)}"
    else:
        at = ", ".join(f"{n}={format_value(values[n], digits=6)}" for n in names)
    return f"not differentiable at {at} ({why})"


def _diagonal(j: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The Jacobian of an elementwise function as its diagonal, shaped like the input (a
    Jacobian with non-zero off-diagonal entries is kept, so the shapes then disagree)."""
    n = int(np.prod(shape))
    square = j.reshape(n, n)
    if np.count_nonzero(square - np.diag(np.diag(square))):
        return j
    return np.diag(square).reshape(shape)


def _transposed_shape(
    result: PointResult, name: str, c: np.ndarray, a: np.ndarray, fd: np.ndarray
) -> None:
    """A claim of the transposed shape: every entry is in the wrong place, so every entry
    differs; the hint says whether it is the right answer transposed."""
    result.max_error = max(result.max_error, float(np.max(np.abs(c.T - a), initial=0)))
    for index in np.ndindex(a.shape):
        result.mismatches.append(
            Mismatch(name, index, float(c.T[index]), float(a[index]), float(fd[index]), True)
        )
    hint = f"yours has shape {c.shape}, the right one {a.shape}"
    if np.allclose(c.T, a, rtol=1e-5, atol=1e-9):
        hint += ": yours is the transpose of the right answer"
    else:
        hint += ": the transposed shape, and not the right answer transposed either"
    result.hints[name] = hint
    result.hint = result.hint if result.hint is not None else hint


def _claimed_array(array: np.ndarray, shape: tuple, name: str) -> np.ndarray:
    if array.shape == shape:
        return array
    if array.size == int(np.prod(shape)) and [n for n in array.shape if n != 1] == [
        n for n in shape if n != 1
    ]:
        return array.reshape(shape)  # the same entries, up to size-1 dims
    raise ValueError(
        f"check.derivation: my_grad's result for {name} has shape {array.shape}, expected "
        f"{shape} (output shape + input shape)"
    )
