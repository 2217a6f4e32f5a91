"""The tape a trace records: a flat list of array calls on numbered slots.

Instructions (tuples, first item the opcode):

* ``(FWD, cls, specs, out, template)``: ``cls.forward(ctx, *arrays)`` on a fresh ctx; ``specs``
  say where each argument comes from (a slot, a constant, or a bound tensor's live ``_data``);
  ``out`` is one slot or a tuple of slots; ``template`` is None for an op that eager did not
  record, else what the engine's node held (edges' count, needs_input_grad, ...) so that the
  engine's own ``_call_backward`` can run the rule on the replay's ctx.
* ``(ROOT, out, root, gradient)``: the seed of a ``backward()`` (eager's ``_root_gradient``).
* ``(SUM, out, slots)``: a gradient that reached one place along several edges, summed in the
  engine's order (a left fold, so the floating-point result is bit-identical).
* ``(BWD, op, grads_in, grads_out)``: one node's backward, on the ctx of forward ``op``.
* ``(FIT, out, src, shape, dtype)``: the engine's sum back to an input's shape / cast.
* ``(LEAF, ref, src, private, out)``: delivery into a leaf's ``.grad`` (eager's ``_accumulate``).
* ``(CALL, obj, name, args, kwargs)``: an opaque call (optimizer ``step``/``zero_grad``, a
  scheduler's ``step``), replayed by calling the same method on the same object.
* ``(CHECK, fn, specs)``: a front door's NumPy check of argument values, called again.
* ``(VALUE, fn, args, kwargs, out)``: a function whose results never require grad and that no
  primitive runs (a comparison, argmax, a logical op, one_hot), called again on the replay's
  tensors: ``args``/``kwargs`` hold ``("t", spec)`` for a tensor, ``("c", value)`` otherwise;
  ``out`` is one slot, or a tuple of slots for a tuple result.
* ``(SETGRAD, ref)``: ``tensor.grad = None``.
* ``(BEGIN,)`` / ``(END,)``: around a backward: NumPy's error state as the engine sets it.
* ``(BWD_BEGIN,)`` ... ``(BWD_END, seeds, wrt, grads, meta, out_meta)``: the backward of the
  results that require grad (run later, when the user's backward reaches them): from the seed
  slots to the gradient slots of the refs ``wrt``.

Replay runs the tape as generated straight-line Python (codegen.py): no Tensor or graph node
per op; a ctx is made per recorded op because forward stores its attributes and saved values
on it for backward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.tensor import Tensor

FWD, ROOT, SUM, BWD, FIT, LEAF, CALL, SETGRAD, BEGIN, END, CHECK, BWD_BEGIN, BWD_END = range(13)
VALUE = 13

# Where a forward argument comes from (the first item of a spec).
SLOT, CONST, REF = 0, 1, 2


@dataclass
class Tape:
    """One traced variant of a compiled function."""

    n_inputs: int  # refs[:n_inputs] are the call's tensor arguments
    bound: list[Any]  # refs[n_inputs:]: tensors the function reached by identity (parameters)
    bound_guards: list[tuple]  # (shape, dtype, requires_grad, is_leaf) of each, at trace time
    instrs: list[tuple] = field(default_factory=list)
    n_slots: int = 0
    outputs: Any = None  # the structure of the result (see codegen._output)
    zero_d_slots: set[int] = field(default_factory=set)  # forward results made 0-d arrays
    run: Any = None  # the generated replay function (codegen.generate), made on first use
    root_values: dict[int, Any] = field(default_factory=dict)  # ROOT slot -> the traced root
    module_guards: list[tuple[Any, bool]] = field(default_factory=list)  # (module, training)
    scalar: bool = False  # every slot and ref a 0-d float64 at the trace (scalar.py)
    floats: bool = False  # `run` is scalar.py's replay on Python floats
    metas: list[tuple] = field(default_factory=list)  # slot -> (shape, dtype) at the trace
    ref_metas: list[tuple] = field(default_factory=list)  # ref -> (shape, dtype), guarded

    def guards_hold(self) -> bool:
        """The bound tensors still look as they did when traced."""
        for t, guard in zip(self.bound, self.bound_guards, strict=True):
            data = t._data
            if (data.shape, data.dtype, t._requires_grad, t.grad_fn is None) != guard:
                return False
        return all(module.training is training for module, training in self.module_guards)


def _accumulate(leaf: Any, g: Any, private: bool) -> None:
    """engine_hooks._accumulate, with the engine's "nobody else holds g" decided at trace time
    (the tape has the same structure, so the same arrays escape)."""
    current = leaf._grad
    if current is None:
        if not (private and type(g) is np.ndarray and g.flags.owndata and g.flags.writeable):
            g = np.array(g)
        leaf._grad = Tensor._make(g)
        return
    data = current._data
    if type(data) is np.ndarray and data.flags.writeable and data.dtype == g.dtype:
        np.add(data, g, out=data)
        current._vc[0] += 1
    else:
        leaf._grad = Tensor._make(data + g)
