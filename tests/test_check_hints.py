"""cr.check.derivation's hints: one test per mistake class, on the seed exercises (000 Ex2, Ex3;
001 §1.1), each asserting the variable the hint names and the mistake; correct answers hold."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F


# -- 000 Ex3: two-layer ReLU MLP, softmax cross-entropy ------------------------------------------
def mlp(W1, b1, W2, b2, x, c):
    h = W1 @ x + b1
    o = W2 @ cr.relu(h) + b2
    return F.cross_entropy(o.reshape(1, -1), c)


def ex3_grads(W1, b1, W2, b2, x, c, *, minus_one_hot=True, mask=True, transpose_w2=False):
    """The course's solution: grad_o = softmax(o) - 1_c, grad_W2 = grad_o z^T, grad_b2 = grad_o,
    grad_z = W2^T grad_o, the ReLU mask, grad_W1 = grad_h x^T, grad_b1 = grad_h."""
    h = W1 @ x + b1
    z = np.maximum(h, 0)
    o = W2 @ z + b2
    p = np.exp(o - o.max())
    p /= p.sum()
    grad_o = p - np.eye(len(o))[c[0]] if minus_one_hot else p
    grad_W2 = np.outer(z, grad_o) if transpose_w2 else np.outer(grad_o, z)
    grad_h = (W2.T @ grad_o) * ((h > 0) if mask else 1.0)
    return np.outer(grad_h, x), grad_h, grad_W2, grad_o


RNG = np.random.default_rng(3)
EX3 = {
    "W1": RNG.standard_normal((5, 4)),
    "b1": RNG.standard_normal(5),
    "W2": RNG.standard_normal((3, 5)),
    "b2": RNG.standard_normal(3),
    "x": RNG.standard_normal(4),
    "c": np.array([2]),
}
WRT = ["W1", "b1", "W2", "b2"]


def check_ex3(**mistake):
    return cr.check.derivation(mlp, lambda **v: ex3_grads(**v, **mistake), EX3, wrt=WRT, points=3)


def test_ex3_correct_answer_holds_and_the_kink_is_skipped() -> None:
    report = check_ex3()
    assert report.ok, str(report)
    assert [str(s) for s in report.summaries] == [f"{n}: holds" for n in WRT]
    assert report.hints == {}
    at_kink = {**EX3, "b1": EX3["b1"].copy()}
    at_kink["b1"][0] = -(EX3["W1"] @ EX3["x"])[0]  # the first hidden unit's input is 0
    report = cr.check.derivation(mlp, lambda **v: ex3_grads(**v), at_kink, wrt=WRT, points=2)
    assert report.ok and report.points[0].skipped.startswith("not differentiable at W1[0, ")


def test_ex3_missing_minus_one_hot_is_named_on_b2() -> None:
    report = check_ex3(minus_one_hot=False)
    assert not report.ok
    lines = str(report).splitlines()
    b2 = next(line for line in lines if line.startswith("  b2: "))
    assert b2.startswith("  b2: differs in 1 of 3 entries")
    assert "missing -1_c" in report.hints["b2"] and "class entry c = 2" in report.hints["b2"]
    assert "missing -1_c" in report.hints["W2"] and "class row" in report.hints["W2"]
    assert "constant factor" not in str(report)
    # the summary comes first, and the default report is short
    assert lines[1].startswith("  W1: differs") and len(lines) < 20
    assert len(report.details().splitlines()) > len(lines)


def test_ex3_transposed_non_square_grad_w2_is_a_report_not_an_error() -> None:
    report = check_ex3(transpose_w2=True)
    assert not report.ok
    assert set(report.hints) == {"W2"}
    assert report.hints["W2"] == (
        "yours has shape (5, 3), the right one (3, 5): yours is the transpose of the right answer"
    )
    w2 = report.summaries[2]
    assert str(w2).startswith("W2: differs in 15 of 15 entries")
    assert "yours has it at [1, 0]" in report.details()


def test_ex3_dropped_relu_mask_is_named_on_w1_and_b1() -> None:
    report = check_ex3(mask=False)
    assert not report.ok
    assert set(report.hints) == {"W1", "b1"}
    for name in ("W1", "b1"):
        assert "dropped ReLU mask" in report.hints[name]
    assert [s.failing for s in report.summaries[2:]] == [0, 0]  # W2, b2 hold


def test_ex3_wrong_row_index_in_grad_w2() -> None:
    def swapped_rows(**v):
        gW1, gb1, gW2, gb2 = ex3_grads(**v)
        return gW1, gb1, gW2[[1, 0, 2]], gb2

    report = cr.check.derivation(mlp, swapped_rows, EX3, wrt=WRT, points=3)
    assert set(report.hints) == {"W2"}
    hint = report.hints["W2"]
    assert "your row 0 is the right row 1" in hint and "wrong index" in hint


def test_ex3_sign_error_in_grad_b2() -> None:
    def minus(**v):
        gW1, gb1, gW2, gb2 = ex3_grads(**v)
        return gW1, gb1, gW2, -gb2

    report = cr.check.derivation(mlp, minus, EX3, wrt=WRT, points=3)
    assert set(report.hints) == {"b2"} and "sign error" in report.hints["b2"]
    assert str(report.summaries[3]).startswith("b2: differs in 3 of 3 entries")


# -- 000 Ex2: a3 sigma(alpha a1 x + (1 - alpha) a2 x) ---------------------------------------------
def ex2(a1, a2, a3, x, alpha):
    return a3 * cr.sigmoid(alpha * a1 * x + (1 - alpha) * a2 * x)


def _sig(u):
    return 0.5 * (1 + np.tanh(u / 2))


def ex2_partials(a1, a2, a3, x, alpha, *, derivative=True, swap=False):
    u = alpha * a1 * x + (1 - alpha) * a2 * x
    ds = _sig(u) * (1 - _sig(u)) if derivative else 1.0
    w1, w2 = (1 - alpha, alpha) if swap else (alpha, 1 - alpha)
    return a3 * ds * w1 * x, a3 * ds * w2 * x, _sig(u)


EX2 = (0.5, -1.0, 2.0, 1.5, 0.3)


def test_ex2_correct_partials_hold() -> None:
    report = cr.check.derivation(ex2, ex2_partials, EX2, wrt=["a1", "a2", "a3"])
    assert report.ok and report.hints == {}
    # checked at every point: the finite differences in a3 pass a1 and a2 as float64 tensors, so
    # fn does not drop to float32 (a sum of Python numbers) and see a "kink" in a linear input
    assert all(p.skipped is None for p in report.points)


def test_ex2_missing_sigma_prime() -> None:
    report = cr.check.derivation(
        ex2, lambda *v: ex2_partials(*v, derivative=False), EX2, wrt=["a1", "a2", "a3"]
    )
    assert set(report.hints) == {"a1", "a2"}
    assert all("missing sigma'" in report.hints[n] for n in ("a1", "a2"))
    assert str(report.summaries[2]) == "a3: holds"


def test_ex2_alpha_and_one_minus_alpha_swapped() -> None:
    report = cr.check.derivation(
        ex2, lambda *v: ex2_partials(*v, swap=True), EX2, wrt=["a1", "a2", "a3"]
    )
    assert set(report.hints) == {"a1", "a2"}
    for name in ("a1", "a2"):
        assert "alpha and 1 - alpha swapped" in report.hints[name]


# -- 001 §1.1: y = W x, dL/dW = dL/dy x^T ---------------------------------------------------------
W = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])
XV = np.array([1.0, -2.0, 0.5])


def linear_loss(W, x):
    return 0.5 * ((W @ x) ** 2).sum()  # dL/dy = y


def test_linear_transposed_and_constant_factor() -> None:
    right = cr.check.derivation(linear_loss, lambda W, x: np.outer(W @ x, x), (W, XV), wrt="W")
    assert right.ok and str(right).splitlines()[-1].startswith("verdict: HOLDS")
    transposed = cr.check.derivation(linear_loss, lambda W, x: np.outer(x, W @ x), (W, XV), wrt="W")
    assert "transpose of the right answer" in transposed.hints["W"]
    assert str(transposed).splitlines()[1].startswith("  W: differs in 6 of 6 entries")
    doubled = cr.check.derivation(
        linear_loss, lambda W, x: 2 * np.outer(W @ x, x), (W, XV), wrt="W"
    )
    assert doubled.hints["W"].startswith("yours is 2 times the right value")
    assert "constant factor" in doubled.hints["W"]


def batch_loss(W, X):
    return 0.5 * ((X @ W.T) ** 2).sum(dim=1).mean()


@pytest.mark.parametrize(("factor", "words"), [(4.0, "a sum over the batch"), (0.25, "a mean")])
def test_linear_batch_sum_versus_mean(factor, words) -> None:
    X = np.random.default_rng(0).standard_normal((4, 3))

    def grad_w(W, X):
        Y = X @ W.T
        return factor * Y.T @ X / 4

    report = cr.check.derivation(batch_loss, grad_w, (W, X), wrt="W")
    assert not report.ok
    hint = report.hints["W"]
    assert "4 = the batch size" in hint and words in hint
