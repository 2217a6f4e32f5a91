"""Checking a hand derivation: a closed-form gradient (or Jacobian) against autodiff and central
finite differences, at the given point, at random points and at hard cases (zeros, large
magnitudes, extreme beta when the function takes one)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.autograd.grad import grad
from chainrule.check.hints import guess_mistake
from chainrule.modes import enable_grad, no_grad
from chainrule.tensor import Tensor
from chainrule.viz.format import number

BETAS = (10.0, 0.1)  # extreme temperatures tried when the function takes `beta`
LARGE = 50.0  # scale of the large-magnitude points


# -- inputs: names, values, calls ----------------------------------------------------------------
class _Inputs:
    """The point a function is evaluated at: names, float64 values, and how to call fn."""

    def __init__(self, fn: Callable, inputs: Any) -> None:
        if isinstance(inputs, Mapping):
            self.keyword, items = True, list(inputs.items())
        else:
            inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
            try:
                params = [
                    p.name
                    for p in inspect.signature(fn).parameters.values()
                    if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                ]
            except (TypeError, ValueError):
                params = []
            names = [params[i] if i < len(params) else f"x{i}" for i in range(len(inputs))]
            self.keyword, items = False, list(zip(names, inputs, strict=True))
        self.names = [n for n, _ in items]
        self.scalar = {n: isinstance(v, (int, float)) and not isinstance(v, bool) for n, v in items}
        self.tensor = {n: isinstance(v, Tensor) for n, v in items}
        self.values = {n: _array(v) for n, v in items}

    def call(
        self,
        fn: Callable,
        values: Mapping[str, Any],
        wrt: Sequence[str],
        extra: dict,
        leaves: dict | None = None,
    ) -> Any:
        """fn at `values`: wrt inputs as float64 tensors (requiring grad and put in `leaves` when
        `leaves` is given), other numbers as Python numbers, arrays as tensors."""
        args: dict[str, Any] = {}
        for n in self.names:
            v = values[n]
            if n in wrt:
                args[n] = Tensor._make(np.array(v, dtype=np.float64), leaves is not None)
                if leaves is not None:
                    leaves[n] = args[n]
            elif self.scalar[n]:
                args[n] = float(v)
            else:
                args[n] = Tensor._make(np.array(v))
        return self._apply(fn, args, extra)

    def call_as_given(self, fn: Callable, values: Mapping[str, Any], extra: dict) -> Any:
        """fn at `values`, each input of the kind it was given as (number, array or tensor), so
        a hand gradient may be written with NumPy or with chainrule."""
        args: dict[str, Any] = {}
        for n in self.names:
            v = values[n]
            if self.scalar[n]:
                args[n] = float(v)
            elif self.tensor[n]:
                args[n] = Tensor._make(np.array(v))
            else:
                args[n] = np.array(v)
        return self._apply(fn, args, extra)

    def _apply(self, fn: Callable, args: dict[str, Any], extra: dict) -> Any:
        if self.keyword:
            return fn(**args, **extra)
        return fn(*(args[n] for n in self.names), **extra)


def _array(v: Any) -> np.ndarray:
    if isinstance(v, Tensor):
        v = v.detach()._data
    a = np.asarray(v)
    if a.dtype.kind in "fb" or (a.dtype.kind in "iu" and a.ndim == 0):
        return a.astype(np.float64)
    return a  # integer arrays (class indices) stay integers


def _accepts(fn: Callable, name: str, var_keyword: bool = False) -> bool:
    """True when fn has a parameter `name` (or, with var_keyword, takes **kwargs)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or (var_keyword and p.kind is p.VAR_KEYWORD) for p in params)


# -- the report ----------------------------------------------------------------------------------
@dataclass
class Mismatch:
    wrt: str
    index: tuple[int, ...]
    claimed: float
    autodiff: float
    numerical: float


@dataclass
class PointResult:
    """One evaluation point: whether the hand gradient held there, and where it did not."""

    label: str
    values: dict[str, Any]
    ok: bool
    entries: int = 0
    max_error: float = 0.0
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: str | None = None
    hint: str | None = None
    fd_error: float = 0.0


class Report:
    """The verdict of `derivation`: `.ok`, the points (`.points`), and `str(report)`."""

    def __init__(self, wrt: list[str], points: list[PointResult], out_shape: tuple) -> None:
        self.wrt, self.points, self.out_shape = wrt, points, out_shape
        checked = [p for p in points if p.skipped is None]
        self.ok = bool(checked) and all(p.ok for p in checked)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def failures(self) -> list[PointResult]:
        return [p for p in self.points if p.skipped is None and not p.ok]

    def __str__(self) -> str:
        what = "gradient" if self.out_shape == () else f"Jacobian (output {self.out_shape})"
        lines = [f"derivation check of the {what} with respect to {', '.join(self.wrt)}:"]
        for p in self.points:
            if p.skipped is not None:
                lines.append(f"  {p.label:<22} skipped: {p.skipped}")
            elif p.ok:
                lines.append(f"  {p.label:<22} holds (max |error| {number(p.max_error, 2)})")
            else:
                lines.append(
                    f"  {p.label:<22} FAILS: {len(p.mismatches)} of {p.entries} entries differ"
                )
                for m in p.mismatches[:4]:
                    at = f"[{', '.join(map(str, m.index))}]" if m.index else ""
                    lines.append(
                        f"      d/d{m.wrt}{at}: yours {number(m.claimed, 6)}, autodiff "
                        f"{number(m.autodiff, 6)}, finite differences {number(m.numerical, 6)}"
                    )
                if len(p.mismatches) > 4:
                    lines.append(f"      ... and {len(p.mismatches) - 4} more")
                if p.hint:
                    lines.append(f"      hint: {p.hint}")
        n = len([p for p in self.points if p.skipped is None])
        lines.append(
            f"verdict: HOLDS at all {n} points"
            if self.ok
            else f"verdict: DOES NOT HOLD ({len(self.failures)} of {n} points fail)"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Report ok={self.ok}: {len(self.points)} points>"


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

    >>> import chainrule as cr
    >>> f = lambda a, x: cr.sigmoid(a * x)
    >>> sig = lambda t: 1 / (1 + np.exp(-t))
    >>> cr.check.derivation(f, lambda a, x: sig(a * x) * (1 - sig(a * x)) * x,
    ...                     (0.5, 2.0), wrt="a").ok
    True
    """
    point = _Inputs(fn, inputs)
    names = _wrt_names(point, wrt)
    rng = np.random.default_rng(seed)
    cases: list[tuple[str, dict[str, Any], dict]] = [("given point", dict(point.values), {})]
    for k in range(1, points):
        cases.append((f"random point {k}", _random(point, rng, 1.0), {}))
    if hard_cases:
        zeros = {n: (np.zeros_like(v) if n != "beta" else v) for n, v in point.values.items()}
        cases.append(("zeros", zeros, {}))
        cases.append((f"large (×{LARGE:g})", _random(point, rng, LARGE), {}))
        for beta in BETAS:
            if "beta" in point.values:
                cases.append((f"beta = {beta:g}", {**point.values, "beta": np.float64(beta)}, {}))
            elif _accepts(fn, "beta"):
                cases.append((f"beta = {beta:g}", dict(point.values), {"beta": beta}))
    results, out_shape = [], ()
    for label, values, extra in cases:
        result, shape = _check_point(fn, my_grad, point, values, names, extra, atol, rtol)
        result.label = label
        results.append(result)
        out_shape = shape if shape is not None else out_shape
    return Report(names, results, out_shape)


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
        result.skipped = "the function is not finite here"
        return result, None
    autodiff = _autodiff(out, [leaves[n] for n in names])
    numerical = [_numerical(fn, point, values, n, extra) for n in names]
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
    for name, c, a, fd in zip(names, claimed, autodiff, numerical, strict=True):
        c = np.asarray(c._data if isinstance(c, Tensor) else c, dtype=np.float64)
        if c.shape != a.shape and c.shape == tuple(out.shape) == np.shape(values[name]):
            a, fd = _diagonal(a, c.shape), _diagonal(fd, c.shape)  # an elementwise derivative
        c = _claimed_array(c, a.shape, name)
        with np.errstate(invalid="ignore", over="ignore"):
            bad = ~(np.abs(c - a) <= atol + rtol * np.abs(a))
            error = np.abs(c - a)
        result.entries += a.size
        result.max_error = max(result.max_error, float(np.max(error, initial=0)))
        result.fd_error = max(result.fd_error, float(np.max(np.abs(fd - a), initial=0)))
        for index in np.ndindex(bad.shape):
            if bad[index]:
                result.mismatches.append(
                    Mismatch(name, index, float(c[index]), float(a[index]), float(fd[index]))
                )
        if bad.any() and result.hint is None:
            result.hint = guess_mistake(c, a, bad, {**values, **extra})
    result.ok = not result.mismatches
    return result, tuple(out.shape)


def _autodiff(out: Tensor, leaves: list[Tensor]) -> list[np.ndarray]:
    """d out / d leaf for each leaf, shape out.shape + leaf.shape (one backward per entry)."""
    rows: list[list[np.ndarray]] = [[] for _ in leaves]
    flat = out.reshape(-1)
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
    fn: Callable, point: _Inputs, values: dict, name: str, extra: dict, eps: float = 1e-6
) -> np.ndarray:
    """Central differences of fn in input `name`, shape out.shape + input.shape."""
    base = np.array(values[name], dtype=np.float64)
    flat = base.reshape(-1)
    columns = []
    with no_grad():
        for k in range(flat.size):
            h = eps * max(1.0, abs(flat[k]))
            sides = []
            for step in (h, -h):
                moved = flat.copy()
                moved[k] += step
                out = point.call(fn, {**values, name: moved.reshape(base.shape)}, [name], extra)
                sides.append(np.asarray(out._data, dtype=np.float64))
            columns.append((sides[0] - sides[1]) / (2 * h))
    out_shape = columns[0].shape if columns else ()
    stacked = np.stack(columns, axis=-1) if columns else np.zeros((0,))
    return stacked.reshape(tuple(out_shape) + base.shape)


def _diagonal(j: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The Jacobian of an elementwise function as its diagonal, shaped like the input (a
    Jacobian with non-zero off-diagonal entries is kept, so the shapes then disagree)."""
    n = int(np.prod(shape))
    square = j.reshape(n, n)
    if np.count_nonzero(square - np.diag(np.diag(square))):
        return j
    return np.diag(square).reshape(shape)


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
