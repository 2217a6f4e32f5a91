"""Tensor methods for structure and linear algebra, each delegating to `chainrule.ops`:
tril, triu, roll, diagonal, unfold, repeat_interleave, argsort, scatter, bmm, outer and more.

A mixin over `TensorBase` that `chainrule.tensor.Tensor` inherits, so type checkers and editors
see every method.
"""

from __future__ import annotations

from chainrule.tensor_base import TensorBase


class StructureMethods(TensorBase):
    """Tensor methods for structure and linear algebra."""

    __slots__ = ()
