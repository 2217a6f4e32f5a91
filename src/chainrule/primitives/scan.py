"""Scans and products along one dim: cumsum, cumprod, logcumsumexp, prod.

Each takes one normalised, non-negative `axis` of an input with at least one dim (the front door,
`ops.reduce`, turns a 0-d tensor into a one-element vector). Products have their own gradients
at zeros, as PyTorch: the quotient y / x that holds elsewhere is 0 / 0 there.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive, primitive
from chainrule.primitives.elementwise import data_of
from chainrule.primitives.rules import G, Rule


def _flip(a: Any, axis: int) -> Any:
    """a reversed along axis, by indexing (a view for arrays, recorded for Tensors)."""
    return a[(slice(None),) * axis + (slice(None, None, -1),)]


def _take(a: Any, axis: int, start: int, stop: int | None = None) -> Any:
    """a[start:stop] along axis (arrays and Tensors alike)."""
    return a[(slice(None),) * axis + (slice(start, stop),)]


def reverse_cumsum(a: Any, axis: int) -> Any:
    """out_i = Σ_{k >= i} a_k along axis: the adjoint of cumsum."""
    if dual._is_tensor(a):
        return _flip(Cumsum.apply(_flip(a, axis), axis), axis)
    xp = namespace(a)
    return xp.flip(xp.cumsum(xp.flip(a, axis), axis=axis), axis)


def _cumprod(a: Any, axis: int) -> Any:
    return Cumprod.apply(a, axis) if dual._is_tensor(a) else namespace(a).cumprod(a, axis=axis)


def _exclusive(a: Any, axis: int, reverse: bool) -> Any:
    """prod_{j < i} a_j along axis (prod_{j > i} a_j when reverse): the product of what comes
    before (after) each entry, 1 for the first (last), without dividing by the entry itself."""
    n = a.shape[axis]
    xp = namespace(data_of(a))
    if reverse:
        a = _flip(a, axis)
    shifted = a[(slice(None),) * axis + (xp.maximum(xp.arange(n) - 1, 0),)]  # a_{i-1}, a_0 at 0
    first = (xp.arange(n) == 0).reshape((n,) + (1,) * (a.ndim - axis - 1))
    out = _cumprod(dual.where(first, 1.0, shifted), axis)
    return _flip(out, axis) if reverse else out


class Cumsum(Primitive):
    """Its adjoint is the cumulative sum from the other end."""

    rule = Rule(
        "each partial sum sends its gradient to every entry it added",
        "y_k = Σ_{i<=k} x_i",
        r"y_k = \sum_{i \le k} x_i",
        x=("dL/dx_i = Σ_{k>=i} g_k", G % "x_i" + r" = \sum_{k \ge i} g_k"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, axis: int) -> Any:
        ctx.axis = axis
        return namespace(x).cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return reverse_cumsum(g, ctx.axis), None


class Cumprod(Primitive):
    """Where x has no zero, dL/dx_i = Σ_{k>=i} g_k y_k / x_i. At zeros that quotient is 0/0;
    the sum is then split at the first zero z of each slice, as PyTorch's cumprod_backward: the
    entries before z keep the quotient over the prefix that ends before z, the entry at z gets
    prod(x_{<z}) (g_z + Σ_{z<k<z'} g_k prod_{z<j<=k} x_j) up to the next zero z', and the entries
    after z get 0. That split is exact for one derivative only (which branch applies moves with
    x), so under create_graph the products that omit x_i are formed one entry at a time."""

    rule = Rule(
        "each partial product sends its gradient to its factors, times the other factors",
        "y_k = prod_{i<=k} x_i",
        r"y_k = \prod_{i \le k} x_i",
        x=(
            "dL/dx_i = Σ_{k>=i} g_k prod_{j<=k, j!=i} x_j",
            G % "x_i" + r" = \sum_{k \ge i} g_k \prod_{j \le k,\, j \ne i} x_j",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, axis: int) -> Any:
        ctx.axis = axis
        y = namespace(x).cumprod(x, axis=axis)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        axis = ctx.axis
        xd = data_of(x)
        zero = xd == 0
        if not zero.any():
            return reverse_cumsum(g * y, axis) / x, None
        if dual._is_tensor(g):
            return _cumprod_grad_recorded(g, x, axis), None
        xp = namespace(xd)
        seen = xp.cumsum(zero, axis=axis)  # how many zeros up to and including each entry
        before = seen == 0
        first = zero & (seen == 1)
        between = (seen == 1) & ~first  # after the first zero, before the second
        grad = xp.where(before, reverse_cumsum(xp.where(before, g * y, 0), axis), 0)
        grad = grad / xp.where(before, xd, 1)
        prefix = xp.where(before, xd, 1).prod(axis=axis, keepdims=True)  # prod(x_{<z})
        tail = xp.cumprod(xp.where(between, xd, 1), axis=axis) * xp.where(seen == 1, g, 0)
        return xp.where(first, prefix * tail.sum(axis=axis, keepdims=True), grad), None


def _cumprod_grad_recorded(g: Any, x: Any, axis: int) -> Any:
    """dL/dx_i = prod(x_{<i}) (g_i + Σ_{k>i} g_k prod_{i<j<=k} x_j), one i at a time from
    differentiable pieces, so that it is right at zeros to any order (PyTorch's create_graph
    path; O(n^2) work along the dim)."""
    n = x.shape[axis]
    pieces = []
    for i in range(n):
        inner = _take(g, axis, i, i + 1)
        if i + 1 < n:
            later = _take(g, axis, i + 1) * Cumprod.apply(_take(x, axis, i + 1), axis)
            inner = inner + dual.sum(later, (axis,), keepdims=True)
        if i > 0:
            inner = inner * Prod.apply(_take(x, axis, 0, i), axis, True)
        pieces.append(inner)
    return primitive("Cat").apply(axis, *pieces)


class LogCumSumExp(Primitive):
    """Forward by NumPy's logaddexp.accumulate (pairwise log-add-exp, never overflows).
    Backward is Σ_{k>=i} g_k exp(x_i - y_k), taken in log space for the positive and the
    negative parts of g apart (PyTorch's and TensorFlow's formula), so no exp overflows."""

    rule = Rule(
        "each running log-sum-exp sends its gradient back weighted by the running softmax",
        "y_k = ln Σ_{i<=k} exp(x_i)",
        r"y_k = \ln \sum_{i \le k} e^{x_i}",
        x=(
            "dL/dx_i = Σ_{k>=i} g_k exp(x_i - y_k)",
            G % "x_i" + r" = \sum_{k \ge i} g_k\, e^{x_i - y_k}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, axis: int) -> Any:
        xp = namespace(x)
        ctx.axis = axis
        with dual._quiet(xp):  # -inf - -inf inside logaddexp: an all -inf prefix is -inf
            y = xp.logaddexp.accumulate(x, axis=axis)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        axis = ctx.axis
        gd = data_of(g)
        xp = namespace(gd)
        lowest = float(xp.finfo(gd.dtype).min)  # stands for log 0 without making inf - inf
        nonzero = gd != 0
        log_abs = dual.log(dual.where(nonzero, abs(g), 1.0))  # no log 0 in either branch
        out = 0.0
        for sign, part in ((1.0, gd > 0), (-1.0, gd < 0)):
            log_part = dual.where(part, log_abs, lowest)
            with dual._quiet(xp):  # -inf - -inf where a prefix is all -inf: nan, as PyTorch
                out = out + sign * dual.exp(_reverse_logcumsumexp(log_part - y, axis) + x)
        return out, None


def _reverse_logcumsumexp(a: Any, axis: int) -> Any:
    if dual._is_tensor(a):
        return _flip(LogCumSumExp.apply(_flip(a, axis), axis), axis)
    xp = namespace(a)
    return xp.flip(xp.logaddexp.accumulate(xp.flip(a, axis), axis=axis), axis)


class Prod(Primitive):
    """Where x has no zero the slope is y / x_i; otherwise it is the product of the entries
    before x_i times the product of those after it (exclusive cumulative products, exact at
    one zero, several zeros, and to any order), as PyTorch's prod_backward."""

    rule = Rule(
        "a product's slope in one factor is the product of the other factors",
        "y = prod_i x_i along dim",
        r"y = \prod_i x_i",
        x=(
            "dy/dx_i = prod_{j!=i} x_j",
            r"\frac{\partial y}{\partial x_i} = \prod_{j \ne i} x_j",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, axis: int, keepdim: bool) -> Any:
        y = x.prod(axis=axis, keepdims=keepdim)
        ctx.axis = axis
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        axis = ctx.axis
        kept = (*x.shape[:axis], 1, *x.shape[axis + 1 :])
        g = dual.expand(g.reshape(kept), x.shape)
        if not (data_of(x) == 0).any():
            return g * dual.expand(y.reshape(kept), x.shape) / x, None, None
        others = _exclusive(x, axis, reverse=False) * _exclusive(x, axis, reverse=True)
        return g * others, None, None
