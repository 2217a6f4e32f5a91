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
from chainrule.primitives.rules import Rule


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
    """Along `dim`; β is the temperature `beta`."""

    rule = Rule(
        "seed 001 §1.2: softmax with temperature β",
        "p_j = exp(β x_j) / Σ_i exp(β x_i)",
        r"p_j = \frac{e^{\beta x_j}}{\sum_i e^{\beta x_i}}",
        # the output is y = p; backward computes this product, never the Jacobian
        vjp={"x": "dL/dx_i = β y_i (g_i - Σ_j g_j y_j)"},
        x=(
            "dp_j/dx_i = β p_i (δ_ij - p_j)",
            r"\frac{\partial p_j}{\partial x_i} = \beta\,p_i\,(\delta_{ij} - p_j)",
        ),
        symbols={"p": "out"},
        # one vector: the Jacobian as a matrix (rows p_j, columns x_i; symmetric)
        vector={
            "x": (
                "dp/dx = β (diag(p) - p p^T)",
                r"\frac{\partial p}{\partial x} = \beta\,(\mathrm{diag}(p) - p\,p^{\top})",
            )
        },
    )

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
    """Along `dim`; β is the temperature `beta`."""

    rule = Rule(
        "log-softmax with temperature β",
        "y_j = β x_j - ln Σ_i exp(β x_i)",
        r"y_j = \beta x_j - \ln \sum_i e^{\beta x_i}",
        vjp={"x": "dL/dx = β (g - softmax(β x) Σ_j g_j)"},
        x=(
            "dy_j/dx_i = β (δ_ij - p_i), p = softmax(β x)",
            r"\frac{\partial y_j}{\partial x_i} = \beta\,(\delta_{ij} - p_i)",
        ),
    )

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
