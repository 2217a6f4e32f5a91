"""Lowered replays of the ops that dominate a training step: eager's NumPy calls, fewer passes.

A traced step replays each op through its primitive's own forward and backward (codegen.py).
For the ops an MLP step is made of, this module emits the NumPy calls inline instead, using what
the trace knows and a primitive cannot: who else reads an array. That buys

* linear layers without a ctx (the saved input and weight are locals of the replay);
* ReLU forward against an array of zeros (NumPy's vector loop: 4x faster than against the
  scalar 0, the same bits), in place on the linear layer's output before it when nothing else
  reads the pre-activation: one (batch, width) array fewer per layer;
* ReLU backward in place on the incoming gradient, when a lowered linear backward made it for
  this ReLU alone, with a one-pass finiteness test (a sum) in place of an `isnan` mask;
* softmax cross-entropy (mean, no class weights) whose probabilities become the gradient in
  place; while no row of a call is ignored (tested per call), the all-ones weights and the
  selections eager applies for ignored rows are skipped. A call with an ignored row runs the
  primitive as eager does.

Each lowering makes the same floating-point operations in the same order as the primitive; the
steps it drops are exact identities (multiplying by 1.0, selecting with an all-true mask), so
replays stay bit-identical to eager (tests/test_compile_kernels.py, on nan, inf and -0.0 too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.compile.scalar import output_slots
from chainrule.compile.tape import (
    BWD,
    BWD_BEGIN,
    BWD_END,
    CHECK,
    CONST,
    FIT,
    FWD,
    LEAF,
    REF,
    ROOT,
    SLOT,
    SUM,
    VALUE,
    Tape,
)
from chainrule.primitives.elementwise import Relu
from chainrule.primitives.linalg import Linear
from chainrule.primitives.loss import CrossEntropy

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# What the lowered lines call, bound by name in the generated function's namespace.
NAMESPACE: dict[str, Any] = {
    "_maximum": np.maximum,
    "_multiply": np.multiply,
    "_add": np.add,
    "_divide": np.divide,
    "_log": np.log,
    "_npexp": np.exp,
    "_isnan": np.isnan,
    "_where": np.where,
    "_copyto": np.copyto,
    "_errstate": np.errstate,
}


# Off: every op replays through its primitive (for A/B measurements and tests of the two paths).
ENABLED = True


@dataclass(frozen=True)
class Lowering:
    """What `plan` decided for one traced op."""

    kind: str  # "linear", "relu" or "cross_entropy"
    inplace: bool = False  # relu: forward into its input's array
    g_inplace: bool = False  # relu: backward into the incoming gradient's array


def plan(tape: Tape) -> dict[int, Lowering]:
    """The ops of `tape` to lower, keyed by the index of their FWD instruction."""
    if not ENABLED or not tape.metas or any(ins[0] == BWD_BEGIN for ins in tape.instrs):
        return {}  # a backward that runs after the call reads the forward's arrays: eager's
    uses = _uses(tape)
    producer: dict[int, int] = {}  # slot -> the FWD that made it
    backward_of: dict[int, int] = {}  # FWD index -> its BWD index
    for at, ins in enumerate(tape.instrs):
        if ins[0] == FWD:
            for s in ins[3] if type(ins[3]) is tuple else (ins[3],):
                producer[s] = at
        elif ins[0] == BWD:
            backward_of[ins[1]] = at
    lowered: dict[int, Lowering] = {}
    forwards = [(at, ins[1], ins[2]) for at, ins in enumerate(tape.instrs) if ins[0] == FWD]
    for at, cls, specs in forwards:
        if cls is Linear and _linear_ok(tape, specs):
            lowered[at] = Lowering("linear")
        elif cls is CrossEntropy and _cross_entropy_ok(tape, specs):
            lowered[at] = Lowering("cross_entropy")
    linear_dx = {  # slot -> made by a lowered linear backward as its input's gradient
        tape.instrs[backward_of[f]][3][0]
        for f, low in lowered.items()
        if low.kind == "linear" and f in backward_of
    }
    for at, cls, specs in forwards:  # after the linear layers: a ReLU reads both neighbours
        meta = _meta(tape, specs[0])
        if cls is not Relu or meta is None or len(meta[0]) == 0 or meta[1] not in _FLOATS:
            continue
        src = specs[0][1] if specs[0][0] == SLOT else -1
        before = lowered.get(producer.get(src, -1))
        inplace = before is not None and before.kind == "linear" and uses.get(src) == [at]
        g_inplace = False
        if at in backward_of:
            g = tape.instrs[backward_of[at]][2][0]
            g_inplace = g in linear_dx and uses.get(g) == [backward_of[at]]
        lowered[at] = Lowering("relu", inplace, g_inplace)
    return lowered


def dead_after(tape: Tape, lowered: dict[int, Lowering]) -> dict[int, list[str]]:
    """instruction index -> the locals the replay drops after it: each slot after its last
    reader (or where it is made, if nobody reads it) and each ctx after its backward, as eager
    frees a node's saved values and a gradient once used. Without it every array of the step
    would live until the replay returns (twice eager's peak memory on the 784-1024-1024 MLP).
    None for a tape whose results' backward runs later, a closure over those locals."""
    if any(ins[0] == BWD_BEGIN for ins in tape.instrs):
        return {}
    uses = _uses(tape)
    made: dict[int, int] = {}  # slot -> where it is made
    ctx_end: dict[int, int] = {}  # FWD index -> where its ctx is last needed
    for at, ins in enumerate(tape.instrs):
        op = ins[0]
        if op == FWD:
            for s in ins[3] if type(ins[3]) is tuple else (ins[3],):
                made[s] = at
            ctx_end[at] = at
        elif op == BWD:
            for s in ins[3]:
                if s >= 0:
                    made[s] = at
            ctx_end[ins[1]] = at
            low = lowered.get(ins[1])
            if low is not None and low.kind == "relu":  # its backward reads its output
                uses.setdefault(tape.instrs[ins[1]][3], []).append(at)
        elif op in (SUM, FIT, ROOT, VALUE):
            made[ins[1] if op != VALUE else ins[4]] = at
        elif op == LEAF:
            made[ins[4]] = at
    end = len(tape.instrs)
    dead: dict[int, list[str]] = {}
    for s, at in made.items():
        last = max(uses.get(s, [at]))
        if last < end:
            dead.setdefault(last, []).append(f"v{s}")
    for fwd, last in ctx_end.items():
        if fwd not in lowered:
            dead.setdefault(last, []).append(f"c{fwd}")
    return dead


def _uses(tape: Tape) -> dict[int, list[int]]:
    """slot -> the indices of the instructions that read it (len(instrs) for the result)."""
    uses: dict[int, list[int]] = {}

    def use(slot: int, at: int) -> None:
        if slot >= 0:
            uses.setdefault(slot, []).append(at)

    for at, ins in enumerate(tape.instrs):
        op = ins[0]
        if op in (FWD, CHECK):
            for kind, v in ins[2]:
                if kind == SLOT:
                    use(v, at)
        elif op in (BWD, SUM):
            for s in ins[2]:
                use(s, at)
        elif op in (FIT, LEAF):
            use(ins[2], at)
        elif op == ROOT:
            use(ins[2], at)
            if ins[3] is not None and ins[3][0] == SLOT:
                use(ins[3][1], at)
        elif op == BWD_END:
            for s in ins[3]:
                use(s, at)
        elif op == VALUE:
            for kind, v in (*ins[2], *ins[3].values()):
                if kind == "t" and v[0] == SLOT:
                    use(v[1], at)
    for s in sorted(output_slots(tape.outputs)):
        use(s, len(tape.instrs))
    return uses


def _meta(tape: Tape, spec: tuple) -> tuple | None:
    """(shape, dtype) of a forward argument at the trace; None for a constant."""
    kind, v = spec
    if kind == SLOT:
        return tape.metas[v]
    if kind == REF:
        return tape.ref_metas[v]
    return None


def _linear_ok(tape: Tape, specs: list) -> bool:
    x, w, b = (_meta(tape, s) for s in specs)
    if x is None or w is None or len(x[0]) != 2 or len(w[0]) != 2 or x[1] not in _FLOATS:
        return False
    if b is None:
        return specs[2] == (CONST, None) and w[1] == x[1]
    return w[1] == x[1] and b[1] == x[1] and len(b[0]) == 1


def _cross_entropy_ok(tape: Tape, specs: list) -> bool:
    logits, target = _meta(tape, specs[0]), _meta(tape, specs[1])
    return (
        specs[0][0] == SLOT
        and logits is not None
        and len(logits[0]) == 2
        and logits[1] in _FLOATS
        and target is not None
        and len(target[0]) == 1
        and target[1].kind in "iu"
        and specs[2] == (CONST, None)  # no class weights
        and specs[3][0] == CONST  # ignore_index
        and specs[4] == (CONST, "mean")
    )


# -- the lines ----------------------------------------------------------------------------------
def forward(tape: Tape, at: int, low: Lowering, arg: Any, const: Any) -> tuple[list[str], bool]:
    """The lines replacing FWD instruction `at`, and whether eager's call follows in an `else:`
    (the lines then end inside an `if`)."""
    _, _, specs, out, _ = tape.instrs[at]
    if low.kind == "linear":
        lines = [f"x{at} = {arg(specs[0])}", f"w{at} = {arg(specs[1])}"]
        lines.append(f"v{out} = x{at} @ w{at}.T")  # eager: x @ weight.mT, the same view
        if specs[2] != (CONST, None):
            lines.append(f"_add(v{out}, {arg(specs[2])}, out=v{out})")  # eager: y += bias
        return lines, False
    if low.kind == "relu":
        # eager: maximum(x, 0); against an array of zeros NumPy takes its vector loop (4x
        # faster on (512, 1024) float32), with the same bits (nan payloads and -0.0 included)
        src, (shape, dtype) = arg(specs[0]), _meta(tape, specs[0]) or ((), None)
        zeros = np.zeros(shape, dtype)
        zeros.flags.writeable = False
        into = f", out={src}" if low.inplace else ""
        return [f"v{out} = _maximum({src}, {const(zeros)}{into})"], False
    # cross-entropy while no row is ignored: CrossEntropy.forward's operations on valid rows
    shape, dtype = tape.metas[specs[0][1]]
    rows = const(np.arange(shape[0]))
    count = const(np.ones(shape[0], dtype=dtype).sum())  # eager's w.sum(): the row count
    return [
        f"t{at} = {arg(specs[1])}",
        f"ce{at} = bool((t{at} != {arg(specs[3])}).all())",
        f"if ce{at}:",
        f"    l{at} = {arg(specs[0])}",
        "    with _errstate(divide='ignore', invalid='ignore'):",
        f"        p{at} = l{at} - l{at}.max(axis=1, keepdims=True)",
        f"        k{at} = p{at}[{rows}, t{at}]",
        f"        _npexp(p{at}, out=p{at})",
        f"        s{at} = p{at}.sum(axis=1, keepdims=True)",
        f"        k{at} = _log(s{at}[:, 0]) - k{at}",
        f"        _divide(p{at}, s{at}, out=p{at})",  # the probabilities, kept for backward
        f"        v{out} = k{at}.sum() / {count}",
        f"    l{at} = k{at} = s{at} = None",
    ], True


def backward(tape: Tape, bwd: tuple, low: Lowering, const: Any) -> tuple[list[str], bool]:
    """The lines replacing BWD instruction `bwd` of a lowered op, and whether eager's call
    follows in an `else:`."""
    _, at, grads_in, g_out = bwd
    g = f"v{grads_in[0]}"
    if low.kind == "linear":  # Linear.backward on 2-D arrays
        lines = []
        if g_out[0] >= 0:
            lines.append(f"v{g_out[0]} = {g} @ w{at}")
        if g_out[1] >= 0:
            lines.append(f"v{g_out[1]} = {g}.T @ x{at}")
        if g_out[2] >= 0:
            lines.append(f"v{g_out[2]} = {g}.sum(axis=(0,))")
        lines.append(f"x{at} = w{at} = None")  # eager frees the saved input here
        return lines, False
    if low.kind == "relu":
        y, o = f"v{tape.instrs[at][3]}", f"v{g_out[0]}"
        if not low.g_inplace:  # Relu.backward as it is
            return [
                f"m{at} = {y} <= 0",
                f"{o} = {g} * ~m{at}",
                f"_add({o}, 0.0, out={o})",
                f"if _isnan({o}).any():",
                f"    {o} = _where(m{at}, 0.0, {g})",
                f"m{at} = None",
            ], False
        # Relu.backward into g: g * ~cut has a nan exactly where eager's product has one (the
        # sum tells in one pass that there is none); then eager's `+ 0.0`, or its selection,
        # which needs only g's entries where the mask kept them, unchanged by the product
        return [
            f"m{at} = {y} <= 0",
            f"_multiply({g}, ~m{at}, out={g})",
            f"if _isnan(_add.reduce({g}, None)) and _isnan({g}).any():",
            f"    _copyto({g}, 0.0, where=m{at})",
            "else:",
            f"    _add({g}, 0.0, out={g})",
            f"{o} = {g}",
            f"m{at} = None",
        ], False
    # cross-entropy: (softmax - onehot) * factor * g, in the probabilities' array
    shape, dtype = tape.metas[tape.instrs[at][2][0][1]]
    ones = np.ones(shape[0], dtype=dtype)
    factors = const((ones / ones.sum())[:, None])  # eager's ctx.factors[:, None] (mean)
    rows = const(np.arange(shape[0]))
    return [
        f"if ce{at}:",
        f"    p{at}[{rows}, t{at}] -= 1",
        f"    _multiply(p{at}, {factors} * {g}, out=p{at})",
        f"    v{g_out[0]} = p{at}",
        f"    p{at} = None",
    ], True
