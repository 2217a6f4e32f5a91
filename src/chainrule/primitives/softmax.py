"""Softmax and log-softmax with temperature beta (fused for speed and stability).

Seed 001 §1.2: y_j = exp(beta x_j) / sum_i exp(beta x_i), with Jacobian
dy_j/dx_i = beta p_i (delta_ij - p_j). Backward applies it without forming the matrix:
(J^T g)_i = beta y_i (g_i - sum_j g_j y_j).
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import is_symbolic, namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive


def _shifted(x: Any, dim: int, beta: Any) -> Any:
    """beta x minus its max along dim: exp of it never overflows, and the softmax is unchanged."""
    z = x * beta if beta != 1 else x
    xp = namespace(x)
    if is_symbolic(xp):  # symbols have no max, and exp of a symbol cannot overflow: no shift
        return z
    if x.shape[dim] == 0:  # nothing to shift (and no max): the result is empty, as PyTorch's
        return z
    m = z.max(axis=dim, keepdims=True)
    # a row of all -inf keeps exp(z - m) at 0 (0/0 = nan, as PyTorch); an inf or nan max is
    # subtracted as is, so the row is nan, as PyTorch's softmax (x - inf = nan at the inf).
    # Callers run this under dual._quiet: those nans are answers.
    return z - xp.where(m == -xp.inf, 0, m)


class Softmax(Primitive):
    """y = softmax(beta x) along dim;  dy_j/dx_i = beta y_i (delta_ij - y_j)"""

    @staticmethod
    def forward(ctx: Any, x: Any, dim: int, beta: Any) -> Any:
        xp = namespace(x)
        with dual._quiet(xp):  # a row of all -inf (or with inf or nan) is nan, as PyTorch's
            e = xp.exp(_shifted(x, dim, beta))
            y = e / e.sum(axis=dim, keepdims=True)
        ctx.dim, ctx.beta = dim, beta
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        gy = g * y
        gx = gy - y * dual.sum(gy, (ctx.dim,), keepdims=True)
        return (gx * ctx.beta if ctx.beta != 1 else gx), None, None


class LogSoftmax(Primitive):
    """y = log softmax(beta x) along dim = beta x - logsumexp(beta x);
    dy_j/dx_i = beta (delta_ij - softmax(beta x)_i)"""

    @staticmethod
    def forward(ctx: Any, x: Any, dim: int, beta: Any) -> Any:
        xp = namespace(x)
        with dual._quiet(xp):
            z = _shifted(x, dim, beta)
            y = z - xp.log(xp.exp(z).sum(axis=dim, keepdims=True))
        ctx.dim, ctx.beta = dim, beta
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        gx = g - dual.exp(y) * dual.sum(g, (ctx.dim,), keepdims=True)
        return (gx * ctx.beta if ctx.beta != 1 else gx), None, None
