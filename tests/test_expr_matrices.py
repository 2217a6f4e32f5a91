"""The expression language on matrices: --at/--shape inputs, @ .T transpose outer diag eye and
integer indexing, and `chainrule check` on seed 001 §1.1, §1.2 and 000 Ex3's gradients."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck
from chainrule.cli import main
from chainrule.expr import ExpressionError, parse, parse_assignments, parse_shapes

W = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
X = np.array([1.0, 2.0, -3.0])
G = np.array([0.5, -2.0])


def _env(**arrays: np.ndarray) -> dict[str, cr.Tensor]:
    return {n: cr.tensor(a, dtype=cr.float64) for n, a in arrays.items()}


def _value(text: str, **arrays: np.ndarray) -> np.ndarray:
    return parse(text).evaluate(_env(**arrays)).detach().numpy()


def _run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- 1. matrix and vector inputs ---------------------------------------------------------------
def test_at_takes_matrices_with_commas_inside_brackets() -> None:
    got = parse_assignments("W=[[1,2],[3,4]],x=[1,2],a=-0.5")
    assert got == {"W": [[1, 2], [3, 4]], "x": [1, 2], "a": -0.5}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x=1,W=[[1,2],[3]]", "W: ragged list (rows of different lengths: 1, 2)"),
        ("W=[[1,2],3]", "W: ragged list (numbers and lists mixed at the same depth)"),
        ("W=[[[1],[2]],[[3],[4,5]]]", "W: ragged list (rows of different lengths: 1, 2)"),
    ],
)
def test_ragged_lists_are_refused_naming_the_variable(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_assignments(text)
    assert info.value.message == message


def test_shape_text_forms() -> None:
    assert parse_shapes("W=3x4,x=4,b=[2],V=2X2") == {
        "W": (3, 4),
        "x": (4,),
        "b": (2,),
        "V": (2, 2),
    }


@pytest.mark.parametrize("text", ["W=3y4", "W=0x2", "W=3x", "W=-3", "W=2.5"])
def test_bad_shape_text_names_the_variable(text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_shapes(text)
    assert info.value.message.startswith(f"W: '{text[2:]}' is not a shape")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--at", "W=[[1,2],[3]]", "--shape", "x=2"], "--at: W: ragged list"),
        (["--shape", "W=2y3,x=3"], "--shape: W: '2y3' is not a shape"),
        (["--shape", "q=2"], "--shape: q is not in the expression"),
        (["--at", "W=[[1,2],[3,4]]", "--shape", "W=3x3"], "W has shape (3, 3), but its --at"),
    ],
)
def test_check_bad_inputs_exit_2_with_one_line(
    extra: list[str], expected: str, capsys: pytest.CaptureFixture
) -> None:
    code, _, err = _run(
        ["check", "sum(W@x)", "--grad", "outer(x, x)", "--wrt", "W", *extra], capsys
    )
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and expected in err


def test_shape_draws_random_arrays_of_that_shape(capsys: pytest.CaptureFixture) -> None:
    argv = ["check", "sum(W@x)", "--grad", "outer(eye(2)[0] + eye(2)[1], x)", "--wrt", "W"]
    code, out, _ = _run([*argv, "--shape", "W=2x3,x=3"], capsys)
    assert code == 0
    drawn = out.splitlines()[0].removeprefix("random values for ")
    values = parse_assignments(drawn)  # printed as --at would take them
    w, x = np.array(values["W"]), np.array(values["x"])
    assert w.shape == (2, 3) and x.shape == (3,)
    assert np.all(np.abs(w) <= 2) and len(np.unique(w)) == 6


# -- 2. operators and functions ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("W@x", W @ X),
        ("W.T", W.T),
        ("transpose(W)", W.T),
        ("W.T.T", W),
        ("W.T@g", W.T @ G),
        ("outer(g, x)", np.outer(G, X)),
        ("diag(x)", np.diag(X)),
        ("diag(W)", np.diag(W)),
        ("eye(3)@x", X),
        ("x[0]", X[0]),
        ("x[-1]", X[-1]),
        ("W[1, 2]", W[1, 2]),
        ("W[-1]", W[-1]),
        ("(W@x)[1]", (W @ X)[1]),
        ("softmax(x, beta=2)", np.exp(2 * X) / np.exp(2 * X).sum()),
        ("relu(W)", np.maximum(W, 0)),
        ("sum(outer(g, x)*W)", (np.outer(G, X) * W).sum()),
    ],
)
def test_matrix_operators_and_functions(text: str, expected: np.ndarray) -> None:
    np.testing.assert_allclose(_value(text, W=W, x=X, g=G), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "text", ["sum(outer(g, x)*W)", "sum(diag(g)@W)", "W[1, 2]*x[0] + sum(diag(W))", "sum(W.T@g)"]
)
def test_gradients_through_the_new_functions(text: str) -> None:
    e = parse(text)

    def fn(w: cr.Tensor, x: cr.Tensor, g: cr.Tensor) -> cr.Tensor:
        return e.evaluate({"W": w, "x": x, "g": g})

    inputs = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in (W, X, G)]
    assert gradcheck(fn, inputs)


def test_gradient_of_w_is_the_outer_product() -> None:
    env = _env(x=X, g=G) | {"W": cr.tensor(W, dtype=cr.float64, requires_grad=True)}
    parse("sum((W@x)*g)").evaluate(env).backward()
    np.testing.assert_allclose(env["W"].grad.numpy(), np.outer(G, X))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x[i]", "subscripts ('[...]') are not allowed"),
        ("x[0:2]", "subscripts ('[...]') are not allowed"),
        ("W[0, k]", "subscripts ('[...]') are not allowed"),
        ("W.shape", "attribute access '.shape' is not allowed"),
        ("outer(x)", "outer takes 2 arguments, got 1"),
        ("transpose(W, 0, 1)", "transpose takes 1 argument, got 3"),
        ("diag()", "diag takes 1 argument, got 0"),
        ("kron(x, x)", "unknown function 'kron'"),
        ("eye + 1", "'eye' is a function: call it as eye(...)"),
    ],
)
def test_refused_forms_keep_clear_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert info.value.message == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x[3]", "indexing: index 3 is out of range for a size of 3"),
        ("W[0, 0, 0]", "indexing: 3 indices for a value of shape (2, 3)"),
        ("outer(W, x)", "outer: expects two vectors, got shapes (2, 3) and (3,)"),
        ("eye(0)", "eye: the size must be a positive integer, like eye(3), got 0"),
        ("eye(1.5)", "eye: the size must be a positive integer, like eye(3), got 1.5"),
        ("2[0]", "indexing: a number has no entries to index"),
    ],
)
def test_evaluation_errors_name_the_function(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text).evaluate(_env(W=W, x=X))
    assert info.value.message == message


def test_to_sympy_knows_the_matrix_functions() -> None:
    sympy = pytest.importorskip("sympy")
    w = sympy.Matrix(2, 3, sympy.symbols("w0:6"))
    x = sympy.Matrix(sympy.symbols("x0:3"))
    g = sympy.Matrix(sympy.symbols("g0:2"))
    env = {"W": w, "x": x, "g": g}
    assert parse("outer(g, x)").to_sympy(env) == g * x.T
    assert parse("W.T@g").to_sympy(env) == w.T * g
    assert parse("diag(g)").to_sympy(env) == sympy.diag(*g)
    assert parse("diag(W)").to_sympy(env) == sympy.Matrix([w[0, 0], w[1, 1]])
    assert parse("eye(2)").to_sympy(env) == sympy.eye(2)
    assert parse("W[1, 2] + x[0]").to_sympy(env) == w[1, 2] + x[0]


def test_derive_the_seed_gradient_with_outer_and_indexing() -> None:
    sympy = pytest.importorskip("sympy")
    from chainrule.symbolic import derive

    d = derive("sum((W@x + b)*g)", wrt="W", shapes={"W": (2, 3), "x": 3, "b": 2, "g": 2})
    x, g = d.symbols["x"], d.symbols["g"]
    assert sympy.simplify(d.partials["W"] - g * x.T) == sympy.zeros(2, 3)
    d = derive("sum(diag(v)@x) + v[1]", wrt="v", shapes={"v": 2, "x": 2})
    x = d.symbols["x"]
    assert sympy.simplify(d.partials["v"] - sympy.Matrix([x[0], x[1] + 1])) == sympy.zeros(2, 1)


def test_cli_derive_takes_the_new_shape_text(capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("sympy")
    code, out, _ = _run(["derive", "sum(W@x)", "--wrt", "W", "--shape", "W=2x2,x=2"], capsys)
    assert code == 0 and "x_1" in out and "x_2" in out


# -- 3. end to end: the seeds' gradients checked from the shell --------------------------------
LINEAR = ["sum((W@x + b)*g)", "--wrt", "W", "--shape", "W=2x3,x=3,b=2,g=2"]
SOFTMAX = "softmax(x, beta=b)"
JACOBIAN = f"b*(diag({SOFTMAX}) - outer({SOFTMAX}, {SOFTMAX}))"
# 000 Ex3: o = W2 relu(W1 x + b1) + b2, L = -log softmax(o)[c] with c = 2
HIDDEN = "relu(W1@x + b1)"
O = f"W2@{HIDDEN} + b2"
EX3 = ["-log_softmax(" + O + ")[2]", "--shape", "W1=4x3,x=3,b1=4,W2=3x4,b2=3"]
GRAD_O = f"softmax({O}) - eye(3)[2]"
# the ReLU mask, 1 where W1 x + b1 > 0, written without comparisons as sign(relu(.))
GRAD_B1 = f"(W2.T@({GRAD_O})) * sign({HIDDEN})"


def _verdict(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code, out, err = _run(argv, capsys)
    assert err == ""
    return code, out.lower()


def test_seed_001_dl_dw_holds(capsys: pytest.CaptureFixture) -> None:
    code, out = _verdict(["check", LINEAR[0], "--grad", "outer(g, x)", *LINEAR[1:]], capsys)
    assert code == 0 and "holds" in out and "does not hold" not in out


@pytest.mark.parametrize("shape", ["W=2x3,x=3,b=2,g=2", "W=3x3,x=3,b=3,g=3"])
def test_seed_001_x_outer_g_is_reported_not_crashed(
    shape: str, capsys: pytest.CaptureFixture
) -> None:
    argv = ["check", LINEAR[0], "--grad", "outer(x, g)", "--wrt", "W", "--shape", shape]
    code, out = _verdict(argv, capsys)
    assert code == 1 and "does not hold" in out


def test_seed_001_softmax_jacobian_with_beta(capsys: pytest.CaptureFixture) -> None:
    argv = ["check", SOFTMAX, "--wrt", "x", "--shape", "x=3", "--at", "b=2"]
    code, out = _verdict([*argv, "--grad", JACOBIAN], capsys)
    assert code == 0 and "holds" in out and "does not hold" not in out
    forgot_beta = JACOBIAN.removeprefix("b*")
    code, out = _verdict([*argv, "--grad", forgot_beta], capsys)
    assert code == 1 and "does not hold" in out


@pytest.mark.parametrize(
    ("wrt", "grad"),
    [
        ("b2", GRAD_O),
        ("W2", f"outer({GRAD_O}, {HIDDEN})"),
        ("b1", GRAD_B1),
        ("W1", f"outer({GRAD_B1}, x)"),
    ],
)
def test_seed_000_ex3_gradients_hold(wrt: str, grad: str, capsys: pytest.CaptureFixture) -> None:
    code, out = _verdict(["check", EX3[0], "--grad", grad, "--wrt", wrt, *EX3[1:]], capsys)
    assert code == 0 and "holds" in out and "does not hold" not in out


def test_seed_000_ex3_forgotten_one_hot_is_reported(capsys: pytest.CaptureFixture) -> None:
    argv = ["check", EX3[0], "--grad", f"softmax({O})", "--wrt", "b2", *EX3[1:]]
    code, out = _verdict(argv, capsys)
    assert code == 1 and "does not hold" in out
