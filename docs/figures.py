"""The figures the README shows, made by chainrule itself: `python docs/figures.py [OUT_DIR]`.

`seed000_ex3_graph.png`: the computational graph of seed 000 Ex3 (a two-layer ReLU MLP with softmax
cross-entropy on one sample) in the teaching view, with every matrix drawn as a grid of its values
and of the gradient this backward delivered. Needs Graphviz's `dot`. tests/test_docs_figures.py
renders it again wherever `dot` exists, so the figure cannot drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import chainrule as cr
from chainrule.nn import functional as F

HERE = Path(__file__).resolve().parent


def ex3_graph() -> cr.viz.Graph:
    """000 Ex3: x -> h = W1 x + b1 -> z = relu(h) -> o = W2 z + b2 -> L = cross_entropy(o, c)."""
    cr.manual_seed(0)
    model = cr.nn.MLP([4, 5, 3]).double()
    W1, b1, W2, b2 = model[0].weight, model[0].bias, model[2].weight, model[2].bias
    x = cr.tensor([0.5, -1.2, 0.3, 2.0], dtype=cr.float64)
    with cr.viz.record():
        h = F.linear(x, W1, b1)
        z = cr.relu(h)
        o = F.linear(z, W2, b2)
        loss = F.cross_entropy(o, cr.tensor(2))
    loss.backward()
    names = {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "x": x, "h": h, "z": z, "o": o, "L": loss}
    return cr.viz.draw(loss, names=names, show_dtype=False)


def main(out: Path) -> Path:
    path = out / "seed000_ex3_graph.png"
    ex3_graph().render(str(path))
    return path


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
