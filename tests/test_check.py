"""cr.check: hand derivations against autodiff and finite differences; the per-node check that
names the wrong primitive."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import GradcheckError


def _softmax(x: np.ndarray, beta: float) -> np.ndarray:
    e = np.exp(beta * (x - x.max()))
    return e / e.sum()


def softmax_fn(x: cr.Tensor, beta: float = 1.0) -> cr.Tensor:
    return F.softmax(x, dim=-1, beta=beta)


def seed_jacobian(x: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """Seed 001 §1.2, equation (2): dy_j/dx_i = beta p_i (delta_ij - p_j)."""
    p = _softmax(x, beta)
    return beta * (np.diag(p) - np.outer(p, p))


def jacobian_without_beta(x: np.ndarray, beta: float = 1.0) -> np.ndarray:
    p = _softmax(x, beta)
    return np.diag(p) - np.outer(p, p)


X = np.array([0.2, -1.0, 0.5])


def test_seed_softmax_jacobian_holds_everywhere() -> None:
    report = cr.check.derivation(softmax_fn, seed_jacobian, (X,))
    assert report.ok and bool(report)
    labels = [p.label for p in report.points]
    assert labels[:2] == ["given point", "random point 1"] and "zeros" in labels
    assert "beta = 10" in labels and "beta = 0.1" in labels
    assert all(p.fd_error < 1e-7 for p in report.points)  # autodiff and FD agree too
    assert str(report).splitlines()[-1] == f"verdict: HOLDS at all {len(labels)} points"


def test_missing_beta_is_caught_only_at_extreme_beta() -> None:
    report = cr.check.derivation(softmax_fn, jacobian_without_beta, (X,))
    assert not report.ok
    assert [p.label for p in report.failures] == ["beta = 10", "beta = 0.1"]
    worst = report.failures[0]
    assert worst.entries == 9 and len(worst.mismatches) == 9
    m = worst.mismatches[0]
    assert m.claimed == pytest.approx(m.autodiff / 10) and m.numerical == pytest.approx(
        m.autodiff, rel=1e-5
    )
    assert worst.hint == "yours is 1/beta times the right value (beta = 10): a missing beta?"
    text = str(report)
    assert "FAILS: 9 of 9 entries differ" in text and "DOES NOT HOLD (2 of 9 points fail)" in text


def test_beta_given_as_an_input_is_varied_too() -> None:
    report = cr.check.derivation(
        softmax_fn, jacobian_without_beta, {"x": X, "beta": 2.0}, wrt="x", points=2
    )
    # at large |x| both Jacobians are ~0 (the softmax saturates): only that point cannot tell
    labels = ["given point", "random point 1", "zeros", "beta = 10", "beta = 0.1"]
    assert [p.label for p in report.failures] == labels
    assert cr.check.derivation(softmax_fn, seed_jacobian, {"x": X, "beta": 2.0}, wrt="x").ok


def seed_f(a1, a2, a3, x, alpha):
    return a3 * cr.sigmoid(alpha * a1 * x + (1 - alpha) * a2 * x)


def _sig(z):
    return 0.5 * (1 + np.tanh(z / 2))  # no overflow at the large-magnitude points


def seed_partials(a1, a2, a3, x, alpha):
    """Seed 000 Ex2: the three partials of a3 sigma(alpha a1 x + (1 - alpha) a2 x)."""
    z = alpha * a1 * x + (1 - alpha) * a2 * x
    ds = _sig(z) * (1 - _sig(z))
    return a3 * ds * alpha * x, a3 * ds * (1 - alpha) * x, _sig(z)


def test_seed_exercise_2_partials() -> None:
    point = (0.5, -1.0, 2.0, 1.5, 0.3)
    report = cr.check.derivation(seed_f, seed_partials, point, wrt=["a1", "a2", "a3"])
    assert report.ok and report.wrt == ["a1", "a2", "a3"]

    def forgot_alpha(a1, a2, a3, x, alpha):
        d1, d2, d3 = seed_partials(a1, a2, a3, x, alpha)
        with np.errstate(invalid="ignore"):  # alpha = 0 at the zeros point
            return d1 / alpha, d2, d3

    bad = cr.check.derivation(seed_f, forgot_alpha, point, wrt=["a1", "a2", "a3"])
    assert not bad.ok
    zero_grad = next(p for p in bad.points if p.label == "zeros")
    assert zero_grad.skipped is None and zero_grad.ok is False  # 0/0: nan differs
    assert {m.wrt for p in bad.failures for m in p.mismatches} == {"a1"}


def test_transposed_jacobian_gets_a_hint_and_elementwise_answers_are_accepted() -> None:
    w = np.array([[1.0, 2.0], [-3.0, 0.5]])
    report = cr.check.derivation(lambda v: cr.tensor(w) @ v, lambda v: w.T, (np.ones(2),))
    assert not report.ok and "transpose" in report.failures[0].hint
    tanh = cr.check.derivation(cr.tanh, lambda v: 1 - np.tanh(v) ** 2, (X,))
    assert tanh.ok  # an elementwise derivative stands for the diagonal Jacobian
    assert not cr.check.derivation(cr.tanh, lambda v: 1 - np.tanh(v), (X,)).ok


def test_bad_input_is_reported() -> None:
    with pytest.raises(ValueError, match=r"shape \(2,\), expected \(3, 3\)"):
        cr.check.derivation(softmax_fn, lambda x: np.ones(2), (X,))
    with pytest.raises(ValueError, match="wrt 'z' is not an input"):
        cr.check.derivation(seed_f, seed_partials, (0.5, -1.0, 2.0, 1.5, 0.3), wrt="z")


def test_points_where_the_function_is_undefined_are_skipped() -> None:
    report = cr.check.derivation(
        lambda v: cr.log(v).sum(), lambda v: 1 / v, (np.array([1.0, 2.0]),)
    )
    zeros = next(p for p in report.points if p.label == "zeros")
    assert zeros.skipped == (
        "not differentiable at v=[0, 0] (f or the finite difference is not finite)"
    )
    assert report.ok  # the random points keep the inputs positive, so logs stay defined
    assert all(p.skipped is None for p in report.points if p.label != "zeros")


class BadCube(cr.autograd.Function):
    """y = x^3, with a wrong backward (3x instead of 3x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x


def bigger(a: cr.Tensor, b: cr.Tensor) -> cr.Tensor:
    return (cr.sigmoid(BadCube.apply(a * b) + a) * cr.tanh(b)).sum()


def _inputs() -> tuple[cr.Tensor, cr.Tensor]:
    a = cr.tensor([0.5, -1.2, 0.3], dtype=cr.float64, requires_grad=True)
    b = cr.tensor([1.5, 0.7, -0.4], dtype=cr.float64, requires_grad=True)
    return a, b


def test_per_node_names_the_wrong_primitive() -> None:
    report = cr.check.per_node(bigger, _inputs())
    assert not report.ok
    assert [c.op for c in report.failures] == ["BadCube"]
    first = report.first_failure
    assert first.node == "v2 = BadCube(v1)" and first.input == "v1"
    x = (np.array([0.5, -1.2, 0.3]) * np.array([1.5, 0.7, -0.4])).reshape(-1)
    assert np.all(first.numerical / first.backward == pytest.approx(x, rel=1e-5))  # 3x^2 vs 3x
    ops = [c.op for c in report.checks]
    assert ops.index("Mul") < ops.index("BadCube") < ops.index("Sigmoid")  # forward order
    assert "v2 = BadCube(v1)" in str(report) and "BadCube.backward" in str(report)


def test_per_node_needs_float64() -> None:
    with pytest.raises(TypeError, match="float64"):
        cr.check.per_node(lambda v: v * v, (cr.tensor([1.0], requires_grad=True),))


def test_per_node_passes_a_correct_graph() -> None:
    def good(a, b):
        return (cr.sigmoid(a * b) ** 2 + F.softmax(a, dim=0, beta=2.0) * b).sum()

    report = cr.check.per_node(good, _inputs())
    assert report.ok and report.first_failure is None
    assert {c.op for c in report.checks} == {"Mul", "Sigmoid", "Pow", "Softmax", "Add", "Sum"}
    assert "every backward agrees" in str(report)


def test_gradcheck_failure_points_to_the_node() -> None:
    with pytest.raises(GradcheckError) as caught:
        cr.check.gradcheck(bigger, _inputs())
    message = str(caught.value)
    assert message.startswith("Jacobian mismatch") and "v2 = BadCube(v1)" in message
    x = cr.tensor([0.5, 2.0], dtype=cr.float64, requires_grad=True)
    assert cr.check.gradcheck(lambda x: (x * x).exp().sum(), (x,)) is True
