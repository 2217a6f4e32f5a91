"""Tests of values, logical and bitwise functions, with PyTorch's names and dtype rules: none of
them is differentiable (their results are bool or integer tensors), except nan_to_num, which
passes the gradient where its input is finite, as torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import errors
from chainrule.ops.conversion import as_tensor
from chainrule.ops.operands import operand
from chainrule.ops.promotion import promote, result_type
from chainrule.primitives.binary import Where, broadcast_message
from chainrule.tensor_base import ArrayLike, TensorBase, TensorT


def _data(x: Any) -> Any:
    return x._data if isinstance(x, TensorBase) else np.asarray(x)


def _tensor_of(*operands: Any) -> TensorBase:
    """The first tensor among the operands (its class makes the result), else a new one."""
    for x in operands:
        if isinstance(x, TensorBase):
            return x
    return as_tensor(operands[0])


def _binary(a: Any, b: Any, op: str) -> tuple[TensorBase, Any, Any]:
    """(a tensor to make the result with, a's data, b's data), broadcasting checked."""
    a, b = operand(a), operand(b)
    like = _tensor_of(a, b)
    da, db = _data(a), _data(b)
    message = broadcast_message(op, da, db)
    if message:
        raise errors.ShapeError(message)
    return like, da, db


# -- tests of values --------------------------------------------------------------------------
def isnan(x: TensorT | ArrayLike) -> TensorT:
    t = as_tensor(x)
    return t._make(np.asarray(np.isnan(t._data)))


def isfinite(x: TensorT | ArrayLike) -> TensorT:
    t = as_tensor(x)
    return t._make(np.asarray(np.isfinite(t._data)))


def isinf(x: TensorT | ArrayLike) -> TensorT:
    t = as_tensor(x)
    return t._make(np.asarray(np.isinf(t._data)))


def isposinf(x: TensorT | ArrayLike) -> TensorT:
    t = as_tensor(x)
    data = t._data
    return t._make(np.asarray(np.isposinf(data) if data.dtype.kind in "fc" else data != data))


def isneginf(x: TensorT | ArrayLike) -> TensorT:
    t = as_tensor(x)
    data = t._data
    return t._make(np.asarray(np.isneginf(data) if data.dtype.kind in "fc" else data != data))


def isreal(x: TensorT | ArrayLike) -> TensorT:
    """True where the imaginary part is 0: everywhere, for a real tensor."""
    t = as_tensor(x)
    return t._make(np.asarray(np.isreal(t._data)))


def isclose(
    input: TensorT | ArrayLike,
    other: TensorT | ArrayLike,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> TensorT:
    """|input - other| <= atol + rtol * |other|, elementwise, as a bool tensor; infinities are
    close to themselves, and nan to nan only with equal_nan. The dtypes must match (as torch).
    """
    like, a, b = _binary(input, other, "isclose")
    if isinstance(other, TensorBase) and isinstance(input, TensorBase) and a.dtype != b.dtype:
        raise errors.DTypeError(
            f"isclose: input's dtype {a.dtype} does not match other's dtype {b.dtype}"
        )
    if rtol < 0 or atol < 0:
        raise errors.ArgumentError(
            f"isclose: rtol and atol must be greater than or equal to zero, got rtol={rtol} "
            f"and atol={atol}"
        )
    if a.dtype == bool and b.dtype == bool:  # NumPy cannot subtract bools; close means equal
        return like._make(np.asarray(a == b))  # type: ignore[return-value]
    result = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return like._make(np.asarray(result))  # type: ignore[return-value]


def nan_to_num(
    x: TensorT | ArrayLike,
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
) -> TensorT:
    """nan, +inf and -inf replaced by `nan`, `posinf` and `neginf` (by default 0 and the
    dtype's largest and lowest finite values); the gradient passes where x is finite."""
    t = as_tensor(x)
    data = t._data
    if data.dtype.kind not in "fc":  # integers and bools have nothing to replace
        return t._make(np.array(data, copy=True))
    finite = np.isfinite(data)
    info = np.finfo(data.dtype)
    high = info.max if posinf is None else posinf
    low = info.min if neginf is None else neginf
    with np.errstate(over="ignore"):  # a replacement beyond the dtype's range is inf, as torch
        fill = np.where(np.isnan(data), nan, np.where(data > 0, high, low)).astype(data.dtype)
    return Where.apply(np.asarray(~finite), fill, t)


# -- logical (any dtype; nonzero is True) -----------------------------------------------------
def logical_not(x: TensorT | ArrayLike) -> TensorT:
    t = as_tensor(x)
    return t._make(np.asarray(np.logical_not(t._data)))


def logical_and(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    like, a, b = _binary(input, other, "logical_and")
    return like._make(np.asarray(np.logical_and(a, b)))  # type: ignore[return-value]


def logical_or(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    like, a, b = _binary(input, other, "logical_or")
    return like._make(np.asarray(np.logical_or(a, b)))  # type: ignore[return-value]


def logical_xor(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    like, a, b = _binary(input, other, "logical_xor")
    return like._make(np.asarray(np.logical_xor(a, b)))  # type: ignore[return-value]


# -- bitwise (integers and bools) -------------------------------------------------------------
def _integers(a: Any, b: Any, op: str, bools: bool = True) -> tuple[TensorBase, Any, Any, Any]:
    """(a tensor to make the result with, a's and b's data, the result dtype), promoted as
    torch does; floats (and bools, for shifts) refused with torch's NotImplementedError."""
    a, b = operand(a), operand(b)
    like = _tensor_of(a, b)
    allowed = "iub" if bools else "iu"
    for x in (a, b):
        kind = _data(x).dtype.kind
        if kind not in allowed:
            what = "integer or bool" if bools else "integer"
            raise errors.UnsupportedDTypeError(
                f"{op}: expected {what} tensors, got {_data(x).dtype}"
            )
    message = broadcast_message(op, _data(a), _data(b))
    if message:
        raise errors.ShapeError(message)
    dtype = result_type(a, b) or _data(a).dtype  # None: two Python numbers
    a, b = promote(a, b)
    return like, _data(a), _data(b), dtype


def bitwise_and(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    like, a, b, _ = _integers(input, other, "bitwise_and")
    return like._make(np.asarray(np.bitwise_and(a, b)))  # type: ignore[return-value]


def bitwise_or(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    like, a, b, _ = _integers(input, other, "bitwise_or")
    return like._make(np.asarray(np.bitwise_or(a, b)))  # type: ignore[return-value]


def bitwise_xor(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    like, a, b, _ = _integers(input, other, "bitwise_xor")
    return like._make(np.asarray(np.bitwise_xor(a, b)))  # type: ignore[return-value]


def bitwise_not(x: TensorT | ArrayLike) -> TensorT:
    t = as_tensor(x)
    data = t._data
    if data.dtype.kind not in "iub":
        raise errors.UnsupportedDTypeError(
            f"bitwise_not: expected integer or bool tensors, got {data.dtype}"
        )
    return t._make(np.asarray(np.invert(data)))


def _shift(input: Any, other: Any, op: str, left: bool) -> Any:
    like, a, s, dtype = _integers(input, other, op, bools=False)
    a, s = np.asarray(a), np.asarray(s)
    bits = 8 * a.dtype.itemsize
    inside = (s >= 0) & (s < bits)
    # Shifts by a negative count or by the width or more are undefined in C; torch defines them
    # (0, or -1 for a negative number shifted right), and so does this, whatever the platform.
    count = np.where(inside, s, 0).astype(s.dtype)
    if left:
        out = np.where(inside, np.left_shift(a, count), 0)
    else:
        beyond = np.where((s >= bits) & (a < 0), -1, 0)
        out = np.where(inside, np.right_shift(a, count), beyond)
    return like._make(np.asarray(out.astype(dtype, copy=False)))


def bitwise_left_shift(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    """input << other (integers only, as torch)."""
    return _shift(input, other, "bitwise_left_shift", left=True)


def bitwise_right_shift(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    """input >> other, arithmetic (the sign is kept), integers only (as torch)."""
    return _shift(input, other, "bitwise_right_shift", left=False)
