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
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.expr.sympy_import import require_sympy

# Asked here, not only in sympy_terms: a fresh import of this module without SymPy must say how
# to install it even when sympy_terms is already loaded.
sympy = require_sympy()

from chainrule.expr.sympy_terms import (  # noqa: E402  (after the SymPy check, on purpose)
    SCALAR_FUNCTIONS,
    exact_number,
    expand_sigmoid,
    scalar_function,
    sigmoid,
)

__all__ = [
    "NAMESPACE",
    "SCALAR_FUNCTIONS",
    "SymPyNamespace",
    "exact_number",
    "expand_sigmoid",
    "scalar_function",
    "sigmoid",
    "sympy",
]


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
    tan = staticmethod(_elementwise(sympy.tan))
    arcsin = staticmethod(_elementwise(sympy.asin))
    arccos = staticmethod(_elementwise(sympy.acos))
    arctan = staticmethod(_elementwise(sympy.atan))
    sinh = staticmethod(_elementwise(sympy.sinh))
    cosh = staticmethod(_elementwise(sympy.cosh))
    arcsinh = staticmethod(_elementwise(sympy.asinh))
    arccosh = staticmethod(_elementwise(sympy.acosh))
    arctanh = staticmethod(_elementwise(sympy.atanh))
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
