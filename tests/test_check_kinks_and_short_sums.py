"""Two check hints of issue 10: a derivative right except at a non-differentiable point (said,
not failed: which convention the hand formula takes there), and a sum that stops short."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

LEFT = "the slope on the left: a convention at a non-differentiable point, not a mistake"


@pytest.mark.parametrize(
    ("claim", "says"),
    [
        (lambda x: float(x > 0), "yours gives 0 there, " + LEFT),  # torch's choice
        (lambda x: float(x >= 0), "yours gives 1 there, the slope on the right"),
        (lambda x: 0.5 if x == 0 else float(x > 0), "yours gives 0.5 there, the mean of the two"),
        (lambda x: 3.0 if x == 0 else float(x > 0), "yours gives 3 there, neither one-sided"),
    ],
)
def test_relu_at_zero_says_which_convention_the_formula_takes(claim, says) -> None:
    report = cr.check.derivation(cr.relu, claim, (0.0,))
    assert report.ok  # the point is skipped, the others hold: right except at the kink
    given = report.points[0]
    assert given.skipped.startswith("not differentiable at x=0 (the slopes on either side")
    assert says in given.skipped
    assert "FAIL" not in str(report).split("verdict")[0].split("given point")[1].splitlines()[0]


def test_a_vector_kink_reads_the_claimed_jacobian_column() -> None:
    x = np.array([0.0, 1.0, -1.0])
    report = cr.check.derivation(cr.relu, lambda v: np.diag((v > 0) * 1.0), (x,))
    assert report.ok
    assert "x[0]=0" in report.points[0].skipped and LEFT in report.points[0].skipped


def test_a_sum_over_the_wrong_range_is_named_a_sum_that_stops_short() -> None:
    M, Z, c = 5, 3, 1

    def loss(W2, b2, z):
        return F.cross_entropy(F.linear(z, W2, b2), cr.tensor(c))

    def short(W2, b2, z):  # grad_W2[n, m] = sum_{l<Z} grad_o[l] 1[l = n] z[m]: rows >= Z lost
        o = W2 @ z + b2
        g = np.exp(o - o.max()) / np.exp(o - o.max()).sum() - np.eye(M)[c]
        g[Z:] = 0
        return np.outer(g, z)

    rng = np.random.default_rng(0)
    point = {"W2": rng.standard_normal((M, Z)), "b2": rng.standard_normal(M),
             "z": rng.standard_normal(Z)}  # fmt: skip
    report = cr.check.derivation(loss, short, point, wrt="W2")
    assert not report.ok
    assert report.hints["W2"] == (
        "yours is right in rows 0..2 and 0 in rows 3..4 of 5: a sum that stops short, its "
        "index running to 3 (3 is the length of z) where it should run to 5?"
    )
