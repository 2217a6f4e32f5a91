"""The global switches of the engine: gradient recording and anomaly detection.

They are plain module globals (read on every op, so they must be cheap) and every way to change
them is a context manager or decorator that restores the previous value, even on an exception.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

grad_enabled: bool = True
anomaly_enabled: bool = False
anomaly_check_nan: bool = True
# Set by chainrule.viz.record(): called as recorder(node, args, outputs) for every recorded node,
# so drawings and ledgers can show forward values (None: nothing is kept, no cost).
recorder: Callable[..., None] | None = None


def is_grad_enabled() -> bool:
    """True when operations are recorded for backward."""
    return grad_enabled


class _GradMode:
    """Base for no_grad / enable_grad / set_grad_enabled: a context manager and a decorator."""

    _target: bool

    def __enter__(self) -> None:
        global grad_enabled
        self._previous = grad_enabled
        grad_enabled = self._target

    def __exit__(self, *exc: object) -> None:
        global grad_enabled
        grad_enabled = self._previous

    def __call__(self, fn: Callable) -> Callable:
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            global grad_enabled
            previous = grad_enabled
            grad_enabled = target
            try:
                return fn(*args, **kwargs)
            finally:
                grad_enabled = previous

        return wrapper


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
        global grad_enabled
        self._target = bool(mode)
        self._previous = grad_enabled
        grad_enabled = self._target

    def __enter__(self) -> None:
        pass  # already set by __init__

    def __call__(self, fn: Callable) -> Callable:
        # Used as a decorator, __init__ must not leave the mode switched for the rest of the
        # program: restore it now, the wrapper sets it only while fn runs (as PyTorch does).
        global grad_enabled
        grad_enabled = self._previous
        return super().__call__(fn)


class detect_anomaly:
    """Within this block, backward raises at the first NaN or inf a backward function produces,
    naming that function and showing where its node was created in the forward pass."""

    def __init__(self, check_nan: bool = True) -> None:
        self._check_nan = check_nan

    def __enter__(self) -> None:
        global anomaly_enabled, anomaly_check_nan
        self._previous = (anomaly_enabled, anomaly_check_nan)
        anomaly_enabled, anomaly_check_nan = True, self._check_nan

    def __exit__(self, *exc: object) -> None:
        global anomaly_enabled, anomaly_check_nan
        anomaly_enabled, anomaly_check_nan = self._previous


def is_anomaly_enabled() -> bool:
    """True inside detect_anomaly()."""
    return anomaly_enabled
