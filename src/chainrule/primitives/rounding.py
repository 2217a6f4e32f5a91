"""Piecewise-constant primitives (floor, ceil, trunc, round, sign, division with rounding) and
the two whose slope is piecewise constant (copysign, fmod).

Their gradient is 0 wherever it exists, and torch records them anyway (the output requires grad
and backward gives zeros), so they are primitives rather than constants: a test lambda that
calls backward through `x.floor()` works here as it does in torch.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.binary import Binary
from chainrule.primitives.elementwise import data_of
from chainrule.primitives.rules import D, Rule


def zeros_like(g: Any) -> Any:
    """A constant zero gradient shaped like g (the engine makes it a Tensor if need be)."""
    data = data_of(g)
    return namespace(data).zeros_like(data)


class _Step(Primitive):
    """A one-input step function: its slope is 0 wherever it exists (torch's convention at
    the jumps too)."""

    elementwise = True

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return zeros_like(g)


def _step_rule(name: str, forward: str, latex: str) -> Rule:
    return Rule(
        f"{name} is piecewise constant: its gradient is 0",
        forward,
        latex,
        x=("dy/dx = 0", D % "x" + " = 0"),
    )


class Floor(_Step):
    rule = _step_rule("floor", "y = floor(x)", r"y = \lfloor x \rfloor")

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return namespace(x).floor(x)


class Ceil(_Step):
    rule = _step_rule("ceil", "y = ceil(x)", r"y = \lceil x \rceil")

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return namespace(x).ceil(x)


class Trunc(_Step):
    rule = _step_rule("trunc", "y = trunc(x)", r"y = \operatorname{trunc} x")

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return namespace(x).trunc(x)


class Sign(_Step):
    """sign(nan) is 0, as torch's (NumPy's is nan)."""

    rule = _step_rule("sign", "y = sign(x)", r"y = \operatorname{sign} x")

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        xp = namespace(x)
        y = xp.sign(x)
        return xp.where(xp.isnan(y), 0, y).astype(y.dtype, copy=False)


class Round(Primitive):
    """Half to even, as torch. With decimals d: rint(x * 10^d) / 10^d, or rint(x / 10^-d) *
    10^-d for d < 0, in x's dtype, which is torch's formula (so its results, to the bit)."""

    elementwise = True
    rule = _step_rule("rounding", "y = round(x, decimals)", r"y = \operatorname{round}(x)")

    @staticmethod
    def forward(ctx: Any, x: Any, decimals: int) -> Any:
        xp = namespace(x)
        if decimals == 0:
            return xp.rint(x)
        scale = xp.asarray(10.0 ** abs(decimals), dtype=x.dtype)
        with dual._quiet(xp):
            if decimals > 0:
                return xp.rint(x * scale) / scale
            return xp.rint(x / scale) * scale

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return zeros_like(g), None


class RoundedDiv(Binary):
    """a / b rounded toward zero ("trunc") or down ("floor", Python's // for floats)."""

    elementwise = True
    rule = Rule(
        "a rounded quotient is piecewise constant: its gradients are 0",
        "y = round(a / b)",
        r"y = \operatorname{round}(a / b)",
        a=("dy/da = 0", D % "a" + " = 0"),
        b=("dy/db = 0", D % "b" + " = 0"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, mode: str) -> Any:
        xp = namespace(a if hasattr(a, "shape") else b)
        with dual._quiet(xp):  # x/0 = +-inf or nan are the answers for floats
            floor = xp.floor_divide(a, b)
            if mode == "floor":
                return floor
            if getattr(floor, "dtype", None) is not None and floor.dtype.kind in "iu":
                # integers: C division, the floor moved up by one where it rounded a negative
                # quotient down (exact, where a float division would round large values)
                return floor + ((floor < 0) & (floor * b != a))
            return xp.trunc(xp.true_divide(a, b))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        need_a, need_b, _ = ctx.needs_input_grad
        return (zeros_like(g) if need_a else None), (zeros_like(g) if need_b else None), None


class Copysign(Binary):
    """torch's gradients: x gets g times the sign change y/x (0 where x = 0), other gets 0."""

    elementwise = True
    rule = Rule(
        "copysign flips x's sign where the other's sign differs",
        "y = |x| sign(other)",
        r"y = |x| \operatorname{sign}(z)",
        x=("dy/dx = y/x, 0 where x = 0", D % "x" + r" = \frac{y}{x}"),
        other=("dy/dother = 0", r"\frac{\partial y}{\partial z} = 0"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, other: Any) -> Any:
        ctx.save_for_backward(x)
        y = namespace(x).copysign(x, other)
        ctx.flip = namespace(y).signbit(y) != namespace(y).signbit(x)  # a constant: -1 or 1
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        need_x, need_other = ctx.needs_input_grad
        gx = gother = None
        if need_x:
            gx = dual.where(data_of(x) == 0, 0.0, dual.where(ctx.flip, -g, g))
        if need_other:
            gother = zeros_like(g)
        return gx, gother


class Fmod(Binary):
    """The C remainder (the sign of a); slopes 1 and -trunc(a / b), as torch."""

    elementwise = True
    rule = Rule(
        "fmod subtracts a whole number of b's from a",
        "y = a - trunc(a / b) b",
        r"y = a - \operatorname{trunc}(a / b)\,b",
        a=("dy/da = 1", D % "a" + " = 1"),
        b=("dy/db = -trunc(a / b)", D % "b" + r" = -\operatorname{trunc}(a / b)"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        ctx.save_for_backward(a, b)
        xp = namespace(a if hasattr(a, "shape") else b)
        with dual._quiet(xp):  # fmod(x, 0) = nan is the answer for floats
            return xp.fmod(a, b)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        gb = None
        if need_b:
            da, db = data_of(a), data_of(b)
            with dual._quiet(namespace(da if hasattr(da, "shape") else db)):
                quotient = namespace(da if hasattr(da, "shape") else db).trunc(da / db)
            gb = -(g * quotient)  # the whole number of b's is a constant
        return (g if need_a else None), gb
