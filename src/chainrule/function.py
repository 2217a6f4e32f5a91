"""The mechanism every differentiable operation goes through: `Function` and its graph node.

A `Function` subclass declares `forward(ctx, *args)` and `backward(ctx, *grads)`; `apply` runs the
forward and, when an input requires grad, records a `Node` (which is also the `ctx`) holding the
edges to the inputs' nodes, their shapes, and the values saved for backward.

Two kinds of Function share this mechanism:

* User-defined ones (PyTorch-style, `_raw = False`): forward and backward see Tensors.
* The library's primitives (`_raw = True`, see `chainrule.ops`): forward sees the raw arrays, and
  backward sees raw arrays during a first-order backward (fast: pure array math, no graph) and
  Tensors under `create_graph=True`, so the same formula is recorded and can be differentiated
  again. Their formulas are written with operations that mean the same on both (`ops.dual`).

Saved values are resolved once, at record time: a saved input or output is kept with the version
of its tensor, so backward can refuse a value that an in-place operation changed since.
"""

from __future__ import annotations

import traceback
from typing import Any, Protocol

import numpy as np

from chainrule import errors
from chainrule.modes import state as _modes  # this thread's switches (grad mode, anomaly, ...)
from chainrule.modes import watched as _watched
from chainrule.tensor_base import (
    TensorBase as Tensor,  # the state of a tensor; its methods sit above
)

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed): {name} needs saved values that the first backward freed. "
    "Specify retain_graph=True when calling backward() or autograd.grad() the first time if you "
    "need to backward through the graph again."
)


# What a node's saved values become after a backward without retain_graph (a unique object).
_FREED: tuple = ("<freed by backward>",)


class FunctionCtx(Protocol):
    """What a Function's forward may call on its `ctx` (PyTorch's name for it).

    A recorded op's ctx is its Node; a primitive's forward run as plain array math gets a
    stand-in (`primitives.dual._NoSave`) that has these and stores nothing. The attributes a
    forward stores on ctx for its backward (`ctx.dim = dim`) are its own, so forwards that
    store some declare their ctx `Any`.
    """

    @property
    def needs_input_grad(self) -> tuple[bool, ...]: ...

    def save_for_backward(self, *values: Any) -> None: ...

    def mark_non_differentiable(self, *outputs: Any) -> None: ...

    def set_materialize_grads(self, value: bool) -> None: ...


class Node:
    """One recorded operation: the `ctx` its forward filled and the node backward visits.

    Edges (`next_edges`) point at the inputs: `None` for an input that gets no gradient, else a
    pair `(target, output_nr)` where `target` is the input's Node or, for a leaf, the leaf Tensor.
    """

    # The fields every recorded node sets are slots; the rarely-changed ones are class-level
    # defaults, so a node pays for them (in its __dict__) only when one is set.
    __slots__ = (
        "__dict__",  # user Functions stash attributes on ctx (ctx.dim = dim), as in PyTorch
        "__weakref__",
        "_saved",
        "_to_save",
        "fn",
        "input_meta",
        "needs_input_grad",
        "next_edges",
    )
    n_outputs = 1
    output_meta: tuple = ()  # (shape, dtype) per output, kept for multi-output nodes only
    materialize_grads = True
    non_differentiable: tuple = ()
    pre_hooks: dict[int, list[Any]] | None = None  # output_nr -> hooks (register_prehook)
    trace: list[str] | None = None

    def __init__(self, fn: type[Function]) -> None:
        self.fn = fn
        self.next_edges: tuple = ()
        self.input_meta: tuple = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self._to_save: tuple = ()
        self._saved: tuple | None = None

    # -- the ctx API, as in PyTorch -------------------------------------------------------------
    def save_for_backward(self, *values: Any) -> None:
        """Keep inputs, outputs or constants for backward (checked against in-place changes)."""
        self._to_save = values

    def mark_non_differentiable(self, *outputs: Any) -> None:
        """Declare outputs (e.g. indices) that never carry a gradient."""
        self.non_differentiable = outputs

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)

    @property
    def saved_tensors(self) -> tuple:
        """The saved values: arrays in a first-order backward of a primitive, else Tensors.

        The engine runs backward with grad mode equal to create_graph, so grad mode tells which:
        a primitive sees Tensors exactly when its backward is being recorded."""
        saved = self._saved
        if saved is None or saved is _FREED:
            if saved is None:
                return ()
            raise RuntimeError(_FREED_MESSAGE.format(name=self.name()))
        as_tensors = _modes.grad_enabled or not self.fn._raw
        if not as_tensors and len(saved) == 2:  # the common case (binary rules), unrolled
            (a, _, ca, va), (b, _, cb, vb) = saved
            if (ca is None or ca[0] == va) and (cb is None or cb[0] == vb):
                return (a, b)
        out = []
        for index, (array, source, counter, version) in enumerate(saved):
            if counter is not None and counter[0] != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: saved value {index} of {self.name()} (shape "
                    f"{tuple(array.shape)}, {array.dtype}) is at version {counter[0]}; expected "
                    f"version {version} instead. Use an out-of-place operation (x = x + 1, not "
                    "x += 1) on values that backward still needs."
                )
            if not as_tensors:
                out.append(array)
            elif source is None:  # a constant: arrays become Tensors, Python numbers stay
                out.append(Tensor._make(array) if hasattr(array, "shape") else array)
            elif type(source) is int:  # an output of this node: re-attach it to this node
                out.append(Tensor._make(array, True, self, source, counter))
            else:
                out.append(source)
        return tuple(out)

    saved_values = saved_tensors

    # -- introspection (used by the engine, viz and explain) --------------------------------------
    def name(self) -> str:
        """PyTorch-style node name, e.g. 'MulBackward'."""
        return f"{self.fn.__name__}Backward"

    @property
    def next_functions(self) -> tuple:
        """((node_or_leaf, output_nr) | (None, 0), ...) per input, like PyTorch's grad_fn API."""
        return tuple(edge if edge is not None else (None, 0) for edge in self.next_edges)

    def register_prehook(self, output_nr: int, hook: Any) -> None:
        """Run `hook(grad)` on the gradient of output `output_nr` before this node's backward."""
        if self.pre_hooks is None:
            self.pre_hooks = {}
        self.pre_hooks.setdefault(output_nr, []).append(hook)

    @property
    def _freed(self) -> bool:
        """True once a backward without retain_graph has freed the saved values."""
        return self._saved is _FREED

    def __repr__(self) -> str:
        return f"<{self.name()}>"


class Function:
    """Base class of differentiable operations, used exactly as `torch.autograd.Function`.

    >>> import chainrule as cr
    >>> class Cube(cr.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x**3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return g * 3 * x**2
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> Cube.apply(x).backward(); x.grad.item()
    12.0
    """

    _raw = False  # primitives set True: forward on arrays, backward on arrays or Tensors
    _view = False  # True when the output is a view of input 0 (shares its version counter)

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Any:
        raise NotImplementedError("Function subclasses must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx: Node, *grads: Any) -> Any:
        raise NotImplementedError("Function subclasses must implement backward(ctx, ...)")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Run forward and, if any input requires grad, record the node for backward."""
        return _apply(cls, args)


# Set by chainrule.compile while it traces a function: every operation is handed to it, which
# returns the op's result, or None to let it run here (another thread's op, or the recorder's
# own call back in). None otherwise: one list read per op.
tracer: list[Any] = [None]


def _apply(cls: type[Function], args: tuple) -> Any:
    """Function.apply, for the library's primitives and user Functions alike: the hot path of
    every operation, so it is written as one pass over the arguments with no per-call
    allocations beyond the node and the output (see benchmarks/NOTES.md).

    The pass collects what forward sees (the arrays, for a primitive; the Tensors themselves,
    for a user Function) and, per input, whether it needs a gradient, its edge and its
    (shape, dtype)."""
    if tracer[0] is not None:
        traced = tracer[0](cls, args)
        if traced is not None:
            return traced
    raw = cls._raw
    if raw and len(args) == 2:
        # A primitive of two inputs (every binary operator), unrolled: the same steps in the
        # same order as the general pass below, without its per-input lists (one tuple each
        # for the edges, the metadata and the needs) and with _connect inlined.
        a, b = args
        edge_a: tuple | None
        edge_b: tuple | None
        if isinstance(a, Tensor):
            x = a._data
            if a._requires_grad:
                if a._base is not None:
                    _check_view(a, a._base, cls)
                fn = a.grad_fn
                edge_a = (fn, a._output_nr) if fn is not None else (a, 0)
                meta_a = (x.shape, x.dtype)
            else:
                edge_a = meta_a = None
        else:
            x = a
            edge_a = meta_a = None
        if isinstance(b, Tensor):
            y = b._data
            if b._requires_grad:
                if b._base is not None:
                    _check_view(b, b._base, cls)
                fn = b.grad_fn
                edge_b = (fn, b._output_nr) if fn is not None else (b, 0)
                meta_b = (y.shape, y.dtype)
            else:
                edge_b = meta_b = None
        else:
            y = b
            edge_b = meta_b = None
        ctx = Node.__new__(Node)
        ctx.fn = cls
        ctx._to_save = ()
        ctx._saved = None
        # No primitive's forward reads the edges or the metadata, so they are set now, once
        # (the general pass sets them after forward, in _connect).
        if (edge_a is not None or edge_b is not None) and _modes.grad_enabled:
            record = True
            ctx.next_edges = (edge_a, edge_b)
            ctx.input_meta = (meta_a, meta_b)
            if edge_b is None:  # constant tuples: no allocation per op
                ctx.needs_input_grad = (True, False)
            elif edge_a is None:
                ctx.needs_input_grad = (False, True)
            else:
                ctx.needs_input_grad = (True, True)
        else:
            record = False
            ctx.next_edges = ctx.input_meta = ctx.needs_input_grad = ()
        try:
            out = cls.forward(ctx, x, y)
        except (ValueError, TypeError, IndexError) as error:
            raise _explain(cls, args, error) from None
        if (
            type(out) is tuple
            or cls._view
            or (record and _watched[0] and (_modes.anomaly_enabled or _modes.recorder is not None))
        ):
            return _wrap_outputs(cls, ctx, args, out, record, [edge_a, edge_b], [meta_a, meta_b])
        returned = out  # saved values are matched by identity with what forward returned
        if type(out) is not np.ndarray and not hasattr(out, "dtype"):
            out = np.asarray(out)  # a Python number
        t = object.__new__(Tensor._concrete)  # Tensor._make, inlined (see below)
        t._data = out
        t._output_nr = 0
        t._vc = [0]
        if not record:
            t._requires_grad = False
            t.grad_fn = None
            return t
        if out.dtype.kind not in "fcO":  # "O": object arrays of SymPy expressions
            t._requires_grad = False
            t.grad_fn = None
            _connect(ctx, args, [edge_a, edge_b], [meta_a, meta_b], (returned,), [t])
            return t
        t._requires_grad = True
        t.grad_fn = ctx
        to_save = ctx._to_save  # _connect's saved values, inlined
        if to_save:
            if len(to_save) == 2:  # a binary rule's usual two values, unrolled
                v, w = to_save
                if v is None:
                    v = _SAVED_NONE
                elif type(v) is float or type(v) is int:
                    v = (v, None, None, 0)  # a constant: nothing to version-check
                else:
                    v = _resolve_saved(v, args, (returned,), [t])
                if w is None:
                    w = _SAVED_NONE
                elif type(w) is float or type(w) is int:
                    w = (w, None, None, 0)
                else:
                    w = _resolve_saved(w, args, (returned,), [t])
                ctx._saved = (v, w)
            else:
                saved = []
                for v in to_save:
                    if v is None or type(v) is float or type(v) is int:
                        saved.append((v, None, None, 0))  # a constant: nothing to version-check
                    else:
                        saved.append(_resolve_saved(v, args, (returned,), [t]))
                ctx._saved = tuple(saved)
            ctx._to_save = ()
        return t
    arrays = []
    needs = []
    edges: list = []
    meta: list = []
    record = False
    for a in args:
        if isinstance(a, Tensor):
            data = a._data
            arrays.append(data if raw else a)
            if a._requires_grad:
                record = True
                needs.append(True)
                if a._base is not None:
                    _check_view(a, a._base, cls)
                edges.append((a.grad_fn, a._output_nr) if a.grad_fn is not None else (a, 0))
                meta.append((data.shape, data.dtype))
                continue
        else:
            arrays.append(a)
        needs.append(False)
        edges.append(None)
        meta.append(None)
    record = record and _modes.grad_enabled
    ctx = Node.__new__(Node)
    ctx.fn = cls
    ctx.next_edges = ctx.input_meta = ctx._to_save = ()
    ctx._saved = None
    ctx.needs_input_grad = tuple(needs) if record else ()
    if raw:
        try:
            out = cls.forward(ctx, *arrays)
        except (ValueError, TypeError, IndexError) as error:
            raise _explain(cls, args, error) from None
    else:  # a user Function: its forward runs on Tensors, unrecorded, and its errors are its own
        previous = _modes.grad_enabled
        _modes.grad_enabled = False
        try:
            out = cls.forward(ctx, *arrays)
        finally:
            _modes.grad_enabled = previous
    if (
        not raw
        or type(out) is tuple
        or cls._view
        or (record and _watched[0] and (_modes.anomaly_enabled or _modes.recorder is not None))
    ):
        return _wrap_outputs(cls, ctx, args, out, record, edges, meta)
    returned = out  # saved values are matched by identity with what forward returned
    if type(out) is not np.ndarray and not hasattr(out, "dtype"):
        out = np.asarray(out)  # a Python number
    # A 0-d result stays the NumPy scalar NumPy returns: arithmetic on it is ~9x faster than
    # on a 0-d array. Tensor._memory() makes it an array where memory is written or shared.
    y = object.__new__(Tensor._concrete)  # Tensor._make, inlined: this runs once per operation
    y._data = out
    y._output_nr = 0
    y._vc = [0]
    if not record or out.dtype.kind not in "fcO":  # "O": object arrays of SymPy expressions
        y._requires_grad = False
        y.grad_fn = None
        if not record:
            return y
    else:
        y._requires_grad = True
        y.grad_fn = ctx
    _connect(ctx, args, edges, meta, (returned,), [y])
    return y


_SAVED_NONE = (None, None, None, 0)  # a saved None, shared (one less tuple per op)


def _explain(cls: type[Function], args: tuple, error: Exception) -> Exception:
    """Re-raise an array library's error with the op's name and its inputs' shapes."""
    # The dual class (errors.py): NumPy's ValueError about shapes is also torch's RuntimeError;
    # an IndexError stays one unless the op says torch raises RuntimeError for it (gather).
    kind = type(error)
    kind = getattr(cls, "index_error", IndexError) if kind is IndexError else errors.dual(kind)
    check = getattr(cls, "check", None)
    if check is not None:
        message = check(*args)
        if message:
            return kind(message)
    shapes = ", ".join(
        str(tuple(a.shape)) if isinstance(a, Tensor) else repr(a) for a in args if a is not None
    )
    return kind(f"{cls.__name__.lower()}: {error} (inputs: {shapes})")


def _wrap_outputs(
    cls: type[Function], ctx: Node, args: tuple, out: Any, record: bool, edges: list, meta: list
) -> Any:
    """Wrap forward's result as Tensors and, when recording, connect them to `ctx`."""
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    base = args[0] if cls._view else None  # a view shares its base's version counter
    wrapped = []
    for nr, value in enumerate(outs):
        if isinstance(value, Tensor):
            if any(value is a for a in args):  # forward returned an input: give it its own Tensor
                value = Tensor._make(value._data)
            array = value._data
        else:
            array = value
            if not hasattr(array, "dtype"):
                array = np.asarray(array)  # a Python number (0-d NumPy scalars stay, as above)
        differentiable = record and not any(value is n for n in ctx.non_differentiable)
        # kind "O": object arrays of SymPy expressions, differentiated by chainrule.symbolic
        if differentiable and array.dtype.kind not in "fcO":
            differentiable = False
        if base is None:
            t = Tensor._make(array, differentiable, ctx if differentiable else None, nr)
        else:
            t = Tensor._make(array, differentiable, ctx if differentiable else None, nr, base._vc)
            t._base = base._base if base._base is not None else base
            t._base_fn = t._base.grad_fn
        wrapped.append(t)
    if record:
        ctx.n_outputs = len(outs)
        if len(outs) > 1:  # an unused output's zero gradient takes its own shape (engine)
            ctx.output_meta = tuple((w._data.shape, w._data.dtype) for w in wrapped)
        _connect(ctx, args, edges, meta, outs, wrapped)
        if _modes.anomaly_enabled:  # where the forward call happened, without our own frames
            frames = [f for f in traceback.extract_stack() if f.filename != __file__]
            ctx.trace = traceback.format_list(frames)
        if _modes.recorder is not None:
            _modes.recorder(ctx, args, wrapped)
    else:
        ctx._to_save = ()
    return wrapped[0] if single else tuple(wrapped)


def _connect(ctx: Node, args: tuple, edges: list, meta: list, outs: tuple, wrapped: list) -> None:
    """Record the node's edges, its inputs' metadata and its saved values (resolved now: see
    `_resolve_saved`)."""
    ctx.next_edges = tuple(edges)
    ctx.input_meta = tuple(meta)
    if ctx._to_save:
        saved = []
        for v in ctx._to_save:
            if v is None or type(v) is float or type(v) is int:
                saved.append((v, None, None, 0))  # a constant: nothing to version-check
            else:
                saved.append(_resolve_saved(v, args, outs, wrapped))
        ctx._saved = tuple(saved)
        ctx._to_save = ()


def _check_view(a: Tensor, base: Tensor, cls: type[Function]) -> None:
    """Refuse a view `a` of `base` whose history is out of date."""
    if base.grad_fn is not a._base_fn:
        # The base was changed in place by a recorded op after this view was taken: the view's
        # values are the new ones but its history is the old one, so its gradient would be
        # silently wrong (PyTorch regenerates the view's history; chainrule refuses instead).
        raise RuntimeError(
            f"{cls.__name__.lower()}: an input of shape {tuple(a.shape)} is a view of a tensor "
            "that was modified in place after the view was taken, so the view's gradient "
            "history is out of date; take the view again after the in-place operation"
        )


def _resolve_saved(value: Any, args: tuple, outs: tuple, wrapped: list) -> tuple:
    """(array, source, version counter, version) for one saved value.

    `source` is the input Tensor it came from, the output index (an int), or None for a
    constant; matching is by identity, on the Tensor or on its array.
    """
    for a in args:
        if isinstance(a, Tensor) and (value is a or value is a._data):
            return (a._data, a, a._vc, a._vc[0])
    for nr, o in enumerate(outs):
        if value is o or (isinstance(o, Tensor) and value is o._data):
            t = wrapped[nr]
            if not t._requires_grad:  # a non-differentiable output (indices): unpack it as a
                return (t._data, None, t._vc, t._vc[0])  # plain tensor, not attached to the node
            return (t._data, nr, t._vc, t._vc[0])
    if isinstance(value, Tensor):
        return (value._data, None, None, 0)
    return (value, None, None, 0)
