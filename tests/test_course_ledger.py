"""The ledger read like the course's solution (000 Ex3, 000 Ex2, 001 §1.2): the rules written
with the names the user gave the tensors, the local partial and the resulting gradient in
separate columns, one row per step in the course's order, and `mode="factors"` (each gradient as
the product of its chain of local Jacobians). Numbers are held against the seeds' closed forms."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

N, Z, M, C = 4, 5, 3, 2  # input size, hidden size, classes, the true class


def _ex3(fan_out: bool = False) -> tuple[cr.Tensor, dict[str, cr.Tensor]]:
    """000 Ex3: o = W2 ReLU(W1 x + b1) + b2, L = -ln softmax(o)_c (with fan_out, z is used
    twice: o gains 0.5 * (V z))."""
    cr.manual_seed(7)
    x = cr.randn(N, dtype=cr.float64)
    x.name = "x"
    p = {
        "W1": cr.randn(Z, N, dtype=cr.float64, requires_grad=True),
        "b1": cr.randn(Z, dtype=cr.float64, requires_grad=True),
        "W2": cr.randn(M, Z, dtype=cr.float64, requires_grad=True),
        "b2": cr.randn(M, dtype=cr.float64, requires_grad=True),
    }
    with cr.viz.record():
        h = F.linear(x, p["W1"], p["b1"])
        z = cr.relu(h)
        o = F.linear(z, p["W2"], p["b2"])
        if fan_out:
            p["V"] = cr.randn(M, Z, dtype=cr.float64, requires_grad=True)
            o = o + 0.5 * (p["V"] @ z)
        loss = F.cross_entropy(o, cr.tensor(C))
    return loss, {**p, "x": x, "h": h, "z": z, "o": o}


def _closed_forms(names: dict[str, cr.Tensor]) -> dict[str, np.ndarray]:
    """The seed's answers: Q1 grad_o = softmax(o) - 1_c, Q2 grad_W2 = grad_o z^T, grad_b2 =
    grad_o, grad_z = W2^T grad_o, Q3 grad_h = grad_z * 1[h > 0], grad_W1 = grad_h x^T."""
    o, z, h, x = (names[k].detach().numpy() for k in ("o", "z", "h", "x"))
    W2 = names["W2"].detach().numpy()
    p = np.exp(o - o.max()) / np.exp(o - o.max()).sum()
    grad_o = p - np.eye(M)[C]
    grad_z = W2.T @ grad_o
    grad_h = grad_z * (h > 0)
    return {
        "o": grad_o,
        "W2": np.outer(grad_o, z),
        "b2": grad_o,
        "z": grad_z,
        "h": grad_h,
        "W1": np.outer(grad_h, x),
        "b1": grad_h,
    }


def test_ex3_ledger_has_one_row_per_step_in_the_course_order() -> None:
    loss, names = _ex3()
    ledger = cr.explain(loss, names)
    steps = [(row.output, [t.input for t in row.terms]) for row in ledger.rows]
    # no reshape row; each node's parameters before the value the chain goes on to
    assert steps == [("L", ["o"]), ("o", ["W2", "b2", "z"]), ("z", ["h"]), ("h", ["W1", "b1"])]
    formulas = [t.gradient_formula for row in ledger.rows for t in row.terms]
    assert formulas == [
        "grad_o = softmax(o) - 1_c",
        "grad_W2 = grad_o z^T",
        "grad_b2 = grad_o",
        "grad_z = W2^T grad_o",
        "grad_h = grad_z ⊙ 1[h > 0]",
        "grad_W1 = grad_h x^T",
        "grad_b1 = grad_h",
    ]
    assert [row.formula for row in ledger.rows][1:] == ["o = W2 z + b2", "z = max(h, 0)",
                                                        "h = W1 x + b1"]  # fmt: skip
    expected = _closed_forms(names)
    for row in ledger.rows:
        for term in row.terms:
            np.testing.assert_allclose(term.gradient, expected[term.input], rtol=1e-12)
    relu = ledger.row("z").terms[0]
    assert relu.partial == "d relu(h)/dh = 1[h > 0]"  # the local partial, in its own column
    np.testing.assert_array_equal(relu.local, names["h"].detach().numpy() > 0)  # the mask


def test_ex3_table_writes_grad_w2_as_a_grid_equation() -> None:
    loss, names = _ex3()
    text = cr.explain(loss, names).table()
    head = text.splitlines()[2]
    for column in ("local partial", "local", "gradient", "dL/dinput"):
        assert column in head
    grad_o = _closed_forms(names)["o"]
    z = names["z"].detach().numpy()
    # the column grad_o, the row z^T, then their product: one equation across lines
    lines = [x for x in text.splitlines() if "grad_W2 = grad_o z^T" in x]
    assert len(lines) == 1
    start = text.splitlines().index(lines[0]) - 1
    block = "\n".join(text.splitlines()[start : start + 3])
    assert re.search(r"\[\s*" + re.escape(cr.viz.format.number(grad_o[0])) + r"\]", block)
    assert "[" + "  ".join(cr.viz.format.number(v) for v in z) + "] = " in block
    assert "⊙" in text  # the ReLU mask, applied entry by entry
    assert "Gradients of L:" in text and "grad_W1 = " in text


def test_ex3_latex_uses_odot_names_and_a_column_times_a_row() -> None:
    loss, names = _ex3()
    tex = cr.explain(loss, names).latex()
    assert (
        r"\frac{\partial L}{\partial W_{2}} &= \frac{\partial L}{\partial o}\,z^{\top} = "
        r"\begin{bmatrix}"
    ) in tex
    assert r"\frac{\partial L}{\partial z} \odot \mathbf{1}[h > 0]" in tex
    assert r"W_{2}^{\top} \frac{\partial L}{\partial o}" in tex
    assert r"\mathrm{softmax}(o) - \mathbf{1}_{c}" in tex
    md = cr.explain(loss, names).markdown()
    assert "`grad_W2 = grad_o z^T`" in md


def test_a_value_used_twice_shows_the_fan_out_sum() -> None:
    loss, names = _ex3(fan_out=True)
    ledger = cr.explain(loss, names)
    z_row = ledger.row("z")
    assert len(z_row.upstream_parts) == 2  # from the Linear and from the product with V
    total = sum(g for _, g in z_row.upstream_parts)
    np.testing.assert_allclose(z_row.upstream, total, rtol=1e-12)
    W2, V = names["W2"].detach().numpy(), names["V"].detach().numpy()
    o = names["o"].detach().numpy()
    p = np.exp(o - o.max()) / np.exp(o - o.max()).sum()
    g = p - np.eye(M)[C]
    np.testing.assert_allclose(z_row.upstream, W2.T @ g + 0.5 * V.T @ g, rtol=1e-12)
    assert "grad_z = " in ledger.table() and "(fan-out: summed)" in ledger.table()


def test_the_full_view_keeps_reshapes_and_leibniz_names() -> None:
    loss, names = _ex3()
    full = cr.explain(loss, names, teaching=False)
    assert "Reshape" in [row.op for row in full.rows]
    assert full.rows[0].call == "CrossEntropy(v1; ignore_index=-100, reduction='mean')"
    assert "dL/dW2 = dL/do z^T" in [t.gradient_formula for r in full.rows for t in r.terms]
    assert "grad_W2" not in full.table()


def test_a_large_graph_is_not_in_the_teaching_view_by_default() -> None:
    a = cr.tensor(0.5, requires_grad=True)
    y = a
    for _ in range(41):  # 41 ops and a leaf: more boxes than TEACHING_MAX_NODES
        y = y * 1.0
    assert not cr.explain(y).teaching
    assert cr.explain(y, teaching=True).teaching


def test_named_matmul_operands_replace_the_rule_letters() -> None:
    W = cr.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=cr.float64, requires_grad=True)
    b = cr.tensor([0.5, -0.5], dtype=cr.float64, requires_grad=True)
    x = cr.tensor([2.0, 1.0], dtype=cr.float64)
    with cr.viz.record():
        y = W @ x + b  # the bias is called b, like the rule's own second operand
        loss = (y * y).sum()
    names = {"W": W, "b": b, "x": x, "y": y}
    ledger = cr.explain(loss, names)
    formulas = {t.input: t.gradient_formula for r in ledger.rows for t in r.terms}
    assert formulas["W"].endswith(" x^T") and formulas["W"].startswith("grad_W = grad_")
    assert formulas["b"] == "grad_b = grad_y"
    g = cr.viz.draw(loss, names=names)
    labels = [e.label for e in g.edges_into(g.node("Matmul").id)]
    assert any(label.startswith("grad_W = grad_") and "x^T" in label for label in labels)


def test_with_gradient_the_rows_are_gradients_of_l_not_of_the_root() -> None:
    x = cr.tensor([0.5, -1.0, 2.0], dtype=cr.float64, requires_grad=True)
    x.name = "x"
    with cr.viz.record():
        y = F.softmax(x, dim=-1, beta=2.0)
    v = cr.tensor([1.0, 0.0, -1.0], dtype=cr.float64)
    ledger = cr.explain(y, {"y": y}, gradient=v)
    assert ledger.wrt == "L" and ledger.root == "y"
    text = ledger.table()
    assert "dL/dnode" in text and "dy/dnode" not in text
    assert "Gradients of L (the gradient given is dL/dy):" in text
    f = cr.tensor(2.0, requires_grad=True)
    f.name = "a"
    with cr.viz.record():
        g = f * f
    assert "dq/da = " in cr.explain(g, {"q": g}).table()  # no gradient=: the root's own name


# -- mode="factors" ------------------------------------------------------------------------------
def test_ex2_factors_are_the_chain_rule_with_numbers() -> None:
    alpha, x_value, a1_, a2_, a3_ = 0.3, 1.5, 0.5, -1.0, 2.0
    a1, a2, a3 = (cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (a1_, a2_, a3_))
    a1.name, a2.name, a3.name = "a1", "a2", "a3"
    x = cr.tensor(x_value, dtype=cr.float64)
    x.name = "x"
    with cr.viz.record():
        u = alpha * a1 * x + (1 - alpha) * a2 * x
        s = cr.sigmoid(u)
        f = a3 * s
    factors = cr.explain(f, {"f": f, "u": u, "s": s}, mode="factors")
    u_ = alpha * a1_ * x_value + (1 - alpha) * a2_ * x_value
    sig = 1 / (1 + math.exp(-u_))
    expected = a3_ * sig * (1 - sig) * alpha * x_value  # the seed's df/da1
    (chain,) = factors.chains["a1"]
    assert float(chain.product) == pytest.approx(expected, rel=1e-12)
    text = str(factors)
    assert "df/da1 = ∂f/∂s · ∂s/∂u · ∂u/∂v2 · ∂v2/∂v1 · ∂v1/∂a1" in text
    assert "= a3 · σ(u)(1 - σ(u)) · 1 · x · 0.3" in text
    assert "= 2 × 0.2119 × 1 × 1.5 × 0.3 = 0.1907" in text
    assert factors.check()
    assert r"\frac{\partial v_{1}}{\partial a_{1}}" in factors.latex()


def test_softmax_factor_is_beta_diag_p_minus_p_p_transpose() -> None:
    beta = 2.0
    x = cr.tensor([0.5, -1.0, 2.0], dtype=cr.float64, requires_grad=True)
    x.name = "x"
    with cr.viz.record():
        p = F.softmax(x, dim=-1, beta=beta)
    v = np.array([1.0, 0.0, -1.0])
    factors = cr.explain(p, {"p": p}, gradient=cr.tensor(v, dtype=cr.float64), mode="factors")
    (chain,) = factors.chains["x"]
    pv = p.detach().numpy()
    J = beta * (np.diag(pv) - np.outer(pv, pv))  # 001 §1.2, (2): beta p_i (delta_ij - p_j)
    np.testing.assert_allclose(chain.factors[0].jacobian, J, rtol=1e-12)
    np.testing.assert_allclose(chain.product, v @ J, rtol=1e-12)
    assert chain.factors[0].formula == "β (diag(p) - p p^T)"
    assert "grad_x = grad_p · ∂p/∂x" in str(factors)


def test_ex3_factors_multiply_to_the_backprop_gradients() -> None:
    loss, names = _ex3()
    factors = cr.explain(loss, names, mode="factors")
    assert factors.check()
    expected = _closed_forms(names)
    for leaf in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(factors.total(leaf), expected[leaf], rtol=1e-12)
    (chain,) = factors.chains["b1"]
    assert [f.name for f in chain.factors] == ["∂L/∂o", "∂o/∂z", "∂z/∂h", "∂h/∂b1"]
    np.testing.assert_array_equal(  # the ReLU's Jacobian: the mask on the diagonal
        chain.factors[2].jacobian, np.diag(names["h"].detach().numpy() > 0)
    )
    assert "(softmax(o) - 1_c) · ∂o/∂z · 1[h > 0] · ∂h/∂b1" in str(factors)


def test_factors_sum_over_the_paths_of_a_fan_out() -> None:
    a = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
    a.name = "a"
    with cr.viz.record():
        y = a * a + a
    factors = cr.explain(y, mode="factors")
    assert len(factors.chains["a"]) == 3  # a * a uses it twice, + a once
    assert float(factors.total("a")) == pytest.approx(2 * 3.0 + 1)
    assert "the sum over the 3 paths" in str(factors)
    with pytest.raises(ValueError, match="mode must be"):
        cr.explain(y, mode="jacobians")


def test_latex_writes_layer_numbers_as_the_user_chooses() -> None:
    loss, names = _ex3()
    sub = cr.explain(loss, names).latex()
    sup = cr.explain(loss, names, superscript="W^{(1)}").latex()
    assert r"\frac{\partial L}{\partial W_{2}}" in sub and "W^{(2)}" not in sub
    assert r"\frac{\partial L}{\partial W^{(2)}}" in sup
    assert r"{W^{(2)}}^{\top} \frac{\partial L}{\partial o}" in sup  # no double superscript


def test_ex1_loss_is_one_node_and_its_label_keeps_its_letter():
    # 000 Ex1: the mean of one loss is that loss (no Sum, no division by 1 at the root), and the
    # rule's label y stays y when the label is a constant (it was written as the output's name)
    import chainrule.nn.functional as F

    f = cr.tensor(0.3, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(f, cr.tensor(1.0))
    assert loss.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward"
    text = cr.explain(loss, {"f": f}).table()
    assert "L = -y f + ln(1 + exp(f))" in text and "σ(f) - y" in text
    assert "/ 1" not in text and "Div" not in text
