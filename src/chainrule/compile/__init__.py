"""`cr.compile`: trace a function once, replay it as a flat tape of array calls.

>>> import chainrule as cr
>>> g = cr.compile(lambda a, b: (a * b).sum())
>>> a, b = cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])
>>> g(a, b).item(), g(a, b).item()
(11.0, 11.0)

The first call with a new guard key (the tensor arguments' shapes, dtypes, requires_grad and
leafness, the other arguments' values, the grad mode, the default dtype) runs the function
eagerly under a `Tracer` and keeps the tape; later calls with that key replay it, after checking
that the tensors the function reached by identity (parameters) still have the traced shapes,
dtypes and flags. What the tape cannot reproduce (`.item()`, Python control flow on a value,
in-place ops, hooks, random draws, user Functions, create_graph or autograd.grad inside) makes
that variant run eagerly, with one warning naming the reason, or raises `CompileUnsupported`
under `fullgraph=True`. A result that requires grad can be backpropagated after the call, as
an output of one node whose backward is the traced one. See DESIGN.md, "cr.compile".
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

import numpy as np

from chainrule import backend, function
from chainrule.compile.codegen import replay
from chainrule.compile.recorder import CompileUnsupported
from chainrule.compile.scalar import all_float64_0d
from chainrule.compile.tape import Tape
from chainrule.compile.tracer import Tracer
from chainrule.modes import state as _modes
from chainrule.tensor_base import TensorBase

__all__ = ["CompileUnsupported", "CompiledFunction", "compile"]

_R = TypeVar("_R")
_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
_TRACE_LOCK = threading.Lock()  # tracing patches process-wide hooks: one trace at a time


class CompiledFunction(Generic[_R]):
    """A function with a cache of traced variants (see the module docstring)."""

    def __init__(
        self, fn: Callable[..., _R], fullgraph: bool, cache_size_limit: int, eager: bool = False
    ) -> None:
        self.fn = fn
        self.eager = eager  # backend="eager": no tracing at all (for debugging, as in torch)
        self.fullgraph = fullgraph
        self.cache_size_limit = cache_size_limit
        self.cache: dict[Any, Tape | str] = {}  # key -> its tape, or why it runs eagerly
        self._warned: set[str] = set()
        functools.update_wrapper(self, fn)

    def _warn(self, reason: str) -> None:
        if reason not in self._warned:
            self._warned.add(reason)
            warnings.warn(f"cr.compile: running eagerly: {reason}", stacklevel=3)

    def __call__(self, *args: Any, **kwargs: Any) -> _R:
        if (
            self.eager
            or function.tracer[0] is not None
            or _modes.anomaly_enabled
            or _modes.recorder
        ):
            return self.fn(*args, **kwargs)  # inside another trace, or a debugging mode
        inputs: list[Any] = []
        key = _key(args, kwargs, inputs)
        if key is None:
            self._fail("an argument that cannot be guarded (not a tensor or a hashable value)")
            return self.fn(*args, **kwargs)
        entry = self.cache.get(key)
        if isinstance(entry, Tape) and entry.guards_hold():
            try:
                return replay(entry, inputs)
            except Exception:
                # the user sees eager's error, named as eager names it (and if eager succeeds,
                # this variant is not trusted again)
                self.cache[key] = "a replay failed where eager did not"
                return self.fn(*args, **kwargs)
        if isinstance(entry, str):
            self._warn(entry)
            return self.fn(*args, **kwargs)
        if entry is None and len(self.cache) >= self.cache_size_limit:
            self._fail(f"more than {self.cache_size_limit} variants (cache_size_limit)")
            return self.fn(*args, **kwargs)
        return self._trace(key, inputs, args, kwargs)

    def _fail(self, reason: str) -> None:
        if self.fullgraph:
            raise CompileUnsupported(f"cr.compile(fullgraph=True): {reason}")
        self._warn(reason)

    def _trace(self, key: Any, inputs: list[Any], args: tuple, kwargs: dict) -> _R:
        with _TRACE_LOCK, Tracer(inputs, self.fullgraph) as tracer:
            result = self.fn(*args, **kwargs)
            outputs = tracer.output_spec(result)
            tracer.verify()
            if tracer.live and tracer.reason is None:
                tracer.trace_backward()
        if tracer.reason is not None:
            self.cache[key] = tracer.reason
            self._warn(tracer.reason)
        else:
            tracer.tape.outputs = outputs
            tracer.tape.n_slots = len(tracer.values)
            tracer.tape.metas = [(np.shape(v), getattr(v, "dtype", None)) for v in tracer.values]
            tracer.tape.ref_metas = [(t._data.shape, t._data.dtype) for t in tracer.ref_list]
            tracer.tape.scalar = all_float64_0d(tracer.values) and all_float64_0d(
                [t._data for t in tracer.ref_list]
            )
            self.cache[key] = tracer.tape
        return result


def _key(args: tuple, kwargs: dict, inputs: list[Any]) -> tuple | None:
    """The guard key of a call, collecting its tensor arguments into `inputs`; None when an
    argument cannot be guarded."""
    parts: list[Any] = [_modes.grad_enabled, backend.get_default_dtype()]
    named = [(None, a) for a in args] + sorted(kwargs.items()) if kwargs else args
    for item in named:
        if kwargs:
            name, value = item
            if name is not None:
                parts.append(name)
        else:
            value = item
        if isinstance(value, TensorBase):
            inputs.append(value)
            data = value._data
            parts.append((data.shape, data.dtype, value._requires_grad, value.grad_fn is None))
            continue
        try:
            hash(value)
        except TypeError:
            return None
        parts.append((type(value), value))
    return tuple(parts)


@overload
def compile(
    fn: Callable[..., _R],
    *,
    mode: str | None = None,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: str | None = None,
) -> CompiledFunction[_R]: ...
@overload
def compile(
    fn: None = None,
    *,
    mode: str | None = None,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: str | None = None,
) -> Callable[[Callable[..., _R]], CompiledFunction[_R]]: ...
def compile(
    fn: Callable[..., _R] | None = None,
    *,
    mode: str | None = None,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: str | None = None,
) -> CompiledFunction[_R] | Callable[[Callable[..., _R]], CompiledFunction[_R]]:
    """Compile `fn` (torch.compile's signature; usable as `@cr.compile` or
    `@cr.compile(fullgraph=True)`).

    `mode` is accepted for torch's values and changes nothing yet; `dynamic` too (every
    variant is specialised on its shapes); `backend` is None or "chainrule" (trace and replay) or
    "eager" (call `fn` as is, for debugging).
    """
    if mode not in _MODES:
        raise ValueError(f"compile: unknown mode {mode!r}; expected one of {_MODES[1:]}")
    if backend not in (None, "chainrule", "eager"):
        raise ValueError(f"compile: unknown backend {backend!r}; chainrule has 'chainrule'")

    def wrap(f: Callable[..., _R]) -> CompiledFunction[_R]:
        if not callable(f):
            raise TypeError(f"compile: expected a callable, got {type(f).__name__}")
        return CompiledFunction(f, fullgraph, cache_size_limit=8, eager=backend == "eager")

    return wrap if fn is None else wrap(fn)
