"""The pre-activations inside a function, for the hints of `check.derivation`: the input u of
every sigmoid (a missing sigma'(u) leaves its factor in the ratio) and of every ReLU (a dropped
mask shows up exactly where u < 0)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from chainrule.modes import enable_grad
from chainrule.tensor import Tensor
from chainrule.viz.recording import record, recorded
from chainrule.viz.walk import GraphWalk

KINDS = {"Sigmoid": "sigmoid", "Relu": "relu"}


@dataclass
class Activation:
    """One sigmoid or ReLU of the graph: its kind, its input u, and the name the graph gives u."""

    kind: str
    u: np.ndarray
    name: str


def activations(run: Callable[[], object]) -> list[Activation]:
    """The sigmoids and ReLUs of the graph that `run()` builds, in the order the walk meets them."""
    with record(), enable_grad():
        out = run()
    if not isinstance(out, Tensor) or out.grad_fn is None:
        return []
    walk = GraphWalk(out)
    found = []
    for node in walk.nodes:
        kind = KINDS.get(getattr(node.fn, "__name__", ""))
        rec = recorded(node)
        if kind is None or rec is None:
            continue
        label = walk.input_label(node, 0) or "u"
        found.append(Activation(kind, np.asarray(rec.args[0], dtype=np.float64), label))
    return found


def aligned(u: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """u laid out over a gradient of `shape`: the same shape, a scalar, or one value per row of
    a matrix (the pre-activation of the layer whose weight has that shape); else None."""
    if u.size == 1:
        return np.full(shape, float(u.reshape(-1)[0]))
    squeezed = u.reshape([n for n in u.shape if n != 1])
    if squeezed.shape == shape:
        return squeezed
    if len(shape) == 2 and squeezed.shape == (shape[0],):
        return np.broadcast_to(squeezed[:, None], shape)
    return None
