"""Matrix products: matmul (batched, broadcasting, 1-D promotion) and the fused linear layer."""

from __future__ import annotations

from typing import Any

from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.rules import G, Rule


def matmul_message(a: Any, b: Any) -> str | None:
    """Why a @ b is undefined, naming both shapes (None if it is defined)."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    if len(sa) == 0 or len(sb) == 0:
        return f"matmul: both arguments need at least 1 dimension, got shapes {sa} and {sb}"
    k_a = sa[-1]
    k_b = sb[0] if len(sb) == 1 else sb[-2]
    if k_a != k_b:
        return f"matmul: shapes {sa} and {sb} do not align: {k_a} != {k_b}"
    batch_a, batch_b = sa[:-2], sb[:-2]
    for x, y in zip(reversed(batch_a), reversed(batch_b), strict=False):
        if x != y and 1 not in (x, y):
            return (
                f"matmul: batch dimensions of shapes {sa} and {sb} cannot be broadcast: "
                f"{batch_a} vs {batch_b}"
            )
    return None


class Matmul(Primitive):
    """A 1-D operand is a row or column vector."""

    rule = Rule(
        "matrix product rule: multiply the gradient by the other factor, transposed",
        "y = a @ b",
        "y = a\\,b",
        a=("dL/da = g b^T", G % "a" + " = g\\,b^{\\top}"),
        b=("dL/db = a^T g", G % "b" + " = a^{\\top} g"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        # dL/da needs only b and dL/db only a: keep just those (a frozen layer's input is not
        # held, and changing it in place later does not fail backward), as PyTorch does.
        need_a, need_b = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        ctx.ndims = (a.ndim, b.ndim)
        return a @ b

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a_vec, b_vec = ctx.ndims[0] == 1, ctx.ndims[1] == 1
        # (n,) is the row (1, n) on the left and the column (n, 1) on the right
        a2 = a[None, :] if a_vec and a is not None else a
        b2 = b[:, None] if b_vec and b is not None else b
        if a_vec and b_vec:
            g2 = g.reshape((1, 1))
        elif a_vec:
            g2 = g[..., None, :]
        elif b_vec:
            g2 = g[..., None]
        else:
            g2 = g
        ga = gb = None
        if need_a:
            ga = g2 @ b2.mT
            if a_vec:
                ga = ga[..., 0, :]
        if need_b:
            gb = a2.mT @ g2
            if b_vec:
                gb = gb[..., 0]
        return ga, gb

    @staticmethod
    def check(a: Any, b: Any) -> str | None:
        return matmul_message(a, b)


class Linear(Primitive):
    """Shapes: x (..., in), W (out, in), b (out,); dL/dW and dL/db sum over the batch."""

    rule = Rule(
        "seed 001 §1.1: the linear layer's gradients",
        "y = x W^T + b",
        "y = x W^{\\top} + b",
        x=("dL/dx = g W", G % "x" + " = g\\,W"),
        weight=("dL/dW = g^T x", G % "W" + " = g^{\\top} x"),
        bias=("dL/db = Σ_n g", G % "b" + " = \\sum_n g_n"),
        symbols={"W": "weight", "b": "bias"},
        # one sample, as the course writes it: column vectors, y = W x + b
        vector={
            "x": ("dL/dx = W^T g", G % "x" + " = W^{\\top} g"),
            "weight": ("dL/dW = g x^T", G % "W" + " = g\\,x^{\\top}"),
            "bias": ("dL/db = g", G % "b" + " = g"),
        },
        vector_forward=("y = W x + b", "y = W x + b"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, weight: Any, bias: Any) -> Any:
        need_x, need_w, _ = ctx.needs_input_grad or (False, False, False)
        ctx.save_for_backward(x if need_w else None, weight if need_x else None)
        y = x @ weight.mT
        if bias is not None:
            y += bias  # y is our own fresh array: adding in place saves an allocation
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        gx = g @ weight if need_x else None
        gw = gb = None
        if need_w:
            g2 = g.reshape((-1, g.shape[-1]))
            gw = g2.mT @ x.reshape((-1, x.shape[-1]))
        if need_b:
            gb = dual.sum(g, tuple(range(g.ndim - 1)) or None) if g.ndim > 1 else g
        return gx, gw, gb

    @staticmethod
    def check(x: Any, weight: Any, bias: Any) -> str | None:
        sx, sw = tuple(x.shape), tuple(weight.shape)
        if len(sw) != 2:
            return f"linear: weight must be 2-D (out_features, in_features), got shape {sw}"
        if len(sx) == 0 or sx[-1] != sw[1]:
            return (
                f"linear: input of shape {sx} does not match weight of shape {sw}: "
                f"input's last dimension must be {sw[1]} (in_features)"
            )
        if bias is not None and tuple(bias.shape) != (sw[0],):
            return f"linear: bias of shape {tuple(bias.shape)} must have shape ({sw[0]},)"
        return None
