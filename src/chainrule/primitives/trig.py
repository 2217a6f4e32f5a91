"""Trigonometric and hyperbolic primitives beyond sin, cos and tanh, and their inverses.

Each backward is torch's formula, so the edges of the domains give torch's answers: the slope of
asin and acos at +-1 and of atanh at +-1 is inf, acosh's at 1 is inf, and outside a domain the
value and the slope are nan. NumPy's divide/invalid warnings are off during backward (the
engine) and silenced in forward where inf or nan is the answer.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive, primitive
from chainrule.primitives.rules import D, ExprFunction, Rule
from chainrule.tensor_base import TensorBase


def same(name: str, *args: Any) -> Any:
    """The primitive `name` applied to `args`: recorded when one is a Tensor (create_graph),
    plain array math otherwise (a first-order backward), so a rule can use another rule's
    function the way `dual` offers exp and log."""
    fn = primitive(name)
    if any(isinstance(a, TensorBase) for a in args):
        return fn.apply(*args)
    return fn.forward(dual._NoSave(), *args)


def _quietly(fn: str, x: Any) -> Any:
    xp = namespace(x)
    with dual._quiet(xp):  # nan outside the domain and inf at its edges are the answers
        return getattr(xp, fn)(x)


class Tan(Primitive):
    elementwise = True
    expr = ExprFunction("tan", sympy="tan")
    rule = Rule(
        "tangent's slope is one plus its square",
        "y = tan(x)",
        r"y = \tan x",
        x=("d tan(x)/dx = 1 + tan(x)^2", r"\frac{d \tan x}{dx} = 1 + \tan^2 x"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        y = namespace(x).tan(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        return g * (1 + y * y)


class Asin(Primitive):
    elementwise = True
    expr = ExprFunction("asin", sympy="asin")
    rule = Rule(
        "arcsine's slope is one over the root of one minus the square",
        "y = asin(x)",
        r"y = \arcsin x",
        x=("d asin(x)/dx = 1/sqrt(1 - x^2)", r"\frac{d \arcsin x}{dx} = \frac{1}{\sqrt{1 - x^2}}"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return _quietly("arcsin", x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * (1 - x * x) ** -0.5


class Acos(Primitive):
    elementwise = True
    expr = ExprFunction("acos", sympy="acos")
    rule = Rule(
        "arccosine's slope is minus arcsine's",
        "y = acos(x)",
        r"y = \arccos x",
        x=(
            "d acos(x)/dx = -1/sqrt(1 - x^2)",
            r"\frac{d \arccos x}{dx} = -\frac{1}{\sqrt{1 - x^2}}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return _quietly("arccos", x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return -(g * (1 - x * x) ** -0.5)


class Atan(Primitive):
    elementwise = True
    expr = ExprFunction("atan", sympy="atan")
    rule = Rule(
        "arctangent's slope is one over one plus the square",
        "y = atan(x)",
        r"y = \arctan x",
        x=("d atan(x)/dx = 1/(1 + x^2)", r"\frac{d \arctan x}{dx} = \frac{1}{1 + x^2}"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return namespace(x).arctan(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g / (1 + x * x)


class Atan2(Primitive):
    """The angle of the point (b, a); at (0, 0) the slopes are nan (0/0), as torch's."""

    elementwise = True
    rule = Rule(
        "the angle's slopes are the other coordinate over the squared radius",
        "y = atan2(a, b)",
        r"y = \operatorname{atan2}(a, b)",
        a=("d atan2(a,b)/da = b/(a^2 + b^2)", D % "a" + r" = \frac{b}{a^2 + b^2}"),
        b=("d atan2(a,b)/db = -a/(a^2 + b^2)", D % "b" + r" = -\frac{a}{a^2 + b^2}"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        ctx.save_for_backward(a, b)
        return namespace(a if hasattr(a, "shape") else b).arctan2(a, b)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        scale = g / (a * a + b * b)
        return (scale * b if need_a else None), (-(scale * a) if need_b else None)


class Hypot(Primitive):
    """sqrt(a^2 + b^2) without overflow or underflow of the squares; at (0, 0) the slopes are
    nan (0/0), as torch's."""

    elementwise = True
    rule = Rule(
        "the length's slopes are each side over the length",
        "y = hypot(a, b) = sqrt(a^2 + b^2)",
        r"y = \sqrt{a^2 + b^2}",
        a=("d hypot(a,b)/da = a/y", D % "a" + r" = \frac{a}{y}"),
        b=("d hypot(a,b)/db = b/y", D % "b" + r" = \frac{b}{y}"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        y = namespace(a if hasattr(a, "shape") else b).hypot(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, b, y = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        scale = g / y
        return (scale * a if need_a else None), (scale * b if need_b else None)


class Sinh(Primitive):
    elementwise = True
    expr = ExprFunction("sinh", sympy="sinh")
    rule = Rule(
        "hyperbolic sine's derivative is hyperbolic cosine",
        "y = sinh(x)",
        r"y = \sinh x",
        x=("d sinh(x)/dx = cosh(x)", r"\frac{d \sinh x}{dx} = \cosh x"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return namespace(x).sinh(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * same("Cosh", x)


class Cosh(Primitive):
    elementwise = True
    expr = ExprFunction("cosh", sympy="cosh")
    rule = Rule(
        "hyperbolic cosine's derivative is hyperbolic sine",
        "y = cosh(x)",
        r"y = \cosh x",
        x=("d cosh(x)/dx = sinh(x)", r"\frac{d \cosh x}{dx} = \sinh x"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return namespace(x).cosh(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * same("Sinh", x)


class Asinh(Primitive):
    """For large |x| the square overflows to inf and the slope is its limit, 0."""

    elementwise = True
    expr = ExprFunction("asinh", sympy="asinh")
    rule = Rule(
        "inverse hyperbolic sine's slope is one over the root of the square plus one",
        "y = asinh(x)",
        r"y = \operatorname{asinh} x",
        x=(
            "d asinh(x)/dx = 1/sqrt(x^2 + 1)",
            r"\frac{d \operatorname{asinh} x}{dx} = \frac{1}{\sqrt{x^2 + 1}}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return namespace(x).arcsinh(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * (x * x + 1) ** -0.5


class Acosh(Primitive):
    elementwise = True
    expr = ExprFunction("acosh", sympy="acosh")
    rule = Rule(
        "inverse hyperbolic cosine's slope is one over the root of the square minus one",
        "y = acosh(x)",
        r"y = \operatorname{acosh} x",
        x=(
            "d acosh(x)/dx = 1/sqrt(x^2 - 1)",
            r"\frac{d \operatorname{acosh} x}{dx} = \frac{1}{\sqrt{x^2 - 1}}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return _quietly("arccosh", x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * (x * x - 1) ** -0.5


class Atanh(Primitive):
    elementwise = True
    expr = ExprFunction("atanh", sympy="atanh")
    rule = Rule(
        "inverse hyperbolic tangent's slope is one over one minus the square",
        "y = atanh(x)",
        r"y = \operatorname{atanh} x",
        x=(
            "d atanh(x)/dx = 1/(1 - x^2)",
            r"\frac{d \operatorname{atanh} x}{dx} = \frac{1}{1 - x^2}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return _quietly("arctanh", x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g / (1 - x * x)
