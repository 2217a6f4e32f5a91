"""Tensor methods for elementwise math beyond the basics, each delegating to `chainrule.ops`:
trig, hyperbolic, special functions, rounding, tests of values, logical and bitwise ops.

A mixin over `TensorBase` that `chainrule.tensor.Tensor` inherits, so type checkers and editors
see every method.
"""

from __future__ import annotations

from chainrule.tensor_base import TensorBase


class MathMethods(TensorBase):
    """Tensor methods for elementwise math beyond the basics."""

    __slots__ = ()
