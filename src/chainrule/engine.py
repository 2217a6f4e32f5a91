"""The backward engine: reverse-mode autodiff over the recorded graph, without recursion.

1. Walk the graph from the roots with an explicit stack and count, for every node, how many edges
   lead into it (its consumers).
2. Start from the roots; a node runs once all its consumers have delivered their gradients (so a
   value used twice receives the sum), and then hands one gradient to each of its inputs.
3. The engine, not the rules, sums a gradient back to its input's shape (undoing broadcasting),
   casts it to the input's dtype, and checks the shape, naming the op when a rule got it wrong.

Gradients are raw arrays during a first-order backward and Tensors under create_graph=True.
Hook running and leaf delivery (register_hook, accumulation into .grad, post-accumulate-grad
hooks) live in engine_hooks.py, imported here by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.engine_hooks import (
    HookResultError as HookResultError,  # re-exported: its import path stays engine
)
from chainrule.engine_hooks import _as_array, _deliver_leaf, _run_prehooks
from chainrule.function import _FREED, Node
from chainrule.modes import state as _modes  # this thread's switches (grad mode, anomaly, ...)
from chainrule.primitives import dual
from chainrule.tensor_base import (
    TensorBase as Tensor,  # the state of a tensor; its methods sit above
)


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Tensor.backward and autograd.backward: accumulate the gradients of one tensor, or of a
    sequence of tensors (summed, as torch.autograd.backward), into the leaves' .grad."""
    # A single tensor takes its gradient as is (a Tensor or an array-like); a sequence of
    # tensors takes a sequence of gradients, one per tensor.
    roots = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    seeds: list[Any]
    if grad_tensors is None:
        seeds = [None] * len(roots)
    elif isinstance(tensors, Tensor):
        seeds = [grad_tensors]
    else:
        seeds = [grad_tensors] if isinstance(grad_tensors, Tensor) else list(grad_tensors)
    if len(seeds) != len(roots):
        raise ValueError(
            f"backward: got {len(seeds)} grad_tensors for {len(roots)} tensors; they must match"
        )
    root_grads = []
    for i, (root, seed) in enumerate(zip(roots, seeds, strict=True)):
        if not isinstance(root, Tensor):
            raise TypeError(f"backward: tensors[{i}] is a {type(root).__name__}, not a Tensor")
        if not root._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn: "
                "backward needs a tensor computed from a leaf with requires_grad=True"
            )
        root_grads.append(_root_gradient(root, seed, "backward"))
    only = None
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        only = {id(t) for t in inputs}
    run(
        roots,
        root_grads,
        create_graph if retain_graph is None else retain_graph,
        create_graph,
        accumulate_only=only,
    )


def _root_gradient(tensor: Tensor, gradient: Any, op: str) -> Any:
    """The seed dL/dtensor: ones for a scalar, else the given gradient (checked)."""
    if gradient is None:
        if tensor._data.size != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for scalar outputs; got an output of "
                f"shape {tuple(tensor.shape)}: pass `gradient` (dL/doutput) of that shape"
            )
        return np.ones_like(tensor._data)
    g = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
    if g.shape != tensor.shape:
        raise RuntimeError(
            f"{op}: gradient has shape {tuple(g.shape)} but the output has shape "
            f"{tuple(tensor.shape)}; they must match"
        )
    if g.dtype != tensor.dtype:
        g = g.astype(tensor.dtype)
    if isinstance(gradient, Tensor) and gradient._requires_grad:
        return gradient  # a differentiable seed stays in the graph (double backward)
    return g


def run(
    roots: Sequence[Tensor],
    root_grads: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Tensor] | None = None,
    accumulate_only: set[int] | None = None,
) -> list[Any] | None:
    """Backpropagate from roots. With `capture`, return d(roots)/d(capture) instead of touching
    any .grad (autograd.grad); otherwise accumulate into the leaves (Tensor.backward)."""
    previous = _modes.grad_enabled
    _modes.grad_enabled = create_graph
    try:
        # inf and nan in gradients (sqrt'(0) = inf, inf * 0) are answers, as in PyTorch, which
        # never warns: one errstate for the whole pass, not one per rule
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return _run(roots, root_grads, retain_graph, create_graph, capture, accumulate_only)
    finally:
        _modes.grad_enabled = previous


def _run(
    roots: Sequence[Tensor],
    root_grads: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Tensor] | None,
    accumulate_only: set[int] | None,
) -> list[Any] | None:
    convert = _as_tensor if create_graph else _as_array
    captured: list[Any] = [None] * len(capture) if capture is not None else []
    leaf_slots: dict[int, int] = {}
    node_slots: dict[tuple[Node, int], int] = {}
    for i, t in enumerate(capture or ()):
        if t.grad_fn is None:
            leaf_slots[id(t)] = i
        else:
            node_slots[(t.grad_fn, t._output_nr)] = i

    # ids of gradient arrays that someone besides the engine may hold (the user's root gradient,
    # a hook's argument or result, a user Function's result, an array sent along two edges): a
    # leaf adopts, and later accumulates in place into, only an array that is in none of these;
    # anything else is copied first (see _accumulate). Every place an array escapes adds it.
    placed: set[int] = set()
    buffers: dict[Node, list[Any]] = {}
    # A leaf's contributions are summed here until its last edge has delivered (leaf_pending
    # counts the edges left), so its hooks run once, on the total, as torch's AccumulateGrad.
    leaf_grads: dict[int, Any] = {}
    root_leaves: dict[int, Tensor] = {}
    for root, g in zip(roots, root_grads, strict=True):
        g = convert(g)
        placed.add(id(g))
        if root.grad_fn is None:  # a leaf differentiated with respect to itself
            key = id(root)
            root_leaves[key] = root
            leaf_grads[key] = g if key not in leaf_grads else leaf_grads[key] + g
            continue
        root_buf = buffers.setdefault(root.grad_fn, [None] * root.grad_fn.n_outputs)
        nr = root._output_nr
        root_buf[nr] = g if root_buf[nr] is None else root_buf[nr] + g

    dependencies, leaf_pending = _count_dependencies(list(buffers))
    for key, leaf in root_leaves.items():
        if key not in leaf_pending:  # no edge leads to it: nothing more will arrive
            g = leaf_grads.pop(key)
            _deliver_leaf(leaf, g, captured, leaf_slots, capture, accumulate_only, placed)
    ready = [node for node in buffers if node not in dependencies]
    anomaly = _modes.anomaly_enabled and _modes.anomaly_check_nan
    # The common case of _call_backward (a primitive's first-order backward on one output,
    # no anomaly check) is inlined below; everything else goes through it. So is every node
    # while cr.compile's tracer has replaced the module's _call_backward (it must see each one).
    inline = not create_graph and not anomaly and _call_backward is _EAGER_CALL_BACKWARD
    free = not retain_graph
    ndarray = np.ndarray
    generic = np.generic
    place = placed.add
    while ready:
        node = ready.pop()
        grads = buffers.pop(node)
        if node.pre_hooks:
            grads = _run_prehooks(node.pre_hooks, grads, create_graph, placed)
        if node_slots:
            for nr, g in enumerate(grads):
                slot = node_slots.get((node, nr))
                if slot is not None and g is not None:
                    captured[slot] = g if captured[slot] is None else captured[slot] + g
        edges = node.next_edges
        fn = node.fn
        if inline and fn._raw and len(grads) == 1:
            g = grads[0]
            if g is not None:
                input_grads: Any = fn.backward(node, g)
                if type(input_grads) is not tuple or len(input_grads) != len(edges):
                    input_grads = _normalise(node, input_grads)
            else:
                input_grads = (None,) * len(edges)
        elif grads[0] is not None or any(g is not None for g in grads):
            input_grads = _call_backward(node, grads, create_graph, anomaly)
        else:
            input_grads = (None,) * len(edges)
        if free and node._saved is not None:
            node._saved = _FREED  # free what backward saved (see Node._freed)
        meta = node.input_meta
        for i, edge in enumerate(edges):
            if edge is None:
                continue
            target, nr = edge
            g = input_grads[i]
            if g is not None:
                shape, dtype = meta[i]
                if (
                    (type(g) is not ndarray and not isinstance(g, generic))
                    or g.shape != shape
                    or (g.dtype is not dtype and g.dtype != dtype)  # `is`: the usual case
                ):
                    g = _fit(g, node, i, convert)
            if type(target) is Node:
                if g is not None:
                    place(id(g))
                    buf = buffers.get(target)
                    if buf is not None:
                        buf[nr] = g if buf[nr] is None else buf[nr] + g
                    elif target.n_outputs == 1:  # the first gradient of a one-output node
                        buffers[target] = [g]
                    else:
                        buf = buffers[target] = [None] * target.n_outputs
                        buf[nr] = g
                left = dependencies[target] - 1
                if left:
                    dependencies[target] = left
                else:  # its last consumer delivered (no edge reads the count again)
                    if g is None and target not in buffers:  # (a gradient made its buffer)
                        buffers[target] = [None] * target.n_outputs
                    ready.append(target)
            else:  # a leaf
                if g is not None and (
                    not fn._raw or (g is input_grads[i] and _appears_twice(g, input_grads))
                ):
                    # one array for two inputs (a + b), or from user code that may keep it
                    place(id(g))
                key = id(target)
                left = leaf_pending[key] - 1
                if left:  # more contributions to come: keep the sum (a new array)
                    leaf_pending[key] = left
                    if g is not None:
                        earlier = leaf_grads.get(key)
                        leaf_grads[key] = g if earlier is None else earlier + g
                    continue
                earlier = leaf_grads.pop(key, None)
                if earlier is not None:
                    g = earlier if g is None else earlier + g
                if g is not None:
                    _deliver_leaf(target, g, captured, leaf_slots, capture, accumulate_only, placed)
    return captured if capture is not None else None


def _count_dependencies(roots: list[Node]) -> tuple[dict[Node, int], dict[int, int]]:
    """How many edges lead into each node reachable from the roots (iterative DFS), and into
    each leaf (keyed by id: the edges keep the leaves alive while backward runs)."""
    dependencies: dict[Node, int] = {}
    leaves: dict[int, int] = {}
    roots_set = set(roots)
    stack = list(roots)
    push = stack.append
    count = dependencies.get
    while stack:
        node = stack.pop()
        for edge in node.next_edges:
            if edge is None:
                continue
            target = edge[0]
            if type(target) is Node:
                n = count(target)
                if n is not None:
                    dependencies[target] = n + 1
                else:  # first visit (a root reached again was already walked from the start)
                    dependencies[target] = 1
                    if target not in roots_set:
                        push(target)
            else:
                key = id(target)
                leaves[key] = leaves.get(key, 0) + 1
    return dependencies, leaves


def _call_backward(
    node: Node, grads: list[Any], create_graph: bool, anomaly: bool = False
) -> tuple:
    """The node's backward, one gradient per input (None where it sends none)."""
    fn = node.fn
    if fn._raw and not create_graph and len(grads) == 1:
        # The common case first (a primitive's first-order backward on one output): the rule
        # runs on raw arrays and returns arrays, with nothing to convert.
        result = fn.backward(node, grads[0])
        if type(result) is not tuple or len(result) != len(node.next_edges):
            result = _normalise(node, result)
    else:
        if node.materialize_grads and node.n_outputs > 1:
            grads = [
                g if g is not None else _zeros_for(node, grads, i) for i, g in enumerate(grads)
            ]
        if not fn._raw and not create_graph:  # user Functions see Tensors, as in PyTorch
            grads = [Tensor._make(g) if g is not None else None for g in grads]
        result = _normalise(node, fn.backward(node, *grads))
    if anomaly:  # detect_anomaly(check_nan=False) turns the check off
        _check_anomaly(node, result)
    return result


# The engine's own _call_backward (cr.compile's tracer swaps the module global for a hook).
_EAGER_CALL_BACKWARD = _call_backward


def _normalise(node: Node, result: Any) -> tuple:
    """backward's result as one entry per input, or an error naming the node."""
    if not isinstance(result, tuple):
        result = (result,)
    if len(result) < len(node.next_edges) and all(r is None for r in result[len(result) :]):
        result = result + (None,) * (len(node.next_edges) - len(result))
    if len(result) != len(node.next_edges):
        raise RuntimeError(
            f"function {node.name()} returned an incorrect number of gradients (expected "
            f"{len(node.next_edges)}, got {len(result)})"
        )
    return result


def _zeros_for(node: Node, grads: list[Any], i: int) -> Any:
    """A zero gradient for output i, which nobody used (multi-output Functions): of that
    output's own shape and dtype, which may differ from the others' (QR's Q and R)."""
    like = next(g for g in grads if g is not None)
    shape, dtype = node.output_meta[i]
    zeros = np.zeros(shape, dtype)
    return Tensor._make(zeros) if isinstance(like, Tensor) else zeros


def _fit(g: Any, node: Node, i: int, convert: Any) -> Any:
    """Bring a rule's gradient to its input's shape and dtype, or say which rule is wrong."""
    g = convert(g)
    shape, dtype = node.input_meta[i]
    if g.shape != shape:
        # Only a gradient the input broadcasts to can be summed back; any other shape is a bug
        # in the op's backward, reported by name here rather than as a NumPy reshape error.
        if _broadcasts_to(shape, g.shape):
            g = dual.sum_to(g, shape)
        if g.shape != shape:
            raise RuntimeError(
                f"function {node.name()} returned an invalid gradient at index {i}: got shape "
                f"{tuple(g.shape)} but expected shape compatible with {tuple(shape)}"
            )
    if g.dtype != dtype:
        g = dual.cast(g, dtype)
    return g


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _as_tensor(g: Any) -> Tensor:
    return g if isinstance(g, Tensor) else Tensor._make(np.asarray(g))


def _appears_twice(g: Any, grads: tuple) -> bool:
    return sum(1 for other in grads if other is g) > 1


def _check_anomaly(node: Node, result: tuple) -> None:
    for i, g in enumerate(result):
        if g is None:
            continue
        data = g._data if isinstance(g, Tensor) else np.asarray(g)
        if data.dtype.kind in "fc" and not np.isfinite(data).all():
            kind = "nan" if np.isnan(data).any() else "inf"
            where = "".join(
                node.trace or ["(no forward trace: the node was created outside detect_anomaly)\n"]
            )
            raise RuntimeError(
                f"Function '{node.name()}' returned {kind} values in its {i}th output.\n"
                f"The forward call that created this node:\n{where}"
            )
