"""Symbolic results in the course's form (issue 10): σ's argument named, the course's signs,
"in terms of" p for softmax (001 §1.2, 000 Ex3 Q1), and LaTeX names as the course writes them."""

from __future__ import annotations

import pytest
import sympy

import chainrule as cr
from chainrule.symbolic import derive, sigmoid
from chainrule.symbolic.course_form import course_latex, course_signs, course_text
from chainrule.symbolic.latex_names import latex_name
from chainrule.symbolic.namespace import expand_sigmoid

a1, a2, a3, alpha, x, beta, u = sympy.symbols("a1 a2 a3 alpha x beta u", real=True)
EX2 = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)"
U = alpha * a1 * x + (1 - alpha) * a2 * x


def is_zero(value: sympy.Basic) -> bool:
    return sympy.simplify(expand_sigmoid(value)) == 0


def vector(name: str, n: int) -> list[sympy.Symbol]:
    return [sympy.Symbol(f"{name}_{k}", real=True) for k in range(1, n + 1)]


def softmax(v: list[sympy.Basic]) -> list[sympy.Basic]:
    e = [sympy.exp(t) for t in v]
    return [t / sum(e) for t in e]


# -- 1. named intermediates and the course's signs (000 Ex2) ---------------------------------
def test_ex2_in_the_course_form_names_u_and_fixes_both_signs() -> None:
    d = derive(EX2, wrt="a1,a2,a3")
    s = sigmoid(u)
    course = {
        "a1": a3 * s * (1 - s) * alpha * x,
        "a2": a3 * s * (1 - s) * (1 - alpha) * x,
        "a3": s,
    }
    c = d.course()
    assert c.names == {"u": d.partials["a3"].args[0]}
    for v, expected in course.items():
        # the same tree as the course's formula (signs included), simplified or not ...
        assert c.partials[v] == expected, v
        assert course_signs(sympy.factor(sympy.simplify(c.partials[v]))) == expected, v
        # ... and the same value as backprop's raw derivative
        assert is_zero(c.partials[v].subs(u, U) - d.partials[v]), v
    # what derive gave before: both signs flipped (alpha - 1)(σ(u) - 1), a different tree
    assert d.partials["a2"].subs(U, u) != course["a2"]
    assert c.text().splitlines() == [
        "u = a1*alpha*x + a2*x*(1 - alpha)",
        "d f / d a1 = a3*sigmoid(u)*(1 - sigmoid(u))*alpha*x",
        "d f / d a2 = a3*sigmoid(u)*(1 - sigmoid(u))*(1 - alpha)*x",
        "d f / d a3 = sigmoid(u)",
    ]
    assert c.latex().splitlines()[2] == (
        r"\frac{\partial f}{\partial a_{2}} = a_{3} \sigma\left(u\right) "
        r"\left(1 - \sigma\left(u\right)\right) \left(1 - \alpha\right) x"
    )


def test_ex2_with_a_name_of_ones_own_for_the_argument_or_for_sigma() -> None:
    d = derive(EX2, wrt="a2", in_terms_of={"h": "alpha*a1*x + (1-alpha)*a2*x"})
    c = d.course()
    assert c.text().splitlines() == [
        "h = alpha*a1*x + (1-alpha)*a2*x",
        "d f / d a2 = a3*sigmoid(h)*(1 - sigmoid(h))*(1 - alpha)*x",
    ]
    s = sympy.Symbol("s", real=True)
    named = d.course(in_terms_of={"s": "sigmoid(alpha*a1*x + (1-alpha)*a2*x)"})
    assert named.partials["a2"] == a3 * s * (1 - s) * (1 - alpha) * x
    assert named.formula("a2") == "a3*s*(1 - s)*(1 - alpha)*x"


def test_the_course_signs_rule() -> None:
    s, p, pj, delta = sympy.symbols("s p_i p_j delta_ij", real=True)
    assert course_signs((alpha - 1) * (s - 1) * x) == (1 - alpha) * (1 - s) * x
    assert course_signs(-beta * p * (pj - delta)) == beta * p * (delta - pj)
    assert course_signs(-(alpha - 1) * x) == (1 - alpha) * x
    # factors in the order the function writes them (SymPy's own order without one)
    assert course_text((1 - alpha) * x, order="alpha*x") == "(1 - alpha)*x"
    assert course_text((1 - alpha) * x) == "x*(1 - alpha)"
    assert course_text(p - delta) == "p_i - delta_ij"  # positive terms first


def test_quotients_print_with_one_bar_and_sigma_of_a_product_keeps_its_argument() -> None:
    b, c = sympy.symbols("b c", real=True)
    assert course_text(-3 * alpha / (2 * b * (c + 1))) == "-3*alpha/(2*b*(1 + c))"
    assert course_text(alpha / (c + 1)) == "alpha/(1 + c)"
    latex = course_latex(-3 * alpha / (2 * b * (c + 1)))
    assert latex == r"-\frac{3 \alpha}{2 b \left(1 + c\right)}"
    assert course_latex(alpha / (c + 1)) == r"\frac{\alpha}{1 + c}"
    # 000 Ex1: σ(a1 x) is short, so it is not renamed (only a sum is)
    d = derive("a2*sigmoid(a1*x)", wrt="a1")
    assert d.course().text() == "d f / d a1 = a2*sigmoid(a1*x)*(1 - sigmoid(a1*x))*x"


# -- 2. "in terms of" p (001 §1.2, 000 Ex3 Q1) -----------------------------------------------
def test_001_1_2_softmax_jacobian_in_terms_of_p() -> None:
    d = derive("softmax(beta*x)", wrt="x", shapes={"x": 3}, in_terms_of={"p": "softmax(beta*x)"})
    c = d.course()
    assert c.formula("x") == "beta*p_i*(delta_ij - p_j)"
    assert c.text().splitlines() == [
        "p = softmax(beta*x)",
        "d f_j / d x_i = beta*p_i*(delta_ij - p_j)",
    ]
    assert c.latex().splitlines() == [
        r"p = \operatorname{softmax}\left(\beta x\right)",
        r"\frac{\partial f_{j}}{\partial x_{i}} = \beta p_{i} \left(\delta_{ij} - p_{j}\right)",
    ]
    # the index formula is every entry of the Jacobian backprop built
    pi, pj, delta = sympy.symbols("p_i p_j delta_ij", real=True)
    probabilities = softmax([beta * t for t in vector("x", 3)])
    for j in range(3):
        for i in range(3):
            entry = c.partials["x"].subs(
                {pi: probabilities[i], pj: probabilities[j], delta: int(i == j)}
            )
            assert is_zero(entry - d.partials["x"][j, i]), (j, i)
    assert "p" not in derive("softmax(beta*x)", wrt="x", shapes={"x": 3}).course().names


@pytest.mark.parametrize("c", [0, 1, 2])
def test_ex3_q1_gradient_in_terms_of_p_is_p_minus_the_one_hot(c: int) -> None:
    onehot = [int(k == c) for k in range(3)]
    d = derive("-sum(y*log_softmax(o))", wrt="o", shapes={"o": 3}, at={"y": onehot})
    course = d.course(in_terms_of={"p": "softmax(o)"})
    assert course.formula("o") == "p_i - delta_ic"
    assert course.special == {"o": c + 1}
    assert course.text().splitlines()[-1] == f"d f / d o_i = p_i - delta_ic  (c = {c + 1})"
    assert (
        course.latex().splitlines()[-1]
        == r"\frac{\partial f}{\partial o_{i}} = p_{i} - \delta_{ic}"
    )
    pi, delta = sympy.symbols("p_i delta_ic", real=True)
    probabilities = softmax(vector("o", 3))
    for i in range(3):
        entry = course.partials["o"].subs({pi: probabilities[i], delta: int(i == c)})
        assert is_zero(entry - d.partials["o"][i]), i


def test_a_vector_without_one_pattern_stays_a_matrix() -> None:
    d = derive("sum(w*x*x)", wrt="x", shapes={"x": 3, "w": 3}, in_terms_of={"p": "softmax(x)"})
    c = d.course()
    assert c.indexed == {"x": ""} and isinstance(c.partials["x"], sympy.MatrixBase)
    assert c.names == {}  # p appears nowhere


def test_course_form_of_a_function_of_tensors() -> None:
    d = derive(lambda x, beta: cr.softmax(beta * x, 0), wrt="x", shapes={"x": 3})
    assert d.course({"p": "softmax(beta*x)"}).formula("x") == "beta*p_i*(delta_ij - p_j)"


# -- 3. LaTeX names as the course writes them ------------------------------------------------
@pytest.mark.parametrize(
    ("name", "latex"),
    [
        ("W2_11", "W^{(2)}_{11}"),
        ("W1_23", "W^{(1)}_{23}"),
        ("a1", "a_{1}"),
        ("x_3", "x_{3}"),
        ("W_1_12", "W_{1,12}"),
        ("alpha", r"\alpha"),
        ("b2", "b_{2}"),
        ("delta_ij", r"\delta_{ij}"),
        ("f", "f"),
    ],
)
def test_latex_names(name: str, latex: str) -> None:
    assert latex_name(name) == latex


def test_derivation_latex_writes_layer_superscripts() -> None:
    d = derive("sum(W2*W2)", wrt="W2", shapes={"W2": (2, 2)})
    assert d.latex() == (
        r"\frac{\partial f}{\partial W_{2}} = \left[\begin{matrix}"
        r"2 W^{(2)}_{11} & 2 W^{(2)}_{12}\\2 W^{(2)}_{21} & 2 W^{(2)}_{22}\end{matrix}\right]"
    )
