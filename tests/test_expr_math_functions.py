"""The trig and hyperbolic primitives are callable by name in the expression language (the
CLI's check/derive/explain and the playground): values against torch, symbolic derivatives
against SymPy's own, each through chainrule's rules run on SymPy symbols."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.expr import parse

sympy = pytest.importorskip("sympy")

# name -> a point inside its domain
FUNCTIONS = {"tan": 0.7, "asin": 0.3, "acos": -0.4, "atan": 1.5, "sinh": 0.9, "cosh": -1.2,
             "asinh": 2.0, "acosh": 1.7, "atanh": 0.45}  # fmt: skip


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_value_and_gradient_match_torch(name):
    x0 = FUNCTIONS[name]
    expr = parse(f"{name}(x) * a")
    x = cr.tensor(x0, dtype=cr.float64, requires_grad=True)
    out = expr.evaluate({"x": x, "a": cr.tensor(2.0, dtype=cr.float64)})
    out.backward()
    tx = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    tout = getattr(torch, name)(tx) * 2.0
    tout.backward()
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-14)
    np.testing.assert_allclose(x.grad.item(), tx.grad.item(), rtol=1e-14)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_symbolic_derivative_equals_sympys(name):
    derivation = cr.symbolic.derive(f"{name}(a*x)", wrt="x")
    a, x = sympy.symbols("a x", real=True)
    expected = sympy.diff(getattr(sympy, name)(a * x), x)
    got = sympy.sympify(derivation.partials["x"])
    point = {a: sympy.Rational(1, 3), x: sympy.Rational(FUNCTIONS[name]).limit_denominator(100)}
    if name == "acosh":
        point = {a: sympy.Integer(2), x: sympy.Rational(9, 10)}  # a x = 1.8, inside the domain
    assert float((got - expected).subs(point)) == pytest.approx(0.0, abs=1e-12)
