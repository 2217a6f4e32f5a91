"""The recorder's half for values that no primitive makes (see DESIGN.md, "cr.compile"):
functions of tensors whose result never requires grad (comparisons, argmax, logical ops) are
recorded as VALUE calls the replay makes again; a constant argument that reaches a traced
array through a view or a container, or a tensor wrapped outside every recorded op by other
than the constant makers (tracer.py's `_make` hook), marks the trace unsupported: bound as a
constant, it would repeat its traced value on every replay.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.compile.tape import VALUE
from chainrule.tensor_base import TensorBase


class ValueRecording:
    """Mixed into `Recorder` (recorder.py), whose state these methods use: `slot_of`,
    `ref_data`, `made`, `spec`, `new_slot`, `emit`, `unsupported`, `mine`, ..."""

    slot_of: dict[int, int]
    ref_data: dict[int, int]
    made: dict[int, tuple[Any, str]]
    suspended: int
    reentry: bool
    in_backward: bool
    spec: Any
    new_slot: Any
    emit: Any
    unsupported: Any
    mine: Any

    def on_value(self, original: Any, name: str, args: tuple, kwargs: dict) -> Any:
        """A function of tensors whose result never requires grad and that no primitive runs
        (a comparison, argmax, a logical op): recorded as one VALUE call on the replay's
        tensors, so its result is computed again each call instead of frozen."""
        if not self.mine():
            return original(*args, **kwargs)
        targs = [self._value_arg(a) for a in args]
        tkwargs = {k: self._value_arg(v) for k, v in kwargs.items()}
        self.suspended += 1  # its own work is replayed by calling it again
        try:
            result = original(*args, **kwargs)
        finally:
            self.suspended -= 1
        if (
            any(a is None for a in (*targs, *tkwargs.values()))
            or not isinstance(result, TensorBase)
            or result._requires_grad
        ):
            self.unsupported(f"{name} with tensors inside a container or a result the tape "
                             "cannot replay")  # fmt: skip
            return result
        self.emit(VALUE, original, tuple(targs), tkwargs, self.new_slot(result._data))
        return result

    def _value_arg(self, a: Any) -> tuple | None:
        if isinstance(a, TensorBase):
            return ("t", self.spec(a))
        if isinstance(a, (list, tuple)) and any(isinstance(x, TensorBase) for x in a):
            return None
        return ("c", a)

    def on_make(self, t: Any, maker: str) -> None:
        """A tensor made around an array outside every recorded op (see `made`)."""
        if self.mine() and not self.reentry and not self.in_backward:
            self.made[id(t)] = (t, maker)

    def _derived(self, a: Any, depth: int = 0) -> bool:
        """Whether a constant argument reaches a traced array (a slot's or a ref's) through
        views or containers: recorded as a constant, it would be frozen."""
        if isinstance(a, np.ndarray):
            base: Any = a
            while base is not None:
                if id(base) in self.slot_of or id(base) in self.ref_data:
                    return True
                base = base.base
            return False
        if isinstance(a, (tuple, list)) and depth < 4:
            return any(self._derived(x, depth + 1) for x in a)
        if isinstance(a, TensorBase):
            return self._derived(a._data, depth + 1) or id(a) in self.made
        return False


def _unrecorded(maker: str) -> str:
    return (
        f"a tensor computed by {maker}, which cr.compile does not record (the replay would "
        "repeat its traced value); computing it outside the compiled function, or eagerly, "
        "gives the right one"
    )
