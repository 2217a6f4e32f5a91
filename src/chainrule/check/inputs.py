"""The point a derivation is checked at: the inputs' names and float64 values, and how to call
the function (and the hand gradient) there."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from chainrule.tensor import Tensor

__all__ = ["Inputs", "accepts", "as_array"]


class Inputs:
    """The point a function is evaluated at: names, float64 values, and how to call fn."""

    def __init__(self, fn: Callable, inputs: Any) -> None:
        if isinstance(inputs, Mapping):
            self.keyword, items = True, list(inputs.items())
        else:
            inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
            try:
                params = [
                    p.name
                    for p in inspect.signature(fn).parameters.values()
                    if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                ]
            except (TypeError, ValueError):
                params = []
            names = [params[i] if i < len(params) else f"x{i}" for i in range(len(inputs))]
            self.keyword, items = False, list(zip(names, inputs, strict=True))
        self.names = [n for n, _ in items]
        self.scalar = {n: isinstance(v, (int, float)) and not isinstance(v, bool) for n, v in items}
        self.tensor = {n: isinstance(v, Tensor) for n, v in items}
        self.values = {n: as_array(v) for n, v in items}

    def call(
        self,
        fn: Callable,
        values: Mapping[str, Any],
        wrt: Sequence[str],
        extra: dict,
        leaves: dict | None = None,
    ) -> Any:
        """fn at `values`: wrt inputs as float64 tensors (requiring grad and put in `leaves` when
        `leaves` is given), other numbers as Python numbers, arrays as tensors."""
        args: dict[str, Any] = {}
        for n in self.names:
            v = values[n]
            if n in wrt:
                args[n] = Tensor._make(np.array(v, dtype=np.float64), leaves is not None)
                if leaves is not None:
                    leaves[n] = args[n]
            elif self.scalar[n]:
                args[n] = float(v)
            else:
                args[n] = Tensor._make(np.array(v))
        return self._apply(fn, args, extra)

    def call_as_given(self, fn: Callable, values: Mapping[str, Any], extra: dict) -> Any:
        """fn at `values`, each input of the kind it was given as (number, array or tensor), so
        a hand gradient may be written with NumPy or with chainrule."""
        args: dict[str, Any] = {}
        for n in self.names:
            v = values[n]
            if self.scalar[n]:
                args[n] = float(v)
            elif self.tensor[n]:
                args[n] = Tensor._make(np.array(v))
            else:
                args[n] = np.array(v)
        return self._apply(fn, args, extra)

    def _apply(self, fn: Callable, args: dict[str, Any], extra: dict) -> Any:
        if self.keyword:
            return fn(**args, **extra)
        return fn(*(args[n] for n in self.names), **extra)


def as_array(v: Any) -> np.ndarray:
    if isinstance(v, Tensor):
        v = v.detach()._data
    a = np.asarray(v)
    if a.dtype.kind in "fb" or (a.dtype.kind in "iu" and a.ndim == 0):
        return a.astype(np.float64)
    return a  # integer arrays (class indices) stay integers


def accepts(fn: Callable, name: str, var_keyword: bool = False) -> bool:
    """True when fn has a parameter `name` (or, with var_keyword, takes **kwargs)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or (var_keyword and p.kind is p.VAR_KEYWORD) for p in params)
