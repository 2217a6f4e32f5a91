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
    """y = a + b;  dy/da = 1, dy/db = 1"""

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return a + b

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, g


class Sub(Binary):
    """y = a - b;  dy/da = 1, dy/db = -1"""

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return a - b

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, -g


class Mul(Binary):
    """y = a * b;  dy/da = b, dy/db = a"""

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
    """y = a / b;  dy/da = 1/b, dy/db = -a/b^2 = -y/b"""

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
    """y = a^b;  dy/da = b a^(b-1) (0 if b = 0), dy/db = a^b ln(a) (0 if a = 0 and b >= 0), as
    PyTorch"""

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
    """y = max(a, b);  dy/da = 1 where a > b, 1/2 where a = b, else 0 (symmetric for b)"""

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
    """y = min(a, b);  dy/da = 1 where a < b, 1/2 where a = b, else 0 (symmetric for b)"""

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
    """y = a where condition else b;  dy/da = [condition], dy/db = [not condition]"""

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
