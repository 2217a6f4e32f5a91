"""Binary elementwise primitives (with broadcasting) and `where`.

Broadcasting is undone once, by the engine (it sums each gradient back to its input's shape), so
these rules return gradients in the broadcast output's shape.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import is_symbolic, namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.elementwise import data_of
from chainrule.primitives.rules import D, Rule


def _shape(a: Any) -> tuple[int, ...]:
    return tuple(getattr(a, "shape", ()))


def broadcast_message(op: str, *operands: Any) -> str | None:
    """Why `operands` do not broadcast, naming the op and both shapes (None if they do)."""
    shapes = [_shape(a) for a in operands]
    ndim = max(len(s) for s in shapes)
    for axis in range(1, ndim + 1):
        sizes = {s[-axis] for s in shapes if len(s) >= axis and s[-axis] != 1}
        if len(sizes) > 1:
            pretty = " and ".join(str(s) for s in shapes)
            got = " vs ".join(str(s[-axis]) if len(s) >= axis else "-" for s in shapes)
            return (
                f"{op}: shapes {pretty} cannot be broadcast together: dimension -{axis} has "
                f"sizes {got}"
            )
    return None


class Binary(Primitive, abstract=True):
    """Base of broadcasting binary ops: explains a shape mismatch by naming both shapes."""

    @classmethod
    def check(cls, *args: Any) -> str | None:
        return broadcast_message(cls.__name__.lower(), *args)


class Add(Binary):
    elementwise = True
    rule = Rule(
        "a sum passes the gradient unchanged to each term",
        "y = a + b",
        "y = a + b",
        a=("d(a+b)/da = 1", D % "a" + " = 1"),
        b=("d(a+b)/db = 1", D % "b" + " = 1"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return a + b

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, g


class Sub(Binary):
    elementwise = True
    rule = Rule(
        "a difference passes the gradient to a and its negative to b",
        "y = a - b",
        "y = a - b",
        a=("d(a-b)/da = 1", D % "a" + " = 1"),
        b=("d(a-b)/db = -1", D % "b" + " = -1"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return a - b

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, -g


class Mul(Binary):
    elementwise = True
    rule = Rule(
        "product rule: each factor's local derivative is the other factor",
        "y = a * b",
        r"y = a \cdot b",
        a=("d(a*b)/da = b", D % "a" + " = b"),
        b=("d(a*b)/db = a", D % "b" + " = a"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        # Save only what backward reads (as PyTorch does): `h * 2` must not keep h, so changing
        # h in place afterwards does not fail a backward that never needed its value.
        need_a, need_b = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return a * b

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Binary):
    elementwise = True
    rule = Rule(
        "quotient rule",
        "y = a / b",
        r"y = \frac{a}{b}",
        a=("d(a/b)/da = 1/b", D % "a" + r" = \frac{1}{b}"),
        b=("d(a/b)/db = -a/b^2", D % "b" + r" = -\frac{a}{b^2}"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        xp = namespace(a if hasattr(a, "shape") else b)
        with dual._quiet(xp):  # x/0 = inf is the answer
            y = a / b
        ctx.save_for_backward(b, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        b, y = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = g / b if need_a else None
        gb = -(g * y / b) if need_b else None
        return ga, gb


class Pow(Binary):
    """At the edges, as PyTorch: dy/da = 0 where b = 0, and dy/db = 0 where a = 0 and b >= 0."""

    elementwise = True
    rule = Rule(
        "power rule in the base, exponential rule in the exponent",
        "y = a^b",
        "y = a^{b}",
        a=("d a^b/da = b a^(b-1)", D % "a" + " = b\\,a^{b-1}"),
        b=("d a^b/db = a^b ln a", D % "b" + r" = a^{b} \ln a"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        xp = namespace(a if hasattr(a, "shape") else b)
        with dual._quiet(xp):
            y = a**b
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, b, y = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        # 0^(negative) = inf, ln 0 = -inf, 0 * inf: PyTorch's answers (the engine runs backward
        # with NumPy's divide/invalid warnings off)
        if need_a:
            # d(a^0)/da is 0 everywhere, but b a^(b-1) gives 0 * inf = nan at a = 0. The
            # second derivative of a^1 differentiates a^0, so it relies on this. The 0 is
            # selected (not g * 0), so an infinite upstream gradient does not make it nan.
            if isinstance(b, (int, float)):
                if b == 0:  # a constant zero gradient (the engine makes it a Tensor if need be)
                    ga = namespace(data_of(g)).zeros_like(data_of(g))
                else:
                    ga = g * (b * a ** (b - 1))
            else:
                ga = dual.where(data_of(b) == 0, 0.0, g * (b * a ** (b - 1)))
        if need_b:
            # a^b ln a is 0 * -inf at a = 0: the limit is 0 for b >= 0 (0^b is constant 0 or
            # 1 there); for b < 0 it is inf * -inf = -inf, which is PyTorch's answer too
            if is_symbolic(namespace(data_of(y))):  # a symbol has no sign: the formula
                gb = g * (y * dual.log(a))
            else:
                at_zero = (data_of(a) == 0) & (data_of(b) >= 0)
                gb = dual.where(at_zero, 0.0, g * (y * dual.log(a)))
        return ga, gb


class Maximum(Binary):
    elementwise = True
    rule = Rule(
        "the larger input gets the gradient (shared at ties)",
        "y = max(a, b)",
        r"y = \max(a, b)",
        a=(
            "d max(a,b)/da = 1 if a > b, 1/2 if a = b, else 0",
            D % "a" + r" = \mathbf{1}[a > b] + \tfrac{1}{2}\mathbf{1}[a = b]",
        ),
        b=(
            "d max(a,b)/db = 1 if b > a, 1/2 if a = b, else 0",
            D % "b" + r" = \mathbf{1}[b > a] + \tfrac{1}{2}\mathbf{1}[a = b]",
        ),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        ctx.save_for_backward(a, b)
        return namespace(a if hasattr(a, "shape") else b).maximum(a, b)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, b = ctx.saved_tensors
        a, b = data_of(a), data_of(b)  # the comparisons are constants
        half = g * 0.5
        # the loser's 0 is selected, never computed as g * 0; a nan (neither wins) passes g to
        # both, as PyTorch
        ga = dual.where(a == b, half, dual.where(a < b, 0.0, g))
        gb = dual.where(a == b, half, dual.where(a > b, 0.0, g))
        return ga, gb


class Minimum(Binary):
    elementwise = True
    rule = Rule(
        "the smaller input gets the gradient (shared at ties)",
        "y = min(a, b)",
        r"y = \min(a, b)",
        a=(
            "d min(a,b)/da = 1 if a < b, 1/2 if a = b, else 0",
            D % "a" + r" = \mathbf{1}[a < b] + \tfrac{1}{2}\mathbf{1}[a = b]",
        ),
        b=(
            "d min(a,b)/db = 1 if b < a, 1/2 if a = b, else 0",
            D % "b" + r" = \mathbf{1}[b < a] + \tfrac{1}{2}\mathbf{1}[a = b]",
        ),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        ctx.save_for_backward(a, b)
        return namespace(a if hasattr(a, "shape") else b).minimum(a, b)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, b = ctx.saved_tensors
        a, b = data_of(a), data_of(b)  # the comparisons are constants
        half = g * 0.5
        ga = dual.where(a == b, half, dual.where(a > b, 0.0, g))  # nan passes g, as PyTorch
        gb = dual.where(a == b, half, dual.where(a < b, 0.0, g))
        return ga, gb


class Where(Binary):
    elementwise = True
    rule = Rule(
        "each entry's gradient goes to the input it was taken from",
        "y = a where condition else b",
        r"y = c\,a + (1 - c)\,b",
        a=("dy/da = 1 where condition, else 0", D % "a" + r" = \mathbf{1}[c]"),
        b=("dy/db = 1 where not condition, else 0", D % "b" + r" = \mathbf{1}[\lnot c]"),
    )

    @staticmethod
    def forward(ctx: Any, condition: Any, a: Any, b: Any) -> Any:
        ctx.save_for_backward(condition)
        xp = namespace(condition)
        return xp.where(condition, a, b)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (condition,) = ctx.saved_tensors
        _, need_a, need_b = ctx.needs_input_grad
        ga = dual.where(condition, g, 0.0) if need_a else None
        gb = dual.where(condition, 0.0, g) if need_b else None
        return None, ga, gb
