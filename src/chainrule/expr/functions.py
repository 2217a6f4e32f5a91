"""The functions an expression may call: their signatures and two
implementations, chainrule ops (for values and autodiff) and SymPy (for `Expression.to_sympy`).

Reductions (`sum mean max min logsumexp`) take `dim=` (default: all dims); `softmax` and
`log_softmax` take `dim=` (default -1) and `beta=` (seed 001 §1.2's temperature). `max(a, b)` and
`min(a, b)` with two arguments are elementwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chainrule.tensor import Tensor


@dataclass(frozen=True)
class Signature:
    """How a function may be called: (least, most) positional arguments and the keywords."""

    nargs: tuple[int, int]
    keywords: frozenset[str] = frozenset()


_UNARY = Signature((1, 1))
_REDUCTION = Signature((1, 1), frozenset({"dim"}))
_SOFTMAX = Signature((1, 1), frozenset({"dim", "beta"}))
_EXTREME = Signature((1, 2), frozenset({"dim"}))

FUNCTIONS: dict[str, Signature] = {
    "exp": _UNARY,
    "log": _UNARY,
    "sqrt": _UNARY,
    "sigmoid": _UNARY,
    "tanh": _UNARY,
    "relu": _UNARY,
    "abs": _UNARY,
    "sign": _UNARY,
    "sin": _UNARY,
    "cos": _UNARY,
    "softmax": _SOFTMAX,
    "log_softmax": _SOFTMAX,
    "sum": _REDUCTION,
    "mean": _REDUCTION,
    "logsumexp": _REDUCTION,
    "max": _EXTREME,
    "min": _EXTREME,
}


def _tensor(x: Any) -> Tensor:
    """A number becomes a tensor of the default float dtype (as a Python float would in torch)."""
    from chainrule import backend, creation

    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float)):
        return creation.tensor(float(x), dtype=backend.get_default_dtype())
    return creation.as_tensor(x)


def chainrule_functions() -> dict[str, Callable[..., Any]]:
    """name -> implementation with chainrule ops (differentiable; works on SymPy tensors too)."""
    from chainrule import ops
    from chainrule.primitives import dual

    def unary(op: Callable[[Tensor], Tensor]) -> Callable[[Any], Tensor]:
        return lambda x: op(_tensor(x))

    def softmax_like(op: Callable[..., Tensor]) -> Callable[..., Tensor]:
        def apply(x: Any, dim: int = -1, beta: Any = 1.0) -> Tensor:
            if isinstance(beta, Tensor):  # a variable temperature gets its own gradient
                return op(_tensor(x) * beta, dim)
            return op(_tensor(x), dim, beta)

        return apply

    def extreme(reduce: Callable[..., Tensor], pair: Callable[..., Tensor]) -> Callable:
        def apply(x: Any, y: Any = None, dim: int | None = None) -> Tensor:
            if y is not None:
                if dim is not None:
                    raise ValueError("dim= applies to the one-argument (reduction) form only")
                return pair(_tensor(x), y)
            return reduce(_tensor(x), dim)

        return apply

    return {
        "exp": unary(ops.exp),
        "log": unary(ops.log),
        "sqrt": unary(ops.sqrt),
        "sigmoid": unary(ops.sigmoid),
        "tanh": unary(ops.tanh),
        "relu": unary(ops.relu),
        "abs": unary(ops.abs),
        "sign": unary(dual.sign),  # a constant, as in torch: its derivative is 0 where it exists
        "sin": unary(ops.sin),
        "cos": unary(ops.cos),
        "softmax": softmax_like(ops.softmax),
        "log_softmax": softmax_like(ops.log_softmax),
        "sum": lambda x, dim=None: ops.sum(_tensor(x), dim),
        "mean": lambda x, dim=None: ops.mean(_tensor(x), dim),
        "logsumexp": lambda x, dim=None: ops.logsumexp(_tensor(x), dim),
        "max": extreme(ops.amax, ops.maximum),
        "min": extreme(ops.amin, ops.minimum),
    }


def sympy_functions() -> dict[str, Callable[..., Any]]:
    """name -> implementation on SymPy scalars and Matrices (elementwise on Matrices)."""
    from chainrule.symbolic.namespace import sigmoid, sympy

    def entries(x: Any) -> list[Any]:
        return list(x) if isinstance(x, sympy.MatrixBase) else [x]

    def unary(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return lambda x: x.applyfunc(fn) if isinstance(x, sympy.MatrixBase) else fn(x)

    def softmax(x: Any, dim: int = -1, beta: Any = 1) -> Any:
        e = unary(sympy.exp)(x * beta)
        return e / sum(entries(e))

    def log_softmax(x: Any, dim: int = -1, beta: Any = 1) -> Any:
        z = x * beta
        lse = sympy.log(sum(sympy.exp(v) for v in entries(z)))
        return z.applyfunc(lambda v: v - lse) if isinstance(z, sympy.MatrixBase) else z - lse

    def extreme(fn: Callable[..., Any]) -> Callable[..., Any]:
        def apply(x: Any, y: Any = None, dim: int | None = None) -> Any:
            if y is None:
                return fn(*entries(x))
            if isinstance(x, sympy.MatrixBase):
                return x.applyfunc(lambda v: fn(v, y))
            return fn(x, y)

        return apply

    return {
        "exp": unary(sympy.exp),
        "log": unary(sympy.log),
        "sqrt": unary(sympy.sqrt),
        "sigmoid": unary(sigmoid),
        "tanh": unary(sympy.tanh),
        "relu": unary(lambda v: sympy.Max(v, 0)),
        "abs": unary(sympy.Abs),
        "sign": unary(sympy.sign),
        "sin": unary(sympy.sin),
        "cos": unary(sympy.cos),
        "softmax": softmax,
        "log_softmax": log_softmax,
        "sum": lambda x, dim=None: sum(entries(x)),
        "mean": lambda x, dim=None: sum(entries(x)) / len(entries(x)),
        "logsumexp": lambda x, dim=None: sympy.log(sum(sympy.exp(v) for v in entries(x))),
        "max": extreme(sympy.Max),
        "min": extreme(sympy.Min),
    }
