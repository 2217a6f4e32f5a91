"""Checks at points where the function is not differentiable (cr.check.derivation, per_node and
`chainrule check`), formulas that start with '-', help texts, and one-line errors."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    """main(argv) with NumPy's warnings turned into errors: (exit code, stdout, stderr)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            code = main(argv)
        except SystemExit as done:
            code = int(done.code)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- non-differentiable points: the library ------------------------------------------------------
def _derivation(*args, **kwargs) -> cr.check.Report:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning reaching the user is a failure
        return cr.check.derivation(*args, **kwargs)


def test_sqrt_holds_and_its_zero_is_reported_as_not_differentiable() -> None:
    report = _derivation(cr.sqrt, lambda x: 0.5 / np.sqrt(x), (0.0,))
    assert report.ok
    given = report.points[0]
    assert given.skipped == "not differentiable at x=0 (f or the finite difference is not finite)"
    checked = [p for p in report.points if p.skipped is None]
    assert len(checked) >= 4 and all(p.ok for p in checked)
    assert str(report).splitlines()[1].endswith(": skipped")
    assert "HOLDS at all" in str(report).splitlines()[-1]


def test_random_points_are_drawn_again_where_the_function_is_undefined() -> None:
    # from a negative given point the random points are normal, so half of them land where
    # sqrt is NaN: each is drawn again instead of being skipped
    report = _derivation(cr.sqrt, lambda x: 0.5 / np.sqrt(x), (-1.0,))
    assert report.ok
    randoms = [p for p in report.points if p.label.startswith(("random", "large"))]
    assert randoms and all(p.skipped is None and p.ok for p in randoms)
    assert report.points[0].skipped.startswith("not differentiable at x=-1 ")


def test_abs_with_sign_holds_and_zero_is_a_kink() -> None:
    report = _derivation(lambda x: abs(x), np.sign, (0.0,))
    assert report.ok
    zeros = next(p for p in report.points if p.label == "zeros")
    assert zeros.skipped == (
        "not differentiable at x=0 (the slopes on either side differ: -1 and 1); yours gives 0 "
        "there, the mean of the two, as central finite differences give: a convention at a "
        "non-differentiable point, not a mistake"
    )


def test_relu_kink_in_one_entry_of_a_vector() -> None:
    x = np.array([1.5, 0.0, -2.0])
    report = _derivation(lambda v: cr.relu(v).sum(), lambda v: (v > 0) * 1.0, (x,))
    assert report.ok
    assert report.points[0].skipped.startswith("not differentiable at v[1]=0 (the slopes")


def test_a_wrong_derivative_still_fails_next_to_a_kink() -> None:
    report = _derivation(lambda x: abs(x), lambda x: -np.sign(x), (0.0,))
    assert not report.ok and report.failures
    assert report.points[0].skipped is not None  # the kink itself proves nothing either way
    assert "DOES NOT HOLD" in str(report)
    wrong_sqrt = _derivation(cr.sqrt, lambda x: 1 / np.sqrt(x), (0.0,))
    assert not wrong_sqrt.ok


def test_curvature_is_not_mistaken_for_a_kink() -> None:
    # jump between one-sided slopes is h f'' here, large for a steep parabola: still smooth
    report = _derivation(lambda x: (50 * x) ** 2, lambda x: 5000 * x, (0.0,))
    assert report.ok and all(p.skipped is None for p in report.points)


def test_float32_rounding_is_not_mistaken_for_a_kink() -> None:
    # fn computing in float32 has noisy differences; they must not make its points "kinks"
    def sig(t):
        return 1 / (1 + np.exp(-3 * t))

    report = _derivation(
        lambda x: cr.sigmoid(x.float() * 3), lambda x: 3 * sig(x) * (1 - sig(x)), (0.3,), rtol=1e-4
    )
    assert report.ok and all(p.skipped is None for p in report.points)


def test_a_finite_wrong_claim_where_the_derivative_is_finite_fails() -> None:
    # x/x has derivative 0 everywhere but 0; a claim that is NaN at a differentiable point fails
    report = _derivation(lambda x: x * x, lambda x: 2 * x * (np.float64(x) / x), (0.0,))
    zeros = next(p for p in report.points if p.label == "zeros")
    assert zeros.skipped is None and not zeros.ok


def test_nothing_checkable_is_not_a_pass() -> None:
    report = _derivation(lambda x: cr.log(x - 1e9), lambda x: 1 / (x - 1e9), (0.0,), points=2)
    assert not report.ok and all(p.skipped for p in report.points)
    assert "NOT CHECKED" in str(report)


def test_per_node_skips_kinks_and_infinite_derivatives() -> None:
    x = cr.tensor([0.0, 1.0], dtype=cr.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = cr.check.per_node(lambda v: (cr.sqrt(v) + cr.relu(v) + abs(v)).sum(), (x,))
    assert report.ok, str(report)
    skipped = {c.op: c.skipped for c in report.checks if c.skipped}
    assert set(skipped) == {"Sqrt", "Relu", "Abs"}
    assert "not finite" in skipped["Sqrt"] and "slopes on either side" in skipped["Relu"]
    assert "3 skipped" in str(report)


def test_per_node_still_finds_a_wrong_backward() -> None:
    class BadSquare(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x

    x = cr.tensor([0.5, -1.0], dtype=cr.float64, requires_grad=True)
    report = cr.check.per_node(lambda v: BadSquare.apply(v).sum(), (x,))
    assert not report.ok and report.first_failure.op == "BadSquare"


# -- non-differentiable points: the command --------------------------------------------------------
def test_cli_sqrt_check_holds(capsys) -> None:
    code, out, err = _run(["check", "sqrt(x)", "--grad", "0.5/sqrt(x)", "--wrt", "x"], capsys)
    assert code == 0, out
    assert "not differentiable at x=0 (f or the finite difference is not finite): skipped" in out
    assert "verdict: HOLDS" in out and err == ""


@pytest.mark.parametrize("seed", range(4))
def test_cli_draws_the_missing_values_where_the_function_is_defined(capsys, seed) -> None:
    argv = ["check", "log(x)", "--grad", "1/x", "--wrt", "x", "--seed", str(seed)]
    code, out, _ = _run(argv, capsys)
    assert code == 0, out
    drawn = float(out.splitlines()[0].removeprefix("random values for x="))
    assert drawn > 0 and "given point            holds" in out


def test_cli_given_kink_is_skipped_not_failed(capsys) -> None:
    code, out, _ = _run(
        ["check", "abs(x)", "--grad", "sign(x)", "--wrt", "x", "--at", "x=0"], capsys
    )
    assert code == 0, out
    assert "given point            not differentiable at x=0 (the slopes" in out
    code, out, _ = _run(["check", "relu(x)", "--grad", "(sign(x)+1)/2", "--wrt", "x"], capsys)
    assert code == 0, out
    code, out, _ = _run(["check", "abs(x)", "--grad", "-sign(x)", "--wrt", "x"], capsys)
    assert code == 1 and "DOES NOT HOLD" in out


def test_graph_and_explain_print_infinities_without_warnings(capsys) -> None:
    code, out, err = _run(["explain", "log(x)", "--at", "x=0"], capsys)
    assert code == 0 and "grad_x = inf" in out and err == ""  # the teaching view's names


# -- formulas that start with '-', and help -------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["check", "1/x", "--grad", "-1/x**2", "--wrt", "x"],
        ["check", "1/x", "--grad=-1/x**2", "--wrt", "x"],
        ["check", "-x*x", "--grad", "-2*x", "--wrt", "x", "--at", "x=-1"],
        ["check", "-x", "--grad", "-1", "--wrt", "x", "--at=x=-0.5"],
    ],
)
def test_formulas_may_start_with_a_minus(capsys, argv) -> None:
    code, out, err = _run([*argv, "--points", "2"], capsys)
    assert code == 0, err
    assert "verdict: HOLDS" in out


def test_explain_and_graph_take_an_expression_that_starts_with_a_minus(capsys) -> None:
    code, out, _ = _run(["explain", "-x*y", "--at", "x=1,y=-2"], capsys)
    assert code == 0 and "Backward ledger for L = 2 " in out
    code, out, _ = _run(["graph", "-x", "--at", "x=-1"], capsys)
    assert code == 0 and out.startswith("digraph")


@pytest.mark.parametrize("command", ["graph", "explain", "check"])
def test_help_shows_defaults_and_says_what_things_are(capsys, command) -> None:
    code, out, _ = _run([command, "--help"], capsys)
    assert code == 0
    assert "the seed" not in out.lower()
    assert "(default:" in out and "EXPR" in out
    if command == "check":
        assert "--grad -1/x**2" in " ".join(out.split()) and "(default: 5)" in out


# -- errors: one line, exit code 2, no traceback --------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["check", "x**", "--grad", "1", "--wrt", "x"], "invalid expression"),
        (["check", "foo(x)", "--grad", "1", "--wrt", "x"], "unknown function 'foo'"),
        (["graph", "x*y", "--at", "x=1,y="], "--at: '' is not a number"),
        (["explain", "x*y", "--at", "x=one"], "--at: 'one' is not a number"),
        (["explain", "x*y", "--at", "x=1,y=2", "--wrt", "z"], "--wrt: z not in the expression"),
        (["explain", "x*y", "--at", "x=1,y=2", "--wrt", "1z"], "--wrt: '1z' is not a variable"),
        (["graph", "x*y", "--at", "x=1"], "--at: no value for y"),
        (["check", "x*y", "--grad", "z", "--wrt", "x"], "--grad 'z' uses z"),
        (["check", "x", "--grad", "1", "--grad", "2", "--wrt", "x"], "one --grad per --wrt"),
        (["check", "x", "--wrt", "x"], "required: --grad"),
        (["check", "x", "--grad", "1", "--wrt", "x", "--bogus"], "unrecognized arguments"),
        (["check", "x", "--grad", "1", "--wrt", "x", "--points", "two"], "invalid int value"),
        (["graph", "x*y", "--at", "x=[1,2],y=[1,2,3]"], "'*'"),
        (["graph", "x", "--at", "x=1", "--out", "/no/such/dir/g.svg"], "--out: cannot write"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(capsys, argv, expected) -> None:
    code, out, err = _run(argv, capsys)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"chainrule {argv[0]}: error: ") and expected in lines[0]
    assert "Traceback" not in err + out


def test_seeing_commands_need_no_sympy_and_derive_says_so_in_one_line(capsys, monkeypatch):
    import chainrule.symbolic

    monkeypatch.setitem(sys.modules, "sympy", None)  # as if SymPy were not installed
    for name in ("differentiate", "namespace"):  # and chainrule.symbolic had never loaded it
        monkeypatch.delitem(sys.modules, f"chainrule.symbolic.{name}", raising=False)
        monkeypatch.delattr(chainrule.symbolic, name, raising=False)
    code, out, _ = _run(["check", "x*y", "--grad", "y", "--wrt", "x", "--points", "1"], capsys)
    assert code == 0 and "verdict: HOLDS" in out
    code, out, err = _run(["derive", "x*y", "--wrt", "x"], capsys)
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert err.startswith("chainrule derive: error: ") and "SymPy" in err


def test_cli_list_values_are_real_numbers_that_the_random_points_vary(capsys) -> None:
    # [1, 2] is read as integers; the check must still move x at its random points
    argv = ["check", "x*y", "--grad", "y+x", "--wrt", "x", "--at", "x=[1,2],y=[1,2]"]
    code, out, _ = _run(argv, capsys)
    assert code == 1
    failing = [line for line in out.splitlines() if "d/dx[0]" in line]
    assert len({line.split(",")[0] for line in failing}) > 1  # different values at each point
