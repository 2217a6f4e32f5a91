"""Elementwise math beyond the basics, with PyTorch's names, dtype rules and errors: trig and
hyperbolic functions and their inverses, the exp/log family, the error functions, lerp, and
clamp with tensor bounds (rounding and signs are in `ops/rounding.py`).

Integer and bool inputs become the default float where torch does so (tan, erf, atan2, xlogy,
...); functions torch has no integer kernel for (hypot, logaddexp, lerp) refuse them with
`UnsupportedDTypeError` (a NotImplementedError, as torch's). Compositions carry no derivative
code: autodiff differentiates them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule import backend, errors
from chainrule.ops.conversion import as_tensor
from chainrule.ops.operands import operand
from chainrule.ops.promotion import promote, result_type
from chainrule.primitives.binary import Add, Div, Mul, Pow, Sub, Where, broadcast_message
from chainrule.primitives.elementwise import Cast, Clamp, Sin
from chainrule.primitives.special import Erf, Erfc, Erfinv, Expm1, Log2, Log10, LogAddExp, Xlogy
from chainrule.primitives.trig import (
    Acos,
    Acosh,
    Asin,
    Asinh,
    Atan,
    Atan2,
    Atanh,
    Cosh,
    Hypot,
    Sinh,
    Tan,
)
from chainrule.tensor_base import ArrayLike, TensorBase, TensorT

_LN2 = math.log(2.0)
_NUMBERS = (type(None), float, int)


def kind_of(x: Any) -> str:
    """'b', 'i', 'u', 'f', ... for tensors and arrays; a Python number's own kind."""
    if isinstance(x, TensorBase):
        return str(x._data.dtype.kind)
    if isinstance(x, np.ndarray | np.generic):
        return str(x.dtype.kind)
    return "b" if isinstance(x, bool) else "i" if isinstance(x, int) else "f"


def dtype_name(x: Any) -> str:
    return str(x.dtype) if hasattr(x, "dtype") else type(x).__name__


def _to_float(x: Any) -> Any:
    """An integer or bool tensor (or array, or Python int) in the default float dtype."""
    if kind_of(x) in "fcO":  # "O": object arrays of SymPy expressions stay exact
        return x
    if isinstance(x, TensorBase):
        return Cast.apply(x, backend.get_default_dtype())
    if isinstance(x, np.ndarray | np.generic):
        return np.asarray(x, dtype=backend.get_default_dtype())
    return float(x)


def _float(x: TensorT | ArrayLike) -> TensorT:
    """x as a tensor, integers and bools cast to the default float (torch's rule for tan, erf,
    log2, ...)."""
    t = as_tensor(x)
    return t if t.dtype.kind in "fcO" else Cast.apply(t, backend.get_default_dtype())


def refuse_integers(x: Any, op: str) -> None:
    if kind_of(x) not in "fcO":
        raise errors.UnsupportedDTypeError(
            f"{op}: not implemented for {dtype_name(x)} tensors (floating point only, as torch)"
        )


def pair(a: Any, b: Any, op: str, floats_only: bool = False) -> tuple[Any, Any]:
    """The operands of a binary float function: promoted as torch does, then integers made the
    default float (or refused, where torch has no integer kernel); a pair of non-tensors
    becomes tensors, so the result is one."""
    a, b = operand(a), operand(b)
    if not isinstance(a, TensorBase) and not isinstance(b, TensorBase):
        a = as_tensor(a)
    message = broadcast_message(op, a, b)
    if message:
        raise errors.ShapeError(message)
    a, b = promote(a, b)
    if floats_only:
        for x in (a, b):
            if isinstance(x, TensorBase | np.ndarray):
                refuse_integers(x, op)
    if kind_of(a) not in "fcO" and kind_of(b) not in "fcO":
        a, b = _to_float(a), _to_float(b)
    return a, b


# -- trigonometric and hyperbolic -------------------------------------------------------------
def tan(x: TensorT | ArrayLike) -> TensorT:
    """tan(x) elementwise."""
    return Tan.apply(_float(x))


def asin(x: TensorT | ArrayLike) -> TensorT:
    """arcsin(x), nan outside [-1, 1]; its slope is inf at +-1."""
    return Asin.apply(_float(x))


def acos(x: TensorT | ArrayLike) -> TensorT:
    """arccos(x), nan outside [-1, 1]; its slope is -inf at +-1."""
    return Acos.apply(_float(x))


def atan(x: TensorT | ArrayLike) -> TensorT:
    return Atan.apply(_float(x))


def atan2(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    """The angle of the point (other, input) in (-pi, pi], elementwise with broadcasting.

    >>> import chainrule as cr
    >>> cr.atan2(cr.tensor([1.0, -1.0]), cr.tensor([0.0, 0.0]))
    tensor([ 1.5708, -1.5708])
    """
    return Atan2.apply(*pair(input, other, "atan2"))


def sinh(x: TensorT | ArrayLike) -> TensorT:
    return Sinh.apply(_float(x))


def cosh(x: TensorT | ArrayLike) -> TensorT:
    return Cosh.apply(_float(x))


def asinh(x: TensorT | ArrayLike) -> TensorT:
    return Asinh.apply(_float(x))


def acosh(x: TensorT | ArrayLike) -> TensorT:
    """acosh(x), nan below 1; its slope is inf at 1."""
    return Acosh.apply(_float(x))


def atanh(x: TensorT | ArrayLike) -> TensorT:
    """atanh(x): +-inf at +-1 and nan beyond, as torch."""
    return Atanh.apply(_float(x))


arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def deg2rad(x: TensorT | ArrayLike) -> TensorT:
    return Mul.apply(_float(x), math.pi / 180)


def rad2deg(x: TensorT | ArrayLike) -> TensorT:
    return Mul.apply(_float(x), 180 / math.pi)


def hypot(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    """sqrt(input^2 + other^2) without overflow (floating point only, as torch)."""
    return Hypot.apply(*pair(input, other, "hypot", floats_only=True))


def sinc(x: TensorT | ArrayLike) -> TensorT:
    """sin(pi x) / (pi x), 1 at x = 0 with slope 0 there (torch's)."""
    t = _float(x)
    zero = np.asarray(t._data == 0)
    # x = 0 is replaced by 1 before dividing, so no 0/0 runs forward or backward (the unused
    # branch of a where still gets its zero gradient divided by x)
    px = Mul.apply(Where.apply(zero, 1.0, t), math.pi)
    return Where.apply(zero, 1.0, Div.apply(Sin.apply(px), px))


# -- exponentials and logarithms --------------------------------------------------------------
def exp2(x: TensorT | ArrayLike) -> TensorT:
    """2^x elementwise."""
    return Pow.apply(2.0, _float(x))


def expm1(x: TensorT | ArrayLike) -> TensorT:
    """e^x - 1, exact for small |x|."""
    return Expm1.apply(_float(x))


def log2(x: TensorT | ArrayLike) -> TensorT:
    return Log2.apply(_float(x))


def log10(x: TensorT | ArrayLike) -> TensorT:
    return Log10.apply(_float(x))


def logaddexp(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    """log(e^input + e^other), without overflow (floating point only, as torch)."""
    return LogAddExp.apply(*pair(input, other, "logaddexp", floats_only=True))


def logaddexp2(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    """log2(2^input + 2^other), without overflow: logaddexp in units of ln 2."""
    a, b = pair(input, other, "logaddexp2", floats_only=True)
    return Mul.apply(LogAddExp.apply(Mul.apply(a, _LN2), Mul.apply(b, _LN2)), 1 / _LN2)


def xlogy(input: TensorT | ArrayLike, other: TensorT | ArrayLike) -> TensorT:
    """input * log(other), 0 where input = 0 unless other is nan (as torch)."""
    return Xlogy.apply(*pair(input, other, "xlogy"))


def float_power(input: TensorT | ArrayLike, exponent: TensorT | ArrayLike) -> TensorT:
    """input ** exponent in float64, whatever the inputs' dtypes (as torch)."""
    a, b = operand(input), operand(exponent)
    if not isinstance(a, TensorBase) and not isinstance(b, TensorBase):
        a = as_tensor(a)

    def double(v: Any) -> Any:
        if isinstance(v, TensorBase):
            return v if v._data.dtype == np.float64 else Cast.apply(v, np.dtype(np.float64))
        return np.asarray(v, dtype=np.float64) if isinstance(v, np.ndarray) else float(v)

    return Pow.apply(double(a), double(b))


# -- the error functions ----------------------------------------------------------------------
def erf(x: TensorT | ArrayLike) -> TensorT:
    """The error function 2/sqrt(pi) * integral of e^(-t^2) from 0 to x."""
    return Erf.apply(_float(x))


def erfc(x: TensorT | ArrayLike) -> TensorT:
    """1 - erf(x), exact where erf(x) is close to 1."""
    return Erfc.apply(_float(x))


def erfinv(x: TensorT | ArrayLike) -> TensorT:
    """The inverse of erf: +-inf at +-1, nan outside [-1, 1].

    >>> import chainrule as cr
    >>> cr.erf(cr.erfinv(cr.tensor([0.5], dtype=cr.float64))).item()
    0.5
    """
    return Erfinv.apply(_float(x))


def lerp(input: TensorT, end: TensorT | ArrayLike, weight: TensorT | float) -> TensorT:
    """input + weight * (end - input), written as torch's kernel writes it: from `end` when
    |weight| >= 1/2, so lerp(a, b, 1) is b exactly."""
    start, stop = promote(operand(input), operand(end))
    for x in (start, stop, weight):
        if isinstance(x, TensorBase | np.ndarray):
            refuse_integers(x, "lerp")
    diff = Sub.apply(stop, start)
    if not isinstance(weight, TensorBase):
        w = float(weight)
        if abs(w) < 0.5:
            return Add.apply(start, Mul.apply(diff, w))
        return Sub.apply(stop, Mul.apply(diff, 1 - w))
    near = np.asarray(np.abs(weight._data) < 0.5)
    from_start = Add.apply(start, Mul.apply(diff, weight))
    from_stop = Sub.apply(stop, Mul.apply(diff, Sub.apply(1.0, weight)))
    return Where.apply(near, from_start, from_stop)


# -- clamping with tensor bounds --------------------------------------------------------------
def clamp(x: TensorT | ArrayLike, min: Any = None, max: Any = None) -> TensorT:
    """x limited to [min, max]; the bounds may be numbers or tensors (broadcasting), and the
    result has torch's promoted dtype (an int tensor clamped at 0.5 is float). A tensor bound
    gets the gradient where it was selected; where min > max every element is max, as torch."""
    if min is None and max is None:
        raise errors.ArgumentError("clamp: at least one of min and max must be given")
    t = as_tensor(x)
    if t._data.dtype.kind == "f" and type(min) in _NUMBERS and type(max) in _NUMBERS:
        return Clamp.apply(t, min, max)  # the common case: nothing to promote or broadcast
    bounds = [operand(b) for b in (min, max)]
    given = [b for b in bounds if b is not None]
    message = broadcast_message("clamp", t, *given)
    if message:
        raise errors.ShapeError(message)
    target = result_type(t, *given)
    if target is not None and target != t.dtype:
        t = Cast.apply(t, target)
    lo, hi = (_cast(b, t.dtype) for b in bounds)
    return Clamp.apply(t, lo, hi)


def _cast(x: Any, dtype: np.dtype) -> Any:
    if isinstance(x, TensorBase):
        return x if x._data.dtype == dtype else Cast.apply(x, dtype)
    if isinstance(x, np.ndarray):
        return x.astype(dtype, copy=False)
    return x  # a Python number (or None) is weak: the tensor's dtype decides


def clamp_min(x: TensorT | ArrayLike, min: Any) -> TensorT:
    return clamp(x, min, None)


def clamp_max(x: TensorT | ArrayLike, max: Any) -> TensorT:
    return clamp(x, None, max)
