"""Elementwise unary primitives: forward and backward side by side.

Conventions in every rule: `g` is the incoming gradient dL/dy, `y` the output, inputs are named as
in forward. Backward formulas use operators and `dual` so they run on arrays (first order) and on
Tensors (create_graph=True, giving higher derivatives).
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import is_symbolic, namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive


def data_of(a: Any) -> Any:
    """The array behind `a` (a Tensor under create_graph, else already an array): masks and
    conditions are constants, so rules compute them on the data."""
    return a._data if hasattr(a, "_data") else a


class Neg(Primitive):
    """y = -x;  dy/dx = -1"""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return -x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return -g


class Exp(Primitive):
    """y = exp(x);  dy/dx = exp(x) = y"""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        y = namespace(x).exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        return g * y


class Log(Primitive):
    """y = ln(x);  dy/dx = 1/x"""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        xp = namespace(x)
        with dual._quiet(xp):  # ln(0) = -inf and ln(-1) = nan are the answers, not accidents
            return xp.log(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g / x


class Sqrt(Primitive):
    """y = sqrt(x);  dy/dx = 1 / (2 sqrt(x)) = 0.5 / y"""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        xp = namespace(x)
        with dual._quiet(xp):
            y = xp.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        return g * 0.5 / y


class Sin(Primitive):
    """y = sin(x);  dy/dx = cos(x)"""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return namespace(x).sin(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * dual.cos(x)


class Cos(Primitive):
    """y = cos(x);  dy/dx = -sin(x)"""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return namespace(x).cos(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return -(g * dual.sin(x))


class Tanh(Primitive):
    """y = tanh(x);  dy/dx = 1 - tanh(x)^2 = 1 - y^2"""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        y = namespace(x).tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


class Sigmoid(Primitive):
    """y = 1 / (1 + exp(-x));  dy/dx = y (1 - y)

    Stable for any |x|: with e = exp(-|x|) <= 1, y = 1/(1+e) for x >= 0 and e/(1+e) otherwise,
    so exp never overflows.
    """

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        xp = namespace(x)
        if is_symbolic(xp):  # a symbol has no sign to branch on, and cannot overflow
            y = xp.sigmoid(x)
        else:
            e = xp.exp(-xp.abs(x))
            y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        return g * (y * (1 - y))


class Relu(Primitive):
    """y = max(x, 0);  dy/dx = 1 if x > 0 else 0 (0 at x = 0, as PyTorch)"""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        y = namespace(x).maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        xp = namespace(y)
        if is_symbolic(xp):  # y > 0 is a relation, not a 0/1 value, for a symbol: use a step
            return g * xp.step(y)
        # Select, do not multiply by a 0/1 mask: inf * 0 would be nan where relu cut the input
        # off (relu(x).sqrt() at x = 0). `y <= 0` rather than `y > 0`: nan passes g, as PyTorch.
        return dual.where(y <= 0, 0.0, g)


class Abs(Primitive):
    """y = |x|;  dy/dx = sign(x) (0 at x = 0)"""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return namespace(x).abs(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        # At x = 0 the gradient is the selected 0, not g * sign(0) (nan for g = inf), as relu's
        # kink; elsewhere sign(x) is +-1 (nan for nan) and multiplying is exact.
        return dual.where(x == 0, 0.0, g) * dual.sign(x)


class Clamp(Primitive):
    """y = min(max(x, lo), hi);  dy/dx = 1 where lo <= x <= hi, else 0;
    dy/dlo = 1 where x < lo, dy/dhi = 1 where x > hi (for tensor bounds, as PyTorch)"""

    @staticmethod
    def forward(ctx: Any, x: Any, lo: Any, hi: Any) -> Any:
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return namespace(x).clip(x, lo, hi)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        _, need_lo, need_hi = ctx.needs_input_grad
        gx = g
        if lo is not None:
            gx = dual.where(x >= lo, gx, 0.0)
        if hi is not None:
            gx = dual.where(x <= hi, gx, 0.0)
        g_lo = dual.where(x < lo, g, 0.0) if need_lo else None  # a bound that clipped x owns g
        g_hi = dual.where(x > hi, g, 0.0) if need_hi else None
        return gx, g_lo, g_hi


class Cast(Primitive):
    """y = x converted to `dtype`;  dy/dx = 1 (the gradient goes back in x's dtype)"""

    @staticmethod
    def forward(ctx: Any, x: Any, dtype: Any) -> Any:
        ctx.source_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return dual.cast(g, ctx.source_dtype), None
