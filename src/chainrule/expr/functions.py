"""The functions an expression may call: their signatures and two
implementations, chainrule ops (for values and autodiff) and SymPy (for `Expression.to_sympy`).

The elementwise primitives that declare an expression name (`expr = ExprFunction(...)` beside
their rule) are callable by that name, read from the registry; the rest are declared here, being
compositions or having their own signature. Reductions (`sum mean max min logsumexp`) take
`dim=` (default: all dims); `softmax` and `log_softmax` take `dim=` (default -1) and `beta=`
(seed 001 §1.2's temperature). `max(a, b)` and `min(a, b)` with two arguments are elementwise.
For matrices (seed 001 §1.1, 000 Ex3): `transpose(A)` (also `A.T`), `outer(a, b)` = a b^T,
`diag(v)` (a vector to a diagonal matrix, a matrix to its diagonal, as torch.diag) and `eye(n)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from chainrule.primitives.base import REGISTRY, Primitive
from chainrule.primitives.rules import UNARY, Signature
from chainrule.tensor import Tensor

__all__ = ["FUNCTIONS", "Signature", "chainrule_functions", "named_primitives", "sympy_functions"]

_REDUCTION = Signature((1, 1), frozenset({"dim"}))
_SOFTMAX = Signature((1, 1), frozenset({"dim", "beta"}))
_EXTREME = Signature((1, 2), frozenset({"dim"}))
_BINARY = Signature((2, 2), frozenset())

# Functions that are not one elementwise primitive each: `sign` is a constant (no primitive),
# the reductions and softmax take keywords, `mean` is a composition, max/min have two forms.
COMPOSED: dict[str, Signature] = {
    "sign": UNARY,
    "softmax": _SOFTMAX,
    "log_softmax": _SOFTMAX,
    "sum": _REDUCTION,
    "mean": _REDUCTION,
    "logsumexp": _REDUCTION,
    "max": _EXTREME,
    "min": _EXTREME,
    "transpose": UNARY,
    "outer": _BINARY,
    "diag": UNARY,
    "eye": UNARY,
}


def named_primitives() -> dict[str, type[Primitive]]:
    """Expression name -> primitive, for every registered primitive that declares `expr`."""
    return {p.expr.name: p for p in REGISTRY.values() if p.expr is not None}


class _Functions(Mapping[str, Signature]):
    """Name -> signature of every callable function: the named primitives (read live from the
    registry, so a primitive defined later is callable too), then the composed ones."""

    def _table(self) -> dict[str, Signature]:
        table = {name: p.expr.signature for name, p in named_primitives().items()}  # type: ignore[union-attr]
        table.update(COMPOSED)
        return table

    def __getitem__(self, name: str) -> Signature:
        return self._table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return f"FUNCTIONS({', '.join(self._table())})"


FUNCTIONS: Mapping[str, Signature] = _Functions()


def _tensor(x: Any) -> Tensor:
    """A number becomes a tensor of the default float dtype (as a Python float would in torch)."""
    from chainrule import backend, creation

    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float)):
        return creation.tensor(float(x), dtype=backend.get_default_dtype())
    return creation.as_tensor(x)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _size(n: Any) -> int:
    """eye's size: a positive whole number (SymPy's exact 3 as well as Python's 3)."""
    try:
        size = int(n)
        whole = size == n
    except (TypeError, ValueError):
        whole = False
    if not whole or size < 1:
        raise ValueError(f"the size must be a positive integer, like eye(3), got {n}")
    return size


def _identity(n: int, like: Tensor) -> Tensor:
    """The n x n identity in `like`'s dtype (exact 0 and 1 for symbolic arrays)."""
    from chainrule import backend, creation

    if backend.is_symbolic(backend.namespace(like._data)):
        return Tensor._make(np.eye(n, dtype=int).astype(object))
    return creation.eye(n, dtype=like.dtype)


def chainrule_functions() -> dict[str, Callable[..., Any]]:
    """name -> implementation with chainrule ops (differentiable; works on SymPy tensors too)."""
    from chainrule import backend, creation, ops
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

    def reduction(op: Callable[..., Tensor]) -> Callable[..., Tensor]:
        def apply(x: Any, dim: int | None = None) -> Tensor:
            return op(_tensor(x), dim)

        return apply

    def outer(a: Any, b: Any) -> Tensor:
        a, b = _tensor(a), _tensor(b)
        if a.ndim != 1 or b.ndim != 1:
            raise ValueError(f"expects two vectors, got shapes {a.shape} and {b.shape}")
        return a.unsqueeze(-1) * b.unsqueeze(0)

    def diag(v: Any) -> Tensor:
        v = _tensor(v)
        if v.ndim == 1:  # v * I, so the gradient of each v[i] is read off the diagonal
            return v.unsqueeze(0) * _identity(v.shape[0], v)
        if v.ndim == 2:
            n = min(v.shape)
            return v[creation.arange(n), creation.arange(n)]
        raise ValueError(f"expects a vector or a matrix, got shape {v.shape}")

    def eye(n: Any) -> Tensor:
        return creation.eye(_size(n), dtype=backend.get_default_dtype())

    # A named primitive runs through the public op of the same name where there is one (it adds
    # PyTorch's dtype promotion, e.g. exp of an int tensor is float), else through its apply.
    table: dict[str, Callable[..., Any]] = {
        name: unary(getattr(ops, name, None) or p.apply) for name, p in named_primitives().items()
    }
    return table | {
        "sign": unary(dual.sign),  # a constant, as in torch: its derivative is 0 where it exists
        "softmax": softmax_like(ops.softmax),
        "log_softmax": softmax_like(ops.log_softmax),
        "sum": reduction(ops.sum),
        "mean": reduction(ops.mean),
        "logsumexp": reduction(ops.logsumexp),
        "max": extreme(ops.amax, ops.maximum),
        "min": extreme(ops.amin, ops.minimum),
        "transpose": lambda x: x if _is_number(x) else _tensor(x).T,
        "outer": outer,
        "diag": diag,
        "eye": eye,
    }


def sympy_functions() -> dict[str, Callable[..., Any]]:
    """name -> implementation on SymPy scalars and Matrices (elementwise on Matrices)."""
    from chainrule.expr.sympy_terms import scalar_function, sympy

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

    # The reductions take every entry; dim is accepted (the chainrule ones take it) and unused.
    def total(x: Any, dim: int | None = None) -> Any:
        return sum(entries(x))

    def mean(x: Any, dim: int | None = None) -> Any:
        return sum(entries(x)) / len(entries(x))

    def logsumexp(x: Any, dim: int | None = None) -> Any:
        return sympy.log(sum(sympy.exp(v) for v in entries(x)))

    def transpose(x: Any) -> Any:
        return x.T if isinstance(x, sympy.MatrixBase) else x

    def outer(a: Any, b: Any) -> Any:
        if not (_is_vector(a) and _is_vector(b)):
            raise ValueError("expects two vectors")
        return sympy.Matrix(len(a), 1, list(a)) * sympy.Matrix(1, len(b), list(b))

    def diag(v: Any) -> Any:
        if _is_vector(v):
            return sympy.diag(*entries(v))
        if isinstance(v, sympy.MatrixBase):
            return sympy.Matrix([v[i, i] for i in range(min(v.shape))])
        raise ValueError("expects a vector or a matrix")

    def eye(n: Any) -> Any:
        return sympy.eye(_size(n))

    table: dict[str, Callable[..., Any]] = {
        name: unary(scalar_function(p.expr.sympy))  # type: ignore[union-attr]
        for name, p in named_primitives().items()
    }
    return table | {
        "sign": unary(sympy.sign),
        "softmax": softmax,
        "log_softmax": log_softmax,
        "sum": total,
        "mean": mean,
        "logsumexp": logsumexp,
        "max": extreme(sympy.Max),
        "min": extreme(sympy.Min),
        "transpose": transpose,
        "outer": outer,
        "diag": diag,
        "eye": eye,
    }


def _is_vector(x: Any) -> bool:
    """A SymPy column (how `to_sympy` and `derive` write a vector) or row."""
    return bool(getattr(x, "is_Matrix", False)) and 1 in x.shape
