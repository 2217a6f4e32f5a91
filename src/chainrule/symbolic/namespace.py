"""The array namespace of object arrays of SymPy expressions.

`backend.namespace(array)` answers this namespace for object arrays once this module is imported,
so the primitives' `xp.exp(x)`, `xp.maximum(x, 0)`, ... map SymPy's functions over the elements.
Everything it does not define (shapes, `where`, `zeros`, `add.at`, `broadcast_to`, ...) is NumPy's
own, which already works on object arrays. Where a primitive's stable numeric forward branches on
values, the primitive asks `backend.is_symbolic(xp)` and uses the exact formula this namespace
provides (`sigmoid`, `step`) or skips the max subtraction.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.symbolic import require_sympy

sympy = require_sympy()


class sigmoid(sympy.Function):  # lowercase, like the sympy functions it sits among
    """σ(x) = 1 / (1 + e^-x), kept whole so derivations read like the seeds: σ'(x) = σ(x)(1 - σ(x)).

    `expr.replace(sigmoid, lambda u: 1 / (1 + sympy.exp(-u)))` (or `rewrite(sympy.exp)`) expands it.
    """

    @classmethod
    def eval(cls, x: Any) -> Any:
        if x.is_zero:
            return sympy.Rational(1, 2)
        return None  # stays σ(x), like exp(2) stays exp(2); evalf gives the number

    def _eval_evalf(self, prec: int) -> Any:
        return (1 / (1 + sympy.exp(-self.args[0])))._eval_evalf(prec)

    def fdiff(self, argindex: int = 1) -> Any:
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, x: Any, **kwargs: Any) -> Any:
        return 1 / (1 + sympy.exp(-x))

    def _eval_is_extended_real(self) -> Any:
        return self.args[0].is_extended_real

    def _eval_is_positive(self) -> Any:
        return self.args[0].is_extended_real

    def _latex(self, printer: Any, exp: Any = None) -> str:
        text = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return f"{text}^{{{exp}}}" if exp is not None else text


def expand_sigmoid(expr: Any) -> Any:
    """`expr` with every σ(u) written as 1 / (1 + e^-u)."""
    if isinstance(expr, sympy.MatrixBase):
        return expr.applyfunc(expand_sigmoid)
    return sympy.sympify(expr).replace(sigmoid, lambda u: 1 / (1 + sympy.exp(-u)))


def exact_number(value: Any) -> Any:
    """A Python number as an exact SymPy number: 0.1 -> 1/10 (its decimal spelling), 3 -> 3."""
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, (bool, np.bool_)):
        return sympy.Integer(int(value))
    if isinstance(value, (int, np.integer)):
        return sympy.Integer(int(value))
    value = float(value)
    if not np.isfinite(value):
        return sympy.oo if value > 0 else (-sympy.oo if value < 0 else sympy.nan)
    fraction = Fraction(repr(value))  # the shortest decimal that round-trips, made exact
    return sympy.Rational(fraction.numerator, fraction.denominator)


def _elementwise(fn: Callable[..., Any], nin: int = 1) -> Callable[..., Any]:
    """Map a SymPy function over object arrays (broadcasting), always returning an array."""
    ufunc = np.frompyfunc(fn, nin, 1)

    def apply(*args: Any) -> np.ndarray:
        return np.asarray(ufunc(*args), dtype=object)

    apply.__name__ = getattr(fn, "__name__", "elementwise")
    return apply


def _step(y: Any) -> Any:
    """d relu(x)/dx from y = max(x, 0): 1 where x > 0, else 0 (0 at x = 0, as PyTorch)."""
    y = sympy.sympify(y)
    if isinstance(y, sympy.Max) and len(y.args) == 2 and 0 in y.args:
        y = y.args[1] if y.args[0] == 0 else y.args[0]  # H(max(x, 0)) = H(x) when H(0) = 0
    return sympy.Heaviside(y, 0)


def _clip(x: Any, lo: Any, hi: Any) -> np.ndarray:
    if lo is not None:
        x = _elementwise(sympy.Max, 2)(x, lo)
    if hi is not None:
        x = _elementwise(sympy.Min, 2)(x, hi)
    return np.asarray(x, dtype=object)


class SymPyNamespace:
    """NumPy, with the elementwise math done by SymPy on object arrays."""

    symbolic = True  # see backend.is_symbolic

    exp = staticmethod(_elementwise(sympy.exp))
    log = staticmethod(_elementwise(sympy.log))
    log1p = staticmethod(_elementwise(lambda x: sympy.log(1 + x)))
    sqrt = staticmethod(_elementwise(sympy.sqrt))
    sin = staticmethod(_elementwise(sympy.sin))
    cos = staticmethod(_elementwise(sympy.cos))
    tanh = staticmethod(_elementwise(sympy.tanh))
    abs = staticmethod(_elementwise(sympy.Abs))
    sign = staticmethod(_elementwise(sympy.sign))
    maximum = staticmethod(_elementwise(sympy.Max, 2))
    minimum = staticmethod(_elementwise(sympy.Min, 2))
    clip = staticmethod(_clip)
    # exact formulas for rules whose numeric forms branch on values
    sigmoid = staticmethod(_elementwise(sigmoid))
    step = staticmethod(_elementwise(_step))

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    def __repr__(self) -> str:
        return "<chainrule SymPy namespace (NumPy object arrays of SymPy expressions)>"


NAMESPACE = SymPyNamespace()
backend.register_object_namespace(NAMESPACE)
