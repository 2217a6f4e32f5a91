"""The symbolic backend: chainrule's own rules on SymPy expressions reproduce the seeds' closed
forms (000 Ex1-Ex3, 001 §1.1-§1.2), and `chainrule derive` prints them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import sympy

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import backend
from chainrule.cli import main
from chainrule.expr import ExpressionError, parse
from chainrule.symbolic import derive, equivalent, sigmoid
from chainrule.symbolic.namespace import NAMESPACE, expand_sigmoid

a1, a2, a3, alpha, x, y, f, o, beta = sympy.symbols("a1 a2 a3 alpha x y f o beta", real=True)
EX2 = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)"


def is_zero(value: sympy.Basic | sympy.MatrixBase) -> bool:
    """The assertion the seeds' checks use: simplify(result - expected) == 0."""
    value = expand_sigmoid(value)
    if isinstance(value, sympy.MatrixBase):
        return all(sympy.simplify(entry) == 0 for entry in value)
    return sympy.simplify(value) == 0


def vector(name: str, n: int) -> sympy.Matrix:
    return sympy.Matrix([sympy.Symbol(f"{name}_{i}", real=True) for i in range(1, n + 1)])


def matrix(name: str, rows: int, cols: int) -> sympy.Matrix:
    return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}_{i + 1}{j + 1}", real=True))


# -- the backend -----------------------------------------------------------------------------
def test_object_arrays_get_the_sympy_namespace_and_numbers_keep_numpy() -> None:
    assert backend.namespace(np.array([x, y], dtype=object)) is NAMESPACE
    assert backend.namespace(np.ones(3)) is np
    assert backend.namespace(np.float32(1)) is np
    assert backend.is_symbolic(NAMESPACE) and not backend.is_symbolic(np)
    out = NAMESPACE.exp(np.array([x, 0], dtype=object))
    assert out.dtype == object and list(out) == [sympy.exp(x), 1]
    assert NAMESPACE.maximum(np.asarray(x, dtype=object), 0).shape == ()  # 0-d stays an array


def test_numeric_sigmoid_still_uses_the_stable_form() -> None:
    t = cr.tensor([-1000.0, 0.0, 1000.0], dtype=cr.float64)
    np.testing.assert_array_equal(cr.sigmoid(t).numpy(), [0.0, 0.5, 1.0])
    assert np.isfinite(cr.softmax(cr.tensor([1000.0, 0.0]), 0).numpy()).all()


def test_the_sigmoid_function_prints_differentiates_and_expands() -> None:
    assert sigmoid(x).diff(x) == sigmoid(x) * (1 - sigmoid(x))
    assert sigmoid(0) == sympy.Rational(1, 2)
    assert sympy.latex(sigmoid(x) ** 2) == r"\sigma\left(x\right)^{2}"
    assert expand_sigmoid(sigmoid(x)) == 1 / (1 + sympy.exp(-x))
    assert float(sigmoid(1).evalf()) == pytest.approx(1 / (1 + np.exp(-1.0)), rel=1e-15)


def test_missing_sympy_gives_install_instructions(monkeypatch: pytest.MonkeyPatch) -> None:
    from chainrule import symbolic

    monkeypatch.setitem(sys.modules, "sympy", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[symbolic\]'"):
        symbolic.require_sympy()


def test_cli_derive_without_sympy_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from chainrule import symbolic

    monkeypatch.setitem(sys.modules, "sympy", None)
    for module in ("differentiate", "namespace"):  # forget the imported modules, as a fresh process
        monkeypatch.delitem(sys.modules, f"chainrule.symbolic.{module}")
        monkeypatch.delattr(symbolic, module)
    assert main(["derive", "x*y"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chainrule derive: error: chainrule.symbolic needs SymPy")
    assert "pip install 'chainrule[symbolic]'" in err


def test_importing_chainrule_does_not_import_sympy() -> None:
    code = "import sys, chainrule; assert 'sympy' not in sys.modules; chainrule.symbolic"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- seed 000 Exercise 1 ---------------------------------------------------------------------
NLL = "-(y*log(sigmoid(f)) + (1-y)*log(1-sigmoid(f)))"
CLOSED = -y * f + sympy.log(1 + sympy.exp(f))


def test_ex1_q2_the_nll_simplifies_to_the_seeds_closed_form() -> None:
    nll = parse(NLL).to_sympy()
    assert sympy.simplify(expand_sigmoid(nll) - CLOSED) == 0
    assert equivalent(nll, CLOSED)
    assert not equivalent(nll, -y * f + sympy.log(1 + sympy.exp(-f)))  # a near miss is caught
    # the function derive reports, σ written out, is the closed form
    assert sympy.simplify(derive(NLL, wrt="f", expand=True).function - CLOSED) == 0


def test_ex1_q2_derive_differentiates_both_forms_to_the_same_derivative() -> None:
    from_nll = derive(NLL, wrt="f")
    from_closed = derive("-y*f + log(1 + exp(f))", wrt="f")
    assert from_nll.partials["f"] == sigmoid(f) - y  # the Sigmoid and Log rules, simplified
    assert is_zero(from_nll.partials["f"] - from_closed.partials["f"])
    # the fused primitive's own rule gives the seed's formula directly
    fused = derive(lambda o, y: F.binary_cross_entropy_with_logits(o, y), wrt="o")
    assert fused.partials["o"] == sigmoid(o) - y
    assert fused.function == -o * y + sympy.log(sympy.exp(o) + 1)


def test_ex1_q3_gradient_with_respect_to_the_output() -> None:
    d = derive("-y*o + log(1 + exp(o))", wrt="o")
    dL_do = d.partials["o"]
    assert is_zero(dL_do - (-y + sympy.exp(o) / (1 + sympy.exp(o))))
    assert is_zero(dL_do - (sigmoid(o) - y))


def test_ex1_q3_gradients_with_respect_to_the_parameters() -> None:
    # f(x) = a2 σ(a1 x), L = -y f + log(1 + e^f)
    d = derive("-y*a2*sigmoid(a1*x) + log(1 + exp(a2*sigmoid(a1*x)))", wrt="a1,a2")
    out = a2 * sigmoid(a1 * x)
    dL_do = -y + sympy.exp(out) / (1 + sympy.exp(out))
    z2 = sigmoid(a1 * x)
    assert is_zero(d.partials["a2"] - dL_do * z2)
    assert is_zero(d.partials["a1"] - dL_do * a2 * z2 * (1 - z2) * x)
    assert not is_zero(d.partials["a1"] - dL_do * a2 * z2 * x)  # σ' is not σ


def test_ex1_as_a_function_of_tensors() -> None:
    def loss(a1, a2, x, y):
        f = a2 * cr.sigmoid(a1 * x)
        return F.binary_cross_entropy_with_logits(f, y)

    d = derive(loss, wrt=["a1", "a2"])
    s = sigmoid(a1 * x)
    dL_do = sigmoid(a2 * s) - y
    assert is_zero(d["a1"] - dL_do * a2 * s * (1 - s) * x)
    assert is_zero(d["a2"] - dL_do * s)


# -- seed 000 Exercise 2 ---------------------------------------------------------------------
def test_ex2_the_three_partials() -> None:
    d = derive(EX2, wrt="a1,a2,a3")
    u = alpha * a1 * x + (1 - alpha) * a2 * x
    s = sigmoid(u)
    assert d.partials["a3"] == s  # σ(u) kept whole, u as the forward wrote it
    assert is_zero(d.partials["a1"] - a3 * s * (1 - s) * alpha * x)
    assert is_zero(d.partials["a2"] - a3 * s * (1 - s) * (1 - alpha) * x)
    assert not is_zero(d.partials["a2"] - a3 * s * (1 - s) * alpha * x)
    assert d.function == a3 * s


@pytest.mark.parametrize(
    ("text", "partials"),
    [
        ("x*y", {"x": y, "y": x}),
        ("x+y", {"x": 1, "y": 1}),
        ("x**y", {"x": y * x ** (y - 1), "y": x**y * sympy.log(x)}),
    ],
)
def test_ex2_q1_the_primitives_partials(text: str, partials: dict) -> None:
    for simplify in (True, False):  # the rules' raw formulas already are the seed's
        d = derive(text, simplify=simplify)
        for name, expected in partials.items():
            assert is_zero(d.partials[name] - expected), (text, name, simplify)
    assert derive("x*y").partials == {"x": y, "y": x}


# -- seed 000 Exercise 3 ---------------------------------------------------------------------
def softmax(v: sympy.Matrix) -> sympy.Matrix:
    e = v.applyfunc(sympy.exp)
    return e / sum(e)


@pytest.mark.parametrize("c", [0, 1, 2])
def test_ex3_q1_cross_entropy_gradient_is_softmax_minus_onehot(c: int) -> None:
    onehot = [1 if k == c else 0 for k in range(3)]
    expected = softmax(vector("o", 3)) - sympy.Matrix(onehot)
    # the seed's L = -sum_j y_j log softmax(o)_j, with y fixed to onehot(c)
    d = derive("-sum(y*log_softmax(o))", wrt="o", shapes={"o": 3}, at={"y": onehot})
    assert d.kind == "gradient" and d.partials["o"].shape == (3, 1)
    assert is_zero(d.partials["o"] - expected)
    # and as -log softmax(o)_c, through the indexing primitive
    picked = derive(lambda o: -cr.log_softmax(o, 0)[c], wrt="o", shapes={"o": 3})
    assert is_zero(picked.partials["o"] - expected)


def test_ex3_q2_q3_gradients_of_the_two_layer_relu_network() -> None:
    # o = W2 z + b2, z = relu(W1 x + b1); g = dL/do given (Q1's softmax - onehot)
    d = derive(
        "W2@relu(W1@x + b1) + b2",
        wrt="W2,b2,W1,b1",
        shapes={"W1": (2, 2), "b1": 2, "x": 2, "W2": (2, 2), "b2": 2},
        grad_output="g",
    )
    g = vector("g", 2)
    xs = vector("x", 2)
    W1, W2 = matrix("W1", 2, 2), matrix("W2", 2, 2)
    h = W1 * xs + vector("b1", 2)
    z = h.applyfunc(lambda v: sympy.Max(v, 0))
    assert d.kind == "vjp"
    assert is_zero(d.partials["W2"] - g * z.T)  # Q2: ∇W2 = ∇o L z^T
    assert is_zero(d.partials["b2"] - g)  # Q2: ∇b2 = ∇o L
    gate = (W2.T * g).multiply_elementwise(h.applyfunc(lambda v: sympy.Heaviside(v, 0)))
    assert is_zero(d.partials["b1"] - gate)  # Q3: ∇b1 = (W2^T ∇o L) ⊙ relu'(h)
    assert is_zero(d.partials["W1"] - gate * xs.T)  # Q3: ∇W1 = ∇b1 x^T


# -- seed 001 --------------------------------------------------------------------------------
def test_001_1_1_linear_layer_vector_jacobian_product() -> None:
    shapes = {"W": (2, 2), "x": 2, "b": 2}
    g, xs = vector("g", 2), vector("x", 2)
    for fn in ("W@x + b", lambda W, x, b: F.linear(x, W, b)):
        d = derive(fn, wrt=["W", "b"], shapes=shapes, grad_output="g")
        assert d.upstream == g
        assert d.partials["W"] == g * xs.T  # dL/dW = (dL/dy) x^T
        assert d.partials["b"] == g  # dL/db = dL/dy


def test_001_1_2_softmax_jacobian() -> None:
    d = derive("softmax(beta*x)", wrt="x", shapes={"x": 3})
    J = d.partials["x"]
    assert d.kind == "jacobian" and J.shape == (3, 3)
    assert d.text().splitlines()[-1] == "(Jacobian: entry [j, i] is d f_j / d x_i)"
    p = softmax(beta * vector("x", 3))
    for j in range(3):
        for i in range(3):
            delta = 1 if i == j else 0
            assert is_zero(J[j, i] - beta * p[i] * (delta - p[j])), (j, i)
    assert not is_zero(J[0, 1] - beta * p[0] * (1 - p[1]))
    # the fused primitive's own beta gives the same Jacobian
    fused = derive(lambda x, beta: F.softmax(x, beta=beta), wrt="x", shapes={"x": 3})
    assert is_zero(fused.partials["x"] - J)


# -- derive's options and printout -----------------------------------------------------------
def test_at_fixes_constants_before_and_substitutes_wrt_values_after() -> None:
    d = derive(EX2, wrt="a1", at={"alpha": 0.5, "a1": 2})
    s = sigmoid(x + a2 * x / 2)
    assert "alpha" not in d.symbols and "a1" in d.symbols
    assert is_zero(d.partials["a1"] - a3 * s * (1 - s) * x / 2)
    assert d.partials["a1"].atoms(sympy.Float) == set()  # 0.5 became exactly 1/2


def test_exact_numbers_and_no_float_leftovers() -> None:
    d = derive("sqrt(x)*mean(v) + 0.1*x", wrt="x", shapes={"v": 2})
    v = vector("v", 2)
    expected = (v[0] + v[1]) / (4 * sympy.sqrt(x)) + sympy.Rational(1, 10)
    assert is_zero(d.partials["x"] - expected)
    assert d.partials["x"].atoms(sympy.Float) == set()


def test_relu_gives_a_step_function() -> None:
    d = derive("relu(w*x)", wrt="w")
    assert d.partials["w"] == x * sympy.Heaviside(sympy.Symbol("w", real=True) * x, 0)


def test_comparisons_cannot_run_symbolically_and_say_why() -> None:
    with pytest.raises(ExpressionError, match="symbols have no order") as info:
        derive("max(v)", shapes={"v": 3})
    assert info.value.column == 1
    with pytest.raises(ValueError, match="symbols have no order"):
        derive(lambda a, b: cr.maximum(a, b))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="'q' is not a variable of the function"):
        derive("x*y", wrt="q")
    with pytest.raises(ExpressionError, match="unknown function 'open'"):
        derive("open(x)")
    with pytest.raises(ValueError, match="at names 'z', not a variable"):
        derive("x*y", at={"z": 1})
    with pytest.raises(ValueError, match="shapes names 'z', not a variable"):
        derive("x*y", shapes={"z": 3})
    with pytest.raises(TypeError, match="expected an expression or a function"):
        derive(3)  # type: ignore[arg-type]


def test_unused_and_constant_outputs_give_zero_partials() -> None:
    assert derive("x*x + 0*y", wrt="x,y").partials["y"] == 0
    d = derive(lambda x, y: x * 2, wrt="y")
    assert d.partials["y"] == 0


def test_text_latex_and_str() -> None:
    d = derive(EX2, wrt="a1,a3")
    lines = d.text().splitlines()
    assert [line.split(" = ")[0] for line in lines] == ["d f / d a1", "d f / d a3"]
    assert lines[1] == f"d f / d a3 = {sigmoid(alpha * a1 * x + (1 - alpha) * a2 * x)}"
    latex = d.latex().splitlines()
    assert latex[0].startswith(r"\frac{\partial f}{\partial a_{1}} = ")
    assert r"\sigma\left(" in latex[0] and r"\alpha" in latex[0]
    assert str(d).splitlines()[0] == f"f = {d.function}"
    assert d._repr_latex_().startswith(r"$$\begin{aligned}")
    assert derive(NLL, wrt="f").text().startswith("d L / d f = ")  # f is taken: the loss is L


# -- the CLI ---------------------------------------------------------------------------------
def rhs(line: str) -> sympy.Basic:
    names = {str(s): s for s in (a1, a2, a3, alpha, x, y, f, o, beta)}
    return sympy.sympify(line.split(" = ", 1)[1], locals={**names, "sigmoid": sigmoid})


def test_cli_derive_seed_expression_starting_with_minus(capsys: pytest.CaptureFixture) -> None:
    assert main(["derive", "-y*f + log(1 + exp(f))", "--wrt", "f"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("d L / d f = ")
    assert is_zero(rhs(line) - (sigmoid(f) - y))


def test_cli_derive_prints_one_partial_per_line(capsys: pytest.CaptureFixture) -> None:
    assert main(["derive", EX2, "--wrt", "a1,a2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("d f / d a1 = ") and lines[1].startswith("d f / d a2 = ")
    s = sigmoid(alpha * a1 * x + (1 - alpha) * a2 * x)
    assert is_zero(rhs(lines[0]) - a3 * s * (1 - s) * alpha * x)
    assert is_zero(rhs(lines[1]) - a3 * s * (1 - s) * (1 - alpha) * x)


def test_cli_derive_latex_vectors_and_at(capsys: pytest.CaptureFixture) -> None:
    assert main(["derive", "x**y", "--latex"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        r"\frac{\partial f}{\partial x} = x^{y - 1} y",
        r"\frac{\partial f}{\partial y} = x^{y} \log{\left(x \right)}",
    ]
    args = ["derive", "--wrt", "o", "--shape", "o=3", "--at", "y=[0,0,1]", "--"]
    assert main([*args, "-sum(y*log_softmax(o))"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("d f / d o = Matrix(")
    names = {f"o_{i}": sympy.Symbol(f"o_{i}", real=True) for i in (1, 2, 3)}
    got = sympy.sympify(line.split(" = ", 1)[1], locals=names)
    assert is_zero(got - (softmax(vector("o", 3)) - sympy.Matrix([0, 0, 1])))
    args = ["derive", "W@x+b", "--shape", "W=[2,2],x=2,b=2", "--wrt", "W,b", "--grad-output", "g"]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "d L / d W = Matrix([[g_1*x_1, g_1*x_2], [g_2*x_1, g_2*x_2]])"
    assert out[2] == "d L / d b = Matrix([[g_1], [g_2]])"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["derive", "open('x')"], "unknown function 'open' at column 1"),
        (["derive", "a*x.real"], "attribute access '.real' is not allowed at column 4"),
        (["derive", "x*y", "--wrt", "q"], "'q' is not a variable of the function"),
        (["derive", "x*y", "--wrt", "x,,y"], "'' is not a variable name at column 3"),
        (["derive", "x*y", "--at", "y=two"], "'two' is not a number"),
        (["derive", "sum(v)", "--shape", "v=0"], "sizes must be positive integers"),
        (["derive", "max(v)", "--shape", "v=2"], "symbols have no order"),
    ],
)
def test_cli_derive_errors_exit_2_with_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("chainrule derive: error: ") and message in first


def test_cli_derive_caret_points_at_the_token(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["derive", "a3*sigmoid(x) + open(x)"])
    lines = capsys.readouterr().err.splitlines()
    assert lines[1:] == ["  a3*sigmoid(x) + open(x)", "                  ^"]
