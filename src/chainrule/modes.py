"""The switches of the engine: gradient recording, anomaly detection and the viz recorder.

As in PyTorch they are per thread: a thread's `no_grad` block, or the engine switching grad mode
to `create_graph` while it runs a backward, never changes what another thread records, and a new
thread starts with grad mode on, anomaly detection off and no recorder.

They live on `state`, a `threading.local` whose defaults are class attributes: a thread that
never set a switch reads the class value, so reading one on every op is a single attribute
lookup (about as cheap as the module global it replaced; see DESIGN.md). Every way to change
them is a context manager or decorator that restores the previous value, even on an exception.
"""

from __future__ import annotations

import functools
import sys
import threading
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

# Process-wide and sticky: True once any thread has switched anomaly detection or a recorder
# on. A thread-local read costs a few times a global one, so the per-op path asks this first
# and reads those two switches only in a process that has ever used them.
watched: list[bool] = [False]


class _State(threading.local):
    """This thread's switches (class attributes: the values a new thread starts with)."""

    grad_enabled: bool = True
    inference_mode: bool = False
    anomaly_enabled: bool = False
    anomaly_check_nan: bool = True
    # Set by chainrule.viz.record(): called as recorder(node, args, outputs) for every recorded
    # node, so drawings and ledgers can show forward values (None: nothing is kept, no cost).
    recorder: Callable[..., None] | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        if value and (name == "anomaly_enabled" or name == "recorder"):
            watched[0] = True
        super().__setattr__(name, value)


state = _State()


def is_grad_enabled() -> bool:
    """True when operations are recorded for backward (in this thread)."""
    return state.grad_enabled


# A decorated function keeps its signature for the type checker.
_F = TypeVar("_F", bound=Callable[..., Any])


class _GradMode:
    """Base for no_grad / enable_grad / set_grad_enabled: a context manager and a decorator."""

    _target: bool

    def __enter__(self) -> None:
        self._previous = state.grad_enabled
        state.grad_enabled = self._target

    def __exit__(self, *exc: object) -> None:
        state.grad_enabled = self._previous

    def __call__(self, fn: _F) -> _F:
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # previous is a local, so one decorated function may run in many threads at once
            previous = state.grad_enabled
            state.grad_enabled = target
            try:
                return fn(*args, **kwargs)
            finally:
                state.grad_enabled = previous

        return cast(_F, wrapper)  # once, when decorating: same signature, by functools.wraps


class no_grad(_GradMode):
    """Disable graph recording inside a `with` block or a decorated function.

    >>> import chainrule as cr
    >>> x = cr.tensor(1.0, requires_grad=True)
    >>> with cr.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    _target = False


class enable_grad(_GradMode):
    """Re-enable graph recording inside a no_grad region."""

    _target = True


class set_grad_enabled(_GradMode):
    """Set graph recording on or off, at once (as a call) or for a block (`with`).

    As in PyTorch, `set_grad_enabled(False)` takes effect when called; used with `with`, the
    previous mode comes back at the end of the block.
    """

    def __init__(self, mode: bool) -> None:
        self._target = bool(mode)
        self._previous = state.grad_enabled
        state.grad_enabled = self._target

    def __enter__(self) -> None:
        pass  # already set by __init__

    def __call__(self, fn: _F) -> _F:
        # Used as a decorator, __init__ must not leave the mode switched for the rest of the
        # program: restore it now, the wrapper sets it only while fn runs (as PyTorch does).
        state.grad_enabled = self._previous
        return super().__call__(fn)


class inference_mode:
    """no_grad for code that will never call backward (torch.inference_mode): nothing is
    recorded inside, and `is_inference_mode_enabled()` says so. `inference_mode(False)` is a
    no-op block, as in torch. A context manager and a decorator.

    >>> import chainrule as cr
    >>> x = cr.tensor(1.0, requires_grad=True)
    >>> with cr.inference_mode():
    ...     (x * 2).requires_grad
    False
    """

    def __init__(self, mode: bool = True) -> None:
        self._mode = bool(mode)

    def __enter__(self) -> None:
        self._previous = (state.grad_enabled, state.inference_mode)
        if self._mode:
            state.grad_enabled, state.inference_mode = False, True

    def __exit__(self, *exc: object) -> None:
        state.grad_enabled, state.inference_mode = self._previous

    def __call__(self, fn: _F) -> _F:
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return cast(_F, wrapper)


def is_inference_mode_enabled() -> bool:
    """True inside an `inference_mode()` block (in this thread)."""
    return state.inference_mode


class detect_anomaly:
    """Within this block, backward raises at the first NaN or inf a backward function produces,
    naming that function and showing where its node was created in the forward pass."""

    def __init__(self, check_nan: bool = True) -> None:
        self._check_nan = check_nan

    def __enter__(self) -> None:
        self._previous = (state.anomaly_enabled, state.anomaly_check_nan)
        state.anomaly_enabled, state.anomaly_check_nan = True, self._check_nan

    def __exit__(self, *exc: object) -> None:
        state.anomaly_enabled, state.anomaly_check_nan = self._previous


def is_anomaly_enabled() -> bool:
    """True inside detect_anomaly() (in this thread)."""
    return state.anomaly_enabled


class _ModesModule(types.ModuleType):
    """`modes.grad_enabled` and the other switches, read or written as module attributes, go to
    this thread's `state` (older code and users wrote `modes.grad_enabled = False`; a plain
    module global would silently be ignored now)."""


def _forward(name: str) -> property:
    return property(
        lambda self: getattr(state, name), lambda self, value: setattr(state, name, value)
    )


if TYPE_CHECKING:
    # The module attributes _ModesModule forwards to this thread's `state`, for the checker.
    grad_enabled: bool
    anomaly_enabled: bool
    anomaly_check_nan: bool
    recorder: Callable[..., Any] | None

for _name in ("grad_enabled", "anomaly_enabled", "anomaly_check_nan", "recorder"):
    setattr(_ModesModule, _name, _forward(_name))
sys.modules[__name__].__class__ = _ModesModule
