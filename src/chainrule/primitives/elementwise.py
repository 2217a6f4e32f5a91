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
from chainrule.primitives.rules import D, ExprFunction, Rule


def data_of(a: Any) -> Any:
    """The array behind `a` (a Tensor under create_graph, else already an array): masks and
    conditions are constants, so rules compute them on the data."""
    return a._data if hasattr(a, "_data") else a


class Neg(Primitive):
    elementwise = True
    rule = Rule(
        "negation flips the gradient's sign",
        "y = -x",
        "y = -x",
        x=("dy/dx = -1", D % "x" + " = -1"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return -x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return -g


class Exp(Primitive):
    elementwise = True
    expr = ExprFunction("exp", sympy="exp")
    rule = Rule(
        "the exponential is its own derivative",
        "y = exp(x)",
        "y = e^{x}",
        x=("d exp(x)/dx = exp(x) = y", r"\frac{d e^{x}}{dx} = e^{x} = y"),
    )

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
    elementwise = True
    expr = ExprFunction("log", sympy="log")
    rule = Rule(
        "the derivative of ln is the reciprocal",
        "y = ln(x)",
        r"y = \ln x",
        x=("d ln(x)/dx = 1/x", r"\frac{d \ln x}{dx} = \frac{1}{x}"),
    )

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


class Log1p(Primitive):
    """Exact for small |x|, where ln(1 + x) would round 1 + x to 1 first."""

    elementwise = True
    expr = ExprFunction("log1p", sympy="log(1 + x)")
    rule = Rule(
        "the slope of ln(1 + x) is the reciprocal of 1 + x",
        "y = ln(1 + x)",
        r"y = \ln(1 + x)",
        x=("d ln(1+x)/dx = 1/(1 + x)", D % "x" + r" = \frac{1}{1 + x}"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        xp = namespace(x)
        with dual._quiet(xp):  # ln(0) = -inf at x = -1 and nan below it are the answers
            return xp.log1p(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g / (1 + x)


class Sqrt(Primitive):
    elementwise = True
    expr = ExprFunction("sqrt", sympy="sqrt")
    rule = Rule(
        "power rule with exponent 1/2",
        "y = sqrt(x)",
        r"y = \sqrt{x}",
        x=("d sqrt(x)/dx = 1/(2 sqrt(x))", r"\frac{d\sqrt{x}}{dx} = \frac{1}{2\sqrt{x}}"),
    )

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
    elementwise = True
    expr = ExprFunction("sin", sympy="sin")
    rule = Rule(
        "sine's derivative is cosine",
        "y = sin(x)",
        r"y = \sin x",
        x=("d sin(x)/dx = cos(x)", r"\frac{d \sin x}{dx} = \cos x"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return namespace(x).sin(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * dual.cos(x)


class Cos(Primitive):
    elementwise = True
    expr = ExprFunction("cos", sympy="cos")
    rule = Rule(
        "cosine's derivative is minus sine",
        "y = cos(x)",
        r"y = \cos x",
        x=("d cos(x)/dx = -sin(x)", r"\frac{d \cos x}{dx} = -\sin x"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return namespace(x).cos(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return -(g * dual.sin(x))


class Tanh(Primitive):
    elementwise = True
    expr = ExprFunction("tanh", sympy="tanh")
    rule = Rule(
        "tanh's slope is one minus its square",
        "y = tanh(x)",
        r"y = \tanh x",
        x=("d tanh(x)/dx = 1 - tanh(x)^2", r"\frac{d \tanh x}{dx} = 1 - \tanh^2 x"),
    )

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
    """Stable for any |x|: with e = exp(-|x|) <= 1, y = 1/(1+e) for x >= 0 and e/(1+e) otherwise,
    so exp never overflows."""

    elementwise = True
    expr = ExprFunction("sigmoid", sympy="sigmoid")
    rule = Rule(
        "the sigmoid's slope is σ(1 - σ)",
        "y = σ(x) = 1/(1 + exp(-x))",
        r"y = \sigma(x) = \frac{1}{1 + e^{-x}}",
        x=("dσ(x)/dx = σ(x)(1 - σ(x))", r"\frac{d\sigma(x)}{dx} = \sigma(x)\,(1 - \sigma(x))"),
    )

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
    """The slope at x = 0 is 0, as PyTorch's."""

    elementwise = True
    expr = ExprFunction("relu", sympy="Max(x, 0)")
    rule = Rule(
        "ReLU passes the gradient where its input is positive",
        "y = max(x, 0)",
        r"y = \max(x, 0)",
        x=(
            "d relu(x)/dx = 1[x > 0]",
            r"\frac{d\,\mathrm{ReLU}(x)}{dx} = \mathbf{1}[x > 0]",
        ),
    )

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
        # The result is a selection: 0 where relu cut the input off, g elsewhere (nan passes g,
        # as PyTorch, hence `y <= 0` rather than `y > 0`).
        cut = y <= 0
        if not isinstance(g, xp.ndarray):  # create_graph: recorded, so it can be differentiated
            return dual.where(cut, 0.0, g)
        # First order, the hot path: multiplying by the 0/1 mask is ~4x faster than where() and
        # gives the same values except where g is inf or nan at a cut entry (inf * 0 = nan,
        # relu(x).sqrt() at x = 0) or negative there (-g * 0 = -0.0); `+ 0.0` turns -0.0 into 0
        # and the rare nan case falls back to selecting.
        out = g * ~cut
        out += 0.0
        if xp.isnan(out).any():
            return dual.where(cut, 0.0, g)
        return out


class Abs(Primitive):
    """The slope at x = 0 is 0, as PyTorch's."""

    elementwise = True
    expr = ExprFunction("abs", sympy="Abs")
    rule = Rule(
        "|x| has slope sign(x)",
        "y = |x|",
        "y = |x|",
        x=("d|x|/dx = sign(x)", r"\frac{d|x|}{dx} = \mathrm{sign}(x)"),
    )

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
    """Tensor bounds get a gradient too, as PyTorch: g goes to lo where x < lo and to hi where
    x > hi."""

    elementwise = True
    rule = Rule(
        "clamping passes the gradient inside the bounds only",
        "y = min(max(x, lo), hi)",
        r"y = \min(\max(x, lo), hi)",
        x=("dy/dx = 1 if lo <= x <= hi else 0", D % "x" + r" = \mathbf{1}[lo \le x \le hi]"),
    )

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
        # a bound that clipped x owns g; where lo > hi every element is hi, so hi owns it (torch)
        both = lo is not None and hi is not None
        g_lo = dual.where((x < lo) & (lo < hi) if both else x < lo, g, 0.0) if need_lo else None
        g_hi = dual.where((x > hi) | (hi < lo) if both else x > hi, g, 0.0) if need_hi else None
        return gx, g_lo, g_hi


class Cast(Primitive):
    """The gradient goes back in x's dtype."""

    elementwise = True
    rule = Rule(
        "a dtype conversion passes the gradient unchanged",
        "y = x (new dtype)",
        "y = x",
        x=("dy/dx = 1", D % "x" + " = 1"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, dtype: Any) -> Any:
        ctx.source_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return dual.cast(g, ctx.source_dtype), None
