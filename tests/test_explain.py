"""cr.explain: the backward ledger, row by row against the seed's hand derivation, and against
.backward()."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.ops import PRIMITIVES
from chainrule.viz.ledger import Ledger
from chainrule.viz.rules import RULES, input_names, partial_for

A1, A2, A3, X, ALPHA = 0.5, -1.0, 2.0, 1.5, 0.3
Z = ALPHA * A1 * X + (1 - ALPHA) * A2 * X
SIG = 1 / (1 + math.exp(-Z))
DSIG = SIG * (1 - SIG)


def seed_ledger(record: bool = True) -> tuple[Ledger, dict[str, cr.Tensor]]:
    t = {}
    for name, value, grad in (("a1", A1, True), ("a2", A2, True), ("a3", A3, True),
                              ("x", X, False)):  # fmt: skip
        t[name] = cr.tensor(value, dtype=cr.float64, requires_grad=grad)
        t[name].name = name
    if record:
        with cr.viz.record():
            f = t["a3"] * cr.sigmoid(ALPHA * t["a1"] * t["x"] + (1 - ALPHA) * t["a2"] * t["x"])
    else:
        f = t["a3"] * cr.sigmoid(ALPHA * t["a1"] * t["x"] + (1 - ALPHA) * t["a2"] * t["x"])
    t["f"] = f
    return cr.explain(f, names={"f": f}, teaching=False), t


def test_seed_ledger_rows_match_the_hand_derivation() -> None:
    ledger, _ = seed_ledger()
    assert [(r.output, r.call) for r in ledger.rows] == [
        ("f", "Mul(a3, v6)"),
        ("v6", "Sigmoid(v5)"),
        ("v5", "Add(v2, v4)"),
        ("v4", "Mul(v3, x)"),
        ("v3", "Mul(0.7, a2)"),
        ("v2", "Mul(v1, x)"),
        ("v1", "Mul(0.3, a1)"),
    ]
    # (row, input) -> (upstream df/dvalue, local dvalue/dinput), all worked out by hand
    expected = {
        ("f", "a3"): (1.0, SIG),
        ("f", "v6"): (1.0, A3),
        ("v6", "v5"): (A3, DSIG),
        ("v5", "v2"): (A3 * DSIG, 1.0),
        ("v5", "v4"): (A3 * DSIG, 1.0),
        ("v4", "v3"): (A3 * DSIG, X),
        ("v3", "a2"): (A3 * DSIG * X, 1 - ALPHA),
        ("v2", "v1"): (A3 * DSIG, X),
        ("v1", "a1"): (A3 * DSIG * X, ALPHA),
    }
    seen = {}
    for row in ledger.rows:
        for term in row.terms:
            up, local = expected[row.output, term.input]
            assert float(row.upstream) == pytest.approx(up, rel=1e-12)
            assert float(term.local) == pytest.approx(local, rel=1e-12)
            assert float(term.gradient) == pytest.approx(up * local, rel=1e-12)
            seen[row.output, term.input] = term.formula
    assert set(seen) == set(expected)
    assert seen["v6", "v5"] == "dσ(x)/dx = σ(x)(1 - σ(x))"
    assert seen["f", "a3"] == "d(a*b)/da = b" and seen["v1", "a1"] == "d(a*b)/db = a"
    assert float(ledger.row("v6").value) == pytest.approx(SIG)
    assert float(ledger.row("v5").value) == pytest.approx(Z)


def test_ledger_gradients_equal_backward_and_the_closed_form() -> None:
    ledger, t = seed_ledger()
    assert t["a1"].grad is None  # explain leaves .grad alone and the graph usable
    t["f"].backward()
    for name in ("a1", "a2", "a3"):
        np.testing.assert_array_equal(ledger.gradients[name], t[name].grad.numpy())
    # seed 000 Ex2: df/da1 = a3 s'(z) alpha x, df/da2 = a3 s'(z) (1 - alpha) x, df/da3 = s(z)
    assert ledger.gradients["a1"] == pytest.approx(A3 * DSIG * ALPHA * X, rel=1e-12)
    assert ledger.gradients["a2"] == pytest.approx(A3 * DSIG * (1 - ALPHA) * X, rel=1e-12)
    assert ledger.gradients["a3"] == pytest.approx(SIG, rel=1e-12)
    assert [tot.name for tot in ledger.totals] == ["a1", "a2", "a3"]


def test_table_reads_like_the_derivation() -> None:
    ledger, _ = seed_ledger()
    text = str(ledger)
    assert text.splitlines()[0] == "Backward ledger for f = 0.6094 (7 nodes, in the order " + (
        "backprop visits them)"
    )
    assert f"2 × {DSIG:.4g} = {A3 * DSIG:.4g}" in text
    assert f"df/da1 = {A3 * DSIG * ALPHA * X:.4g}" in text
    assert "Sigmoid: y = σ(x) = 1/(1 + exp(-x))" in text
    assert "not recorded" not in text


def test_markdown_is_a_well_formed_table() -> None:
    ledger, _ = seed_ledger()
    md = ledger.markdown()
    assert md == ledger._repr_markdown_()
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + 9  # header, rule, one line per (node, input)
    cells = {len(re.split(r"(?<!\\)\|", line)) for line in rows}
    assert cells == {11}  # 9 columns everywhere
    assert "| 1 | `f = Mul(a3, v6)` |" in rows[2]


def test_latex_is_well_formed() -> None:
    ledger, _ = seed_ledger()
    tex = ledger.latex()
    assert tex.startswith("\\begin{align*}") and tex.rstrip().endswith("\\end{align*}")
    depth = 0
    for char in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    lines = tex.strip().splitlines()[1:-1]
    assert len(lines) == 9 and all(line.count("&") == 3 for line in lines)
    assert all(line.endswith(" \\\\") for line in lines[:-1])
    assert "\\frac{\\partial f}{\\partial a_{1}} &= " in lines[-1]
    assert f"= {A3 * DSIG * X:.4g} \\cdot 0.3 = {A3 * DSIG * X * ALPHA:.4g}" in lines[-1]


def test_fanout_sums_are_shown_and_add_up() -> None:
    a = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    a.name = "a"
    with cr.viz.record():
        b = a * 2
        y = (b * b + b).sum()
    ledger = cr.explain(y, names={"b": b})
    row_b = ledger.row("b")
    assert len(row_b.upstream_parts) == 3  # b * b (twice) and + b
    np.testing.assert_allclose(sum(g for _, g in row_b.upstream_parts), row_b.upstream)
    np.testing.assert_allclose(row_b.upstream, 2 * np.array([2.0, 4.0]) + 1)
    assert "(fan-out: summed)" in ledger.table()
    square = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
    square.name = "s"
    total = cr.explain(square * square).totals[0]
    assert [float(g) for _, g in total.parts] == [3.0, 3.0] and float(total.total) == 6.0
    full = cr.explain(square * square, teaching=False).table()
    assert "dL/ds = 3 (#1) + 3 (#1) = 6  (fan-out: summed)" in full
    assert "grad_s = 3 (#1) + 3 (#1) = 6  (fan-out: summed)" in cr.explain(square * square).table()
    c = square * 2
    tex = cr.explain(c * c + c, names={"c": c}).latex().splitlines()
    assert (
        "\\frac{\\partial L}{\\partial c} &= 1 + 6 + 6 = 13 && \\text{fan-out: summed} \\\\" in tex
    )
    assert (
        tex[-2].startswith("\\frac{\\partial L}{\\partial s} &= ")
        and "= 13 \\cdot 2 = 26" in tex[-2]
    )


def test_softmax_with_beta_local_is_the_seed_jacobian() -> None:
    x = cr.tensor([0.2, -1.0, 0.5], dtype=cr.float64, requires_grad=True)
    x.name = "x"
    w = cr.tensor([1.0, 2.0, -0.5], dtype=cr.float64)
    with cr.viz.record():
        p = F.softmax(x, dim=0, beta=3.0)
        loss = (p * w).sum()
    ledger = cr.explain(loss, names={"p": p})
    term = ledger.row("p").terms[0]
    pv = p.detach().numpy()
    np.testing.assert_allclose(term.local, 3.0 * (np.diag(pv) - np.outer(pv, pv)), rtol=1e-12)
    assert term.formula == "dp_j/dx_i = β p_i (δ_ij - p_j)"
    loss.backward()
    np.testing.assert_allclose(ledger.gradients["x"], x.grad.numpy(), rtol=0, atol=0)


def test_cross_entropy_row_is_softmax_minus_onehot() -> None:
    logits = cr.tensor([[0.5, -0.2, 1.0], [0.1, 0.3, -1.0]], dtype=cr.float64,
                       requires_grad=True)  # fmt: skip
    target = cr.tensor([2, 0])
    loss = F.cross_entropy(logits, target)
    ledger = cr.explain(loss, names={"o": logits})
    row = ledger.rows[0]
    assert row.op == "CrossEntropy" and "softmax(o) - 1_c" in row.terms[0].formula
    probs = np.exp(logits.detach().numpy())
    probs /= probs.sum(1, keepdims=True)
    np.testing.assert_allclose(row.terms[0].gradient, (probs - np.eye(3)[[2, 0]]) / 2)
    assert len(ledger.rows) == 1 and "(1 node," in ledger.table()
    assert "not recorded" not in ledger.table()  # no intermediate value to record


def test_unrecorded_ledger_still_has_gradients() -> None:
    ledger, _ = seed_ledger(record=False)
    assert not ledger.recorded and "cr.viz.record()" in ledger.table()
    assert ledger.row("v6").value is None
    assert float(ledger.row("v6").terms[0].local) == pytest.approx(DSIG)
    assert ledger.gradients["a1"] == pytest.approx(A3 * DSIG * ALPHA * X, rel=1e-12)


def test_freed_graph_and_leaves_are_refused_clearly() -> None:
    a = cr.tensor(2.0, requires_grad=True)
    y = a * a
    y.backward()
    with pytest.raises(RuntimeError, match=r"before loss\.backward"):
        cr.explain(y)
    with pytest.raises(ValueError, match="no graph"):
        cr.explain(a)


def test_explain_leaves_no_hooks_behind() -> None:
    a = cr.tensor(2.0, requires_grad=True)
    y = cr.sigmoid(a * a)
    cr.explain(y)
    assert y.grad_fn.pre_hooks is None and y.grad_fn.next_edges[0][0].pre_hooks is None
    with cr.viz.record():
        z = a * 3
    cr.explain(z)
    assert [len(hooks) for hooks in z.grad_fn.pre_hooks.values()] == [1]  # record()'s own


def test_user_function_row_uses_its_docstring() -> None:
    class Cube(cr.autograd.Function):
        """y = x^3;  dy/dx = 3 x^2"""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x**2

    a = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    ledger = cr.explain(Cube.apply(a))
    row = ledger.rows[0]
    assert row.words == "user-defined Function: y = x^3;  dy/dx = 3 x^2"
    assert float(row.terms[0].local) == 12.0 and float(ledger.gradients["leaf1"]) == 12.0


def test_every_primitive_has_a_rule() -> None:
    missing = [p.__name__ for p in PRIMITIVES if p.__name__ not in RULES]
    assert missing == [], f"primitives without a ledger rule in viz/rules.py: {missing}"
    for p in PRIMITIVES:
        rule = RULES[p.__name__]
        assert rule.words and rule.forward and rule.latex
        params = input_names(p)
        assert rule.partials, p.__name__
        for name, (text, latex) in rule.partials.items():
            assert name in params, f"{p.__name__}: rule for {name!r}, forward takes {params}"
            assert text and latex.count("{") == latex.count("}")
        for i in range(len(params)):  # every input has a formula or 'no gradient'
            assert partial_for(p, i)[0]
    assert RULES["Pow"].partials["b"][0] == "d a^b/db = a^b ln a"


def test_explain_leaves_retained_grads_untouched():
    """explain is a replay: a tensor that called retain_grad() gets its .grad from backward
    only, once."""
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    y = x * 2
    y.retain_grad()
    loss = (y * y).sum()
    cr.explain(loss)
    assert y.grad is None
    loss.backward()
    assert y.grad.tolist() == [4.0, 8.0]
