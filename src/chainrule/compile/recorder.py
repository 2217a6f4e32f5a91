"""What a trace records: the `Recorder` half of the tracer (tracer.py installs the hooks that
call it). It keeps the slots (every array the function produced, by identity), the refs (the
tensors it reached from outside), and turns each forward op, each node's backward, the engine's
sums and fits and each leaf's delivery into tape instructions (tape.py).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from chainrule import engine, function
from chainrule.compile.tape import (
    BEGIN,
    BWD,
    BWD_BEGIN,
    BWD_END,
    CONST,
    END,
    FIT,
    FWD,
    LEAF,
    REF,
    ROOT,
    SLOT,
    SUM,
    Tape,
)
from chainrule.compile.values import ValueRecording, _unrecorded
from chainrule.engine_hooks import _as_array
from chainrule.function import Node
from chainrule.tensor import Tensor
from chainrule.tensor_base import TensorBase


class CompileUnsupported(RuntimeError):
    """What `fullgraph=True` raises where a default compile falls back to eager."""


def _state(t: Any) -> tuple:
    """What the tape must account for in a ref: its array and version, its grad and version."""
    g = t._grad
    return (t._data, t._vc[0], g, None if g is None else g._vc[0])


class Recorder(ValueRecording):
    """The state of one trace and the recording of what the function does."""

    def __init__(self, inputs: list[Any], fullgraph: bool) -> None:
        self.fullgraph = fullgraph
        self.thread = threading.get_ident()
        self.tape = Tape(n_inputs=len(inputs), bound=[], bound_guards=[])
        self.reason: str | None = None
        self.suspended = 0
        self.refs: dict[int, int] = {id(t): i for i, t in enumerate(inputs)}
        self.ref_list: list[Any] = list(inputs)  # exactly the tape's refs: inputs + bound
        # id(array) -> ref, for a tensor's array passed raw (CrossEntropy gets target._data)
        self.ref_data: dict[int, int] = {id(t._data): i for i, t in enumerate(inputs)}
        # ref -> (array, version, grad, grad version) as the recorded ops left it
        self.states: dict[int, tuple] = {i: _state(t) for i, t in enumerate(inputs)}
        self.keep: list[Any] = []  # aliases (detach, .data), kept alive so their ids stay unique
        self.slot_of: dict[int, int] = {}  # id(array) -> slot
        self.values: list[Any] = []  # slot -> its trace-time array (kept alive: ids stay unique)
        self.node_op: dict[int, int] = {}  # id(node) -> index of its FWD instruction
        self.nodes: list[Node] = []  # kept alive, so their ids stay unique
        self.visited: set[int] = set()  # ids of nodes a backward ran through
        self.in_backward = False
        self.contrib: dict[Any, list[int]] = {}
        self.pending: tuple[Node, list[int]] | None = None
        self.delivered: set[int] = set()
        self._saved: list[tuple[Any, str, Any]] = []
        self.reentry = False  # on_apply's own call back into _apply
        self.live: list[Any] = []  # results that require grad, backpropagated after the call
        self.capturing = False
        self.captures: dict[int, int] = {}  # id(leaf) -> slot of its gradient (capture run)
        # id(tensor) -> (tensor, the public function that made it): tensors wrapped around an
        # array that no recorded op produced (tracer.py's `_make` hook); bound as constants
        # they would repeat their traced value on every replay
        self.made: dict[int, tuple[Any, str]] = {}

    # -- bookkeeping ---------------------------------------------------------------------------
    def mine(self) -> bool:
        return self.reason is None and not self.suspended and threading.get_ident() == self.thread

    def unsupported(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            if self.fullgraph:
                raise CompileUnsupported(f"cr.compile(fullgraph=True): {reason}")

    def new_slot(self, array: Any) -> int:
        slot = len(self.values)
        self.values.append(array)
        self.slot_of[id(array)] = slot
        return slot

    def ref(self, t: Any) -> int:
        k = self.refs.get(id(t))
        if k is None:
            k = self.refs[id(t)] = len(self.ref_list)
            self.ref_list.append(t)
            self.tape.bound.append(t)
            self.ref_data.setdefault(id(t._data), k)
            self.states[k] = _state(t)
            data = t._data
            self.tape.bound_guards.append(
                (data.shape, data.dtype, t._requires_grad, t.grad_fn is None)
            )
            if t.grad_fn is not None:
                self.unsupported(
                    "a tensor with history from outside the function (pass it as an argument)"
                )
        return k

    def spec(self, a: Any) -> tuple[int, Any]:
        if isinstance(a, TensorBase):
            k = self.refs.get(id(a))
            if k is not None:
                return (REF, k)
            s = self.slot_of.get(id(a._data))
            if s is not None:
                return (SLOT, s)
            if id(a) in self.made:
                self.unsupported(_unrecorded(self.made[id(a)][1]))
            return (REF, self.ref(a))
        if isinstance(a, (np.ndarray, np.generic)):
            s = self.slot_of.get(id(a))
            if s is not None:
                return (SLOT, s)
            k = self.ref_data.get(id(a))
            if k is not None and self.ref_list[k]._data is a:
                return (REF, k)
        if self._derived(a):
            self.unsupported(
                "an operation argument that holds a view of a traced array (a mask or an "
                "index broadcast or reshaped outside the recorded operations); it would "
                "repeat its traced value on replay"
            )
        return (CONST, a)

    def snapshot(self) -> None:
        """The refs as they are now are accounted for (after a recorded change)."""
        for k, t in enumerate(self.ref_list):
            self.states[k] = _state(t)

    def verify(self) -> None:
        """Refuse a change to a ref that no recorded op made: library code that writes into a
        tensor's array directly (clip_grad_norm_, an embedding's max_norm) would not replay."""
        for k, t in enumerate(self.ref_list):
            old = self.states.get(k)
            if old is not None and any(
                a is not b if i % 2 == 0 else a != b
                for i, (a, b) in enumerate(zip(old, _state(t), strict=True))
            ):
                self.unsupported(
                    f"a tensor of shape {tuple(t.shape)} (or its .grad) was changed in place by "
                    "code outside the recorded operations"
                )
                return

    def emit(self, *ins: Any) -> int:
        self.tape.instrs.append(ins)
        return len(self.tape.instrs) - 1

    # -- forward ---------------------------------------------------------------------------------
    def on_apply(self, cls: Any, args: tuple) -> Any:
        if self.reentry or not self.mine():
            return None  # _apply runs the op itself
        if not cls._raw:
            self.unsupported(f"a user autograd.Function ({cls.__name__})")
            return None
        specs = [self.spec(a) for a in args]
        self.reentry = True
        try:
            out = function._apply(cls, args)
        finally:
            self.reentry = False
        if self.reason is not None:
            return out
        outs = out if type(out) is tuple else (out,)
        slots = tuple(self.new_slot(t._data) for t in outs)
        for slot, t in zip(slots, outs, strict=True):
            if type(t._data) is np.ndarray and t._data.ndim == 0:
                self.tape.zero_d_slots.add(slot)
        node = next((t.grad_fn for t in outs if t.grad_fn is not None), None)
        template = None
        if node is not None:
            extra = tuple(
                (name, vars(node)[name])
                for name in ("n_outputs", "output_meta", "materialize_grads", "non_differentiable")
                if name in vars(node)
            )
            template = (
                (None,) * len(node.next_edges),
                node.input_meta,
                node.needs_input_grad,
                extra,
            )
        at = self.emit(FWD, cls, specs, slots if type(out) is tuple else slots[0], template)
        if node is not None:
            self.node_op[id(node)] = at
            self.nodes.append(node)
        return out

    # -- backward --------------------------------------------------------------------------------
    def on_backward(
        self,
        original: Any,
        tensors: Any,
        grad_tensors: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> Any:
        if create_graph:
            self.unsupported("backward(create_graph=True)")
        elif inputs is not None:
            self.unsupported("backward(inputs=...)")
        elif not isinstance(tensors, TensorBase) or not tensors._requires_grad:
            self.unsupported("backward on several tensors or on one that does not require grad")
        elif tensors.grad_fn is None:
            self.unsupported("backward from a leaf")
        elif id(tensors._data) not in self.slot_of:
            self.unsupported("backward from a tensor computed outside the function")
        elif isinstance(grad_tensors, TensorBase) and grad_tensors._requires_grad:
            self.unsupported("a gradient that requires grad (double backward)")
        if self.reason is not None:
            return original(tensors, grad_tensors, retain_graph, create_graph, inputs)
        gradient = None
        if grad_tensors is not None:
            if not isinstance(grad_tensors, TensorBase):
                grad_tensors = Tensor(np.array(grad_tensors))
            gradient = self.spec(grad_tensors)
        try:
            seed = _as_array(engine._root_gradient(tensors, grad_tensors, "backward"))
        except Exception:
            self.unsupported("an invalid backward() call")
            return original(tensors, grad_tensors, retain_graph, create_graph, inputs)
        self.emit(BEGIN)
        slot = self.new_slot(seed)
        self.emit(ROOT, slot, self.slot_of[id(tensors._data)], gradient)
        self.tape.root_values[slot] = tensors._data
        self.contrib = {(id(tensors.grad_fn), tensors._output_nr): [slot]}
        self.pending, self.delivered = None, set()
        self.in_backward = True
        try:
            return original(tensors, grad_tensors, retain_graph, create_graph, inputs)
        finally:
            self.in_backward = False
            self.pending = None
            self.emit(END)

    def _flush(self) -> None:
        """The previous node's gradients are final (fitted): file them under their targets."""
        if self.pending is None:
            return
        node, slots = self.pending
        self.pending = None
        for i, edge in enumerate(node.next_edges):
            if edge is None or slots[i] < 0:
                continue
            target = edge[0]
            if type(target) is Node:
                key: Any = (id(target), edge[1])
            elif id(target) in self.delivered:
                continue
            else:
                key = ("leaf", id(target))
            self.contrib.setdefault(key, []).append(slots[i])

    def _gradient_slot(self, g: Any, contributions: list[int]) -> int:
        """The slot of a gradient the engine hands on: the array itself, or the sum of the
        contributions in the order the engine added them (checked bit for bit)."""
        s = self.slot_of.get(id(g))
        if s is not None:
            return s
        if not contributions:
            self.unsupported("internal: a gradient of unknown origin")
            return -1
        total = self.values[contributions[0]]
        for c in contributions[1:]:
            total = total + self.values[c]
        same = np.shape(total) == np.shape(g) and np.asarray(total).dtype == np.asarray(g).dtype
        if not same or not np.array_equal(total, g, equal_nan=True):
            self.unsupported("internal: a gradient sum the tape cannot reproduce")
            return -1
        out = self.new_slot(g)
        self.emit(SUM, out, tuple(contributions))
        return out

    def on_call(self, original: Any, node: Any, grads: list[Any], *rest: Any) -> Any:
        if not self.in_backward:
            self.unsupported("autograd.grad or autograd.backward inside the function")
            return original(node, grads, *rest)
        self._flush()
        at = self.node_op.get(id(node))
        if at is None:
            self.unsupported("backward reaches operations recorded outside the function")
            return original(node, grads, *rest)
        grads_in = tuple(
            -1 if g is None else self._gradient_slot(g, self.contrib.pop((id(node), nr), []))
            for nr, g in enumerate(grads)
        )
        result = original(node, grads, *rest)
        if self.reason is not None:
            return result
        grads_out = [-1 if r is None else self.new_slot(r) for r in result]
        self.emit(BWD, at, grads_in, tuple(grads_out))
        self.visited.add(id(node))
        self.pending = (node, grads_out)
        return result

    def on_fit(self, original: Any, g: Any, node: Any, i: int, convert: Any) -> Any:
        out = original(g, node, i, convert)
        if self.pending is None or self.pending[0] is not node:
            self.unsupported("internal: a gradient fitted outside a node's backward")
            return out
        shape, dtype = node.input_meta[i]
        slot = self.new_slot(out)
        self.emit(FIT, slot, self.slot_of[id(g)], shape, dtype)
        self.pending[1][i] = slot
        return out

    def on_leaf(self, original: Any, leaf: Any, g: Any, *rest: Any) -> Any:
        capture, accumulate_only, placed = rest[2], rest[3], rest[4]
        if (capture is not None) != self.capturing or accumulate_only is not None:
            self.unsupported("internal: an unexpected capturing backward")
        elif leaf._hooks or leaf._post_accumulate_grad_hooks:
            self.unsupported("tensor hooks on a leaf")
        if self.reason is not None:
            return original(leaf, g, *rest)
        contributions = self.contrib.pop(("leaf", id(leaf)), [])
        if self.pending is not None:
            node, slots = self.pending
            for i, edge in enumerate(node.next_edges):
                if edge is not None and edge[0] is leaf and slots[i] >= 0:
                    contributions.append(slots[i])
        src = self._gradient_slot(g, contributions)
        if self.capturing:
            self.captures[id(leaf)] = src
            self.delivered.add(id(leaf))
            return original(leaf, g, *rest)
        private = id(g) not in placed
        k = self.ref(leaf)
        self.verify()
        result = original(leaf, g, *rest)
        self.states[k] = _state(leaf)
        self.delivered.add(id(leaf))
        self.emit(LEAF, k, src, private, self.new_slot(leaf._grad._data))
        return result

    # -- the result ----------------------------------------------------------------------------
    def output_spec(self, value: Any) -> Any:
        if isinstance(value, (tuple, list)):
            kind = "tuple" if isinstance(value, tuple) else "list"
            return (kind, [self.output_spec(v) for v in value])
        if not isinstance(value, TensorBase):
            if isinstance(value, (int, float, complex, str, bool, type(None))):
                return ("value", value)
            self.unsupported(f"a result of type {type(value).__name__}")
            return ("value", value)
        k = self.refs.get(id(value))
        if k is not None:
            return ("ref", k)
        for k, t in enumerate(self.ref_list):
            if t._grad is value:
                return ("grad", k)
        s = self.slot_of.get(id(value._data))
        if s is None:
            if id(value) in self.made:
                self.unsupported(_unrecorded(self.made[id(value)][1]))
            return ("copy", np.array(value._data))
        if value.grad_fn is not None and id(value.grad_fn) in self.visited:
            return ("spent", s)  # backpropagated inside: eager's flags, a freed graph
        if value.grad_fn is not None and id(value.grad_fn) not in self.visited:
            # backward will run through it after the call: compiled as the backward of one
            # node (see trace_backward)
            for j, t in enumerate(self.live):
                if t is value:
                    return ("live", s, j)
            self.live.append(value)
            return ("live", s, len(self.live) - 1)
        return ("slot", s)

    def trace_backward(self) -> None:
        """The backward of the results in `self.live` with respect to every ref that requires
        grad, traced as `autograd.grad` would run it (a capturing engine run on seeds of ones),
        for the node that a replay's results hang from (codegen.CompiledCall)."""
        wrt = [k for k, t in enumerate(self.ref_list) if t._requires_grad]
        if any(self.ref_list[k].grad_fn is not None for k in wrt):
            self.unsupported(
                "a result that requires grad, from an argument with history (backward would "
                "leave the compiled function)"
            )
            return
        self.emit(BWD_BEGIN)
        seeds = []
        self.contrib = {}
        for t in self.live:
            seed = _as_array(np.ones_like(t._data))
            slot = self.new_slot(seed)
            seeds.append(slot)
            self.contrib.setdefault((id(t.grad_fn), t._output_nr), []).append(slot)
        self.pending, self.delivered = None, set()
        self.in_backward = self.capturing = True
        try:
            engine.run(
                self.live,
                [self.values[s] for s in seeds],
                True,
                False,
                capture=[self.ref_list[k] for k in wrt],
            )
        finally:
            self.in_backward = self.capturing = False
            self.pending = None
        grads = tuple(self.captures.get(id(self.ref_list[k]), -1) for k in wrt)
        meta = tuple((self.ref_list[k]._data.shape, self.ref_list[k]._data.dtype) for k in wrt)
        out_meta = tuple((t._data.shape, t._data.dtype) for t in self.live)
        self.emit(BWD_END, tuple(seeds), tuple(wrt), grads, meta, out_meta)
