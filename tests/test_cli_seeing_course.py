"""The seeing commands catch up with the library (issue 10): `derive --course`,
`--in-terms-of` and `--latex` of the course form, `check --verbose`, `graph`/`explain --shape`."""

from __future__ import annotations

import ast
import subprocess
import sys

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.cli.derive import split_in_terms_of

EX2 = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- derive: the course's form -------------------------------------------------------------------
def test_001_1_2_jacobian_in_terms_of_p_printed_from_the_shell() -> None:
    pytest.importorskip("sympy")
    argv = ["derive", "softmax(beta*x)", "--wrt", "x", "--shape", "x=3"]
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", *argv, "--in-terms-of", "p=softmax(beta*x)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "p = softmax(beta*x)\nd f_j / d x_i = beta*p_i*(delta_ij - p_j)\n"


def test_ex2_course_form_names_u_and_writes_the_course_signs(capsys) -> None:
    pytest.importorskip("sympy")
    code, out, _ = _run(["derive", EX2, "--wrt", "a1,a2,a3", "--course"], capsys)
    assert code == 0
    assert out.splitlines() == [
        "u = a1*alpha*x + a2*x*(1 - alpha)",
        "d f / d a1 = a3*sigmoid(u)*(1 - sigmoid(u))*alpha*x",
        "d f / d a2 = a3*sigmoid(u)*(1 - sigmoid(u))*(1 - alpha)*x",
        "d f / d a3 = sigmoid(u)",
    ]
    code, plain, _ = _run(["derive", EX2, "--wrt", "a2"], capsys)  # without it: SymPy's form
    assert code == 0 and "sigmoid(u)" not in plain and "alpha - 1" in plain


def test_in_terms_of_implies_course_repeats_and_names_the_sum(capsys) -> None:
    pytest.importorskip("sympy")
    argv = ["derive", EX2, "--wrt", "a2", "--in-terms-of", "h=alpha*a1*x + (1-alpha)*a2*x"]
    code, out, _ = _run(argv, capsys)
    assert code == 0 and out.splitlines()[0] == "h = alpha*a1*x + (1-alpha)*a2*x"
    assert "sigmoid(h)*(1 - sigmoid(h))" in out
    # Ex3 Q1: p - 1_c, with a comma inside softmax's parentheses kept together
    argv = ["derive", "--wrt", "o", "--shape", "o=3", "--at", "y=[0,1,0]"]
    argv += ["--in-terms-of", "p=softmax(o, beta=1)", "--", "-sum(y*log_softmax(o))"]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    assert out.splitlines()[-1] == "d f / d o_i = p_i - delta_ic  (c = 2)"


def test_course_latex(capsys) -> None:
    pytest.importorskip("sympy")
    argv = ["derive", "softmax(beta*x)", "--wrt", "x", "--shape", "x=3", "--latex"]
    code, out, _ = _run([*argv, "--in-terms-of", "p=softmax(beta*x)"], capsys)
    assert code == 0
    assert out.splitlines() == [
        r"p = \operatorname{softmax}\left(\beta x\right)",
        r"\frac{\partial f_{j}}{\partial x_{i}} = \beta p_{i} \left(\delta_{ij} - p_{j}\right)",
    ]
    code, out, _ = _run(["derive", EX2, "--wrt", "a2", "--course", "--latex"], capsys)
    assert code == 0 and r"\sigma\left(u\right) \left(1 - \sigma\left(u\right)\right)" in out


def test_split_in_terms_of_keeps_commas_inside_brackets() -> None:
    parts = split_in_terms_of(["p=softmax(v, beta=2),u=a*x", "q = x[0] + y"])
    assert parts == {"p": "softmax(v, beta=2)", "u": "a*x", "q": "x[0] + y"}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--in-terms-of", "p"], "--in-terms-of: expected NAME=EXPR, got 'p'"),
        (["--in-terms-of", "p=softmax(x,y"], "--in-terms-of: unclosed parenthesis"),
        (["--in-terms-of", "p=x)"], "--in-terms-of: unbalanced ')'"),
        (["--in-terms-of", "1p=x"], "--in-terms-of: '1p' is not a name"),
        (["--in-terms-of", "p=x,p=y"], "--in-terms-of: p is given twice"),
        (["--in-terms-of", "x=y"], "--in-terms-of: x is already a variable"),
        (["--in-terms-of", "p=z"], "uses z, which the expression does not have"),
        (["--in-terms-of", "p=x**"], "--in-terms-of: p: "),
        (["--shape", "x=3y"], "--shape: x: '3y' is not a shape"),
    ],
)
def test_derive_errors_are_one_line(capsys, extra: list[str], expected: str) -> None:
    code, out, err = _run(["derive", "x*y", *extra], capsys)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule derive: error: "), err
    assert expected in lines[0]


def test_derive_help_names_the_defaults(capsys) -> None:
    code, out, _ = _run(["derive", "--help"], capsys)
    flat = " ".join(out.split())
    assert code == 0 and "--course" in flat and "--in-terms-of NAME=EXPR" in flat
    assert "(default: SymPy's form)" in flat and "(default: none)" in flat
    assert "(default: text)" in flat


# -- check --verbose -------------------------------------------------------------------------------
def test_check_verbose_lists_every_entry_and_the_hint(capsys) -> None:
    argv = ["check", "sum(W*W)", "--shape", "W=3x3", "--wrt", "W", "--grad", "W", "--points", "2"]
    code, short, _ = _run(argv, capsys)
    assert code == 1
    assert "(--verbose lists every differing entry, with its hint)" in short
    assert "report.details()" not in short and "d/dW[0, 1]" not in short
    code, long, _ = _run([*argv, "--verbose"], capsys)
    assert code == 1 and len(long.splitlines()) > len(short.splitlines())
    assert "d/dW[0, 1]" in long and "... and 5 more of W" in long
    assert "hint for W: yours is 0.5 times the right value" in long
    assert "--verbose lists" not in long


def test_check_verbose_changes_nothing_when_it_holds(capsys) -> None:
    argv = ["check", "x*y", "--grad", "y", "--wrt", "x", "--at", "x=1,y=2", "--points", "2"]
    code, short, _ = _run(argv, capsys)
    code_v, long, _ = _run([*argv, "--verbose"], capsys)
    assert code == code_v == 0 and short == long


# -- graph and explain with --shape ----------------------------------------------------------------
def test_explain_with_shape_draws_the_matrix_and_says_so(capsys) -> None:
    argv = ["explain", "sum(W@x)", "--shape", "W=2x3", "--at", "x=[1,2,3]", "--wrt", "W"]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    assert err.startswith("random values for W=[[") and "x=" not in err
    W = np.array(ast.literal_eval(err.strip().removeprefix("random values for W=")))
    assert W.shape == (2, 3)  # the ledger is of these values
    assert out.startswith(f"Backward ledger for L = {(W @ [1, 2, 3]).sum():.4g} ")
    assert "grad_W = " in out and "grad_x" not in out
    again = _run(argv, capsys)
    other = _run([*argv, "--seed", "1"], capsys)
    assert again[2] == err and other[2] != err  # the seed decides the drawn values


def test_graph_with_shape_keeps_stdout_dot(capsys) -> None:
    code, out, err = _run(["graph", "sum(W@x)", "--shape", "W=2x3,x=3"], capsys)
    assert code == 0, err
    assert out.startswith("digraph chainrule {") and "Matmul(W, x)" in out
    assert err.startswith("random values for W=[[") and ", x=[" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["graph", "sum(W@x)", "--shape", "W=2x3"], "--at: no value for x"),
        (["explain", "sum(W@x)", "--shape", "W=2x3,x=2", "--at", "x=[1,2,3]"], "has shape (2,)"),
        (["graph", "sum(W@x)", "--shape", "V=2x3"], "--shape: V is not in the expression"),
        (["explain", "sum(W@x)", "--shape", "W=2x3,x=4"], "'@'"),
        (["explain", "x", "--shape", "x=0"], "--shape: x: '0' is not a shape"),
    ],
)
def test_shape_errors_are_one_line(capsys, argv: list[str], expected: str) -> None:
    code, out, err = _run(argv, capsys)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"chainrule {argv[0]}: error: "), err
    assert expected in lines[0]


def test_graph_and_explain_help_name_shape_and_its_default(capsys) -> None:
    for command in ("graph", "explain"):
        code, out, _ = _run([command, "--help"], capsys)
        flat = " ".join(out.split())
        assert code == 0 and "--shape SHAPE" in flat and "W=3x4,x=4 (default: none" in flat
        assert "--seed SEED" in flat and "(default: 0)" in flat
