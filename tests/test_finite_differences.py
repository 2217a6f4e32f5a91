"""The one finite-difference helper (`chainrule.autograd.finite_differences`): its step rule, and
that gradcheck, check.derivation and check.per_node all take their numbers from it."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.autograd import finite_differences
from chainrule.autograd.finite_differences import central_differences, step
from chainrule.check import derivation_check, node_check


def test_the_step_is_absolute_below_one_and_relative_above() -> None:
    assert step(0.0, 1e-6) == 1e-6 and step(-0.5, 1e-6) == 1e-6
    assert step(300.0, 1e-6) == 3e-4 and step(-300.0, 1e-6) == 3e-4


def test_gradcheck_holds_at_large_magnitudes() -> None:
    # at x ~ 1e8 an absolute step of 1e-6 is mostly rounding: (x + h)^2 - (x - h)^2 is ~500
    # out of ~1.5e16, whose ulp is 2, so the difference is off by far more than rtol (1e-3);
    # the relative step is not
    x = cr.tensor([1.2345678e8, -3.3e7], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda x: x * x, (x,))
    with np.errstate(all="ignore"):
        absolute = (np.square(1.2345678e8 + 1e-6) - np.square(1.2345678e8 - 1e-6)) / 2e-6
    assert abs(absolute - 2 * 1.2345678e8) > 1e-3 * 2 * 1.2345678e8  # what the old rule saw


def test_the_derivative_alone_or_with_where_f_is_not_differentiable() -> None:
    x = np.array([0.0, 2.0, 4.0])
    alone = central_differences(np.abs, x)
    assert alone.problem is None  # not asked: no f(x) given
    np.testing.assert_allclose(alone.numerical, np.diag([0.0, 1.0, 1.0]), atol=1e-9)
    with np.errstate(all="ignore"):
        found = central_differences(np.abs, x, f0=np.abs(x))
        log = central_differences(np.log, x, f0=np.log(x))
    np.testing.assert_array_equal(found.numerical, alone.numerical)
    assert found.problem == (0, "the slopes on either side differ: -1 and 1")
    assert log.problem == (0, finite_differences.NOT_FINITE)


def test_an_input_with_no_entries_has_an_empty_derivative() -> None:
    d = central_differences(lambda x: np.array([x.sum(), 1.0]), np.zeros((0, 3)))
    assert d.numerical.shape == (2, 0, 3) and d.problem is None


def test_the_checks_use_the_one_helper() -> None:
    # one implementation, so one step rule: no module keeps a copy of its own
    assert derivation_check.central_differences is central_differences
    assert node_check.central_differences is central_differences
    x = cr.tensor([300.0, -2.0], dtype=cr.float64, requires_grad=True)
    assert cr.check.per_node(lambda x: (x * x).sum(), (x,)).ok
    assert cr.check.derivation(lambda x: (x * x).sum(), lambda x: 2 * x, (x,)).ok
