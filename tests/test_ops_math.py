"""Elementwise math beyond the basics (issue 12, area "math") against PyTorch and finite
differences: one line per case (see helpers.check_op), then the conventions and errors said
explicitly.

Each case compares forward values and dtypes, and the gradients of one random upstream gradient,
with PyTorch (float64, and float32 where the case says so), and runs gradcheck and gradgradcheck
unless it says otherwise (no second derivative at a jump, none to finite-difference at a kink).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import Case, case, lib

import chainrule as cr
from chainrule import errors

SHAPES = [(), (3, 4)]
NO_GRAD = {"grad": False, "gradcheck": False, "gradgradcheck": False}
# Cases at points where the value or the slope is inf or nan on purpose (as in torch).
INF = pytest.mark.filterwarnings(
    "ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning"
)


def name(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "scalar"


def floats(values: object) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def ints(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def bools(*values: int) -> np.ndarray:
    return np.array(values, dtype=bool)


# -- one input, smooth: every shape, float32 too ----------------------------------------------
INSIDE = {"low": -0.9, "high": 0.9}  # asin, acos, atanh, erfinv: (-1, 1)
UNARY = {
    "tan": (lambda x: x.tan(), {"low": -1.2, "high": 1.2}),
    "tan_fn": (lambda x: lib(x).tan(x), {"low": -1.2, "high": 1.2}),
    "asin": (lambda x: x.asin(), INSIDE),
    "arcsin_fn": (lambda x: lib(x).arcsin(x), INSIDE),
    "acos": (lambda x: x.acos(), INSIDE),
    "arccos": (lambda x: x.arccos(), INSIDE),
    "atan": (lambda x: x.atan(), {}),
    "arctan_fn": (lambda x: lib(x).arctan(x), {}),
    "sinh": (lambda x: x.sinh(), {}),
    "cosh": (lambda x: lib(x).cosh(x), {}),
    "asinh": (lambda x: x.asinh(), {}),
    "arcsinh": (lambda x: lib(x).arcsinh(x), {}),
    "acosh": (lambda x: x.acosh(), {"low": 1.1, "high": 3.0}),
    "arccosh": (lambda x: lib(x).arccosh(x), {"low": 1.1, "high": 3.0}),
    "atanh": (lambda x: x.atanh(), INSIDE),
    "arctanh": (lambda x: lib(x).arctanh(x), INSIDE),
    "deg2rad": (lambda x: lib(x).deg2rad(x), {}),
    "rad2deg": (lambda x: x.rad2deg(), {}),
    "sinc": (lambda x: lib(x).sinc(x), {}),
    "exp2": (lambda x: lib(x).exp2(x), {}),
    "expm1": (lambda x: x.expm1(), {}),
    "expm1_fn": (lambda x: lib(x).expm1(x), {}),
    "log2": (lambda x: lib(x).log2(x), {"positive": True}),
    "log10": (lambda x: x.log10(), {"positive": True}),
    "erf": (lambda x: lib(x).erf(x), {}),
    "erf_method": (lambda x: x.erf(), {}),
    "erfc": (lambda x: lib(x).erfc(x), {}),
    "erfinv": (lambda x: lib(x).erfinv(x), INSIDE),
    "erfinv_method": (lambda x: x.erfinv(), INSIDE),
    "frac": (lambda x: lib(x).frac(x), {"low": -3.0, "high": 3.0}),
    "nan_to_num": (lambda x: lib(x).nan_to_num(x), {}),
    "negative": (lambda x: lib(x).negative(x), {}),
    "positive": (lambda x: lib(x).positive(x) * 2, {}),
    "absolute": (lambda x: lib(x).absolute(x), {}),
    "clamp_min": (lambda x: lib(x).clamp_min(x, -0.5), {}),
    "clamp_max_method": (lambda x: x.clamp_max(0.7), {}),
}
UNARY_CASES = [
    case(f"{op}-{name(shape)}", [shape], fn, float32=shape == (3, 4), **options)
    for op, (fn, options) in UNARY.items()
    for shape in SHAPES
]

# -- one input, piecewise constant: gradient 0 (torch records them anyway) --------------------
STEPS = {
    "floor": lambda x: lib(x).floor(x),
    "ceil": lambda x: x.ceil(),
    "trunc": lambda x: lib(x).trunc(x),
    "fix": lambda x: x.fix(),
    "round": lambda x: lib(x).round(x),
    "round_decimals": lambda x: x.round(decimals=2),
    "round_negative_decimals": lambda x: lib(x).round(x * 100, decimals=-1),
    "sign": lambda x: lib(x).sign(x),
}
STEP_CASES = [
    case(f"{op}-{name(shape)}", [shape], fn, float32=shape == (3, 4), low=-3.0, high=3.0)
    for op, fn in STEPS.items()
    for shape in SHAPES
]
# torch's sgn backward gives a ZeroTensor, which the oracle cannot read: values only from torch
# (gradcheck still checks chainrule's zero gradient against finite differences)
STEP_CASES += [case("sgn-3x4", [(3, 4)], lambda x: x.sgn(), grad=False, low=-3.0, high=3.0)]

# -- two inputs, broadcasting, and a Python number on one side --------------------------------
PAIRS = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (2, 3))]
BINARY = {
    "atan2": (lambda a, b: lib(a).atan2(a, b), {}),
    "arctan2": (lambda a, b: a.arctan2(b), {}),
    "hypot": (lambda a, b: lib(a).hypot(a, b), {}),
    "logaddexp": (lambda a, b: lib(a).logaddexp(a, b), {}),
    "logaddexp2": (lambda a, b: a.logaddexp2(b), {}),
    "xlogy": (lambda a, b: lib(a).xlogy(a, b), {"positive": (1,)}),
    "copysign": (lambda a, b: lib(a).copysign(a, b), {}),
    "fmod": (lambda a, b: lib(a).fmod(a, b), {"positive": (1,)}),
    "lerp_scalar_small": (lambda a, b: lib(a).lerp(a, b, 0.3), {}),
    "lerp_scalar_large": (lambda a, b: a.lerp(b, 0.8), {}),
    "float_power": (lambda a, b: lib(a).float_power(a, b), {"positive": (0,)}),
    "multiply": (lambda a, b: lib(a).multiply(a, b), {}),
    "subtract": (lambda a, b: lib(a).subtract(a, b, alpha=2), {}),
    "divide": (lambda a, b: lib(a).divide(a, b), {"positive": (1,)}),
    "true_divide": (lambda a, b: a.true_divide(b), {"positive": (1,)}),
}
BINARY_CASES = [
    case(f"{op}-{name(a)}&{name(b)}", [a, b], fn, float32=(a, b) == ((3, 1), (1, 4)), **options)
    for op, (fn, options) in BINARY.items()
    for a, b in PAIRS
]
BINARY_CASES += [
    case("lerp-tensor-weight", [(3, 4), (3, 4), floats([0.1, 0.6, -0.2, 1.5])],
         lambda a, b, w: lib(a).lerp(a, b, w)),
    case("lerp-weight-1-is-end", [(5,), (5,)], lambda a, b: (a.lerp(b, 1.0) - b) * 1e16),
    case("atan2-number", [(3, 4)], lambda a: lib(a).atan2(a, torch.tensor(0.5, dtype=a.dtype))
         if isinstance(a, torch.Tensor) else cr.atan2(a, 0.5)),
    case("xlogy-number-first", [(3, 4)], lambda y: lib(y).xlogy(2.0, y), positive=True),
    case("xlogy-number-second", [(3, 4)], lambda x: lib(x).xlogy(x, 3.0)),
    case("copysign-number", [(3, 4)], lambda x: lib(x).copysign(x, -1.0)),
    case("fmod-number", [(3, 4)], lambda x: x.fmod(1.5), low=-4.0, high=4.0),
    case("float_power-number", [(3, 4)], lambda x: x.float_power(2), float32=True),
    case("div-trunc", [(3, 4), (4,)], lambda a, b: lib(a).div(a, b, rounding_mode="trunc"),
         positive=(1,), low=-5.0, high=5.0),
    case("div-floor", [(3, 4), (4,)], lambda a, b: a.div(b, rounding_mode="floor"),
         positive=(1,), low=-5.0, high=5.0, float32=True),
    case("divide-floor-number", [(3, 4)], lambda a: lib(a).divide(a, 0.7, rounding_mode="floor"),
         low=-5.0, high=5.0),
]  # fmt: skip

# -- special points: torch's values and conventions at edges, kinks and jumps -----------------
# Finite differences see the average of the two one-sided slopes, so gradcheck is off wherever
# that is not the convention (the slope of a step at its jump is 0, the average is huge).
SPECIAL_CASES = [
    case("erfinv-near-1", [floats([-1 + 1e-15, -0.999999, -0.5, 0.0, 1e-300, 0.999999,
                                   1 - 2**-53])],
         lambda x: x.erfinv(), gradcheck=False, rtol=1e-10),
    case("erfinv-at-and-past-1", [floats([-1.5, -1.0, 1.0, 1.5, np.nan])],
         lambda x: x.erfinv(), gradcheck=False, marks=INF),
    case("erf-tails", [floats([-30.0, -6.0, -1e-10, 0.0, 1e-300, 3.0, 6.0, 30.0])],
         lambda x: x.erf(), rtol=1e-14, gradgradcheck=False),
    case("erfc-tails", [floats([-6.0, -1.0, 0.0, 1.0, 5.0, 10.0, 26.0])], lambda x: x.erfc(),
         rtol=1e-13, gradgradcheck=False),
    case("atanh-edges", [floats([-1.5, -1.0, 0.0, 1.0, 1.5])], lambda x: x.atanh(),
         gradcheck=False, marks=INF),
    case("acosh-edges", [floats([0.5, 1.0, 2.0])], lambda x: x.acosh(), gradcheck=False,
         marks=INF),
    case("asin-acos-edges", [floats([-1.5, -1.0, 1.0, 1.5])],
         lambda x: x.asin() + x.acos(), gradcheck=False, marks=INF),
    case("asinh-large", [floats([-1e200, -1e10, 1e10, 1e200])], lambda x: x.asinh(),
         gradgradcheck=False),
    case("round-half-to-even", [floats([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5])],
         lambda x: lib(x).round(x), gradcheck=False),
    case("round-decimals-ties", [floats([0.125, 0.375, 1.005, -2.675, 12345.678])],
         lambda x: x.round(decimals=2), gradcheck=False),
    case("floor-ceil-at-integers", [floats([-2.0, -1.0, -0.0, 0.0, 1.0, 2.0])],
         lambda x: x.floor() + x.ceil() * 10, gradcheck=False),
    case("sign-at-0-and-nan", [floats([-2.0, -0.0, 0.0, 3.0, np.nan])],
         lambda x: lib(x).sign(x), gradcheck=False),
    case("signbit", [floats([-2.0, -0.0, 0.0, 3.0, np.inf, -np.inf])], lambda x: x.signbit(),
         **NO_GRAD),
    case("sinc-at-integers", [floats([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0])], lambda x: x.sinc(),
         gradcheck=False),
    case("frac-signs", [floats([-2.75, -0.5, 0.0, 0.25, 3.5])], lambda x: x.frac()),
    case("copysign-zeros", [floats([0.0, -0.0, 2.0, -3.0, 1.0]),
                            floats([-1.0, 1.0, -0.0, 0.0, -np.inf])],
         lambda a, b: lib(a).copysign(a, b), gradcheck=False),
    case("fmod-signs", [floats([-3.0, 3.0, -3.5, 3.5, 7.25]), floats([2.0, -2.0, 2.0, -2.0, 2.0])],
         lambda a, b: lib(a).fmod(a, b), gradcheck=False),
    case("fmod-by-zero", [floats([1.0, -1.0]), floats([0.0, 0.0])],
         lambda a, b: lib(a).fmod(a, b), gradcheck=False, marks=INF),
    case("hypot-huge", [floats([1e300, 3e-300, 3.0]), floats([1e300, 4e-300, 4.0])],
         lambda a, b: lib(a).hypot(a, b), gradgradcheck=False, gradcheck=False),
    case("hypot-at-origin", [floats([0.0, 3.0]), floats([0.0, 4.0])],
         lambda a, b: lib(a).hypot(a, b), gradcheck=False, marks=INF),
    case("atan2-quadrants", [floats([1.0, 1.0, -1.0, -1.0, 0.0, -0.0]),
                             floats([1.0, -1.0, 1.0, -1.0, -1.0, -1.0])],
         lambda a, b: lib(a).atan2(a, b), gradcheck=False),
    case("logaddexp-extremes", [floats([1000.0, -1000.0, np.inf, -np.inf, 0.0, 5.0]),
                                floats([1000.0, -1000.0, np.inf, -np.inf, -np.inf, -800.0])],
         lambda a, b: lib(a).logaddexp(a, b), gradcheck=False, marks=INF),
    case("logaddexp2-extremes", [floats([1000.0, -1000.0, 3.0]), floats([999.0, -1000.0, 3.0])],
         lambda a, b: lib(a).logaddexp2(a, b), gradgradcheck=False),
    case("xlogy-at-0", [floats([0.0, 0.0, 0.0, 1.0, 2.0]), floats([0.0, np.nan, 3.0, 0.0, np.nan])],
         lambda a, b: lib(a).xlogy(a, b), gradcheck=False, marks=INF),
    case("xlogy-x-0-other-positive", [floats([0.0, 0.0, 1.5]), floats([2.0, 0.5, 3.0])],
         lambda a, b: lib(a).xlogy(a, b)),
    case("nan_to_num-defaults", [floats([np.nan, np.inf, -np.inf, 1.5, -2.0])],
         lambda x: lib(x).nan_to_num(x), gradcheck=False),
    case("nan_to_num-values", [floats([np.nan, np.inf, -np.inf, 1.5])],
         lambda x: x.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0), gradcheck=False),
    case("nan_to_num-float32-defaults", [np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)],
         lambda x: x.nan_to_num(), gradcheck=False),
    case("lerp-weight-half", [(5,), (5,), floats([0.5, -0.5, 0.49, 0.51, 2.0])],
         lambda a, b, w: a.lerp(b, w)),
]  # fmt: skip

# -- clamp with tensor bounds: broadcasting, promotion, the selected bound owns the gradient ---
KINKS = floats([-1.5, -0.5, 0.0, 0.5, 0.7, 1.0, 2.0])
CLAMP_CASES = [
    case("clamp-bounds-broadcast-beyond-x", [(4,), (3, 1), (3, 4)],
         lambda x, lo, hi: lib(x).clamp(x, lo, lo + hi.abs() + 0.1)),
    case("clamp-min-greater-than-max", [(3, 4), floats([0.5, -0.5, 0.2, 1.0]), floats([0.0])],
         lambda x, lo, hi: x.clamp(lo, hi), gradcheck=False, gradgradcheck=False),
    case("clamp-equal-bounds", [(3, 4), floats([0.2]), floats([0.2])],
         lambda x, lo, hi: x.clamp(lo, hi), gradcheck=False, gradgradcheck=False),
    case("clamp-tensor-max-only", [(3, 4), (4,)], lambda x, hi: lib(x).clamp(x, max=hi)),
    case("clamp_min-tensor", [(3, 4), (3, 1)], lambda x, lo: x.clamp_min(lo)),
    case("clamp_max-fn-tensor", [(3, 4), (4,)], lambda x, hi: lib(x).clamp_max(x, hi)),
    case("clamp-int-float-bound", [ints(-3, 0, 2, 5)], lambda x: x.clamp(min=0.5, max=3),
         **NO_GRAD),
    case("clamp-int-int-bounds", [ints(-3, 0, 2, 5)], lambda x: lib(x).clamp(x, 0, 3), **NO_GRAD),
    case("clamp-float32-float64-bound", [np.array([-1.0, 0.5, 2.0], np.float32),
                                         floats([0.0, 0.0, 1.0])],
         lambda x, hi: x.clamp(max=hi), **NO_GRAD),
    case("clamp-kinks-min-only", [KINKS], lambda x: x.clamp_min(0.5), gradcheck=False),
]  # fmt: skip

# -- integer and bool inputs: torch's result dtypes -------------------------------------------
I = ints(-3, -1, 0, 1, 2, 7)
B = bools(1, 0, 1, 1, 0, 0)
INT_CASES = [
    case(f"int-{op}", [I], fn, **NO_GRAD)
    for op, fn in {
        "tan": lambda x: x.tan(), "atan": lambda x: lib(x).atan(x), "sinh": lambda x: x.sinh(),
        "erf": lambda x: x.erf(), "erfc": lambda x: x.erfc(), "exp2": lambda x: x.exp2(),
        "expm1": lambda x: x.expm1(), "deg2rad": lambda x: x.deg2rad(),
        "floor": lambda x: x.floor(), "ceil": lambda x: lib(x).ceil(x),
        "trunc": lambda x: x.trunc(), "round": lambda x: x.round(), "sign": lambda x: x.sign(),
        "signbit": lambda x: x.signbit(), "nan_to_num": lambda x: x.nan_to_num(),
        "isinf": lambda x: x.isinf(), "isposinf": lambda x: lib(x).isposinf(x),
        "isfinite": lambda x: lib(x).isfinite(x), "isreal": lambda x: lib(x).isreal(x),
        "bitwise_not": lambda x: x.bitwise_not(), "logical_not": lambda x: lib(x).logical_not(x),
        "negative": lambda x: x.negative(), "absolute": lambda x: x.absolute(),
    }.items()
]  # fmt: skip
INT_CASES += [
    case("int-atan2", [I, ints(1, 2, 3, -1, -2, 5)], lambda a, b: lib(a).atan2(a, b), **NO_GRAD),
    case("int-xlogy", [I, ints(1, 2, 3, 1, 2, 5)], lambda a, b: lib(a).xlogy(a, b), **NO_GRAD),
    case("int-copysign", [I, ints(1, -2, 3, -1, -2, 5)], lambda a, b: a.copysign(b), **NO_GRAD),
    case("int-fmod", [I, ints(2, 2, 3, -1, -2, 5)], lambda a, b: lib(a).fmod(a, b), **NO_GRAD),
    case("int-float_power", [I, ints(2, 2, 3, 1, 2, 3)], lambda a, b: a.float_power(b), **NO_GRAD),
    case("int-div-trunc", [ints(-7, 7, -1, 6), ints(2, -2, 3, 3)],
         lambda a, b: lib(a).div(a, b, rounding_mode="trunc"), **NO_GRAD),
    case("int-div-floor", [ints(-7, 7, -1, 6), ints(2, -2, 3, 3)],
         lambda a, b: a.div(b, rounding_mode="floor"), **NO_GRAD),
    case("int-true_divide", [ints(-7, 7), ints(2, 2)], lambda a, b: lib(a).true_divide(a, b),
         **NO_GRAD),
    case("bool-sign", [B], lambda x: x.sign(), **NO_GRAD),
    case("bool-tan", [B], lambda x: x.tan(), **NO_GRAD),
    case("bool-signbit", [B], lambda x: x.signbit(), **NO_GRAD),
]  # fmt: skip

# -- tests of values, logical and bitwise ops -------------------------------------------------
VALUES = floats([np.nan, np.inf, -np.inf, 0.0, -1.5, 2.0])
LOGIC_CASES = [
    case("isinf", [VALUES], lambda x: lib(x).isinf(x), **NO_GRAD),
    case("isposinf", [VALUES], lambda x: x.isposinf(), **NO_GRAD),
    case("isneginf", [VALUES], lambda x: lib(x).isneginf(x), **NO_GRAD),
    case("isnan-fn", [VALUES], lambda x: lib(x).isnan(x), **NO_GRAD),
    case("isfinite-fn", [VALUES], lambda x: lib(x).isfinite(x), **NO_GRAD),
    case("isreal", [VALUES], lambda x: x.isreal(), **NO_GRAD),
    case("isclose", [floats([1.0, 1.0, np.nan, np.inf, -np.inf, 0.0]),
                     floats([1.0 + 1e-9, 1.1, np.nan, np.inf, np.inf, 1e-9])],
         lambda a, b: lib(a).isclose(a, b), **NO_GRAD),
    case("isclose-equal-nan-tolerances", [floats([1.0, 1.0, np.nan, 100.0]),
                                          floats([1.05, 1.2, np.nan, 101.0])],
         lambda a, b: a.isclose(b, rtol=0.02, atol=0.01, equal_nan=True), **NO_GRAD),
    case("isclose-int", [ints(1, 2, 3), ints(1, 3, 3)], lambda a, b: lib(a).isclose(a, b),
         **NO_GRAD),
    case("logical_and-floats", [floats([0.0, 1.5, -2.0, 0.0]), floats([1.0, 0.0, 3.0, 0.0])],
         lambda a, b: lib(a).logical_and(a, b), **NO_GRAD),
    case("logical_or", [bools(1, 0, 0, 1), bools(0, 0, 1, 1)], lambda a, b: a.logical_or(b),
         **NO_GRAD),
    case("logical_xor-int-bool", [ints(0, 2, 0, 3), bools(0, 0, 1, 1)],
         lambda a, b: lib(a).logical_xor(a, b), **NO_GRAD),
    case("logical_not-floats", [VALUES], lambda x: lib(x).logical_not(x), **NO_GRAD),
    case("bitwise_and", [ints(12, -2, 7, 0), ints(10, 3, -1, 5)],
         lambda a, b: lib(a).bitwise_and(a, b), **NO_GRAD),
    case("bitwise_or", [ints(12, -2, 7, 0), ints(10, 3, -1, 5)], lambda a, b: a.bitwise_or(b),
         **NO_GRAD),
    case("bitwise_xor-broadcast", [ints(12, -2, 7, 0), ints(6)],
         lambda a, b: lib(a).bitwise_xor(a, b), **NO_GRAD),
    case("bitwise_and-bools", [bools(1, 0, 1), bools(1, 1, 0)],
         lambda a, b: lib(a).bitwise_and(a, b), **NO_GRAD),
    case("bitwise_and-int-bool", [ints(1, 2, 3), bools(1, 1, 0)], lambda a, b: a.bitwise_and(b),
         **NO_GRAD),
    case("bitwise_or-number", [ints(1, 2, 8)], lambda a: a.bitwise_or(5), **NO_GRAD),
    case("bitwise_not-bool", [bools(1, 0)], lambda a: lib(a).bitwise_not(a), **NO_GRAD),
    case("left-shift", [ints(1, -2, 3, 5), ints(0, 1, 4, 62)], lambda a, b: a << b, **NO_GRAD),
    case("right-shift", [ints(64, -64, 7, -1), ints(1, 3, 1, 5)], lambda a, b: a >> b, **NO_GRAD),
    case("shift-past-the-width", [ints(1, -1, -8, 8), ints(64, 65, 70, -1)],
         lambda a, b: lib(a).bitwise_left_shift(a, b) + lib(a).bitwise_right_shift(a, b) * 100,
         **NO_GRAD),
    case("shift-number", [ints(1, 2, -3)], lambda a: (a << 2) + (a >> 1) * 100, **NO_GRAD),
    case("shift-number-first", [ints(0, 1, 2)], lambda a: (3 << a) + (64 >> a) * 100, **NO_GRAD),
    case("shift-int32-number", [np.array([1, 3, -4], np.int32)], lambda a: a << 3, **NO_GRAD),
    case("shift-uint8-wraps", [np.array([3, 255], np.uint8)],
         lambda a: lib(a).bitwise_left_shift(a, 7), **NO_GRAD),
    case("bitwise_right_shift-fn", [ints(100, -100)],
         lambda a: lib(a).bitwise_right_shift(a, 2), **NO_GRAD),
]  # fmt: skip

CASES: list[Case] = [
    *UNARY_CASES, *STEP_CASES, *BINARY_CASES, *SPECIAL_CASES, *CLAMP_CASES, *INT_CASES,
    *LOGIC_CASES,
]  # fmt: skip
BY_ID = {c.id: c for c in CASES}


def test_case_ids_are_unique() -> None:
    assert len(BY_ID) == len(CASES), [c.id for c in CASES if list(BY_ID).count(c.id) > 1]


@pytest.mark.parametrize("c", [c.param() for c in CASES])
def test_op(c: Case) -> None:
    c.run(gradgradcheck=True)


# Public functions of chainrule.ops this area adds -> a case calling them.
PUBLIC_CASES = {
    "tan": "tan_fn-3x4", "asin": "asin-3x4", "arcsin": "arcsin_fn-3x4", "acos": "acos-3x4",
    "arccos": "arccos-3x4", "atan": "atan-3x4", "arctan": "arctan_fn-3x4",
    "atan2": "atan2-3x4&3x4", "arctan2": "arctan2-3x1&1x4", "sinh": "sinh-3x4",
    "cosh": "cosh-3x4", "asinh": "asinh-3x4", "arcsinh": "arcsinh-3x4", "acosh": "acosh-3x4",
    "arccosh": "arccosh-3x4", "atanh": "atanh-3x4", "arctanh": "arctanh-3x4",
    "deg2rad": "deg2rad-3x4", "rad2deg": "rad2deg-3x4", "hypot": "hypot-3x4&3x4",
    "sinc": "sinc-3x4", "exp2": "exp2-3x4", "expm1": "expm1_fn-3x4", "log2": "log2-3x4",
    "log10": "log10-3x4", "logaddexp": "logaddexp-3x4&3x4", "logaddexp2": "logaddexp2-3x4&3x4",
    "xlogy": "xlogy-3x4&3x4", "float_power": "float_power-3x4&3x4", "erf": "erf-3x4",
    "erfc": "erfc-3x4", "erfinv": "erfinv-3x4", "floor": "floor-3x4", "ceil": "ceil-3x4",
    "trunc": "trunc-3x4", "fix": "fix-3x4", "frac": "frac-3x4", "round": "round-3x4",
    "sign": "sign-3x4", "sgn": "sgn-3x4", "signbit": "signbit", "copysign": "copysign-3x4&3x4",
    "fmod": "fmod-3x4&3x4", "lerp": "lerp-tensor-weight", "clamp_min": "clamp_min-3x4",
    "clamp_max": "clamp_max-fn-tensor", "isinf": "isinf", "isposinf": "isposinf",
    "isneginf": "isneginf", "isnan": "isnan-fn", "isfinite": "isfinite-fn", "isreal": "isreal",
    "isclose": "isclose", "nan_to_num": "nan_to_num-3x4", "logical_and": "logical_and-floats",
    "logical_or": "logical_or", "logical_xor": "logical_xor-int-bool",
    "logical_not": "logical_not-floats", "bitwise_and": "bitwise_and",
    "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor-broadcast",
    "bitwise_not": "bitwise_not-bool", "bitwise_left_shift": "shift-past-the-width",
    "bitwise_right_shift": "bitwise_right_shift-fn", "positive": "positive-3x4",
    "negative": "negative-3x4", "absolute": "absolute-3x4", "multiply": "multiply-3x4&3x4",
    "subtract": "subtract-3x4&3x4", "divide": "divide-3x4&3x4",
    "true_divide": "true_divide-3x4&3x4",
}  # fmt: skip


# -- errors: where torch refuses, chainrule refuses with a catchable-as-torch's class ---------
F = np.array([1.5, -2.0])
REFUSED = [
    # (id, the call on a module (torch or chainrule), the class torch raises, words of ours)
    ("bitwise_and-floats", lambda m: m.bitwise_and(m.tensor(F), m.tensor(F)),
     NotImplementedError, "bitwise_and: expected integer or bool tensors, got float64"),
    ("bitwise_not-float", lambda m: m.bitwise_not(m.tensor(F)), NotImplementedError,
     "bitwise_not: expected integer or bool tensors, got float64"),
    ("shift-float", lambda m: m.tensor([1, 2]) << m.tensor(F), NotImplementedError,
     "bitwise_left_shift: expected integer tensors, got float64"),
    ("shift-bools", lambda m: m.bitwise_right_shift(m.tensor([True]), m.tensor([False])),
     NotImplementedError, "expected integer tensors, got bool"),
    ("hypot-ints", lambda m: m.hypot(m.tensor([3]), m.tensor([4])), NotImplementedError,
     "hypot: not implemented for int64"),
    ("logaddexp-ints", lambda m: m.logaddexp(m.tensor([3]), m.tensor([4])),
     NotImplementedError, "logaddexp: not implemented for int64"),
    ("frac-int", lambda m: m.frac(m.tensor([3])), NotImplementedError, "frac: not implemented"),
    ("lerp-ints", lambda m: m.lerp(m.tensor([1]), m.tensor([2]), 0.5), NotImplementedError,
     "lerp: not implemented for int64"),
    ("floor-bool", lambda m: m.floor(m.tensor([True])), NotImplementedError,
     "floor: not implemented for bool"),
    ("round-decimals-int", lambda m: m.round(m.tensor([3]), decimals=1), NotImplementedError,
     "round: decimals=1 is not implemented for int64"),
    ("fmod-bools", lambda m: m.fmod(m.tensor([True]), m.tensor([True])), NotImplementedError,
     "fmod: not implemented for bool"),
    ("fmod-int-by-zero", lambda m: m.fmod(m.tensor([3]), m.tensor([0])), RuntimeError,
     "fmod: integer division by zero"),
    ("div-int-by-zero-floor", lambda m: m.div(m.tensor([3]), 0, rounding_mode="floor"),
     RuntimeError, "div: integer division by zero"),
    ("div-bad-mode", lambda m: m.div(m.tensor(F), 2, rounding_mode="round"), RuntimeError,
     "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'round'"),
    ("isclose-dtypes", lambda m: m.isclose(m.tensor([1]), m.tensor([1.0])), RuntimeError,
     "isclose: input's dtype int64 does not match other's dtype float32"),
    ("isclose-negative-rtol", lambda m: m.isclose(m.tensor(F), m.tensor(F), rtol=-1.0),
     RuntimeError, "rtol and atol must be greater than or equal to zero"),
    ("clamp-no-bounds", lambda m: m.clamp(m.tensor(F)), RuntimeError,
     "clamp: at least one of min and max must be given"),
    ("clamp-bounds-do-not-broadcast", lambda m: m.clamp(m.tensor(F), min=m.zeros(3)),
     RuntimeError, r"clamp: shapes \(2,\) and \(3,\) cannot be broadcast"),
    ("atan2-shapes", lambda m: m.atan2(m.zeros(2), m.zeros(3)), RuntimeError,
     r"atan2: shapes \(2,\) and \(3,\) cannot be broadcast"),
    ("positive-bool", lambda m: m.positive(m.tensor([True])), RuntimeError,
     "positive: the `\\+` operator, on a bool tensor is not supported"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "torch_error", "words"), [pytest.param(*r[1:], id=r[0])
                                                           for r in REFUSED])  # fmt: skip
def test_refused_as_torch_refuses(call, torch_error: type[Exception], words: str) -> None:
    with pytest.raises(torch_error):
        call(torch)
    with pytest.raises(torch_error, match=words):
        call(cr)


def test_unsupported_dtypes_are_also_type_errors() -> None:
    with pytest.raises(TypeError):
        cr.bitwise_xor(cr.tensor([1.0]), cr.tensor([2.0]))
    with pytest.raises(errors.UnsupportedDTypeError):
        cr.hypot(cr.tensor([1]), cr.tensor([2]))


# -- conventions said explicitly (the table above compares; these say the values) -------------
def test_rounding_is_half_to_even_and_its_gradient_is_zero() -> None:
    x = cr.tensor([0.5, 1.5, 2.5, -0.5, -2.5], dtype=cr.float64, requires_grad=True)
    y = x.round()
    np.testing.assert_array_equal(y.detach().numpy(), [0.0, 2.0, 2.0, -0.0, -2.0])
    (y * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(5))


def test_sign_at_zero_has_zero_gradient_and_nan_sign_is_zero() -> None:
    x = cr.tensor([0.0, -0.0, math.nan, -3.0], dtype=cr.float64, requires_grad=True)
    y = x.sign()
    np.testing.assert_array_equal(y.detach().numpy(), [0.0, 0.0, 0.0, -1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(4))


def test_clamp_gives_the_gradient_to_the_selected_bound() -> None:
    x = cr.tensor([-1.0, 0.5, 2.0, 0.3], dtype=cr.float64, requires_grad=True)
    lo = cr.tensor([0.0, 0.0, 0.0, 0.6], dtype=cr.float64, requires_grad=True)
    hi = cr.tensor([1.0, 1.0, 1.0, 0.4], dtype=cr.float64, requires_grad=True)  # last: lo > hi
    y = x.clamp(lo, hi)
    np.testing.assert_array_equal(y.detach().numpy(), [0.0, 0.5, 1.0, 0.4])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(lo.grad.numpy(), [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(hi.grad.numpy(), [0.0, 0.0, 1.0, 1.0])


def test_erfinv_inverts_erf_to_float64_precision() -> None:
    # erf(erfinv(y)) = y to a few ulps over (-1, 1), including next to +-1 where 1 - |y| is tiny
    ys = np.concatenate([
        np.linspace(-0.999, 0.999, 2001), 1 - np.logspace(-15, -1, 60),
        -(1 - np.logspace(-15, -1, 60)), np.logspace(-300, -1, 40),
    ])  # fmt: skip
    x = cr.erfinv(cr.tensor(ys, dtype=cr.float64)).numpy()
    back = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(back, ys, rtol=4e-16, atol=0)
    near_one = ys > 0.5  # there the check that matters is on 1 - y (erfc), relative
    np.testing.assert_allclose(
        np.array([math.erfc(v) for v in x[near_one]]), 1 - ys[near_one], rtol=1e-13
    )


def test_erf_is_within_two_ulp_of_the_c_library() -> None:
    # the vectorised kernel (primitives/erf_kernel.py); its dense sweeps: tests/test_erf_kernel.py
    xs = np.linspace(-7, 7, 1001)
    for op, ref in ((cr.erf, math.erf), (cr.erfc, math.erfc)):
        want = np.array([ref(v) for v in xs])
        got = op(cr.tensor(xs)).numpy()
        assert np.all(np.abs(got - want) <= 2 * np.spacing(np.abs(want))), op.__name__


def test_int_results_stay_ints_and_need_no_grad() -> None:
    i = cr.tensor([7, -7, 5])
    assert cr.div(i, 2, rounding_mode="trunc").tolist() == [3, -3, 2]
    assert cr.div(i, 2, rounding_mode="floor").tolist() == [3, -4, 2]
    assert (i << 2).dtype == cr.int64 and (cr.tensor([1], dtype=cr.int32) << 3).dtype == cr.int32
    assert cr.floor(i) is not i and cr.floor(i).dtype == cr.int64


def test_second_derivatives_through_the_new_rules() -> None:
    x = cr.tensor([0.3, -0.7], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(x.sinh().sum(), [x], create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(gg.numpy(), np.sinh([0.3, -0.7]))
    (g,) = cr.autograd.grad(x.erfinv().sum(), [x], create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), [x])
    t = torch.tensor([0.3, -0.7], dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(t.erfinv().sum(), [t], create_graph=True)
    (tgg,) = torch.autograd.grad(tg.sum(), [t])
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-12)
