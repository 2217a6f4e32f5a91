"""The teaching view of `cr.viz.draw`: no implementation nodes, this backward's gradients, dtype
optional. Drawn on an Ex3-like two-layer ReLU MLP with F.cross_entropy (000 Ex3)."""

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F


def _ex3() -> tuple[cr.Tensor, dict[str, cr.Tensor]]:
    cr.manual_seed(3)
    x = cr.randn(4, dtype=cr.float64)
    x.name = "x"
    params = {
        "W1": cr.randn(3, 4, dtype=cr.float64, requires_grad=True),
        "b1": cr.randn(3, dtype=cr.float64, requires_grad=True),
        "W2": cr.randn(2, 3, dtype=cr.float64, requires_grad=True),
        "b2": cr.randn(2, dtype=cr.float64, requires_grad=True),
    }
    with cr.viz.record():
        z = cr.relu(params["W1"] @ x + params["b1"])
        o = params["W2"] @ z + params["b2"]
        loss = F.cross_entropy(o, cr.tensor(1))  # 1-D logits: reshaped to (1, 2) inside
    return loss, {**params, "z": z, "o": o}


def _ops(g: cr.viz.Graph) -> list[str | None]:
    return [n.op for n in g.nodes if n.kind == "op"]


def test_teaching_view_hides_the_reshape_and_joins_its_neighbours() -> None:
    loss, names = _ex3()
    loss.backward()
    full = cr.viz.draw(loss, names=names, teaching=False)
    assert _ops(full).count("Reshape") == 1
    assert "Reshape(o" in full.source

    g = cr.viz.draw(loss, names=names)  # small graph: the teaching view by default
    assert "Reshape" not in _ops(g) and "Reshape" not in g.source
    assert len(g.nodes) == len(full.nodes) - 1 + 1  # no reshape; the target c is drawn
    assert g.node("c").kind == "const" and g.node("c").value.tolist() == [1]
    o, loss_node = g.node("o"), g.node("CrossEntropy")
    # o feeds the loss directly, and the target c beside it
    assert [e.src for e in g.edges_into(loss_node.id)] == [o.id, g.node("c").id]
    assert "CrossEntropy(o, c)" in loss_node.label  # named o, not the hidden reshape's v-name
    assert f"{o.id} -> {loss_node.id}" in g.source


def test_a_one_element_sum_is_hidden_but_a_real_sum_is_not() -> None:
    a = cr.tensor([2.0], requires_grad=True)
    b = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with cr.viz.record():
        y = (a * a).sum() + (b * b).sum()
    y.backward()
    assert _ops(cr.viz.draw(y)).count("Sum") == 1
    assert _ops(cr.viz.draw(y, teaching=False)).count("Sum") == 2


def test_leaf_shows_the_gradient_of_this_backward_not_the_accumulated_grad() -> None:
    loss, names = _ex3()
    loss.backward(retain_graph=True)
    loss.backward()  # .grad now holds twice this backward's gradient
    b2 = names["b2"]
    once = b2.grad.numpy() / 2
    assert not np.allclose(once, 0)

    node = cr.viz.draw(loss, names=names).node("b2")
    np.testing.assert_allclose(node.grad, once, rtol=1e-12)
    np.testing.assert_allclose(cr.viz.draw(loss, names=names).node("W1").grad,
                               names["W1"].grad.numpy() / 2, rtol=1e-12)  # fmt: skip
    full = cr.viz.draw(loss, names=names, teaching=False).node("b2")
    np.testing.assert_allclose(full.grad, 2 * once, rtol=1e-12)  # the full view: .grad


def test_a_leaf_used_twice_shows_the_sum_of_both_uses() -> None:
    a = cr.tensor(3.0, requires_grad=True)
    a.name = "a"
    with cr.viz.record():
        y = a * a + a
    y.backward(retain_graph=True)
    y.backward()
    node = cr.viz.draw(y).node("a")
    assert node.grad == 7.0  # 2a + 1, once; .grad holds 14
    assert node.fanout == 3 and "grad 7" in node.label


def test_show_dtype_false_hides_dtype() -> None:
    loss, names = _ex3()
    loss.backward()
    assert "float64" in cr.viz.draw(loss, names=names).source
    src = cr.viz.draw(loss, names=names, show_dtype=False).source
    assert "float64" not in src and "(3, 4)" not in src


def test_large_graphs_get_the_full_view_by_default() -> None:
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    y = a
    with cr.viz.record():
        for i in range(25):
            y = (y * 1.0).reshape((1, 2) if i % 2 == 0 else (2,))
        out = y.sum()
    assert "Reshape" in _ops(cr.viz.draw(out))  # 51 op boxes: over the teaching limit
    assert "Reshape" not in _ops(cr.viz.draw(out, teaching=True))
