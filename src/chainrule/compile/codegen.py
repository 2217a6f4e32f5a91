"""A tape as straight-line Python: one generated function per traced variant.

Interpreting the tape (a dispatch per instruction, slots in a list, a Node per op) cost about
as much as the NumPy calls on small graphs (benchmarks/NOTES.md, "cr.compile"), so each tape is
turned into the source of one function, `run(refs)`, whose body is the tape's calls in order on
local variables (`v12 = F3(c3, v10, r0._data)`), with every class, rule and constant bound by
name in its namespace. The calls are the same ones eager makes (the primitives' own forward and
backward, the engine's normalisation, summation order, leaf accumulation), so the numbers are.
A tape whose values are all 0-d float64 gets a second function on Python floats (scalar.py),
which falls back to this one for a call with an inf or nan.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.compile import kernels, scalar
from chainrule.compile.tape import (
    BEGIN,
    BWD,
    BWD_BEGIN,
    BWD_END,
    CALL,
    CHECK,
    CONST,
    END,
    FIT,
    FWD,
    LEAF,
    REF,
    ROOT,
    SETGRAD,
    SLOT,
    SUM,
    VALUE,
    Tape,
    _accumulate,
)
from chainrule.engine import _call_backward, _normalise, _root_gradient
from chainrule.engine_hooks import _as_array
from chainrule.function import _FREED, _FREED_MESSAGE, Function, Node
from chainrule.modes import state as _modes
from chainrule.primitives import dual
from chainrule.tensor import Tensor


class ReplayCtx(Node):
    """The ctx a replayed op's forward fills: saved values are kept as given (no version
    bookkeeping: nothing outside the replay can change them between forward and backward).

    Each recorded op gets its own subclass whose class attributes hold what the engine's node
    held (fn, needs_input_grad, edges' count, ...): they shadow Node's slots, so making a ctx
    is one allocation, and what forward stores lands in the instance's __dict__."""

    __slots__ = ()
    _to_save: tuple = ()

    def save_for_backward(self, *values: Any) -> None:
        self._to_save = values

    @property
    def saved_tensors(self) -> tuple:
        return self._to_save

    saved_values = saved_tensors


def _ctx_class(cls: Any, template: Any) -> type:
    if template is None:
        attrs: dict[str, Any] = {"fn": cls, "needs_input_grad": (), "next_edges": ()}
        attrs["input_meta"] = ()
    else:
        edges, meta, needs, extra = template
        attrs = {"fn": cls, "needs_input_grad": needs, "next_edges": edges, "input_meta": meta}
        attrs.update(extra)
    return type(f"{cls.__name__}Ctx", (ReplayCtx,), attrs)


class CompiledCall(Function):
    """The node a replay's results that require grad hang from: its backward is the traced
    backward of the function (codegen's nested `bwd`), from the results' gradients to the
    gradients of the tensors that require grad (edges to them, as eager's graph has)."""

    _raw = True

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        if ctx._saved is _FREED:
            raise RuntimeError(_FREED_MESSAGE.format(name=ctx.name()))
        if any(isinstance(g, Tensor) for g in grads):
            raise RuntimeError(
                "cr.compile: backward(create_graph=True) through a compiled function's result "
                "is not supported; call the function eagerly for higher derivatives"
            )
        return ctx.bwd(*grads)


def _spent() -> Node:
    """The node of a result the function already backpropagated through (eager's graph is
    freed by then): a second backward raises eager's error."""
    node = Node(CompiledCall)
    node.next_edges, node.input_meta, node.needs_input_grad = (), (), ()
    node._saved = _FREED
    return node


def _node(bwd: Any, refs: list[Any], wrt: tuple, meta: tuple, out_meta: tuple) -> Node:
    node = Node(CompiledCall)
    node.next_edges = tuple((refs[k], 0) for k in wrt)
    node.input_meta = meta
    node.needs_input_grad = (True,) * len(wrt)
    node.n_outputs = len(out_meta)
    if len(out_meta) > 1:
        node.output_meta = out_meta
    node._saved = ()  # freed (and refused a second time) like eager's saved values
    # a plain Node (the engine tells nodes by `type(x) is Node`), so the closure goes in its dict
    vars(node)["bwd"] = bwd
    return node


def _fit(g: Any, shape: tuple, dtype: Any) -> Any:
    """engine._fit on a gradient the trace already showed to need it."""
    g = _as_array(g)
    if g.shape != shape:
        g = dual.sum_to(g, shape)
    if g.dtype != dtype:
        g = dual.cast(g, dtype)
    return g


def _call(obj: Any, name: str, args: tuple, kwargs: dict, grad_mode: bool) -> None:
    """An opaque call (optimizer step) in the caller's grad mode, as eager runs it."""
    previous = _modes.grad_enabled  # off in the general replay, the caller's in scalar.py's
    _modes.grad_enabled = grad_mode
    try:
        getattr(obj, name)(*args, **kwargs)
    finally:
        _modes.grad_enabled = previous


def generate(tape: Tape) -> Any:
    """The replay function of a tape: run(refs, grad_mode) -> the function's result."""
    namespace: dict[str, Any] = {
        "_new": object.__new__,
        "_call_backward": _call_backward,
        "_normalise": _normalise,
        "_root_gradient": _root_gradient,
        "_as_array": _as_array,
        "_asarray": np.asarray,
        "_array": np.array,
        "_seterr": np.seterr,
        "_make": Tensor._make,
        "_fit": _fit,
        "_accumulate": _accumulate,
        "_call": _call,
        "_node": _node,
        "_spent": _spent,
        "_accumulate_float": scalar._accumulate_float,
        "_exp": np.exp,
    }
    counter = [0]

    def const(value: Any) -> str:
        name = f"K{counter[0]}"
        counter[0] += 1
        namespace[name] = value
        return name

    def arg(spec: tuple) -> str:
        kind, v = spec
        if kind == SLOT:
            return f"v{v}"
        if kind == REF:
            return f"refs[{v}]._data"
        assert kind == CONST
        return const(v)

    lines = ["def run(refs, grad_mode):", "    _old = None", "    try:"]
    emit = lines.append
    namespace.update(kernels.NAMESPACE)
    lowered = kernels.plan(tape)

    def _forward(index: int, ins: tuple, pad: str) -> None:
        """FWD through the primitive's forward, on a fresh ctx."""
        _, cls, specs, out, template = ins
        forward = const(cls.forward)
        args = ", ".join(arg(s) for s in specs)
        ctx = f"c{index}"
        emit(f"{pad}{ctx} = _new({const(_ctx_class(cls, template))})")
        slots = out if type(out) is tuple else (out,)
        targets = ", ".join(f"v{s}" for s in slots) + ("," if type(out) is tuple else "")
        emit(f"{pad}{targets} = {forward}({ctx}, {args})")

    def _backward(ins: tuple, pad: str) -> None:
        """BWD through the primitive's backward, as the engine calls it."""
        _, at, grads_in, grads_out = ins
        cls = tape.instrs[at][1]
        ctx = f"c{at}"
        grads = [f"v{s}" if s >= 0 else "None" for s in grads_in]
        if cls._raw and len(grads) == 1:  # the engine's fast path, as it runs it
            emit(f"{pad}r = {const(cls.backward)}({ctx}, {grads[0]})")
            emit(f"{pad}if type(r) is not tuple or len(r) != {len(grads_out)}:")
            emit(f"{pad}    r = _normalise({ctx}, r)")
        else:
            emit(f"{pad}r = _call_backward({ctx}, [{', '.join(grads)}], False)")
        for i, s in enumerate(grads_out):
            if s >= 0:
                emit(f"{pad}v{s} = r[{i}]")

    pad = "        "
    zero_d = tape.zero_d_slots
    dead = kernels.dead_after(tape, lowered)
    for index, ins in enumerate(tape.instrs):
        if index - 1 in dead:  # dropped after their last reader (pad: the previous line's)
            emit(f"{pad}{' = '.join(dead[index - 1])} = None")
        op = ins[0]
        if op == BWD_BEGIN:  # the results' backward: a closure over the forward's locals
            seeds = next(i for i in tape.instrs[index:] if i[0] == BWD_END)[1]
            emit(f"{pad}def bwd({', '.join(f'v{s}' for s in seeds)}):")
            pad += "    "
        elif op == BWD_END:
            _, _, wrt, grads, meta, out_meta = ins
            results = "".join(f"v{s}, " if s >= 0 else "None, " for s in grads)
            emit(f"{pad}return ({results})")
            pad = pad[:-4]
            emit(f"{pad}node = _node(bwd, refs, {const(wrt)}, {const(meta)}, {const(out_meta)})")
        elif op == FWD:
            out = ins[3]
            low = lowered.get(index)
            if low is None:
                _forward(index, ins, pad)
            else:  # kernels.py: the op's NumPy calls inline, eager's call after an `else:`
                body, otherwise = kernels.forward(tape, index, low, arg, const)
                lines.extend(pad + line for line in body)
                if otherwise:
                    emit(f"{pad}else:")
                    _forward(index, ins, pad + "    ")
            for s in out if type(out) is tuple else (out,):
                if s in zero_d:  # forward gave a Python number: eager makes it a 0-d array
                    emit(f"{pad}v{s} = _asarray(v{s})")
        elif op == BWD:
            low = lowered.get(ins[1])
            if low is None:
                _backward(ins, pad)
            else:
                body, otherwise = kernels.backward(tape, ins, low, const)
                lines.extend(pad + line for line in body)
                if otherwise:
                    emit(f"{pad}else:")
                    _backward(ins, pad + "    ")
        elif op == SUM:
            _, out, slots = ins
            emit(f"{pad}v{out} = " + " + ".join(f"v{s}" for s in slots))  # a left fold
        elif op == FIT:
            _, out, src, shape, dtype = ins
            emit(f"{pad}v{out} = _fit(v{src}, {const(shape)}, {const(dtype)})")
        elif op == LEAF:
            _, k, src, private, out = ins
            emit(f"{pad}_accumulate(refs[{k}], v{src}, {private})")
            emit(f"{pad}v{out} = refs[{k}]._grad._data")
        elif op == ROOT:
            _, out, root, gradient = ins
            if gradient is None:  # ones, made once: rules never write into their g
                seed = _as_array(np.ones_like(tape.root_values[out]))
                if isinstance(seed, np.ndarray):
                    seed.flags.writeable = False  # a leaf that gets it copies it (engine)
                emit(f"{pad}v{out} = {const(seed)}")
            else:
                seed = f"_make({arg(gradient)})"
                emit(f"{pad}v{out} = _as_array(_root_gradient(_make(v{root}), {seed}, 'b'))")
        elif op == CALL:
            _, obj, name, args, kwargs = ins
            emit(f"{pad}_call({const(obj)}, {name!r}, {const(args)}, {const(kwargs)}, grad_mode)")
        elif op == VALUE:  # called again on the replay's tensors (a fresh Tensor per array)
            _, fn, targs, tkwargs, out = ins

            def tensor_arg(a: tuple) -> str:
                kind, v = a
                if kind == "c":
                    return const(v)
                return f"refs[{v[1]}]" if v[0] == REF else f"_make({arg(v)})"

            call = [tensor_arg(a) for a in targs]
            call += [f"{k}={tensor_arg(a)}" for k, a in tkwargs.items()]
            emit(f"{pad}v{out} = {const(fn)}({', '.join(call)})._data")
        elif op == CHECK:
            emit(f"{pad}{const(ins[1])}({', '.join(arg(s) for s in ins[2])})")
        elif op == SETGRAD:
            emit(f"{pad}refs[{ins[1]}].grad = None")
        elif op == BEGIN:
            emit(f"{pad}_old = _seterr(divide='ignore', invalid='ignore', over='ignore')")
        elif op == END:
            emit(f"{pad}_seterr(**_old); _old = None")
    if len(tape.instrs) - 1 in dead:
        emit(f"{pad}{' = '.join(dead[len(tape.instrs) - 1])} = None")
    emit(f"{pad}return {_output(tape.outputs, const)}")
    emit("    finally:")
    emit("        if _old is not None:")
    emit("            _seterr(**_old)")
    run = _compiled(tape, "\n".join(lines), namespace)
    if tape.scalar:  # every value a 0-d float64: Python floats (scalar.py)
        floats = scalar.source(tape, const, lambda spec: _output(spec, const, True))
        if floats is not None:
            namespace["_array"] = _with_grad_off(run)  # forward values not all finite
            tape.floats = True  # no rule runs: the grad mode need not be switched off
            return _compiled(tape, "\n".join(floats), namespace)
    return run


def _with_grad_off(run: Any) -> Any:
    def array_replay(refs: list[Any], grad_mode: bool) -> Any:
        _modes.grad_enabled = False
        try:
            return run(refs, grad_mode)
        finally:
            _modes.grad_enabled = grad_mode

    return array_replay


def _compiled(tape: Tape, source: str, namespace: dict[str, Any]) -> Any:
    code = compile(source, f"<cr.compile tape {id(tape):x}>", "exec")
    exec(code, namespace)
    run = namespace["run"]
    run.source = source  # for reading what a variant does
    return run


def _output(spec: Any, const: Any, floats: bool = False) -> str:
    """The result expression: ("slot", s) a new Tensor on the replay's array (fresh every
    call: nothing is reused between replays), ("live", s, j) output j of the CompiledCall
    node, ("ref", k) the very tensor eager returned, ("grad", k) that tensor's .grad,
    ("copy", array) a constant the function made (copied, so two calls never share it),
    ("value", v), and tuples and lists of those. With `floats` the slots hold Python floats
    (scalar.py): a result is made a 0-d array, as eager's tensors hold it."""
    kind = spec[0]
    if kind == "slot":
        return f"_make(_asarray(v{spec[1]}))" if floats else f"_make(v{spec[1]})"
    if kind == "live":  # an output of the CompiledCall node
        return f"_make(v{spec[1]}, True, node, {spec[2]})"
    if kind == "spent":  # backpropagated inside the function: requires grad, graph freed
        value = f"_asarray(v{spec[1]})" if floats else f"v{spec[1]}"
        return f"_make({value}, True, _spent())"
    if kind == "ref":
        return f"refs[{spec[1]}]"
    if kind == "grad":
        return f"refs[{spec[1]}]._grad"
    if kind == "copy":
        return f"_make(_array({const(spec[1])}))"
    if kind == "value":
        return const(spec[1])
    items = [_output(s, const, floats) for s in spec[1]]
    if kind == "tuple":
        return "(" + "".join(f"{item}, " for item in items) + ")"
    return "[" + ", ".join(items) + "]"


def replay(tape: Tape, inputs: list[Any]) -> Any:
    """Run the tape on the call's tensors (its generated function, made on first use);
    returns the function's result."""
    run = tape.run
    if run is None:
        run = tape.run = generate(tape)
    if tape.floats:
        return run(inputs + tape.bound, _modes.grad_enabled)
    previous = _modes.grad_enabled
    _modes.grad_enabled = False  # rules see arrays, as in the engine's first-order backward
    try:
        return run(inputs + tape.bound, previous)
    finally:
        _modes.grad_enabled = previous
