"""The engine's hook running and leaf delivery: the tensor hooks on a node's outputs
(`_run_prehooks`), and what happens when a leaf's gradient is complete (`_deliver_leaf`: capture
for autograd.grad, the leaf's own hooks, `_accumulate` into .grad, then the post-accumulate-grad
hooks). engine.py calls these by name once per node or leaf, on the per-op hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.tensor_base import (
    TensorBase as Tensor,  # the state of a tensor; its methods sit above
)


class HookResultError(TypeError, RuntimeError):
    """A post-accumulate-grad hook returned something (torch raises RuntimeError for a Tensor,
    TypeError for anything else; this is both, so either habit catches it)."""


def _as_array(g: Any) -> Any:
    if isinstance(g, Tensor):
        return g._data
    if isinstance(g, np.ndarray):
        return g
    return np.asarray(g)


def _run_prehooks(
    pre_hooks: dict[int, list[Any]], grads: list[Any], create_graph: bool, placed: set[int]
) -> list[Any]:
    """Run the tensor hooks on a node's outputs (`node.pre_hooks`: register_hook, retain_grad).

    A hook may keep its argument or its result, so both count as held (`placed`): the node's
    backward may pass that very array on to a leaf (Sub returns g itself for its first input)."""
    grads = list(grads)
    for nr, hooks in pre_hooks.items():
        if grads[nr] is None:
            continue
        for hook in list(hooks):
            g = grads[nr]
            placed.add(id(g))
            t = g if isinstance(g, Tensor) else Tensor._make(g)
            new = hook(t)
            if new is not None:
                grads[nr] = new if create_graph else _as_array(new)
                placed.add(id(grads[nr]))
    return grads


def _deliver_leaf(
    leaf: Tensor,
    g: Any,
    captured: list[Any],
    leaf_slots: dict[int, int],
    capture: Sequence[Tensor] | None,
    accumulate_only: set[int] | None,
    placed: set[int],
) -> None:
    if capture is not None:
        slot = leaf_slots.get(id(leaf))
        if slot is not None:
            captured[slot] = g if captured[slot] is None else captured[slot] + g
        return
    if accumulate_only is not None and id(leaf) not in accumulate_only:
        return
    if leaf._hooks:
        for hook in list(leaf._hooks):
            placed.add(id(g))  # the hook may keep what it saw: the leaf must not adopt it
            t = g if isinstance(g, Tensor) else Tensor._make(g)
            new = hook(t)
            if new is not None:
                g = new if isinstance(g, Tensor) else _as_array(new)
                placed.add(id(g))
    _accumulate(leaf, g, placed)
    if leaf._post_accumulate_grad_hooks:
        for hook in list(leaf._post_accumulate_grad_hooks):
            result = hook(leaf)
            if result is not None:
                raise HookResultError(
                    f"post accumulate grad hook {getattr(hook, '__name__', hook)!r} on a leaf of "
                    f"shape {tuple(leaf.shape)} returned {type(result).__name__}; it must return "
                    "None (it may read or change leaf.grad in place instead)"
                )


def _accumulate(leaf: Tensor, g: Any, placed: set[int]) -> None:
    """leaf.grad += g. In a first-order backward the sum is done in place, and a fresh gradient
    array is adopted without a copy when nothing else can see it."""
    if isinstance(g, Tensor):  # create_graph: keep the sum in the graph
        # As torch, the first gradient is always cloned (differentiably): under create_graph a
        # rule's Tensor result may be the very Tensor another leaf or a hook got (a + b).
        # Both are full Tensors, whose clone and + are defined above this layer: typed Any here.
        new: Any = g
        total: Any = leaf._grad
        leaf._grad = new.clone() if total is None else total + new
        return
    current = leaf._grad
    if current is None:
        private = (
            type(g) is np.ndarray and g.flags.owndata and g.flags.writeable and id(g) not in placed
        )
        if not private:
            g = np.array(g)  # a copy, and an array even for a 0-d NumPy scalar
        placed.add(id(g))
        leaf._grad = Tensor._make(g)
        return
    data = current._data
    if type(data) is np.ndarray and data.flags.writeable and data.dtype == g.dtype:
        np.add(data, g, out=data)
        current._vc[0] += 1
    else:
        leaf._grad = Tensor._make(data + g)
