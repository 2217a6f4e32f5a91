"""A primitive is declared once: its class holds the rule, whether it is elementwise and its
expression name, and every list of primitives (ledger rules, the elementwise set, the expression
language, the coverage tests) is read from the registry.

The last tests define a throwaway log1p primitive (named so that it never meets a real one)
and check that it reaches the ledger, the expression language, symbolic derivation and the
coverage test with no other edit.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops
from chainrule.backend import namespace
from chainrule.expr import FUNCTIONS, parse
from chainrule.expr.functions import COMPOSED, chainrule_functions, sympy_functions
from chainrule.primitives import PRIMITIVES, REGISTRY, ExprFunction, Primitive, Rule, dual
from chainrule.primitives.base import input_names
from chainrule.primitives.rules import D
from chainrule.viz.recording import ELEMENTWISE
from chainrule.viz.rules import RULES, partial_for

NAMED = {"exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs"}


def test_every_primitive_declares_a_rule_for_its_own_inputs() -> None:
    assert len(REGISTRY) >= 40 and list(PRIMITIVES) == list(REGISTRY.values())
    for p in PRIMITIVES:
        rule = p.__dict__["rule"]  # its own rule, not one inherited from a shared base
        assert isinstance(rule, Rule) and rule.words and rule.forward and rule.latex
        assert rule.partials, p.__name__
        assert set(rule.partials) <= set(input_names(p)), p.__name__
        # the docstring's first line is made from the rule: the derivative is written once
        assert inspect.getdoc(p).splitlines()[0] == rule.summary(), p.__name__
        assert rule.summary().startswith(rule.forward + ";  ")


def test_the_views_are_exactly_the_registry() -> None:
    assert dict(RULES) == {name: p.rule for name, p in REGISTRY.items()}
    assert RULES["Pow"].partials["b"][0] == "d a^b/db = a^b ln a"
    assert set(ELEMENTWISE) == {name for name, p in REGISTRY.items() if p.elementwise}
    assert set(ELEMENTWISE) >= {
        "Neg", "Exp", "Log", "Sqrt", "Sin", "Cos", "Tanh", "Sigmoid", "Relu", "Abs", "Clamp",
        "Cast", "Add", "Sub", "Mul", "Div", "Pow", "Maximum", "Minimum", "Where",
    }  # fmt: skip
    assert "Sum" not in ELEMENTWISE and "Matmul" not in ELEMENTWISE and "nope" not in ELEMENTWISE
    named = {p.expr.name for p in REGISTRY.values() if p.expr is not None}
    assert named >= NAMED
    assert set(FUNCTIONS) == named | set(COMPOSED)
    assert set(chainrule_functions()) == set(FUNCTIONS) == set(sympy_functions())


def test_named_primitives_compute_what_sympy_says() -> None:
    sympy = pytest.importorskip("sympy")
    x = sympy.Symbol("x", real=True)
    for p in REGISTRY.values():
        if p.expr is None:
            continue
        value = 1.7 if p.expr.name == "acosh" else 0.7  # inside every function's domain
        got = chainrule_functions()[p.expr.name](cr.tensor(value, dtype=cr.float64)).item()
        want = float(sympy_functions()[p.expr.name](x).subs(x, value))
        assert got == pytest.approx(want, rel=1e-12), p.__name__


# -- registration refuses declarations that do not fit forward ---------------------------------


def _forward(ctx: Any, x: Any) -> Any:
    return x


def _backward(ctx: Any, g: Any) -> Any:
    return g


def _define(name: str, **body: Any) -> type:
    body = {"forward": staticmethod(_forward), "backward": staticmethod(_backward), **body}
    return type(name, (Primitive,), body)


def test_a_primitive_without_a_rule_is_refused() -> None:
    with pytest.raises(TypeError, match=r"primitive NoRule: declare its derivative as `rule = "):
        _define("NoRule")
    assert "NoRule" not in REGISTRY


def test_a_partial_for_an_input_forward_does_not_take_is_refused() -> None:
    bad = Rule("w", "y = x", "y = x", z=("dy/dz = 1", "1"))
    with pytest.raises(TypeError, match=r"WrongInput: the rule has a partial for 'z', but forward"):
        _define("WrongInput", rule=bad)
    with pytest.raises(TypeError, match="NoPartial: its rule states no partial"):
        _define("NoPartial", rule=Rule("w", "y = x", "y = x"))
    assert "WrongInput" not in REGISTRY and "NoPartial" not in REGISTRY


def test_an_expression_name_needs_an_elementwise_primitive_and_a_free_name() -> None:
    rule = Rule("w", "y = x", "y = x", x=("dy/dx = 1", "1"))
    with pytest.raises(TypeError, match="NotElementwise: only an elementwise primitive"):
        _define("NotElementwise", rule=rule, expr=ExprFunction("ident", sympy="x"))
    with pytest.raises(TypeError, match="TakenName: the expression name 'exp' is taken by Exp"):
        _define("TakenName", rule=rule, elementwise=True, expr=ExprFunction("exp", sympy="exp"))
    with pytest.raises(TypeError, match="primitive Exp is defined twice"):
        _define("Exp", rule=rule)
    assert REGISTRY["Exp"] is cr.primitives.elementwise.Exp


# -- a new primitive appears everywhere with no other edit -------------------------------------


@pytest.fixture
def throwaway() -> Iterator[type[Primitive]]:
    class ThrowawayLog1p(Primitive):
        elementwise = True
        expr = ExprFunction("throwaway_log1p", sympy="log(1 + x)")
        rule = Rule(
            "the slope of ln(1 + x) is the reciprocal of 1 + x",
            "y = ln(1 + x)",
            r"y = \ln(1 + x)",
            x=("d ln(1+x)/dx = 1/(1 + x)", D % "x" + r" = \frac{1}{1 + x}"),
        )

        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            xp = namespace(x)
            with dual._quiet(xp):
                return xp.log1p(x)

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            return g / (1 + x)

    assert REGISTRY["ThrowawayLog1p"] is ThrowawayLog1p
    try:
        yield ThrowawayLog1p
    finally:
        del REGISTRY["ThrowawayLog1p"]  # the registry is the only place that knows of it
    assert (
        "ThrowawayLog1p" not in RULES
        and "throwaway_log1p" not in FUNCTIONS
        and "ThrowawayLog1p" not in ELEMENTWISE
    )


def test_a_new_primitive_is_in_every_list(throwaway: type[Primitive]) -> None:
    assert throwaway in PRIMITIVES and throwaway in ops.PRIMITIVES
    assert RULES["ThrowawayLog1p"] is throwaway.rule and "ThrowawayLog1p" in ELEMENTWISE
    assert FUNCTIONS["throwaway_log1p"].nargs == (1, 1)
    assert inspect.getdoc(throwaway).splitlines()[0] == "y = ln(1 + x);  d ln(1+x)/dx = 1/(1 + x)"
    assert partial_for(throwaway, 0) == throwaway.rule.partials["x"]


def test_a_new_primitive_is_explained(throwaway: type[Primitive]) -> None:
    x = cr.tensor([0.5, 3.0], dtype=cr.float64, requires_grad=True)
    with cr.viz.record():
        loss = throwaway.apply(x).sum()
    ledger = cr.explain(loss, {"x": x})
    (row,) = [r for r in ledger.rows if r.op == "ThrowawayLog1p"]
    assert row.words == throwaway.rule.words
    np.testing.assert_allclose(np.ravel(row.terms[0].local), [1 / 1.5, 1 / 4.0])
    assert ("ThrowawayLog1p", throwaway.rule.words, "y = ln(1 + x)") in ledger.rules()
    assert "d ln(1+x)/dx = 1/(1 + x)" in ledger.table()


def test_a_new_primitive_is_callable_in_expressions(throwaway: type[Primitive]) -> None:
    x = cr.tensor(1.0, dtype=cr.float64, requires_grad=True)
    y = parse("2*throwaway_log1p(x)").evaluate({"x": x})
    y.backward()
    assert y.item() == pytest.approx(2 * np.log(2.0)) and x.grad.item() == pytest.approx(1.0)
    sympy = pytest.importorskip("sympy")
    s = sympy.Symbol("x", real=True)
    assert parse("throwaway_log1p(x)").to_sympy() == sympy.log(1 + s)
    derivation = cr.symbolic.derive("throwaway_log1p(x)", wrt="x")  # the rule table, run on SymPy
    assert sympy.simplify(derivation.partials["x"] - 1 / (1 + s)) == 0


def test_a_new_primitive_fails_the_coverage_test_until_it_has_a_case(
    throwaway: type[Primitive],
) -> None:
    import test_ops_oracle  # tests/ is on sys.path (conftest.py)

    with pytest.raises(AssertionError, match=r"no case records \['ThrowawayLog1p'\]"):
        test_ops_oracle.test_every_primitive_is_recorded_by_some_case()
