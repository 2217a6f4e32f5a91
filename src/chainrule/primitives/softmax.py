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
    m = z.max(axis=dim, keepdims=True)
    return z - xp.where(xp.isfinite(m), m, 0)


class Softmax(Primitive):
    """y = softmax(beta x) along dim;  dy_j/dx_i = beta y_i (delta_ij - y_j)"""

    @staticmethod
    def forward(ctx: Any, x: Any, dim: int, beta: Any) -> Any:
        e = namespace(x).exp(_shifted(x, dim, beta))
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
        z = _shifted(x, dim, beta)
        with dual._quiet(xp):
            y = z - xp.log(xp.exp(z).sum(axis=dim, keepdims=True))
        ctx.dim, ctx.beta = dim, beta
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        gx = g - dual.exp(y) * dual.sum(g, (ctx.dim,), keepdims=True)
        return (gx * ctx.beta if ctx.beta != 1 else gx), None, None
