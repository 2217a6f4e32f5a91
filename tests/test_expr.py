"""The safe expression parser: whitelist, error messages that point at the token, evaluation
through chainrule ops (values and gradients), SymPy conversion, and the --at/--wrt helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.expr import (
    FUNCTIONS,
    ExpressionError,
    parse,
    parse_assignments,
    parse_names,
)

EX2 = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)"
LSE_123 = math.log(math.exp(1) + math.exp(2) + math.exp(3))


def rejected(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    return info.value


def caret_column(error: ExpressionError) -> int:
    """The 1-based column the caret line points at (both lines are indented by two spaces)."""
    lines = str(error).splitlines()
    assert len(lines) == 3
    assert lines[1] == "  " + error.text
    return lines[2].index("^") - 2 + 1


# -- the whitelist ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("__import__('os')", "unknown function '__import__'", 1),
        ("open('x')", "unknown function 'open'", 1),
        ("x + eval('1')", "unknown function 'eval'", 5),
        ("x.real + 1", "attribute access '.real' is not allowed", 2),
        ("exp(x).__class__", "attribute access '.__class__' is not allowed", 7),
        ("os.system('ls')", "attribute access '.system' is not allowed", 3),
        ("x[i]", "subscripts ('[...]') are not allowed", 2),
        ("2 * x[1:3]", "subscripts ('[...]') are not allowed", 6),
        ("lambda: 1", "lambda is not allowed", 1),
        ("y + (lambda q: q)(x)", "only named functions can be called", 5),
        ("[x for x in y]", "list comprehensions are not allowed", 1),
        ("sum(q for q in x)", "generator expressions are not allowed", 4),
        ("{x: 1}", "dicts are not allowed", 1),
        ("x < y", "comparisons are not allowed", 1),
        ("x if y else z", "conditional expressions are not allowed", 1),
        ("x and y", "'and' and 'or' are not allowed", 1),
        ("(x, y)", "tuples are not allowed", 1),
        ("x // 2", "operator '//' is not allowed", 3),
        ("x % 2", "operator '%' is not allowed", 3),
        ("~x", "operator '~' is not allowed", 1),
        ("'x' * 2", "string 'x' is not allowed", 1),
        ("2j * x", "complex number 2j is not allowed", 1),
        ("True + x", "constant True is not allowed", 1),
        ("exp + 1", "'exp' is a function: call it as exp(...)", 1),
        ("__builtins__ * 2", "name '__builtins__' is not allowed", 1),
        ("exp(x, y)", "exp takes 1 argument, got 2", 1),
        ("max()", "max takes 1 or 2 arguments, got 0", 1),
        ("softmax(x, temperature=2)", "unknown keyword 'temperature' for softmax", 12),
        ("exp(x, dim=0)", "unknown keyword 'dim' for exp", 8),
        ("sum(x, **opts)", "unknown keyword '**' for sum", 8),
        ("sum(x, dim=k)", "sum: dim must be an integer", 12),
        ("exp(*x)", "starred arguments are not allowed", 5),
        ("x +* 2", "invalid expression: invalid syntax", 4),
        ("sigmoid(x", "invalid expression: '(' was never closed", 8),
        ("x = 1", "invalid expression", 3),
        ("9**9**9", "number too large", 2),
        ("x * 10.0**400", "number too large", 9),
    ],
)
def test_rejected_expressions_name_the_token_and_its_column(
    text: str, message: str, column: int
) -> None:
    error = rejected(text)
    assert isinstance(error, ValueError)
    assert error.message.startswith(message), error.message
    assert error.column == column
    assert error.summary.startswith(f"{message}")
    assert f"at column {column}" in error.summary
    assert "\n" not in error.summary  # the first line says it all
    assert caret_column(error) == column


def test_unknown_function_message_matches_the_issue_and_lists_the_allowed_ones() -> None:
    error = rejected("open('secrets.txt')")
    assert error.summary.startswith("unknown function 'open' at column 1 (allowed: abs, acos,")
    assert all(name in error.hint for name in FUNCTIONS)
    assert str(error).splitlines()[2] == "  ^"


def test_columns_count_characters_not_bytes() -> None:
    # ast reports UTF-8 byte offsets: 'α' and 'β' are two bytes each, one column each
    error = rejected("αβ + q.x")
    assert error.column == 7
    assert caret_column(error) == 7


def test_leading_blanks_do_not_shift_columns_or_break_parsing() -> None:
    assert parse("   x * y  ").names == ("x", "y")
    error = rejected("   open(1)")
    assert error.column == 1 and error.text == "open(1)"


def test_multiline_errors_name_the_line() -> None:
    error = rejected("(x +\n open(y))")
    assert error.line == 2 and error.column == 2
    assert "at column 2 of line 2" in error.summary
    assert str(error).splitlines()[1] == "   open(y))"


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty expression"), ("   ", "empty expression"), ("x" * 10_001, "too long")],
)
def test_empty_and_overlong_expressions(text: str, message: str) -> None:
    assert message in rejected(text).message


def test_deep_nesting_is_an_expression_error_not_a_crash() -> None:
    with pytest.raises(ExpressionError, match=r"nested too deeply|too many nested"):
        parse("(" * 300 + "x" + ")" * 300)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("x" + "+x" * 4999)


def test_parse_refuses_non_strings() -> None:
    with pytest.raises(TypeError, match="expected a string"):
        parse(3)  # type: ignore[arg-type]


# -- names -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "names"),
    [
        (EX2, ("a3", "alpha", "a1", "x", "a2")),
        ("-y*f + log(1 + exp(f))", ("y", "f")),
        ("x**y", ("x", "y")),
        ("softmax(beta*x)", ("beta", "x")),
        ("softmax(x, beta=b, dim=0)", ("x", "b")),
        ("2 + 3", ()),
        ("-(y*log(sigmoid(f)) + (1-y)*log(1-sigmoid(f)))", ("y", "f")),
    ],
)
def test_names_are_the_free_variables_in_order_of_first_appearance(text: str, names: tuple) -> None:
    assert parse(text).names == names


# -- evaluation ------------------------------------------------------------------------------
def f64(value: float, grad: bool = True) -> cr.Tensor:
    return cr.tensor(value, dtype=cr.float64, requires_grad=grad)


def test_evaluate_matches_the_same_computation_written_with_chainrule() -> None:
    values = {"a1": 0.5, "a2": -1.25, "a3": 2.0, "alpha": 0.3, "x": 1.5}
    env = {k: f64(v) for k, v in values.items()}
    direct = {k: f64(v) for k, v in values.items()}
    f = parse(EX2).evaluate(env)
    a1, a2, a3, alpha, x = (direct[k] for k in ("a1", "a2", "a3", "alpha", "x"))
    g = a3 * cr.sigmoid(alpha * a1 * x + (1 - alpha) * a2 * x)
    f.backward()
    g.backward()
    assert f.dtype == cr.float64
    assert f.item() == g.item()
    for k in values:
        assert env[k].grad.item() == direct[k].grad.item(), k


def test_evaluate_gradients_are_seed_000_ex2s_closed_forms() -> None:
    a1, a2, a3, alpha, x = 0.5, -1.25, 2.0, 0.3, 1.5
    env = {"a1": f64(a1), "a2": f64(a2), "a3": f64(a3), "alpha": alpha, "x": x}
    parse(EX2).evaluate(env).backward()
    s = 1 / (1 + math.exp(-(alpha * a1 * x + (1 - alpha) * a2 * x)))
    assert env["a1"].grad.item() == pytest.approx(a3 * s * (1 - s) * alpha * x, rel=1e-12)
    assert env["a2"].grad.item() == pytest.approx(a3 * s * (1 - s) * (1 - alpha) * x, rel=1e-12)
    assert env["a3"].grad.item() == pytest.approx(s, rel=1e-12)


def test_evaluate_power_rule_partials_of_seed_000_ex2_q1() -> None:
    x, y = f64(1.7), f64(0.6)
    parse("x**y").evaluate({"x": x, "y": y}).backward()
    assert x.grad.item() == pytest.approx(0.6 * 1.7 ** (0.6 - 1), rel=1e-12)
    assert y.grad.item() == pytest.approx(1.7**0.6 * math.log(1.7), rel=1e-12)


def test_evaluate_softmax_with_temperature_keyword_and_variable_beta() -> None:
    data = np.array([0.3, -1.2, 2.0])
    x = cr.tensor(data, requires_grad=True)
    beta = f64(1.5)
    p = parse("softmax(beta*x)").evaluate({"beta": beta, "x": x})
    q = parse("softmax(x, beta=1.5)").evaluate({"x": cr.tensor(data)})
    r = parse("softmax(x, beta=b)").evaluate({"x": cr.tensor(data), "b": 1.5})
    expected = np.exp(1.5 * data) / np.exp(1.5 * data).sum()
    for t in (p, q, r):
        np.testing.assert_allclose(t.detach().numpy(), expected, rtol=1e-12)
    # a Tensor temperature gets its own gradient: d p_0 / d beta = p_0 (x_0 - sum_k p_k x_k)
    b = f64(1.5)
    parse("softmax(x, beta=b)").evaluate({"x": cr.tensor(data), "b": b})[0].backward()
    assert b.grad.item() == pytest.approx(expected[0] * (data[0] - expected @ data), rel=1e-12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sum(v)", 6.0),
        ("mean(v)", 2.0),
        ("max(v)", 3.0),
        ("min(v)", 1.0),
        ("sum(max(v, 2))", 7.0),
        ("sum(min(v, 2))", 5.0),
        ("logsumexp(v)", LSE_123),
        ("sum(log_softmax(v))", 6.0 - 3 * LSE_123),
        ("sum(relu(v - 2) + abs(-v))", 7.0),
        ("sqrt(4) + exp(0) + log(1) + tanh(0) + sin(0) + cos(0)", 4.0),
        ("2*3 - 1/4 + -2**2", 1.75),
    ],
)
def test_evaluate_functions_and_reductions(text: str, expected: float) -> None:
    v = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)
    assert parse(text).evaluate({"v": v}).item() == pytest.approx(expected, rel=1e-12)


def test_reductions_take_dim() -> None:
    m = cr.tensor([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(parse("sum(m, dim=0)").evaluate({"m": m}).numpy(), [4.0, 7.0])
    np.testing.assert_allclose(parse("max(m, dim=-1)").evaluate({"m": m}).numpy(), [2.0, 5.0])
    p = parse("softmax(m, dim=0)").evaluate({"m": m}).numpy()
    np.testing.assert_allclose(p.sum(axis=0), [1.0, 1.0], rtol=1e-6)


def test_matmul_operator_and_gradients() -> None:
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x = cr.tensor([0.5, -1.0])
    b = cr.tensor([0.1, 0.2], requires_grad=True)
    y = parse("W@x + b").evaluate({"W": w, "x": x, "b": b})
    y.backward(cr.tensor([1.0, -2.0]))
    np.testing.assert_allclose(w.grad.numpy(), [[0.5, -1.0], [-1.0, 2.0]])  # g x^T
    np.testing.assert_allclose(b.grad.numpy(), [1.0, -2.0])


def test_numbers_follow_tensor_semantics_and_keep_the_default_dtype() -> None:
    assert math.isinf(parse("1/0").evaluate({}).item())
    out = parse("2*3").evaluate({})
    assert isinstance(out, cr.Tensor) and out.dtype == cr.float32 and out.item() == 6.0
    # Python numbers stay weak: a float32 variable stays float32
    assert parse("0.1*x + 1/3").evaluate({"x": cr.tensor(1.0)}).dtype == cr.float32
    # constant folding is done in double precision, not in the tensors' float32
    x = f64(1.0)
    assert parse("(1 - 0.1)*x").evaluate({"x": x}).item() == (1 - 0.1) * 1.0


def test_evaluate_with_replaced_functions_and_constants() -> None:
    x = cr.tensor(2.0)
    doubled = parse("exp(x)").evaluate({"x": x}, functions={"exp": lambda t: t * 2})
    assert doubled.item() == 4.0
    seen = []
    parse("x + 3 * 0.5").evaluate({"x": x}, constant=lambda v: seen.append(v) or v)
    assert seen == [3, 0.5]


def test_missing_names_and_shape_errors_point_at_the_token() -> None:
    with pytest.raises(ExpressionError) as info:
        parse("a + b*c").evaluate({"a": 1.0, "b": 2.0})
    assert info.value.summary == "no value given for 'c' at column 7"
    with pytest.raises(ExpressionError) as info:
        parse("u + v").evaluate({"u": cr.zeros(3), "v": cr.zeros(4)})
    error = info.value
    assert error.column == 3 and "cannot be broadcast" in error.message
    with pytest.raises(ExpressionError) as info:
        parse("1 + exp(u @ v)").evaluate({"u": cr.zeros(3), "v": cr.zeros(4)})
    assert info.value.column == 11 and "do not align" in info.value.message


# -- SymPy -----------------------------------------------------------------------------------
def test_to_sympy_builds_the_same_formula() -> None:
    import sympy

    from chainrule.symbolic import sigmoid

    a1, a2, a3, alpha, x = sympy.symbols("a1 a2 a3 alpha x", real=True)
    expected = a3 * sigmoid(alpha * a1 * x + (1 - alpha) * a2 * x)
    assert parse(EX2).to_sympy() == expected
    z = sympy.Symbol("z")
    assert (
        parse("x**y + 0.5").to_sympy({"x": z}) == z ** sympy.Symbol("y", real=True) + sympy.S.Half
    )
    v = sympy.Matrix(sympy.symbols("v1:4"))
    p = parse("softmax(v)").to_sympy({"v": v})
    total = sum(sympy.exp(e) for e in v)
    assert sympy.simplify(p - v.applyfunc(sympy.exp) / total) == sympy.zeros(3, 1)
    assert parse("sum(v*v)").to_sympy({"v": v}) == sum(e**2 for e in v)


# -- --at and --wrt --------------------------------------------------------------------------
def test_parse_assignments_and_names() -> None:
    assert parse_assignments("a1=0.5, x=1.5,y=[0,1,0],W=[[1,2],[3,4]]") == {
        "a1": 0.5,
        "x": 1.5,
        "y": [0, 1, 0],
        "W": [[1, 2], [3, 4]],
    }
    assert parse_assignments("n=-3e-2") == {"n": -0.03}
    assert parse_names("a1, a2,alpha") == ["a1", "a2", "alpha"]


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("a1=0.5,x", "expected NAME=VALUE, got 'x'", 8),
        ("a1=0.5,x=__import__('os')", "'__import__('os')' is not a number", 10),
        ("1a=2", "'1a' is not a variable name", 1),
        ("y=[0,'a']", "is not a number or a [list] of numbers", 3),
        ("y=[]", "is not a number or a [list] of numbers", 3),
    ],
)
def test_parse_assignments_errors(text: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_assignments(text)
    assert message in info.value.message and info.value.column == column


def test_parse_names_errors() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_names("a1,a 2")
    assert info.value.summary == "'a 2' is not a variable name at column 4"
