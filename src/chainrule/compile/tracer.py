"""The tracer: runs a function eagerly once and records what it did as a `Tape`.

While it is active it hooks (acting for this thread only; restored in `__exit__`):
`function.tracer` (every operation), the engine's `backward`, `_call_backward`, `_fit`,
`_deliver_leaf` and `_run_prehooks` (module globals the engine looks up per call), the
optimizers' and schedulers' `step`/`zero_grad` (recorded as opaque calls), and the Tensor
methods whose result the tape cannot reproduce (`.item()`, `bool()`, in-place ops, hooks,
random draws). Those mark the trace unsupported with a reason: the call still finishes eagerly,
and the compiled function falls back to eager for that variant (or raises under fullgraph).
"""

from __future__ import annotations

import sys
from typing import Any

from chainrule import backend, creation, engine, function, tensor_methods
from chainrule.compile.recorder import Recorder
from chainrule.compile.tape import CALL, CHECK, REF, SETGRAD
from chainrule.nn import attention as _mha
from chainrule.nn import functional as _functional
from chainrule.nn import functional_attention as _attention
from chainrule.nn import functional_conv as _conv
from chainrule.nn import functional_layers as _layers
from chainrule.nn import utils as _nn_utils
from chainrule.nn.module import Module
from chainrule.ops import (
    _argextreme,
    composite,
    conversion,
    index_keys,
    logic,
    order,
    reduce,
    selection,
    structure,
)
from chainrule.optim.lr_scheduler_base import LRScheduler
from chainrule.optim.optimizer import Optimizer
from chainrule.tensor import Tensor
from chainrule.tensor_base import TensorBase
from chainrule.tensor_inplace import InPlaceMethods

# Tensor methods whose result depends on values the tape does not guard (or that change state
# the tape does not record), with the reason the fallback names.
_VALUE_METHODS = {
    "item": ".item() reads a value",
    "tolist": ".tolist() reads values",
    "numpy": ".numpy() hands out the array",
    "__array__": "a Tensor converted to a NumPy array",
    "__bool__": "Python control flow on a tensor's value (bool(tensor))",
    "__float__": "float(tensor) reads a value",
    "__int__": "int(tensor) reads a value",
    "__index__": "a tensor used as a Python index",
    "register_hook": "a tensor hook registered inside the function",
    "register_post_accumulate_grad_hook": "a tensor hook registered inside the function",
    "retain_grad": "retain_grad() inside the function",
    "requires_grad_": "requires_grad_() inside the function",
    "detach_": "detach_() inside the function",
}


# Front-door functions that check argument values with NumPy (no primitive runs them, so the
# tape would skip them): (module, name), replayed as calls on the replay's arrays.
_VALUE_CHECKS = [(_functional, "_check_targets"), (_layers, "_check_indices")]

# Library functions that write into a tensor's array directly, outside any primitive.
_DIRECT_WRITES = [
    (_layers, "_update_running", "batch norm's running statistics (written outside the tape)"),
    (_layers, "_renorm_rows", "an embedding's max_norm renormalisation (in place)"),
    (_nn_utils, "clip_grad_norm_", "clip_grad_norm_ (in place on the gradients)"),
]


_TM = tensor_methods.TensorMethods
_LOGIC = [
    "isnan", "isfinite", "isinf", "isposinf", "isneginf", "isreal", "isclose", "logical_not",
    "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "_shift",
]  # fmt: skip

# Functions of tensors whose result never requires grad and that no primitive runs: recorded as
# VALUE calls (replayed on the call's tensors), wherever a module or class binds them.
_VALUE_FUNCTIONS: list[tuple[str, Any]] = [
    ("comparison", _TM._compare),
    ("logical_not", _TM.logical_not),
    ("isnan", _TM.isnan),
    ("isfinite", _TM.isfinite),
    ("argmax/argmin", _argextreme),
    ("one_hot", composite.one_hot),
    ("any/all", composite._logical_reduction),
    ("argsort", selection.argsort),
    ("count_nonzero", reduce.count_nonzero),
    ("an attention mask", _mha._as_float_mask),
    *((name, getattr(logic, name)) for name in _LOGIC),
]

# Functions that compute positions from values in NumPy and hand them to a primitive as plain
# arrays (so the tape would freeze them), or whose result's shape depends on values.
_POSITION_FUNCTIONS: list[tuple[Any, str]] = [
    (composite.sort, "sort()"),
    (composite.topk, "topk()"),
    (order._median, "median()/nanmedian() along a dim"),
    (reduce._cumulative_extreme, "cummax()/cummin()"),
    (selection.nonzero, "nonzero() (its shape depends on the values)"),
    (selection.argwhere, "argwhere() (its shape depends on the values)"),
    (selection.masked_select, "masked_select() (its shape depends on the values)"),
]

# Callers of `_make` that wrap a new constant (from Python values or a shape, which the guards
# cover), or alias an array the tape already knows: what they make is not a computed value.
_CONSTANT_MAKERS = {
    f.__code__
    for f in (
        creation.tensor, creation.from_numpy, conversion.as_tensor,
        TensorBase.data.fget, TensorBase.detach,  # type: ignore[attr-defined]
        _TM.new_zeros, _TM.new_ones, _TM.new_full, _TM.new_tensor,
        structure.triu_indices, structure.tril_indices,
        # pooling's divisors and averaging matrices, the causal mask: from shapes alone
        _conv._avg_pool, _conv.adaptive_avg_pool1d, _conv.adaptive_avg_pool2d, _conv.interpolate,
        _attention.scaled_dot_product_attention,
    )
}  # fmt: skip


def _bindings(fn: Any) -> list[tuple[Any, str]]:
    """Every (module or class, name) in chainrule that binds `fn`: found in one pass over
    chainrule's modules for all the wrapped functions, at the first trace (cached; a module
    imported later than that is not searched)."""
    if not _BINDINGS:
        wanted = {id(f): f for _, f in _VALUE_FUNCTIONS} | {
            id(f): f for f, _ in _POSITION_FUNCTIONS
        }
        for key in wanted:
            _BINDINGS[key] = []
        for module_name, module in list(sys.modules.items()):
            if module is None or not module_name.startswith("chainrule"):
                continue
            owners = [module, *(v for v in vars(module).values() if isinstance(v, type))]
            for owner in dict.fromkeys(owners):
                for name, value in list(vars(owner).items()):
                    if id(value) in wanted and wanted[id(value)] is value:
                        _BINDINGS[id(value)].append((owner, name))
    return _BINDINGS[id(fn)]


def _maker(frame: Any) -> str:
    """The public chainrule function a `_make` call came from, for the fallback's message."""
    first = frame.f_code.co_name
    for _ in range(6):
        if frame is None or "chainrule" not in frame.f_code.co_filename:
            break
        name = frame.f_code.co_name
        if not name.startswith("_") and name != "<lambda>":
            return f"{name}()"
        frame = frame.f_back
    return f"{first}()"


def _subclasses(cls: type) -> list[type]:
    out, stack = [], [cls]
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(c.__subclasses__())
    return out


class _RandomProxy:
    """Stands in for the library's generator during a trace: a draw marks it unsupported (the
    tape would replay the same numbers every call)."""

    def __init__(self, tracer: Tracer, rng: Any) -> None:
        self._tracer, self._rng = tracer, rng

    def __getattr__(self, name: str) -> Any:
        if self._tracer.mine():
            self._tracer.unsupported("a random operation (its draw would repeat on replay)")
        return getattr(self._rng, name)


class Tracer(Recorder):
    """Context manager: inside it, this thread's operations are recorded into `self.tape`."""

    # -- install / restore ---------------------------------------------------------------------
    def _patch(self, owner: Any, name: str, value: Any) -> None:
        self._saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, value)

    def __enter__(self) -> Tracer:
        function.tracer[0] = self.on_apply
        self._patch(engine, "backward", self._hook(engine.backward, self.on_backward))
        self._patch(engine, "_call_backward", self._hook(engine._call_backward, self.on_call))
        self._patch(engine, "_fit", self._hook(engine._fit, self.on_fit))
        self._patch(engine, "_deliver_leaf", self._hook(engine._deliver_leaf, self.on_leaf))
        self._patch(engine, "_run_prehooks", self._refuse(engine._run_prehooks, "tensor hooks"))
        self._patch(backend, "_rng", _RandomProxy(self, backend._rng))
        for owner, name in _VALUE_CHECKS:
            self._patch(owner, name, self._check(getattr(owner, name)))
        for owner, name, reason in _DIRECT_WRITES:
            self._patch(owner, name, self._refuse(getattr(owner, name), reason))
        self._patch(Module, "__call__", self._module_call(vars(Module)["__call__"]))
        self._patch(TensorBase, "_make", staticmethod(self._traced_make()))
        self._patch(index_keys, "_key_part", self._key_part(index_keys._key_part))
        for fn, what in _POSITION_FUNCTIONS:
            reason = f"{what}: positions computed from values, which the tape would freeze"
            refused = self._refuse(fn, reason)
            for owner, attr in _bindings(fn):
                self._patch(owner, attr, refused)
        for name, fn in _VALUE_FUNCTIONS:
            wrapped = self._value(fn, name)
            for owner, attr in _bindings(fn):
                self._patch(owner, attr, wrapped)
        for name, reason in _VALUE_METHODS.items():
            self._patch(Tensor, name, self._refuse(getattr(Tensor, name), reason))
        for name, value in vars(InPlaceMethods).items():
            inplace = not name.startswith("_") or name == "__setitem__"
            if callable(value) and (inplace or (name.startswith("__i") and "init" not in name)):
                self._patch(Tensor, name, self._refuse(value, f"an in-place operation ({name})"))
        self._grad_property: Any = vars(TensorBase)["grad"]
        self._patch(TensorBase, "grad", property(self._grad_property.fget, self._set_grad))
        for name in ("detach", "data"):
            self._patch(Tensor, name, self._alias(name))
        for base in (Optimizer, LRScheduler):
            for cls in _subclasses(base):
                for name in ("step", "zero_grad"):
                    if name in vars(cls):
                        self._patch(cls, name, self._opaque(vars(cls)[name], name))
        return self

    def __exit__(self, *exc: object) -> None:
        function.tracer[0] = None
        for owner, name, value in reversed(self._saved):
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
        self._saved.clear()

    def _hook(self, original: Any, handler: Any) -> Any:
        def hooked(*args: Any, **kwargs: Any) -> Any:
            if self.mine():
                return handler(original, *args, **kwargs)
            return original(*args, **kwargs)

        return hooked

    def _refuse(self, original: Any, reason: str) -> Any:
        def refused(*args: Any, **kwargs: Any) -> Any:
            if self.mine():
                self.unsupported(reason)
            return original(*args, **kwargs)

        return refused

    def _opaque(self, original: Any, name: str) -> Any:
        def opaque(obj: Any, *args: Any, **kwargs: Any) -> Any:
            if not self.mine():
                return original(obj, *args, **kwargs)
            if any(callable(a) or isinstance(a, TensorBase) for a in (*args, *kwargs.values())):
                self.unsupported(f"{type(obj).__name__}.{name} with a closure or tensor argument")
                return original(obj, *args, **kwargs)
            self.verify()
            self.emit(CALL, obj, name, args, kwargs)
            self.suspended += 1  # its own tensor work is replayed by calling it again
            try:
                return original(obj, *args, **kwargs)
            finally:
                self.suspended -= 1
                self.snapshot()

        return opaque

    def _module_call(self, original: Any) -> Any:
        """A module's call: its `training` flag becomes a guard, and a buffer or parameter it
        changed in place without a recorded op (running statistics) makes the trace fall back."""

        def call(module: Any, *args: Any, **kwargs: Any) -> Any:
            if not self.mine():
                return original(module, *args, **kwargs)
            self.tape.module_guards.append((module, module.training))
            state = [(t, t._data, t._vc[0]) for t in (*module.buffers(), *module.parameters())]
            out = original(module, *args, **kwargs)
            for t, data, version in state:
                if t._data is not data or t._vc[0] != version:
                    self.unsupported(
                        f"{type(module).__name__} changed a buffer or parameter in place "
                        "(e.g. running statistics), which the tape does not record"
                    )
                    break
            return out

        return call

    def _traced_make(self) -> Any:
        make = vars(TensorBase)["_make"].__func__

        def traced_make(data: Any, requires_grad: bool = False, grad_fn: Any = None,
                        output_nr: int = 0, version_counter: Any = None) -> Any:  # fmt: skip
            t = make(data, requires_grad, grad_fn, output_nr, version_counter)
            if grad_fn is None:  # an op's result carries its node; a bare wrap does not
                caller = sys._getframe(1)
                if caller.f_code not in _CONSTANT_MAKERS:
                    self.on_make(t, _maker(caller))
            return t

        return traced_make

    def _key_part(self, original: Any) -> Any:
        """An index key's part: a 0-d integer tensor becomes a Python int (as torch reads it),
        which the tape would keep; the trace refuses it."""

        def key_part(part: Any) -> Any:
            scalar = isinstance(part, TensorBase) and part._data.ndim == 0
            if scalar and part._data.dtype.kind in "iu" and self.mine():
                self.unsupported("a 0-d integer tensor used as an index (read as an int)")
            return original(part)

        return key_part

    def _value(self, original: Any, name: str) -> Any:
        def value(*args: Any, **kwargs: Any) -> Any:
            return self.on_value(original, name, args, kwargs)

        return value

    def _check(self, original: Any) -> Any:
        """A front door's check of argument values (labels in range): replayed as a call."""

        def check(*args: Any) -> Any:
            if self.mine():
                self.emit(CHECK, original, [self.spec(a) for a in args])
            return original(*args)

        return check

    def _set_grad(self, t: Any, value: Any) -> None:
        if self.mine():
            if value is None and id(t) in self.refs:
                self.emit(SETGRAD, self.refs[id(t)])
            elif value is None:
                self.emit(SETGRAD, self.ref(t))
            else:
                self.unsupported("assigning a Tensor to .grad inside the function")
        self._grad_property.fset(t, value)
        if self.mine():
            self.snapshot()

    def _alias(self, name: str) -> Any:
        """detach() and .data: the same array; an input's detached tensor reads the input."""
        original = getattr(TensorBase, name)
        is_property = isinstance(original, property)
        getter = original.fget if is_property else original

        def aliased(t: Any) -> Any:
            s = self.spec(t) if self.mine() else None
            out = getter(t)
            if s is not None:
                if s[0] == REF:
                    self.refs[id(out)] = s[1]
                    self.snapshot()  # a 0-d ref's scalar may have become an array (_memory)
                else:
                    self.slot_of[id(out._data)] = s[1]
                self.keep.append(out)
            return out

        if is_property:
            return property(aliased, self._refuse(original.fset, "assigning to .data"))
        return aliased


_MISSING = object()
_BINDINGS: dict[int, list[tuple[Any, str]]] = {}  # id(fn) -> where chainrule binds it (cached)
