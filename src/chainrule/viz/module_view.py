"""A network drawn as layers (seed 000 Ex3 Q5): for every layer its attributes (parameters and
their shapes), its forward function, and its backward function's inputs and outputs.

Solid arrows carry activations forward (labelled with their shapes); dashed red arrows carry the
gradient dL/d(activation) back. Shapes use N for the batch unless `input_shape` is given, in
which case they are the real ones (found by running each layer once on zeros).

Two layouts: "pytorch" writes a batch of rows (y = x W^T + b, gradients dL/dx); "course" writes
one sample as column vectors, as seed 000 Ex3 does (y = W_1 z + b_1, gradients grad_z, and the
cross-entropy node as L = -Σ_j y_j ln softmax(o)_j with grad_o = softmax(o) - 1_c).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

from chainrule import creation
from chainrule.modes import no_grad
from chainrule.nn.module import Module
from chainrule.primitives.base import REGISTRY
from chainrule.primitives.rules import Rule
from chainrule.viz.graph import STYLES, Graph, GraphEdge, GraphNode
from chainrule.viz.notation import Superscript  # how the k-th Linear's parameters are named

Shape = str  # shapes are written as text: "(N, 8)" or "(32, 8)"
Layout = Literal["pytorch", "course"]
BACK_EDGE = {"style": "dashed", "color": "#c0392b", "fontcolor": "#c0392b", "constraint": "false"}


def _shape(dims: Sequence[Any]) -> Shape:
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def _per(m: Module) -> str:
    return "/N" if getattr(m, "reduction", "mean") == "mean" else ""


# Each entry: module -> (attributes, forward, backward outputs) given the input shape x.
Describe = Callable[[Module, Shape, Shape], tuple[list[str], str, list[str]]]


def _rule(primitive: str) -> Rule:
    """The rule a layer's primitive declares (read when drawn, so it is never restated here)."""
    return REGISTRY[primitive].rule


def _upstream(text: str) -> str:
    """A rule's text with its upstream gradient g written as dL/dy (g_i as dL/dy_i), as a layer
    drawing names the gradient arriving from the layer above."""
    return re.sub(r"\bg(_[a-z])?\b", lambda m: "dL/dy" + (m.group(1) or ""), text)


def _linear(m: Any, x: Shape, y: Shape) -> tuple[list[str], str, list[str]]:
    rule = _rule("Linear")
    weight = _shape((m.out_features, m.in_features))
    attrs = [f"W: {weight}"]
    outs = [
        f"{_upstream(rule.partials['x'][0])}  {x}",
        f"{_upstream(rule.partials['weight'][0])}  {weight}",
    ]
    forward = rule.forward
    if m.bias is not None:
        attrs.append(f"b: {_shape((m.out_features,))}")
        outs.append(f"{_upstream(rule.partials['bias'][0])}  {_shape((m.out_features,))}")
    else:
        forward = forward.removesuffix(" + b")  # y = x W^T: no bias term, no bias gradient
    return attrs, forward, outs


def _softmax(m: Any, x: Shape, y: Shape) -> tuple[list[str], str, list[str]]:
    b = "" if m.beta == 1 else "β "
    attrs = [f"dim = {m.dim}"] + ([f"β = {m.beta}"] if m.beta != 1 else [])
    # the rule states the general β; a layer at β = 1 drops it from every formula
    log = type(m).__name__ == "LogSoftmax"
    grad = _upstream(_rule("LogSoftmax" if log else "Softmax").vjp["x"]).replace("β ", b)
    forward = f"y = {b}x - logsumexp({b}x)" if log else f"y = softmax({b}x)"
    return attrs, forward, [f"{grad}  {x}"]


def _top_level_sum(text: str) -> bool:
    """Whether `text` is a sum or difference outside any brackets (so ⊙ needs parentheses)."""
    depth = 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif depth == 0 and text[i : i + 3] in (" + ", " - "):
            return True
    return False


def _elementwise(forward: str, local: str) -> Describe:
    def describe(m: Any, x: Shape, y: Shape) -> tuple[list[str], str, list[str]]:
        return [], forward, [f"dL/dx = dL/dy ⊙ {local}  {x}" if local else f"dL/dx = dL/dy  {x}"]

    return describe


def _elementwise_rule(primitive: str) -> Describe:
    """A layer that applies one elementwise primitive: its forward and local derivative are the
    primitive's rule (the local derivative is what follows the partial's first '= ')."""

    def describe(m: Any, x: Shape, y: Shape) -> tuple[list[str], str, list[str]]:
        rule = _rule(primitive)
        local = rule.partials["x"][0].split(" = ", 1)[1]
        local = f"({local})" if _top_level_sum(local) else local
        return _elementwise(rule.forward, local)(m, x, y)

    return describe


def _loss(forward: str, grad: str) -> Describe:
    def describe(m: Any, x: Shape, y: Shape) -> tuple[list[str], str, list[str]]:
        per = _per(m)
        return (
            [f"reduction = {getattr(m, 'reduction', 'mean')!r}"],
            forward.format(mean="mean_n" if per else "Σ_n"),
            [grad.format(per=per) + f"  {x}"],
        )

    return describe


LAYERS: dict[str, Describe] = {
    "Linear": _linear,
    "ReLU": _elementwise_rule("Relu"),
    "Sigmoid": _elementwise_rule("Sigmoid"),
    "Tanh": _elementwise_rule("Tanh"),
    "LeakyReLU": _elementwise("y = x if x > 0 else s x", "(1 if x > 0 else s)"),
    "Identity": _elementwise("y = x", ""),
    "Flatten": lambda m, x, y: ([], "y = x flattened", [f"dL/dx = dL/dy reshaped to {x}"]),
    "Softmax": _softmax,
    "LogSoftmax": _softmax,
    "CrossEntropyLoss": _loss(
        "L = {mean} -ln softmax(o_n)_c_n", "dL/do = (softmax(o) - onehot(c)){per}"
    ),
    "NLLLoss": _loss("L = {mean} -x_n,c_n", "dL/dx = -onehot(c){per}"),
    "BCEWithLogitsLoss": _loss("L = {mean} -y f + ln(1 + e^f)", "dL/df = (σ(f) - y){per}"),
    "BCELoss": _loss(
        "L = {mean} -(y ln p + (1 - y) ln(1 - p))", "dL/dp = (p - y) / (p (1 - p)){per}"
    ),
    "MSELoss": _loss("L = {mean} (x - t)²", "dL/dx = 2 (x - t){per}"),
    "L1Loss": _loss("L = {mean} |x - t|", "dL/dx = sign(x - t){per}"),
}


def _indexed(name: str, k: int, superscript: Superscript) -> tuple[str, str]:
    """The k-th layer's parameter `name` and its transpose, in the chosen superscript style."""
    if superscript == "W^{(1)}":
        return f"{name}^{{({k})}}", f"{name}^{{({k})T}}"
    plain = f"{name}_{k}" if superscript == "W_1" else name
    return plain, f"{plain}^T"


def _linear_course(
    m: Any, x: Shape, k: int, superscript: Superscript
) -> tuple[list[str], str, list[str]]:
    """A Linear on one sample as a column vector z (seed 000 Ex3: o = W_2 z + b_2)."""
    w, w_t = _indexed("W", k, superscript)
    b, _ = _indexed("b", k, superscript)
    weight = _shape((m.out_features, m.in_features))
    attrs = [f"{w}: {weight}"]
    outs = [f"grad_z = {w_t} grad_y  {x}", f"grad_{w} = grad_y z^T  {weight}"]
    forward = f"y = {w} z"
    if m.bias is not None:
        attrs.append(f"{b}: {_shape((m.out_features,))}")
        outs.append(f"grad_{b} = grad_y  {_shape((m.out_features,))}")
        forward += f" + {b}"
    return attrs, forward, outs


def _cross_entropy_course(m: Any, x: Shape, y: Shape) -> tuple[list[str], str, list[str]]:
    """Seed 000 Ex3: L = -Σ_j y_j ln softmax(o)_j for a one-hot y (class c); Q1's gradient."""
    return (
        ["target: class c (y = 1_c, one-hot)"],
        "L = -Σ_j y_j ln softmax(o)_j = -ln softmax(o)_c",
        [f"grad_o = softmax(o) - 1_c  {x}"],
    )


def _course_text(text: str) -> str:
    """The course writes the gradient of L with respect to v as grad_v, not dL/dv."""
    return re.sub(r"dL/d(\w+)", r"grad_\1", text)


def _generic(m: Module, x: Shape, y: Shape) -> tuple[list[str], str, list[str]]:
    attrs = [f"{n}: {_shape(p.shape)}" for n, p in m.named_parameters(recurse=False)]
    outs = [f"dL/dx  {x}"] + [
        f"dL/d{n}  {_shape(p.shape)}" for n, p in m.named_parameters(recurse=False)
    ]
    return attrs, f"y = {type(m).__name__}(x)  (backward: autodiff of forward)", outs


def _layers(module: Module, prefix: str = "") -> list[tuple[str, Module]]:
    """Leaf layers in order: Sequentials are opened; other containers list their leaves."""
    children = list(module.named_children())
    if not children:
        return [(prefix or type(module).__name__, module)]
    out = []
    for name, child in children:
        out += _layers(child, f"{prefix}.{name}" if prefix else name)
    return out


def _symbolic(m: Module, x: Shape, layout: Layout) -> Shape:
    batch: tuple[str, ...] = ("N",) if layout == "pytorch" else ()
    if type(m).__name__ == "Linear":
        return _shape((*batch, m.out_features))
    if type(m).__name__ == "Flatten":
        return _shape((*batch, "·"))
    return x


def draw_module(
    module: Module,
    input_shape: Sequence[int] | None = None,
    loss: Module | None = None,
    rankdir: str = "TB",
    layout: Layout = "pytorch",
    superscript: Superscript = "W_1",
) -> Graph:
    """The network as layers; `loss` (a loss module) adds the loss node at the end.

    `layout="pytorch"` writes a batch of rows (y = x W^T + b, dL/dx); `layout="course"` writes one
    sample as column vectors as seed 000 Ex3 does (y = W_1 z + b_1, grad_z = W_1^T grad_y), with
    `superscript` naming the k-th Linear's parameters W_1, W^{(1)} or plain W. In the course
    layout `input_shape` is one sample's shape, e.g. (4,).

    >>> import chainrule as cr
    >>> g = cr.viz.draw_module(cr.nn.MLP([4, 8, 3]), loss=cr.nn.CrossEntropyLoss())
    >>> [n.op for n in g.nodes]
    ['input', 'Linear', 'ReLU', 'Linear', 'CrossEntropyLoss']
    >>> g.node("0").label.splitlines()[2]
    'forward: y = x W^T + b'
    >>> g = cr.viz.draw_module(cr.nn.MLP([4, 8, 3]), loss=cr.nn.CrossEntropyLoss(), layout="course")
    >>> g.node("2").label.splitlines()[2]
    'forward: y = W_2 z + b_2'
    >>> g.node("loss").label.splitlines()[4]
    'backward out: grad_o = softmax(o) - 1_c  (3,)'
    """
    if layout not in ("pytorch", "course"):
        raise ValueError(f"draw_module: layout must be 'pytorch' or 'course', got {layout!r}")
    if superscript not in ("W_1", "W^{(1)}", "none"):
        raise ValueError(
            f"draw_module: superscript must be 'W_1', 'W^{{(1)}}' or 'none', got {superscript!r}"
        )
    course = layout == "course"
    text: Callable[[str], str] = _course_text if course else str
    layers = _layers(module)
    first = layers[0][1]
    if input_shape is not None:
        x: Shape = _shape(tuple(input_shape))
        value = creation.zeros(*input_shape)
    else:
        in_features = getattr(first, "in_features", "in")
        x, value = _shape((in_features,) if course else ("N", in_features)), None
    nodes = [GraphNode("n0", "const", "x", "input", f"input x\n{x}", attrs=dict(STYLES["const"]))]
    edges: list[GraphEdge] = []
    h = "x"  # the name of the activation flowing out of the previous node
    linears = 0  # Linear layers seen so far: the course numbers them W_1, W_2, ...
    for k, (name, layer) in enumerate(layers, start=1):
        if value is not None:
            with no_grad():
                value = layer(value)
            y = _shape(tuple(value.shape))
        else:
            y = _symbolic(layer, x, layout)
        if course and type(layer).__name__ == "Linear":
            linears += 1
            attrs, forward, outs = _linear_course(layer, x, linears, superscript)
        else:
            attrs, forward, outs = LAYERS.get(type(layer).__name__, _generic)(layer, x, y)
        label = _label(f"{name}: {type(layer).__name__}", attrs, forward, f"dL/dy {y}", outs)
        label = text(label)
        nodes.append(
            GraphNode(
                f"n{k}",
                "op",
                name,
                type(layer).__name__,
                label,
                attrs=dict(STYLES["op"]),
                left=True,
            )
        )
        edges.append(GraphEdge(f"n{k - 1}", f"n{k}", 0, f"{h} {x}"))
        if k > 1:
            edges.append(
                GraphEdge(
                    f"n{k}",
                    f"n{k - 1}",
                    0,
                    text(f"dL/d{h} {x}"),
                    attrs=dict(BACK_EDGE),
                    kind="backward",
                )
            )
        x, h = y, ("o" if loss is not None and k == len(layers) else f"h{k}")
    if loss is not None:
        k = len(nodes)
        describe = LAYERS.get(type(loss).__name__, _generic)
        if course and type(loss).__name__ == "CrossEntropyLoss":
            describe = _cross_entropy_course
        attrs, forward, outs = describe(loss, x, "()")
        label = text(_label(f"loss: {type(loss).__name__}", attrs, forward, "dL/dL = 1", outs))
        style = {**STYLES["op"], **STYLES["root"]}
        nodes.append(
            GraphNode(
                f"n{k}",
                "op",
                "loss",
                type(loss).__name__,
                label,
                is_root=True,
                attrs=style,
                left=True,
            )
        )
        edges.append(GraphEdge(f"n{k - 1}", f"n{k}", 0, f"{h} {x}"))
        edges.append(
            GraphEdge(
                f"n{k}",
                f"n{k - 1}",
                0,
                text(f"dL/d{h} {x}"),
                attrs=dict(BACK_EDGE),
                kind="backward",
            )
        )
    else:
        nodes[-1].is_root = True
        nodes[-1].attrs.update(STYLES["root"])
    return Graph(nodes, edges, rankdir)


def _label(title: str, attrs: list[str], forward: str, back_in: str, outs: list[str]) -> str:
    lines = [title, "attributes: " + (", ".join(attrs) if attrs else "none")]
    lines.append(f"forward: {forward}")
    lines.append(f"backward in: {back_in}")
    lines.append("backward out: " + outs[0])
    lines += ["    " + o for o in outs[1:]]
    return "\n".join(lines)
