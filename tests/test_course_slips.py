"""The course's written solution to 000 Ex3 Q2, typed in as written
(examples/seed000_ex3_course_slips.py): cr.check.derivation finds its two index slips (a sum over
l = 1..Z where o has M entries; W_{l,n} where the index is m), names the variables they touch,
and the corrected formulas hold."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def slips() -> ModuleType:
    sys.path.insert(0, str(EXAMPLES))  # the example imports its neighbour _show
    try:
        return importlib.import_module("seed000_ex3_course_slips")
    finally:
        sys.path.remove(str(EXAMPLES))


def test_the_sizes_make_the_short_sum_visible(slips):
    # with Z >= M the text's sum over l = 1..Z would reach every o_l: no slip to find
    assert slips.Z < slips.M


def test_the_solution_as_written_does_not_hold_and_names_every_variable_it_touches(slips):
    report = slips.check(slips.as_written)
    assert not report.ok
    assert [s.name for s in report.summaries] == ["W2", "b2", "z"]
    assert all(s.failing > 0 for s in report.summaries)
    text = str(report)
    assert text.splitlines()[1].startswith("  W2: differs in 6 of 15 entries")
    assert "  b2: differs in 2 of 5 entries" in text
    # the short sum leaves exactly the rows l = Z..M-1 of grad_W2 and grad_b2 out
    given = report.points[0]
    rows = {m.index[0] for m in given.mismatches if m.wrt in ("W2", "b2")}
    assert rows == set(range(slips.Z, slips.M))
    assert all(m.claimed == 0.0 for m in given.mismatches if m.wrt in ("W2", "b2"))
    # named for what it is: the sum over l stops at Z = 3 where o has M = 5 entries
    short = (
        f"a sum that stops short, its index running to {slips.Z} where it should run to {slips.M}"
    )
    assert f"0 in rows {slips.Z}..{slips.M - 1} of {slips.M}: {short}" in report.hints["W2"]
    assert f"0 in entries {slips.Z}..{slips.M - 1} of {slips.M}: {short}" in report.hints["b2"]


def test_the_index_slip_alone_is_named_a_wrong_index_of_z(slips):
    report = slips.check(slips.bound_fixed)
    assert not report.ok
    verdicts = {s.name: s.failing for s in report.summaries}
    assert verdicts["W2"] == 0 and verdicts["b2"] == 0 and verdicts["z"] > 0
    assert set(report.hints) == {"z"}
    hint = report.hints["z"]
    assert "wrong index" in hint
    assert f"your entry 1 is the right entry {slips.N_LEFT}" in hint
    assert "z: differs in 2 of 3 entries" in str(report)


def test_the_corrected_formulas_hold_and_are_the_matrix_forms(slips):
    report = slips.check(slips.corrected)
    assert report.ok, str(report)
    assert report.hints == {}
    point = {name: value.numpy() for name, value in slips.the_point().items()}
    W2, b2, z = point["W2"], point["b2"], point["z"]
    grad_o = slips.grad_o(W2, b2, z)
    grad_W2, grad_b2, grad_z = slips.corrected(W2, b2, z)
    np.testing.assert_allclose(grad_W2, np.outer(grad_o, z), rtol=1e-12)
    np.testing.assert_allclose(grad_b2, grad_o, rtol=1e-12)
    np.testing.assert_allclose(grad_z, W2.T @ grad_o, rtol=1e-12)


def test_the_given_point_is_the_networks_hidden_layer_with_a_unit_cut_by_relu(slips):
    z = slips.the_point()["z"].numpy()
    assert z.shape == (slips.Z,)
    assert (z == 0).sum() == 1 and (z > 0).sum() == slips.Z - 1
