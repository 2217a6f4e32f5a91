"""Symbolic derivations: chainrule's own rule table run on SymPy expressions.

The primitives' forward and backward formulas run unchanged on NumPy object arrays whose elements
are SymPy expressions (DESIGN.md's backend idea: `backend.namespace` hands such arrays a namespace
of SymPy functions). `derive` turns a function of named scalars, vectors or small matrices into
simplified closed-form partial derivatives:

>>> import chainrule as cr
>>> print(cr.symbolic.derive("a2*sigmoid(a1*x)", wrt=["a2"]).text())
d f / d a2 = sigmoid(a1*x)

`Derivation.course()` gives the course's form: σ's argument named u, the course's signs, and
with `in_terms_of` named vectors and index formulas (§1.2: beta*p_i*(delta_ij - p_j)):

>>> print(cr.symbolic.derive("a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)", wrt="a2").course().text())
u = a1*alpha*x + a2*x*(1 - alpha)
d f / d a2 = a3*sigmoid(u)*(1 - sigmoid(u))*(1 - alpha)*x

SymPy is an optional extra (`pip install 'chainrule[symbolic]'`): importing this package never
needs it; using it without SymPy raises an ImportError that says how to install it.
"""

from __future__ import annotations

from typing import Any

from chainrule.expr.sympy_import import require_sympy as require_sympy

__all__ = [
    "CourseForm",
    "Derivation",
    "derive",
    "equivalent",
    "latex_name",
    "sigmoid",
    "symbols_for",
]


def __getattr__(name: str) -> Any:
    # Lazy, so `import chainrule` stays free of SymPy until a derivation is asked for.
    if name in ("Derivation", "derive", "equivalent", "symbols_for"):
        from chainrule.symbolic import differentiate

        return getattr(differentiate, name)
    if name == "CourseForm":
        from chainrule.symbolic import course_form

        return course_form.CourseForm
    if name == "latex_name":
        from chainrule.symbolic import latex_names

        return latex_names.latex_name
    if name == "sigmoid":
        from chainrule.symbolic import namespace

        return namespace.sigmoid
    raise AttributeError(f"module 'chainrule.symbolic' has no attribute {name!r}")
