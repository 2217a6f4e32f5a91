"""TensorBase: what a tensor *is* — an array and its place in the computational graph.

The array lives in `_data` (NumPy by default). A tensor that requires grad is either a leaf (made
by the user; gradients accumulate into `.grad`) or the output of a recorded operation (`grad_fn`
is that operation's node).

This class sits below the rule table, so the node mechanism (`function.py`), the primitives and
the engine can make and read tensors without importing what sits above them. What a tensor
*does* (operators, math, shapes, reductions, in-place ops, backward) is added above the rule
table by inheritance: `chainrule.tensor.Tensor` subclasses this with the method mixins of
`tensor_methods` and `tensor_inplace`, and declares itself the class every new tensor is made
of (`class Tensor(..., concrete=True)`), so `TensorBase._make` builds full Tensors.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self, TypeAlias, TypeVar, overload

import numpy as np

from chainrule import backend
from chainrule.modes import state as _modes  # this thread's switches (grad mode, anomaly, ...)


class TensorBase:
    """The state of a tensor: its array, its place in the graph, its gradient and hooks.

    Users meet `chainrule.Tensor`, the subclass with every operation; this base holds what the
    layers below the rule table need.
    """

    # What every tensor sets is a slot; what few tensors ever set (a gradient, hooks, a name,
    # a view's base) is a class-level default, stored per instance only when set.
    __slots__ = ("__dict__", "__weakref__", "_data", "_output_nr", "_requires_grad", "_vc",
                 "grad_fn")  # fmt: skip
    _grad: TensorBase | None = None
    _hooks: list | None = None
    _post_accumulate_grad_hooks: list | None = None
    _retains_grad = False
    _base: TensorBase | None = None  # for a view: the tensor whose memory it shares
    _base_fn: Any = None  # for a view: its base's grad_fn when the view was taken
    name: str | None = None  # a label for drawings and ledgers
    # NumPy must hand mixed expressions (ndarray * Tensor) to Tensor's reflected operators.
    __array_ufunc__ = None
    # The class every new tensor is made of: chainrule.tensor.Tensor once it is defined.
    _concrete: type[TensorBase]
    # The slots' types (declared here for the type checker; _init sets them).
    _data: Any  # a NumPy array or scalar, a CuPy array, or an object array of SymPy expressions
    _requires_grad: bool
    grad_fn: Any  # the Node that produced this tensor (chainrule.function sits above this file)
    _output_nr: int
    _vc: list[int]  # the version counter, one list shared by a tensor and its views

    def __init_subclass__(cls, concrete: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if concrete:
            TensorBase._concrete = cls

    if TYPE_CHECKING:
        # What the type checker is told: `t._make(...)` is a tensor of t's kind. At run time
        # every tensor is made of `_concrete` (chainrule.tensor.Tensor), the class the methods'
        # `Self` stands for; a staticmethod (cheaper to call than a classmethod, and this is
        # the engine's fast path) cannot say so.
        @classmethod
        def _make(
            cls,
            data: Any,
            requires_grad: bool = False,
            grad_fn: Any = None,
            output_nr: int = 0,
            version_counter: list[int] | None = None,
        ) -> Self: ...

    else:

        @staticmethod
        def _make(data, requires_grad=False, grad_fn=None, output_nr=0, version_counter=None):
            """Wrap an array without copying or checking (the engine's fast path)."""
            t = object.__new__(TensorBase._concrete)
            _init(t, data, requires_grad, grad_fn, output_nr, version_counter)
            return t

    # -- properties --------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> str:
        return "cpu" if backend.namespace(self._data) is np else "cuda"

    @overload
    def size(self, dim: None = None) -> tuple[int, ...]: ...
    @overload
    def size(self, dim: int) -> int: ...
    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape, or the size of one dimension."""
        if dim is None:
            return self._data.shape
        return self._data.shape[_check_dim(dim, self.ndim, "size")]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None and not value:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables; use .detach() to get "
                "a tensor that does not require grad"
            )
        if value and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, got {self.dtype}"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Self:
        """Set requires_grad in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self) -> TensorBase | None:
        """The accumulated gradient of a leaf (or of a tensor that called retain_grad())."""
        return self._grad

    @grad.setter
    def grad(self, value: TensorBase | None) -> None:
        if value is not None:
            if not isinstance(value, TensorBase):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value)}")
            if value.shape != self.shape:
                raise RuntimeError(
                    f"assigned grad has shape {tuple(value.shape)} but the tensor has shape "
                    f"{tuple(self.shape)}"
                )
        self._grad = value

    @property
    def data(self) -> TensorBase:
        """A tensor sharing this one's values but outside the graph (PyTorch's `.data`)."""
        return TensorBase._make(self._memory(), False, None, 0, self._vc)

    @data.setter
    def data(self, value: TensorLike) -> None:
        self._data = value._data if isinstance(value, TensorBase) else np.asarray(value)

    def _memory(self) -> Any:
        """The array, made writable memory first if it is a 0-d result held as a NumPy scalar
        (ops keep those for speed): what shares memory with this tensor must see its changes."""
        if isinstance(self._data, np.generic):
            self._data = np.array(self._data)
        return self._data

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has seen."""
        return self._vc[0]

    # -- leaving the graph -------------------------------------------------------------------
    def detach(self) -> TensorBase:
        """The same values, cut from the graph (shares memory and version counter)."""
        return TensorBase._make(self._memory(), False, None, 0, self._vc)

    def detach_(self) -> Self:
        """Cut this tensor from the graph in place."""
        self.grad_fn = None
        self._requires_grad = False
        return self

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shares memory)."""
        if self._requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        data = self._memory()
        return data if backend.namespace(data) is np else data.get()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self._data if backend.namespace(self._data) is np else self._data.get()
        return data if dtype is None else data.astype(dtype)

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"item(): a Tensor with {self._data.size} elements cannot be converted to a "
                "Python scalar"
            )
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu":
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} elements is ambiguous"
            )
        return bool(self._data.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        values = np.asarray(self.__array__())
        body = np.array2string(
            values, separator=", ", prefix="tensor(", precision=4, floatmode=_float_mode(values)
        )
        extras = []
        if self._data.dtype not in (backend.get_default_dtype(), np.int64, np.bool_):
            extras.append(f"dtype={self._data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # -- hooks -------------------------------------------------------------------------------
    def register_hook(self, hook: Callable[[TensorBase], TensorBase | None]) -> _HookHandle:
        """Call `hook(grad)` when this tensor's gradient is computed; a returned tensor replaces
        the gradient. Returns a handle whose remove() unregisters the hook."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            self.grad_fn.register_prehook(self._output_nr, hook)
            hooks = self.grad_fn.pre_hooks[self._output_nr]
        else:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            hooks = self._hooks
        return _HookHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Self], None]) -> _HookHandle:
        """Call `hook(self)` after a backward has accumulated this leaf's gradient into `.grad`
        (once per backward, after the hooks of register_hook, which see the gradient before it
        is accumulated); `hook` must return None. Not called by autograd.grad, which leaves
        `.grad` alone. Returns a handle whose remove() unregisters the hook.

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> seen = []
        >>> handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
        >>> (w * 3).sum().backward(); seen
        [[3.0, 3.0]]
        >>> handle.remove()
        """
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors (this one "
                f"of shape {tuple(self.shape)} was produced by {self.grad_fn.name()})"
            )
        if self._post_accumulate_grad_hooks is None:
            self._post_accumulate_grad_hooks = []
        self._post_accumulate_grad_hooks.append(hook)
        return _HookHandle(self._post_accumulate_grad_hooks, hook)

    def retain_grad(self) -> None:
        """Keep the gradient of this non-leaf tensor in `.grad` after backward."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        self._retains_grad = True
        ref = weakref.ref(self)

        def store(grad: TensorBase) -> None:
            t = ref()
            if t is not None:
                # A copy, as torch's retain_grad: the engine passes this very array on (to a
                # leaf's .grad, to other hooks), so sharing it would let one change the other.
                if t._grad is None:
                    t._grad = TensorBase._make(grad._data.copy())
                else:
                    t._grad = TensorBase._make(t._grad._data + grad._data)

        # lets replays (cr.explain) leave .grad untouched; through __dict__ because the type
        # checker knows no such attribute on functions
        store.__dict__["retains_grad"] = True
        self.grad_fn.register_prehook(self._output_nr, store)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad


class _HookHandle:
    """Returned by register_hook and register_post_accumulate_grad_hook: remove() takes the hook
    out again (a second remove() does nothing); as a context manager, removes it on exit, as
    torch's RemovableHandle."""

    def __init__(self, hooks: list, hook: Callable) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        # by identity: `in`/`remove` would compare hooks with ==, and the same function may be
        # registered twice (each handle removes its own registration)
        for i, h in enumerate(self._hooks):
            if h is self._hook:
                del self._hooks[i]
                return

    def __enter__(self) -> _HookHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _init(
    t: TensorBase,
    data: Any,
    requires_grad: bool = False,
    grad_fn: Any = None,
    output_nr: int = 0,
    version_counter: list | None = None,
) -> None:
    t._data = data
    t._requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._output_nr = output_nr
    t._vc = [0] if version_counter is None else version_counter


def _float_mode(values: np.ndarray) -> Literal["fixed", "maxprec"]:
    """NumPy's floatmode that prints floats as PyTorch does: `1., 2.` when every value is a
    whole number (unless that needs scientific notation), else 4 decimals for every element
    (`0.1235, 1.0000`, not NumPy's `0.1235, 1.    `)."""
    if values.dtype.kind != "f":
        return "maxprec"
    finite = np.abs(values[np.isfinite(values)])
    nonzero = finite[finite != 0]
    if nonzero.size and (nonzero.max() > 1e8 or nonzero.max() / nonzero.min() > 1000):
        return "fixed"  # scientific notation, 4 decimals: 1.5000e+10
    return "maxprec" if np.all(finite == np.round(finite)) else "fixed"


def _check_dim(dim: int, ndim: int, op: str) -> int:
    """Normalise a possibly negative dim, raising IndexError that names the op."""
    low, high = (-ndim, ndim - 1) if ndim > 0 else (-1, 0)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if dim < low or dim > high:
        raise IndexError(
            f"{op}: dim {dim} is out of range for a tensor of {ndim} dimension(s) "
            f"(expected to be in range of [{low}, {high}])"
        )
    return dim % ndim if ndim > 0 else 0


def grad_mode_records(*tensors: Any) -> bool:
    """True when an operation on `tensors` would be recorded."""
    return _modes.grad_enabled and any(
        isinstance(t, TensorBase) and t._requires_grad for t in tensors
    )


TensorBase._concrete = TensorBase  # until chainrule.tensor defines the full class

# What an operand may be besides a tensor: a Python number, a NumPy array or scalar, or nested
# sequences of numbers (converted as `cr.tensor` converts them).
ArrayLike: TypeAlias = float | int | bool | complex | np.ndarray | np.generic | Sequence[Any]
# What an operator or front-door function takes as a value operand.
TensorLike: TypeAlias = TensorBase | ArrayLike

# The kind of tensor a front-door function (chainrule.ops, below chainrule.tensor, so it cannot
# name Tensor) returns: the kind it was given, so `cr.exp(t)` is a `Tensor` for a `Tensor` t.
# Given no tensor at all (`cr.exp(2.0)`), the checker falls back to the default, TensorBase;
# the result is a Tensor at run time all the same. typing.TypeVar takes a default from Python
# 3.13; typing_extensions (which mypy depends on) has it for the checker, and at run time the
# plain TypeVar is enough (annotations are never evaluated: `from __future__ import annotations`).
if TYPE_CHECKING:
    from typing_extensions import TypeVar as _TypeVarWithDefault

    TensorT = _TypeVarWithDefault("TensorT", bound=TensorBase, default=TensorBase)
else:
    TensorT = TypeVar("TensorT", bound=TensorBase)
