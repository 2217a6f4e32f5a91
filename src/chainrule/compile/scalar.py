"""A tape of 0-d float64 values replayed on Python floats (the course's scalar graphs).

A NumPy float64 scalar operation costs about 1 us (ufunc dispatch, a new scalar object) where
the same Python float operation costs ~40 ns, and both are IEEE double arithmetic: `+`, `-`,
`*` and negation give the same bits. So when every value a trace produced is a 0-d float64
(checked at the trace; the guards keep shapes and dtypes) and every op is one of Add, Sub, Mul,
Neg, Sigmoid, the replay keeps the values as Python floats and writes each rule's forward and
backward as the expression the rule evaluates, in the rule's order (Sigmoid's exp through
np.exp, whose 0-d loop eager runs too: libm's exp may round differently). Any other op (Div:
Python raises on x / 0 where NumPy gives inf) keeps the general replay for the whole tape.
Python floats never warn where NumPy warns (overflow, inf - inf): a call whose forward values
are not all finite is replayed by the general replay instead, which warns as eager does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.compile.tape import (
    BEGIN,
    BWD,
    CALL,
    END,
    FWD,
    LEAF,
    REF,
    ROOT,
    SETGRAD,
    SLOT,
    SUM,
    Tape,
    _accumulate,
)
from chainrule.optim.optimizer import Optimizer
from chainrule.primitives.binary import Add, Mul, Sub
from chainrule.primitives.elementwise import Neg, Sigmoid
from chainrule.tensor import Tensor

_INLINE = (Add, Sub, Mul, Neg, Sigmoid)

_FLOAT64 = np.dtype(np.float64)
_EXACT_INT = 2**53  # a Python int below this converts to a float exactly, as NumPy converts it


def all_float64_0d(values: list[Any]) -> bool:
    """Every value a trace produced is a 0-d float64 (what makes a tape scalar-replayable)."""
    return bool(values) and all(
        type(v) in (np.ndarray, np.float64) and v.shape == () and v.dtype == _FLOAT64
        for v in values
    )


def _float_const(value: Any) -> float | None:
    if type(value) is float:
        return value
    if type(value) is int and abs(value) < _EXACT_INT:
        return float(value)
    if type(value) in (np.ndarray, np.float64) and value.shape == () and value.dtype == _FLOAT64:
        return float(value)
    return None


def _accumulate_float(leaf: Any, g: float) -> None:
    """tape._accumulate for a float gradient: the same adopt-or-add, in one float addition."""
    current = leaf._grad
    if current is None:
        leaf._grad = Tensor._make(np.array(g))  # a fresh 0-d float64 array, as eager's copy
        return
    data = current._data
    if (
        type(data) is np.ndarray
        and data.flags.writeable
        and data.dtype == _FLOAT64
        and data.shape == ()
    ):
        data[()] = float(data) + g  # np.add(data, g, out=data) in float64 arithmetic
        current._vc[0] += 1
    else:
        _accumulate(leaf, np.asarray(g), False)


def source(tape: Tape, const: Any, output: Any) -> list[str] | None:
    """The source of `run(refs, grad_mode)` on floats, or None where the tape has something
    this replay does not cover (the general codegen takes it). `const` binds a value to a name,
    `output` writes the result expression. The generated code calls `_array(refs, grad_mode)`,
    the general replay, when a forward value is not finite (see `_prefix_ok`)."""
    instrs = tape.instrs
    ops = {FWD, BWD, SUM, LEAF, ROOT, CALL, SETGRAD, BEGIN, END}
    if any(ins[0] not in ops for ins in instrs) or _uses_leaf_slots(tape):
        return None
    if any(ins[0] == FWD and (ins[1] not in _INLINE or type(ins[3]) is tuple) for ins in instrs):
        return None
    first_bwd = next((i for i, ins in enumerate(instrs) if ins[0] == BEGIN), len(instrs))
    if not _prefix_ok(instrs[:first_bwd]) or any(ins[0] == FWD for ins in instrs[first_bwd:]):
        return None  # (a forward after a backward would be past the finiteness check)
    lines = ["def run(refs, grad_mode):"]
    emit, pad = lines.append, "    "
    saved: dict[int, list[str]] = {}  # FWD index -> the float expressions its backward reads
    checked: list[str] = []  # forward values whose finiteness decides the path
    for index, ins in enumerate(instrs):
        op = ins[0]
        if index == first_bwd:
            _emit_check(emit, pad, checked)
        if op == FWD:
            _, cls, specs, out, _template = ins
            args = []
            for j, (kind, v) in enumerate(specs):
                if kind == SLOT:
                    args.append(f"v{v}")
                elif kind == REF:  # read once: the backward sees the value forward saw
                    emit(f"{pad}a{index}_{j} = float(refs[{v}]._data)")
                    args.append(f"a{index}_{j}")
                    checked.append(args[-1])
                else:
                    value = _float_const(v)
                    if value is None:
                        return None
                    args.append(const(value))
            saved[index] = args
            if cls is Add:
                emit(f"{pad}v{out} = {args[0]} + {args[1]}")
            elif cls is Sub:
                emit(f"{pad}v{out} = {args[0]} - {args[1]}")
            elif cls is Mul:
                emit(f"{pad}v{out} = {args[0]} * {args[1]}")
            elif cls is Neg:
                emit(f"{pad}v{out} = -{args[0]}")
            else:  # Sigmoid: the rule's branches; np.exp on a float runs eager's 0-d loop
                x = args[0]
                emit(f"{pad}e = float(_exp(-abs({x})))")
                emit(f"{pad}v{out} = 1 / (1 + e) if {x} >= 0 else e / (1 + e)")
                saved[index] = [f"v{out}"]  # its backward reads its result y
            checked.append(f"v{out}")
        elif op == BWD:
            _, at, grads_in, grads_out = ins
            cls = instrs[at][1]
            if len(grads_in) != 1 or grads_in[0] < 0:
                return None
            g, a = f"v{grads_in[0]}", saved[at]
            if cls is Add:
                exprs = [g, g]
            elif cls is Sub:
                exprs = [g, f"-{g}"]
            elif cls is Mul:
                exprs = [f"{g} * {a[1]}", f"{g} * {a[0]}"]
            elif cls is Neg:
                exprs = [f"-{g}"]
            else:
                exprs = [f"{g} * ({a[0]} * (1 - {a[0]}))"]
            for s, expr in zip(grads_out, exprs, strict=True):
                if s >= 0:
                    emit(f"{pad}v{s} = {expr}")
        elif op == SUM:
            emit(f"{pad}v{ins[1]} = " + " + ".join(f"v{s}" for s in ins[2]))
        elif op == LEAF:
            emit(f"{pad}_accumulate_float(refs[{ins[1]}], v{ins[2]})")
        elif op == ROOT:
            if ins[3] is not None:
                return None
            emit(f"{pad}v{ins[1]} = 1.0")
        elif op == CALL:
            _, obj, name, args_, kwargs = ins
            emit(f"{pad}_call({const(obj)}, {name!r}, {const(args_)}, {const(kwargs)}, grad_mode)")
        elif op == SETGRAD:
            emit(f"{pad}refs[{ins[1]}].grad = None")
        # BEGIN / END: no NumPy call in a backward of floats, so no error state to set
    if first_bwd == len(instrs):
        _emit_check(emit, pad, checked)
    emit(f"{pad}return {output(tape.outputs)}")
    return lines


def _prefix_ok(prefix: list[tuple]) -> bool:
    """What runs before the finiteness check can run again: when a forward value is inf or
    nan, the call is replayed from the start by the general replay, whose NumPy calls warn
    (overflow, invalid) exactly as eager's do; Python floats never warn. So before the check
    only the forward's floats, `.grad = None` and a plain `zero_grad(set_to_none=True)`."""
    for ins in prefix:
        if ins[0] == CALL:
            _, obj, name, args, kwargs = ins
            plain = name == "zero_grad" and type(obj).zero_grad is Optimizer.zero_grad
            if not plain or args not in ((), (True,)) or kwargs not in ({}, {"set_to_none": True}):
                return False
        elif ins[0] not in (FWD, SETGRAD):
            return False
    return True


def _emit_check(emit: Any, pad: str, values: list[str]) -> None:
    # x - x is 0.0 for every finite x and nan for inf or nan: one test for all of them (a sum
    # that overflows only sends a finite call down the general path, which is still exact)
    if values:
        emit(f"{pad}t = {' + '.join(values)}")
        emit(f"{pad}if t - t != 0.0:")
        emit(f"{pad}    return _array(refs, grad_mode)")


def _uses_leaf_slots(tape: Tape) -> bool:
    """A LEAF's slot (the leaf's .grad array) read later: kept for the general codegen."""
    leaf_slots = {ins[4] for ins in tape.instrs if ins[0] == LEAF}
    if not leaf_slots:
        return False
    read: set[int] = set()
    for ins in tape.instrs:
        if ins[0] == FWD:
            read.update(v for kind, v in ins[2] if kind == SLOT)
        elif ins[0] == BWD or ins[0] == SUM:
            read.update(ins[2])
        elif ins[0] == LEAF:
            read.add(ins[2])
    return bool(read & leaf_slots) or output_slots(tape.outputs) & leaf_slots != set()


def output_slots(spec: Any) -> set[int]:
    if spec is None:
        return set()
    kind = spec[0]
    if kind in ("slot", "live", "spent"):
        return {spec[1]}
    if kind in ("tuple", "list"):
        return set().union(*(output_slots(s) for s in spec[1]))
    return set()
