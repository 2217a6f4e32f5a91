"""cr.viz.draw / draw_module / record: drawings checked structurally, SVG rendered when `dot` is
installed (CI installs it), the clear error asserted when it is not."""

from __future__ import annotations

import doctest
import importlib
import math
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule import modes
from chainrule.viz import graph as graph_module
from chainrule.viz.recording import recorded

A1, A2, A3, X, ALPHA = 0.5, -1.0, 2.0, 1.5, 0.3
Z = ALPHA * A1 * X + (1 - ALPHA) * A2 * X
SIG = 1 / (1 + math.exp(-Z))


def _named(value: float, name: str, grad: bool = True, parameter: bool = False) -> cr.Tensor:
    t = cr.tensor(value, dtype=cr.float64, requires_grad=grad and not parameter)
    if parameter:
        t = cr.nn.Parameter(t)
    t.name = name
    return t


def seed_function(record: bool = True) -> tuple[cr.Tensor, dict[str, cr.Tensor]]:
    """Seed 000 Ex2: f(x) = a3 sigma(alpha a1 x + (1 - alpha) a2 x), a3 a Parameter."""
    a1, a2 = _named(A1, "a1"), _named(A2, "a2")
    a3 = _named(A3, "a3", parameter=True)
    x = _named(X, "x", grad=False)
    with cr.viz.record() if record else _nothing():
        f = a3 * cr.sigmoid(ALPHA * a1 * x + (1 - ALPHA) * a2 * x)
    return f, {"a1": a1, "a2": a2, "a3": a3, "x": x}


class _nothing:
    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        pass


def _edge_names(g: cr.viz.Graph) -> set[tuple[str, str]]:
    by_id = {n.id: n.name or n.label.splitlines()[0] for n in g.nodes}
    return {(by_id[e.src], by_id[e.dst]) for e in g.edges}


def test_seed_graph_nodes_edges_and_styles() -> None:
    f, _ = seed_function()
    f.backward()
    g = cr.viz.draw(f)
    assert sorted(n.op for n in g.nodes if n.kind == "op") == ["Add"] + ["Mul"] * 5 + ["Sigmoid"]
    kinds = {n.name: n.kind for n in g.nodes if n.kind != "op"}
    assert kinds == {"a1": "leaf", "a2": "leaf", "a3": "param", "x": "const", None: "const"}
    assert _edge_names(g) == {
        ("a1", "v1"), ("constant", "v1"), ("v1", "v2"), ("x", "v2"),
        ("a2", "v3"), ("constant", "v3"), ("v3", "v4"), ("x", "v4"),
        ("v2", "v5"), ("v4", "v5"), ("v5", "v6"), ("v6", "L"), ("a3", "L"),
    }  # fmt: skip
    root = g.node("L")
    assert root.is_root and [n.name for n in g.nodes if n.is_root] == ["L"]
    # leaves, parameters, constants and the loss each look different
    styles = {n.kind: (n.attrs.get("shape"), n.attrs.get("fillcolor")) for n in g.nodes}
    assert len(set(styles.values())) == 4
    assert root.attrs["fillcolor"] != g.node("v6").attrs["fillcolor"]
    assert g.node("a3").attrs["peripheries"] == "2" and "(parameter)" in g.node("a3").label


def test_seed_graph_values_grads_and_local_factors() -> None:
    f, _ = seed_function()
    f.backward()
    g = cr.viz.draw(f)
    v6 = g.node("v6")
    assert v6.label.splitlines()[0] == "v6 = Sigmoid(v5)"
    assert f"value {SIG:.4g}" in v6.label and "grad 2" in v6.label  # dL/dv6 = a3 = 2
    assert float(v6.value) == pytest.approx(SIG) and float(v6.grad) == pytest.approx(A3)
    assert g.node("a1").grad == pytest.approx(A3 * SIG * (1 - SIG) * ALPHA * X)
    assert g.node("v1").label.splitlines()[0] == "v1 = Mul(0.3, a1)"
    locals_ = {(e.src, e.dst): e.local for e in g.edges if e.local is not None}
    ids = {n.name: n.id for n in g.nodes}
    assert locals_[ids["v5"], ids["v6"]] == pytest.approx(SIG * (1 - SIG))  # sigma'(z)
    assert locals_[ids["a1"], ids["v1"]] == pytest.approx(ALPHA)  # d(alpha a1)/da1
    assert locals_[ids["a3"], ids["L"]] == pytest.approx(SIG)  # d(a3 v6)/da3 = v6
    assert locals_[ids["v6"], ids["L"]] == pytest.approx(A3)
    label = next(e.label for e in g.edges if (e.src, e.dst) == (ids["v5"], ids["v6"]))
    assert label == f"∂v6/∂v5 = {SIG * (1 - SIG):.4g}"
    # constants carry no gradient: dashed, unlabelled edges
    const_edges = [e for e in g.edges if e.src == ids["x"]]
    assert len(const_edges) == 2 and all(e.attrs == {"style": "dashed"} for e in const_edges)


def test_dot_source_is_well_formed() -> None:
    f, _ = seed_function()
    src = cr.viz.draw(f).source
    assert src.startswith("digraph chainrule {") and src.rstrip().endswith("}")
    assert src.count("->") == 13
    assert src.count('"') % 2 == 0
    for line in src.splitlines()[4:-1]:
        assert line.endswith("];") or line.endswith(";")


def test_fanout_is_marked_and_summed() -> None:
    a = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    a.name = "a"
    with cr.viz.record():
        b = a * 2
        y = (b * b + b).sum()
    y.backward()
    g = cr.viz.draw(y, names={"b": b})
    node_b = g.node("b")
    assert node_b.fanout == 3 and "fan-out ×3: gradients summed" in node_b.label
    out_of_b = [e for e in g.edges if e.src == node_b.id]
    assert len(out_of_b) == 3 and all(e.fanout for e in out_of_b)
    assert all(e.attrs["color"] == graph_module.FANOUT_EDGE["color"] for e in out_of_b)
    assert not any(e.fanout for e in g.edges if e.src != node_b.id)
    np.testing.assert_allclose(node_b.grad, 2 * np.array([2.0, 4.0]) + 1)  # 2b + 1, summed
    assert g.node("a").fanout == 1


def test_unrecorded_graph_shows_leaves_and_rules_but_no_intermediate_values() -> None:
    f, _ = seed_function(record=False)
    g = cr.viz.draw(f)  # graph still alive: local factors come from the live nodes
    assert g.node("v6").value is None and "value" not in g.node("v6").label
    assert float(g.node("L").value) == pytest.approx(A3 * SIG)  # the result is known
    assert float(g.node("a1").value) == A1
    ids = {n.name: n.id for n in g.nodes}
    local = next(e.local for e in g.edges if (e.src, e.dst) == (ids["v5"], ids["v6"]))
    assert float(local) == pytest.approx(SIG * (1 - SIG))
    f.backward()  # frees the saved values: without a record the rule is shown instead
    g = cr.viz.draw(f)
    label = next(e.label for e in g.edges if (e.src, e.dst) == (ids["v5"], ids["v6"]))
    assert label == "dσ(v5)/dv5 = σ(v5)(1 - σ(v5))"  # the rule, with the operands' names


def test_large_tensors_are_summarised_and_small_jacobians_shown() -> None:
    w = cr.nn.Parameter(cr.randn(10, 10, dtype=cr.float64))
    with cr.viz.record():
        s = cr.softmax(w[0, :3], dim=0, beta=2.0)
        y = (w * 2).sum() + s[0]
    g = cr.viz.draw(y, names={"W": w, "s": s})
    assert "value (10, 10) in [" in g.node("W").label  # a heat map, its shape and range beside
    flat = cr.viz.draw(y, names={"W": w, "s": s}, heatmaps=False)
    assert "shape (10, 10): mean" in flat.node("W").label
    node_s = g.node("s")
    assert node_s.label.splitlines()[0].endswith("; dim=0, beta=2.0)")
    jac = next(e.local for e in g.edges if e.dst == node_s.id)
    p = node_s.value
    np.testing.assert_allclose(jac, 2.0 * (np.diag(p) - np.outer(p, p)), rtol=1e-12)


def test_names_from_a_module_and_show_flags() -> None:
    model = cr.nn.Linear(2, 1, dtype=cr.float64)
    x = cr.tensor([[1.0, -1.0]], dtype=cr.float64)
    with cr.viz.record():
        y = model(x).sum()
    y.backward()
    g = cr.viz.draw(y, names=model, show_values=False, show_grads=False, show_local=False)
    assert {n.name for n in g.nodes if n.kind == "param"} == {"weight", "bias"}
    assert all("value" not in n.label and "grad" not in n.label for n in g.nodes)
    assert all(e.label == "" for e in g.edges)
    with pytest.raises(ValueError, match="rankdir"):
        cr.viz.draw(y, rankdir="XY")


def test_render_svg_or_clear_error(tmp_path, monkeypatch) -> None:
    f, _ = seed_function()
    g = cr.viz.draw(f)
    dot_file = g.render(tmp_path / "g.dot")  # DOT needs no Graphviz
    with open(dot_file, encoding="utf-8") as f_dot:
        assert f_dot.read() == g.source
    if shutil.which("dot") is not None:
        g.render(tmp_path / "g.svg")
        svg = (tmp_path / "g.svg").read_text()
        assert "<svg" in svg and "v6 = Sigmoid(v5)" in svg
        assert "<svg" in g._repr_svg_()
        assert g.pipe("png")[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        with pytest.raises(RuntimeError, match="Graphviz"):
            g.render(tmp_path / "g.svg")
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="install Graphviz"):
        g.render(tmp_path / "g2.svg")
    assert g._repr_svg_() is None


def test_record_is_opt_in_and_restored() -> None:
    a = cr.tensor(1.0, requires_grad=True)
    assert modes.recorder is None
    y = a * 2
    assert recorded(y.grad_fn) is None and y.grad_fn.pre_hooks is None
    with pytest.raises(ZeroDivisionError), cr.viz.record():
        z = a * 3
        raise ZeroDivisionError
    assert modes.recorder is None and recorded(z.grad_fn).outputs[0] == 3.0
    traced = cr.viz.trace(lambda t: t + 1, a)
    assert recorded(traced.grad_fn).args[0] == 1.0 and modes.recorder is None


def test_record_keeps_values_at_record_time() -> None:
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.viz.record():
        y = (a * a).sum()
    with cr.no_grad():
        a.mul_(10)  # an optimizer step afterwards does not change what was recorded
    assert recorded(y.grad_fn).args[0].tolist() == [1.0, 4.0]


def test_deep_chain_is_walked_without_recursion() -> None:
    x = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
    y = x
    with cr.viz.record():
        for _ in range(3000):
            y = y * 1.0
    g = cr.viz.draw(y, show_local=False)
    assert len([n for n in g.nodes if n.kind == "op"]) == 3000
    assert g.node("v1").label.splitlines()[0] == "v1 = Mul(leaf1, 1)"


def test_draw_module_lists_attributes_forward_and_backward() -> None:
    g = cr.viz.draw_module(cr.nn.MLP([4, 8, 3]), loss=cr.nn.CrossEntropyLoss())
    assert [n.op for n in g.nodes] == ["input", "Linear", "ReLU", "Linear", "CrossEntropyLoss"]
    first = g.node("0").label.splitlines()
    assert first == [
        "0: Linear",
        "attributes: W: (8, 4), b: (8,)",
        "forward: y = x W^T + b",
        "backward in: dL/dy (N, 8)",
        "backward out: dL/dx = dL/dy W  (N, 4)",
        "    dL/dW = dL/dy^T x  (8, 4)",
        "    dL/db = Σ_n dL/dy  (8,)",
    ]
    assert "dL/dx = dL/dy ⊙ 1[x > 0]" in g.node("1").label
    assert "dL/do = (softmax(o) - onehot(c))/N  (N, 3)" in g.node("loss").label
    assert g.node("loss").is_root
    forward = [(e.src, e.dst, e.label) for e in g.edges if e.kind == "forward"]
    backward = [(e.src, e.dst, e.label) for e in g.edges if e.kind == "backward"]
    assert forward == [("n0", "n1", "x (N, 4)"), ("n1", "n2", "h1 (N, 8)"),
                       ("n2", "n3", "h2 (N, 8)"), ("n3", "n4", "o (N, 3)")]  # fmt: skip
    assert backward == [("n2", "n1", "dL/dh1 (N, 8)"), ("n3", "n2", "dL/dh2 (N, 8)"),
                        ("n4", "n3", "dL/do (N, 3)")]  # fmt: skip
    assert "\\l" in g.source  # left-justified layer descriptions


def test_draw_module_with_input_shape_and_unknown_layers() -> None:
    class Scale(cr.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.s = cr.nn.Parameter(cr.ones(3))

        def forward(self, x: cr.Tensor) -> cr.Tensor:
            return x * self.s

    model = cr.nn.Sequential(cr.nn.Linear(2, 3), Scale(), cr.nn.Softmax(dim=-1, beta=2.0))
    g = cr.viz.draw_module(model, input_shape=(5, 2))
    assert "backward in: dL/dy (5, 3)" in g.node("0").label
    scale = g.node("1").label
    assert "attributes: s: (3,)" in scale and "dL/ds  (3,)" in scale and "autodiff" in scale
    assert "β = 2.0" in g.node("2").label and "β y_i (dL/dy_i - Σ_j dL/dy_j y_j)" in (
        g.node("2").label
    )
    assert g.node("2").is_root


@pytest.mark.parametrize(
    "name",
    [
        "chainrule.viz.recording",
        "chainrule.viz.graph",
        "chainrule.viz.module_view",
        "chainrule.viz.format",
        "chainrule.viz.ledger",
        "chainrule.check.derivation_check",
        "chainrule.check.node_check",
    ],
)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)  # the module (cr.explain is the function)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_tensors_without_a_graph_draw_as_one_node() -> None:
    (const,) = cr.viz.draw(cr.tensor([1.0, 2.0])).nodes
    assert const.kind == "const" and const.is_root and "value [1, 2]" in const.label
    a = cr.tensor(1.0, requires_grad=True)
    a.name = "a"
    (leaf,) = cr.viz.draw(a).nodes
    assert (leaf.kind, leaf.name, leaf.is_root) == ("leaf", "a", True)
