"""Reductions: sum, max/min (ties share the gradient), logsumexp.

`dims` is always a normalised tuple of non-negative axes (or None for all), made by `normalize_dims`
at the call, so the error for a bad dim names the op where the user made the mistake.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import is_symbolic, namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive


def normalize_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """dim (None, int or sequence, possibly negative) -> sorted tuple of axes, or None for all."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) or hasattr(dim, "__index__") else tuple(dim)
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
            raise RuntimeError(f"{op}: dim {d} appears more than once in {dim!r}")
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
    """y = sum of x over dims;  dy/dx = 1 (g is broadcast back over the summed dims)"""

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
        y = y.reshape(kept)
        mask = x == y
        count = dual.sum(mask, _axes(x, ctx.dims), keepdims=True)
        return dual.expand(g.reshape(kept), x.shape) * mask / count, None, None


class Amax(_Extreme):
    """y = max of x over dims;  dy/dx = 1/k at the k maximal elements, 0 elsewhere"""

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any, keepdim: bool) -> Any:
        if _reduces_empty(x, dims):
            raise RuntimeError("amax: cannot take the max of an empty tensor")
        y = x.max(axis=_axes(x, dims), keepdims=keepdim)
        ctx.dims = dims
        ctx.save_for_backward(x, y)
        return y


class Amin(_Extreme):
    """y = min of x over dims;  dy/dx = 1/k at the k minimal elements, 0 elsewhere"""

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any, keepdim: bool) -> Any:
        if _reduces_empty(x, dims):
            raise RuntimeError("amin: cannot take the min of an empty tensor")
        y = x.min(axis=_axes(x, dims), keepdims=keepdim)
        ctx.dims = dims
        ctx.save_for_backward(x, y)
        return y


class LogSumExp(Primitive):
    """y = log(sum(exp(x))) over dims, computed as m + log(sum(exp(x - m))) with m = max(x);
    dy/dx = exp(x - y) = softmax(x)"""

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any, keepdim: bool) -> Any:
        xp = namespace(x)
        axes = _axes(x, dims)
        if is_symbolic(xp):  # symbols have no max, and exp of a symbol cannot overflow
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
