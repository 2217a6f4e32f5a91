"""The SymPy vocabulary of chainrule: σ as one SymPy function, exact numbers, and the scalar
SymPy function each named primitive declares. Importing this module needs SymPy.

It sits in the expression language because `Expression.to_sympy` uses it, and the symbolic
package (whose array namespace and `derive` sit above the expression language) re-exports it.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from chainrule.expr.sympy_import import require_sympy

sympy = require_sympy()


# `sympy` is the module require_sympy() returned (typed Any), which mypy cannot take a base from
class sigmoid(sympy.Function):  # type: ignore[name-defined]  # lowercase, like sympy's functions
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


# The scalar functions a primitive's `ExprFunction.sympy` may name that SymPy itself lacks
SCALAR_FUNCTIONS: dict[str, Callable[[Any], Any]] = {"sigmoid": sigmoid}


def scalar_function(spec: str) -> Callable[[Any], Any]:
    """The SymPy function of one scalar that a primitive's `ExprFunction.sympy` declares: a
    name (`"exp"`, `"Abs"`, `"sigmoid"`) or a formula in x (`"Max(x, 0)"`).

    The formula is the package's own source text, never a user's, so `sympify` may read it.
    """
    if spec in SCALAR_FUNCTIONS:
        return SCALAR_FUNCTIONS[spec]
    if spec.isidentifier():
        fn = getattr(sympy, spec, None)
        if fn is None:
            raise ValueError(f"no SymPy function called {spec!r} (nor in SCALAR_FUNCTIONS)")
        return fn
    x = sympy.Symbol("x")
    return sympy.Lambda(x, sympy.sympify(spec, locals={"x": x, **SCALAR_FUNCTIONS}))


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
