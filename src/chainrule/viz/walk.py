"""The graph below a tensor, walked once (iteratively) and named, for drawings and ledgers.

Every value in the graph gets a key: `("node", id(node), nr)` for output `nr` of a node,
`("leaf", id(tensor))` for a leaf that requires grad, `("const", ...)` for a recorded input that
carries no gradient. Values are named by the `names` mapping, then by `Tensor.name`, then
`v1, v2, ...` in forward order for intermediate results; the root is `L` unless named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.function import Node
from chainrule.primitives.binary import Binary
from chainrule.tensor import Tensor
from chainrule.viz.format import format_value
from chainrule.viz.recording import recorded, vjp
from chainrule.viz.rules import attributes, input_names, rule_for

Key = tuple

TEACHING_MAX_NODES = 40
"""Graphs with at most this many boxes (ops, leaves and constants) are drawn and explained in
the teaching view unless told otherwise: a graph a person writes out by hand."""

TARGETS = frozenset({"target"})
"""Array arguments that the teaching view draws as inputs (the class c of a cross-entropy)."""

PASSTHROUGH = frozenset({"Reshape", "Expand", "Sum"})
"""Ops that, when input and output have as many entries, hand on the same values in the same
order (a reshape, an expand that adds size-1 dims, a sum over size-1 dims or of one element):
the teaching view of a drawing hides them."""


def node_key(node: Node, nr: int) -> Key:
    return ("node", id(node), nr)


def leaf_key(t: Tensor) -> Key:
    return ("leaf", id(t))


def edge_key(edge: tuple) -> Key:
    target, nr = edge
    return node_key(target, nr) if type(target) is Node else leaf_key(target)


@dataclass
class Constant:
    """A recorded input that carries no gradient (a Tensor without requires_grad, or a number)."""

    key: Key
    value: Any
    name: str | None
    consumers: list[tuple[Node, int]] = field(default_factory=list)


def _is_parameter(t: Tensor) -> bool:
    from chainrule.nn.parameter import Parameter

    return isinstance(t, Parameter)


def _forward_order(root: Node) -> list[Node]:
    """Nodes below root, producers before consumers (iterative post-order DFS)."""
    order: list[Node] = []
    seen = {root}
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, i = stack.pop()
        edges = node.next_edges
        if i < len(edges):
            stack.append((node, i + 1))
            edge = edges[i]
            if edge is not None and type(edge[0]) is Node and edge[0] not in seen:
                seen.add(edge[0])
                stack.append((edge[0], 0))
        else:
            order.append(node)
    records = [r for r in map(recorded, order) if r is not None]
    if len(records) == len(order):  # all recorded: the order the user's code ran them in
        order = [n for _, n in sorted(zip(records, order, strict=True), key=lambda p: p[0].index)]
    return order


class GraphWalk:
    """Nodes (forward order), leaves, constants, consumers, names, values, shapes of a graph."""

    def __init__(
        self,
        root: Tensor,
        names: Mapping[str, Tensor] | None = None,
        *,
        targets: bool = False,
        hide_defaults: bool = False,
    ) -> None:
        if not isinstance(root, Tensor):
            raise TypeError(f"expected a Tensor, got {type(root).__name__}")
        self.root = root
        self.targets, self.hide_defaults = targets, hide_defaults
        self.nodes: list[Node] = [] if root.grad_fn is None else _forward_order(root.grad_fn)
        self.leaves: dict[Key, Tensor] = {}
        self.constants: dict[Key, Constant] = {}
        self.consumers: dict[Key, list[tuple[Node, int]]] = {}
        self.const_inputs: dict[tuple[int, int], Key] = {}  # (id(node), i) -> constant's key
        if root.grad_fn is not None:
            self.root_key: Key = node_key(root.grad_fn, root._output_nr)
        elif root.requires_grad:  # a leaf on its own
            self.root_key = leaf_key(root)
            self.leaves[self.root_key] = root
        else:  # a tensor outside any graph: drawn as a constant
            self.root_key = ("const", id(root))
            self.constants[self.root_key] = Constant(self.root_key, root._data, root.name)
        self.meta: dict[Key, tuple[tuple[int, ...], Any]] = {
            self.root_key: (root.shape, root.dtype)
        }
        self.values: dict[Key, Any] = {self.root_key: root._data}
        self.by_id = {id(node): node for node in self.nodes}
        for node in self.nodes:
            self._visit(node)
        self._given = names or {}
        self.names = self._name_all(self._given)

    def teach(self) -> None:
        """Switch to the teaching view: targets become inputs, default attributes go unsaid.
        (A separate step because whether to teach depends on the graph's size.)"""
        if self.targets:
            return
        self.targets = self.hide_defaults = True
        for node in self.nodes:
            rec = recorded(node)
            if rec is None:
                continue
            for i, edge in enumerate(node.next_edges):
                if edge is None and (id(node), i) not in self.const_inputs:
                    self._constant(node, i, rec)
        self.names = self._name_all(self._given)

    def boxes(self) -> int:
        """How many boxes a drawing of this graph has (ops, leaves, constants)."""
        return len(self.nodes) + len(self.leaves) + len(self.constants)

    def _visit(self, node: Node) -> None:
        rec = recorded(node)
        if rec is not None:
            for nr, value in enumerate(rec.outputs):
                self.values.setdefault(node_key(node, nr), value)
                self.meta.setdefault(node_key(node, nr), (value.shape, value.dtype))
        for i, edge in enumerate(node.next_edges):
            if edge is None:
                if rec is not None:
                    self._constant(node, i, rec)
                continue
            key = edge_key(edge)
            self.consumers.setdefault(key, []).append((node, i))
            if node.input_meta[i] is not None:
                self.meta.setdefault(key, node.input_meta[i])
            if rec is not None:
                self.values.setdefault(key, rec.args[i])
            if key[0] == "leaf":
                self.leaves[key] = edge[0]
                self.values.setdefault(key, edge[0]._data)

    def _constant(self, node: Node, i: int, rec: Any) -> None:
        source = rec.constants[i]
        value = rec.args[i]
        if source is not None:
            key: Key = ("const", id(source))
            name = source.name
        elif issubclass(node.fn, Binary) and isinstance(value, (int, float, np.ndarray)):
            key, name = ("const", id(node), i), None
        elif self.targets and isinstance(value, np.ndarray) and _arg(node.fn, i) in TARGETS:
            key, name = ("const", id(node), i), _letter(node.fn, i)
        else:
            return  # an attribute of the op (a dim, a shape, beta), shown in its label instead
        const = self.constants.setdefault(key, Constant(key, value, name))
        const.consumers.append((node, i))
        self.const_inputs[id(node), i] = key

    def _name_all(self, names: Mapping[str, Tensor]) -> dict[Key, str]:
        given: dict[Key, str] = {}
        for name, t in names.items():
            if not isinstance(t, Tensor):
                raise TypeError(f"names[{name!r}] is a {type(t).__name__}, not a Tensor")
            if t.grad_fn is not None:
                given[node_key(t.grad_fn, t._output_nr)] = name
            else:
                given[leaf_key(t)] = name
                given[("const", id(t))] = name
        out: dict[Key, str] = {}
        counts = {"param": 0, "leaf": 0}
        for key, t in self.leaves.items():
            label = given.get(key) or t.name
            if label is None:
                kind = "param" if _is_parameter(t) else "leaf"
                counts[kind] += 1
                label = f"{kind}{counts[kind]}"
            out[key] = label
        unnamed = 0
        for key, const in self.constants.items():
            const.name = given.get(key) or const.name
            if const.name is not None:
                out[key] = const.name
            elif np.ndim(const.value) == 0:
                out[key] = format_value(const.value, 1)
            else:
                unnamed += 1
                out[key] = f"c{unnamed}"
        k = 0
        for node in self.nodes:
            for nr in range(node.n_outputs):
                key = node_key(node, nr)
                if key in given:
                    out[key] = given[key]
                elif key == self.root_key:
                    out[key] = "L"
                else:
                    if nr == 0:
                        k += 1
                    out[key] = f"v{k}" if node.n_outputs == 1 else f"v{k}.{nr}"
        return out

    # -- queries ---------------------------------------------------------------------------------
    def label(self, key: Key) -> str:
        """The name of a value."""
        return self.names.get(key, "?")

    def input_label(self, node: Node, i: int) -> str | None:
        """The name of node's input i (None for an attribute such as a dim)."""
        edge = node.next_edges[i]
        if edge is not None:
            return self.label(edge_key(edge))
        key = self.const_inputs.get((id(node), i))
        return None if key is None else self.label(key)

    def fanout(self, key: Key) -> int:
        """How many inputs of recorded operations receive this value (gradients sum over them)."""
        return len(self.consumers.get(key, ()))

    def call(self, node: Node) -> str:
        """The op applied to its inputs' names, e.g. 'Mul(0.3, a1)' or 'Softmax(v2; dim=1)'."""
        ins = [self.input_label(node, i) for i in range(len(node.next_edges))]
        text = ", ".join(x for x in ins if x is not None)
        rec = recorded(node)
        attrs = attributes(node.fn, rec.args, self.hide_defaults) if rec is not None else []
        if attrs:
            text += "; " + ", ".join(attrs)
        return f"{node.fn.__name__}({text})"

    def is_parameter(self, key: Key) -> bool:
        t = self.leaves.get(key)
        return t is not None and _is_parameter(t)

    def grad(self, key: Key) -> np.ndarray | None:
        """dL/dvalue after a backward: a leaf's .grad, or what record() caught for a node output."""
        if key[0] == "leaf":
            g = self.leaves[key].grad
            return None if g is None else g._data
        if key[0] == "node":
            rec = recorded(self.by_id[key[1]])
            return None if rec is None else rec.grads[key[2]]
        return None

    def delivered_grad(self, key: Key) -> np.ndarray | None:
        """dL/dvalue delivered by the latest backward (not the accumulated `.grad`).

        A node output's gradient is what record() caught; a leaf's is the sum of what each
        consumer's rule sends it for the gradient that consumer caught (the leaf has no pre-hook
        of its own). Falls back to `.grad` where a consumer was not recorded.
        """
        if key[0] != "leaf":
            return self.grad(key)
        total: np.ndarray | None = None
        for node, i in self.consumers.get(key, ()):
            rec = recorded(node)
            if rec is None:
                return self.grad(key)
            if all(g is None for g in rec.grads):
                continue  # this backward did not pass through that use
            try:
                sent = vjp(node, list(rec.grads))
            except (RuntimeError, ValueError, TypeError):
                return self.grad(key)
            if sent is None:
                return self.grad(key)
            if sent[i] is not None:
                total = sent[i] if total is None else total + sent[i]
        return total

    def passthrough(self) -> dict[Key, Key]:
        """The outputs of the nodes a teaching view hides (see PASSTHROUGH), each mapped to the
        value it hands on (through chains of such nodes). The result itself is never hidden."""
        alias: dict[Key, Key] = {}
        for node in self.nodes:
            key = node_key(node, 0)
            if key == self.root_key or node.fn.__name__ not in PASSTHROUGH:
                continue
            if node.n_outputs != 1 or not node.next_edges or node.next_edges[0] is None:
                continue
            if any(e is not None for e in node.next_edges[1:]) or key not in self.meta:
                continue
            in_meta = node.input_meta[0]
            if in_meta is None or _size(in_meta[0]) != _size(self.meta[key][0]):
                continue
            source = edge_key(node.next_edges[0])
            alias[key] = alias.get(source, source)
        return alias


def _arg(fn: type, i: int) -> str:
    args = input_names(fn)
    return args[min(i, len(args) - 1)] if args else ""


def _letter(fn: type, i: int) -> str | None:
    """The letter the rule writes for argument i (CrossEntropy's target is c)."""
    arg = _arg(fn, i)
    for letter, name in rule_for(fn).symbols.items():
        if name == arg:
            return letter
    return None


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))
