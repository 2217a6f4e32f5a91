"""Reductions: sum, max/min (ties share the gradient), logsumexp.

`dims` is always a normalised tuple of non-negative axes (or None for all), made by `normalize_dims`
at the call, so the error for a bad dim names the op where the user made the mistake.
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.backend import is_symbolic, namespace
from chainrule.errors import ShapeError
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.elementwise import data_of
from chainrule.primitives.rules import Rule


def normalize_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """dim (None, int or sequence, possibly negative) -> sorted tuple of axes, or None for all."""
    if dim is None:
        return None
    # anything but a sequence is one dim, so that dim=1.5 is refused below by name
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    out = []
    low, high = (-ndim, ndim - 1) if ndim > 0 else (-1, 0)
    for d in dims:
        if isinstance(d, bool) or not hasattr(d, "__index__"):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
        d = int(d)
        if d < low or d > high:
            raise IndexError(
                f"{op}: dim {d} is out of range for a tensor of {ndim} dimension(s) "
                f"(expected to be in range of [{low}, {high}])"
            )
        axis = d % ndim if ndim > 0 else 0
        if axis in out:
            raise ShapeError(f"{op}: dim {d} appears more than once in {dim!r}")
        out.append(axis)
    return tuple(sorted(out))


def kept_shape(shape: tuple[int, ...], dims: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape of a reduction over `dims` with keepdim=True."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _axes(x: Any, dims: tuple[int, ...] | None) -> tuple[int, ...] | None:
    # A 0-d array has no axis 0; reducing it over "dim 0" is the identity, as in PyTorch.
    return None if dims is None or x.ndim == 0 else dims


class Sum(Primitive):
    """g is broadcast back over the summed dims."""

    rule = Rule(
        "a sum sends the gradient back to every summed entry",
        "y = Σ_i x_i over dims",
        r"y = \sum_i x_i",
        x=("d(Σ_i x_i)/dx_j = 1", r"\frac{\partial y}{\partial x_j} = 1"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any, keepdim: bool) -> Any:
        ctx.shape = x.shape
        ctx.dims = dims
        return x.sum(axis=_axes(x, dims), keepdims=keepdim)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        g = g.reshape(kept_shape(ctx.shape, ctx.dims))
        return dual.expand(g, ctx.shape), None, None


def _reduces_empty(x: Any, dims: tuple[int, ...] | None) -> bool:
    """True when a reduction over dims meets a dim of size 0 (max/min have no value there; an
    empty tensor reduced over its other dims is fine, as in PyTorch: (0, 3) -> amax(1) -> (0,))."""
    axes = range(x.ndim) if dims is None else dims
    return x.ndim > 0 and any(x.shape[d] == 0 for d in axes)


class _Extreme(Primitive):
    """Shared backward of amax/amin: dy/dx = 1/k on the k elements equal to the extreme."""

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        kept = kept_shape(x.shape, ctx.dims)
        xd, yd = data_of(x), data_of(y).reshape(kept)  # which entries tie is a constant
        xp = namespace(xd)
        # a nan is the extreme of its row (as torch.max() counts it), so every row has k >= 1
        mask = (xd == yd) | (xp.isnan(xd) & xp.isnan(yd))
        count = mask.sum(axis=_axes(xd, ctx.dims), keepdims=True)
        # the others' 0 is selected, not computed as g * 0 (nan where g is inf)
        shared = dual.expand(g.reshape(kept), x.shape) / count
        return dual.where(mask, shared, 0.0), None, None


class Amax(_Extreme):
    rule = Rule(
        "only the maximal entries get the gradient",
        "y = max_i x_i over dims",
        r"y = \max_i x_i",
        x=(
            "d max(x)/dx_i = 1/k at the k maximal entries, else 0",
            r"\frac{\partial y}{\partial x_i} = \frac{1}{k}\mathbf{1}[x_i = y]",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any, keepdim: bool) -> Any:
        if _reduces_empty(x, dims):
            raise RuntimeError("amax: cannot take the max of an empty tensor")
        y = x.max(axis=_axes(x, dims), keepdims=keepdim)
        ctx.dims = dims
        ctx.save_for_backward(x, y)
        return y


class Amin(_Extreme):
    rule = Rule(
        "only the minimal entries get the gradient",
        "y = min_i x_i over dims",
        r"y = \min_i x_i",
        x=(
            "d min(x)/dx_i = 1/k at the k minimal entries, else 0",
            r"\frac{\partial y}{\partial x_i} = \frac{1}{k}\mathbf{1}[x_i = y]",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any, keepdim: bool) -> Any:
        if _reduces_empty(x, dims):
            raise RuntimeError("amin: cannot take the min of an empty tensor")
        y = x.min(axis=_axes(x, dims), keepdims=keepdim)
        ctx.dims = dims
        ctx.save_for_backward(x, y)
        return y


class LogSumExp(Primitive):
    """Computed as m + ln Σ_i exp(x_i - m) with m = max(x), so exp never overflows."""

    rule = Rule(
        "the slope of log-sum-exp is the softmax",
        "y = ln Σ_i exp(x_i)",
        r"y = \ln \sum_i e^{x_i}",
        x=(
            "d logsumexp(x)/dx_i = exp(x_i - y) = softmax(x)_i",
            r"\frac{\partial y}{\partial x_i} = e^{x_i - y} = \mathrm{softmax}(x)_i",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any, keepdim: bool) -> Any:
        xp = namespace(x)
        axes = _axes(x, dims)
        if is_symbolic(xp) or _reduces_empty(x, dims):
            # symbols have no max, and exp of a symbol cannot overflow; an empty sum has no max,
            # and its log is -inf, as PyTorch
            m = 0
        else:
            m = x.max(axis=axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)  # rows of all -inf (or inf): keep exp(x - m) finite
        with dual._quiet(xp):
            y = xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True)) + m
        if not keepdim:
            y = y.reshape(reduced_shape(x.shape, dims))
        ctx.dims = dims
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        kept = kept_shape(x.shape, ctx.dims)
        softmax = dual.exp(x - y.reshape(kept))
        return dual.expand(g.reshape(kept), x.shape) * softmax, None, None


def reduced_shape(shape: tuple[int, ...], dims: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape of a reduction over `dims` with keepdim=False."""
    if dims is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in dims)


def _count(x: Any, dims: tuple[int, ...] | None) -> int:
    """How many elements each reduction over dims combines."""
    if dims is None or x.ndim == 0:
        return int(x.size)
    count = 1
    for d in dims:
        count *= x.shape[d]
    return count


class _Spread(Primitive):
    """Shared by var and std: dvar/dx = 2 (x - mean) / max(N - correction, 0), as PyTorch."""

    @staticmethod
    def variance(ctx: Any, x: Any, dims: Any, correction: Any, keepdim: bool) -> Any:
        xp = namespace(x)
        axes = _axes(x, dims)
        n = _count(x, dims)
        ctx.dims, ctx.n = dims, n
        ctx.dof = max(n - correction, 0)  # PyTorch's degrees of freedom, never < 0
        # an empty reduction or dof = 0 gives 0/0 = nan (or s/0 = inf): PyTorch's answers
        with dual._quiet(xp):
            centered = x - x.sum(axis=axes, keepdims=True) / n
            return (centered * centered).sum(axis=axes, keepdims=keepdim) / ctx.dof

    @staticmethod
    def spread_backward(ctx: Any, x: Any, gv: Any) -> Any:
        """dL/dx from dL/dvar = gv (in var's reduced shape)."""
        kept = kept_shape(x.shape, ctx.dims)
        axes = _axes(data_of(x), ctx.dims)
        scale = 2.0 / ctx.dof if ctx.dof else float("inf")  # inf * 0 = nan, as PyTorch
        centered = x - dual.sum(x, axes, keepdims=True) / ctx.n
        return dual.expand(gv.reshape(kept), x.shape) * scale * centered


class Var(_Spread):
    """N - c is max(N - correction, 0), as PyTorch."""

    rule = Rule(
        "the variance's slope is twice the deviation from the mean, over N - c",
        "y = Σ_i (x_i - mean)^2 / (N - c)",
        r"y = \frac{1}{N - c}\sum_i (x_i - \bar{x})^2",
        x=(
            "dy/dx_i = 2 (x_i - mean) / (N - c)",
            r"\frac{\partial y}{\partial x_i} = \frac{2 (x_i - \bar{x})}{N - c}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any, correction: Any, keepdim: bool) -> Any:
        ctx.save_for_backward(x)
        return _Spread.variance(ctx, x, dims, correction, keepdim)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return _Spread.spread_backward(ctx, x, g), None, None, None


class Std(_Spread):
    """At zero spread the chain rule through sqrt is inf * 0; the true limit of dy/dx there is
    undefined (a kink), and PyTorch's convention is 0 so that a dead unit in front of a std does
    not poison every gradient below it with nan. 1/(2y) is taken of a safe y (1 where y = 0) so
    that the masked branch has no inf for a second derivative to turn into nan."""

    rule = Rule(
        "the standard deviation's slope is the variance's over 2 std (0 at zero spread)",
        "y = sqrt(var(x))",
        r"y = \sqrt{\mathrm{var}(x)}",
        x=(
            "dy/dx_i = (x_i - mean) / ((N - c) y), 0 where y = 0",
            r"\frac{\partial y}{\partial x_i} = \frac{x_i - \bar{x}}{(N - c)\,y}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any, correction: Any, keepdim: bool) -> Any:
        xp = namespace(x)
        variance = _Spread.variance(ctx, x, dims, correction, keepdim)
        y = xp.sqrt(variance)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        zero = data_of(y) == 0
        gv = dual.where(zero, 0.0, g / (dual.where(zero, 1.0, y) * 2))
        return _Spread.spread_backward(ctx, x, gv), None, None, None


class Norm(Primitive):
    """p = inf gives max |x|, -inf min |x|, 0 the count of x != 0; the slope at y = 0 is 0,
    as PyTorch's norm_backward."""

    rule = Rule(
        "a norm's slope is the unit vector along x (0 at the zero vector)",
        "y = (Σ_i |x_i|^p)^(1/p)",
        r"y = \lVert x \rVert_p",
        x=(
            "dy/dx_i = sign(x_i) |x_i|^(p-1) / y^(p-1), 0 where y = 0",
            r"\frac{\partial y}{\partial x_i} = "
            r"\frac{\mathrm{sign}(x_i)\,|x_i|^{p-1}}{y^{p-1}}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, p: float, dims: Any, keepdim: bool) -> Any:
        xp = namespace(x)
        axes = _axes(x, dims)
        if p == 2:  # the common case without abs or fractional powers
            y = xp.sqrt((x * x).sum(axis=axes, keepdims=keepdim))
        elif p == 1:
            y = xp.abs(x).sum(axis=axes, keepdims=keepdim)
        elif p == 0:  # the number of nonzero entries (PyTorch's 0-"norm"), flat in x
            y = (x != 0).sum(axis=axes, keepdims=keepdim).astype(x.dtype)
        elif math.isinf(p):
            if _reduces_empty(x, dims):
                raise RuntimeError(f"norm: the {p}-norm of an empty tensor is undefined")
            magnitude = xp.abs(x)
            y = (
                magnitude.max(axis=axes, keepdims=keepdim)
                if p > 0
                else magnitude.min(axis=axes, keepdims=keepdim)
            )
        else:
            with dual._quiet(xp):  # 0^(negative p) = inf
                y = (xp.abs(x) ** p).sum(axis=axes, keepdims=keepdim) ** (1.0 / p)
        ctx.p, ctx.dims = p, dims
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        p = ctx.p
        kept = kept_shape(x.shape, ctx.dims)
        y = y.reshape(kept)
        g = dual.expand(g.reshape(kept), x.shape)
        xd, yd = data_of(x), data_of(y)
        xp = namespace(xd)
        if p == 0:
            return namespace(data_of(g)).zeros_like(data_of(g)), None, None, None
        if p == 1:  # |x|' = sign(x): 0 at x = 0, selected (Abs's rule)
            return dual.where(xd == 0, 0.0, g) * dual.sign(x), None, None, None
        if math.isinf(p):  # the entries at the max (min) share g; nan counts as the max
            mask = (xp.abs(xd) == yd) | xp.isnan(xd)
            count = mask.sum(axis=_axes(xd, ctx.dims), keepdims=True)
            return dual.where(mask, g / count, 0.0) * dual.sign(x), None, None, None
        # Where y = 0 every x is 0: the ratio below is 0/0 with limit 0 along rays (the
        # gradient of a norm at 0 is any vector in the dual unit ball; 0 is PyTorch's pick).
        # The 0 is selected, and y made safe in the unselected branch, so no inf or nan
        # reaches a second derivative.
        zero = yd == 0
        safe_y = dual.where(zero, 1.0, y)
        if p == 2:
            return x * dual.where(zero, 0.0, g / safe_y), None, None, None
        # sign(x) |x|^(p-1) is 0 at x = 0 for p > 1; for p < 1 it is 0 * inf there, and
        # PyTorch takes 0 (x = 0 does not move the sum once another entry is nonzero)
        at_zero = xd == 0
        safe_abs = dual.where(at_zero, 1.0, abs(x))
        slope = dual.where(at_zero, 0.0, dual.sign(x) * safe_abs ** (p - 1))
        return slope * dual.where(zero, 0.0, g / safe_y ** (p - 1)), None, None, None
