"""Rounding and signs with PyTorch's names and dtype rules: floor, ceil, trunc, round, frac,
sign, signbit, copysign, fmod, and the rounding modes of `div`.

Their gradient is 0 where it exists (frac's is 1, fmod's and copysign's are piecewise constant),
as torch's; integer tensors are already whole, so rounding them gives a copy; bool has no
rounding kernel in torch and is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import errors
from chainrule.ops.conversion import as_tensor
from chainrule.ops.operands import operand
from chainrule.ops.pointwise import dtype_name, kind_of, pair, refuse_integers
from chainrule.ops.promotion import promote
from chainrule.primitives.binary import Sub, broadcast_message
from chainrule.primitives.rounding import (
    Ceil,
    Copysign,
    Floor,
    Fmod,
    Round,
    RoundedDiv,
    Sign,
    Trunc,
)
from chainrule.tensor_base import ArrayLike, TensorBase, TensorT


def _operands(a: Any, b: Any, op: str) -> tuple[Any, Any]:
    """a and b promoted as torch does, broadcasting checked; two non-tensors become tensors."""
    a, b = operand(a), operand(b)
    if not isinstance(a, TensorBase) and not isinstance(b, TensorBase):
        a = as_tensor(a)
    message = broadcast_message(op, a, b)
    if message:
        raise errors.ShapeError(message)
    return promote(a, b)


# -- rounding and signs (gradient 0, as torch) ------------------------------------------------
def _rounded(x: Any, op: str, fn: Any, *args: Any) -> Any:
    """fn on a float tensor; an integer tensor is already whole (a copy, as torch's); bool has
    no kernel in torch."""
    t = as_tensor(x)
    kind = t.dtype.kind
    if kind in "iu":
        return t._make(np.array(t._data, copy=True))
    if kind == "b":
        raise errors.UnsupportedDTypeError(f"{op}: not implemented for bool tensors")
    return fn.apply(t, *args)


def floor(x: TensorT | ArrayLike) -> TensorT:
    return _rounded(x, "floor", Floor)


def ceil(x: TensorT | ArrayLike) -> TensorT:
    return _rounded(x, "ceil", Ceil)


def trunc(x: TensorT | ArrayLike) -> TensorT:
    """Rounds toward zero."""
    return _rounded(x, "trunc", Trunc)


fix = trunc


def round(x: TensorT | ArrayLike, *, decimals: int = 0) -> TensorT:
    """Half to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2), as torch; `decimals` rounds to that many
    digits after the point (before it, when negative).

    >>> import chainrule as cr
    >>> cr.round(cr.tensor([0.5, 1.5, 2.5, -0.5]))
    tensor([ 0.,  2.,  2., -0.])
    """
    if decimals != 0 and kind_of(x) in "iub":
        raise errors.UnsupportedDTypeError(
            f"round: decimals={decimals} is not implemented for {dtype_name(x)} tensors"
        )
    return _rounded(x, "round", Round, int(decimals))


def frac(x: TensorT | ArrayLike) -> TensorT:
    """x - trunc(x), with the sign of x; its gradient is 1."""
    t = as_tensor(x)
    refuse_integers(t, "frac")
    return Sub.apply(t, Trunc.apply(t))


def sign(x: TensorT | ArrayLike) -> TensorT:
    """-1, 0 or 1 in x's dtype (0 for nan, as torch); bool stays bool."""
    t = as_tensor(x)
    if t.dtype.kind in "iub":
        data = t._data
        return t._make(np.array(data, copy=True) if data.dtype == bool else np.sign(data))
    return Sign.apply(t)


sgn = sign  # equal for real tensors (complex ones are not supported)


def signbit(x: TensorT | ArrayLike) -> TensorT:
    """True where the sign bit is set (-0.0 and -nan included), as a bool tensor."""
    t = as_tensor(x)
    data = t._data
    return t._make(np.asarray(data < 0 if data.dtype.kind in "iub" else np.signbit(data)))


def copysign(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    """|input| with the sign of other (-0.0 counts as negative), as a float tensor."""
    return Copysign.apply(*pair(input, other, "copysign"))


def fmod(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    """The C remainder of input / other: the sign of input (torch.remainder has other's)."""
    a, b = _operands(input, other, "fmod")
    if "b" in (kind_of(a), kind_of(b)) and kind_of(a) in "iub" and kind_of(b) in "iub":
        raise errors.UnsupportedDTypeError("fmod: not implemented for bool tensors")
    if kind_of(a) in "iu" and kind_of(b) in "iu":
        divisor = b._data if isinstance(b, TensorBase) else np.asarray(b)
        if (divisor == 0).any():
            raise errors.ArgumentError("fmod: integer division by zero (other has a 0)")
    return Fmod.apply(a, b)


def rounded_div(a: Any, b: Any, rounding_mode: str) -> Any:
    """a / b rounded toward zero ("trunc") or down ("floor"), for `div(rounding_mode=)`:
    integers stay integers, and the gradient is 0, as torch."""
    if rounding_mode not in ("trunc", "floor"):
        raise errors.ArgumentError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"{rounding_mode!r}"
        )
    a, b = _operands(a, b, "div")
    if kind_of(a) in "iub" and kind_of(b) in "iub":
        divisor = b._data if isinstance(b, TensorBase) else np.asarray(b)
        if (divisor == 0).any():
            raise errors.ArgumentError(
                f"div: integer division by zero (rounding_mode={rounding_mode!r})"
            )
        if kind_of(a) == "b" and kind_of(b) == "b":
            raise errors.UnsupportedDTypeError(
                f"div: rounding_mode={rounding_mode!r} is not implemented for bool tensors"
            )
    return RoundedDiv.apply(a, b, rounding_mode)
