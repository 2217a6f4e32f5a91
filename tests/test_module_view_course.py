"""cr.viz.draw_module in the course's notation (seed 000 Ex3 Q5): checked on the DOT text."""

import pytest

import chainrule as cr


def _mlp_source(**options: object) -> str:
    model = cr.nn.MLP([4, 8, 3])
    return cr.viz.draw_module(model, loss=cr.nn.CrossEntropyLoss(), **options).source  # type: ignore[arg-type]


def test_course_layout_writes_w_z_plus_b_and_never_w_transposed_on_the_right() -> None:
    source = _mlp_source(layout="course", superscript="none")
    assert "y = W z + b" in source
    assert "W^T" not in source.replace("grad_z = W^T grad_y", "")  # only in the backward to z
    assert "grad_z = W^T grad_y" in source and "grad_W = grad_y z^T" in source
    assert "x W^T" not in source and "dL/d" not in source  # gradients are written grad_v


def test_pytorch_layout_writes_x_w_transposed_and_not_w_z() -> None:
    source = _mlp_source(layout="pytorch")
    assert "y = x W^T + b" in source and "W z" not in source
    assert source == _mlp_source()  # the default layout is unchanged: PyTorch's


def test_course_layout_shapes_are_one_sample_column_vectors() -> None:
    g = cr.viz.draw_module(cr.nn.MLP([4, 8, 3]), loss=cr.nn.CrossEntropyLoss(), layout="course")
    forward = [e.label for e in g.edges if e.kind == "forward"]
    backward = [e.label for e in g.edges if e.kind == "backward"]
    assert forward == ["x (4,)", "h1 (8,)", "h2 (8,)", "o (3,)"]
    assert backward == ["grad_h1 (8,)", "grad_h2 (8,)", "grad_o (3,)"]
    assert "N" not in g.node("0").label.replace("Linear", "")


@pytest.mark.parametrize(
    ("superscript", "forward", "transposed"),
    [
        ("W_1", "y = W_2 z + b_2", "grad_z = W_2^T grad_y"),
        ("W^{(1)}", "y = W^{(2)} z + b^{(2)}", "grad_z = W^{(2)T} grad_y"),
        ("none", "y = W z + b", "grad_z = W^T grad_y"),
    ],
)
def test_superscript_style_names_each_linear_layer(
    superscript: str, forward: str, transposed: str
) -> None:
    g = cr.viz.draw_module(cr.nn.MLP([4, 8, 3]), layout="course", superscript=superscript)  # type: ignore[arg-type]
    label = g.node("2").label
    assert f"forward: {forward}" in label and transposed in label
    assert "W_1: (8, 4), b_1: (8,)" in g.node("0").label or superscript != "W_1"


def test_course_loss_node_has_softmax_cross_entropy_and_grad_o() -> None:
    source = _mlp_source(layout="course")
    assert "L = -Σ_j y_j ln softmax(o)_j = -ln softmax(o)_c" in source
    assert "grad_o = softmax(o) - 1_c  (3,)" in source
    assert "onehot" not in source and "/N" not in source  # one sample, the course's 1_c


def test_course_layout_without_bias_and_with_a_sample_shape() -> None:
    model = cr.nn.Sequential(cr.nn.Linear(2, 3, bias=False), cr.nn.Tanh())
    g = cr.viz.draw_module(model, input_shape=(2,), layout="course")
    label = g.node("0").label
    assert "forward: y = W_1 z\\l" in g.source and "b_1" not in label
    assert "backward in: grad_y (3,)" in label and g.node("1").is_root


def test_unknown_layout_or_superscript_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="layout must be"):
        cr.viz.draw_module(cr.nn.MLP([2, 2]), layout="torch")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="superscript must be"):
        cr.viz.draw_module(cr.nn.MLP([2, 2]), superscript="W1")  # type: ignore[arg-type]
