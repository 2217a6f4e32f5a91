"""Exponential, logarithmic and special-function primitives: expm1, log2, log10, erf, erfc,
erfinv, logaddexp and xlogy.

The error functions use NumPy only (SciPy is not a dependency): erf and erfc are the vectorised
fdlibm algorithm of `erf_kernel` (within an ulp of the C library's `math.erf` / `math.erfc`, 2-6x
faster than mapping those over the elements); erfinv starts from Winitzki's closed-form
approximation (relative error ~2e-3) and takes two Halley steps on erf (or on erfc where
|y| > 1/2, where 1 - |y| is exact and erf's own cancellation would lose digits), which reaches
float64's precision. Everything is computed in float64 and rounded to the input's dtype.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.backend import namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.binary import Binary
from chainrule.primitives.elementwise import data_of
from chainrule.primitives.erf_kernel import erf64, erfc64
from chainrule.primitives.rules import D, Rule
from chainrule.primitives.trig import same

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0


def _in_float64(fn: Any, x: Any) -> Any:
    """fn over x's values in float64, returned in x's dtype (a NumPy scalar for a 0-d x)."""
    x = np.asarray(x)
    out = np.asarray(fn(x.astype(np.float64)), dtype=np.float64).astype(x.dtype, copy=False)
    return out[()] if out.ndim == 0 else out


def erf(x: Any) -> Any:
    """erf of a float array, within an ulp of the C library's, in x's dtype."""
    return _in_float64(erf64, x)


def erfc(x: Any) -> Any:
    """erfc of a float array, within an ulp of the C library's, in x's dtype."""
    return _in_float64(erfc64, x)


def _erfinv64(y: np.ndarray) -> np.ndarray:
    a = np.abs(y)
    out = np.where(a == 1, np.copysign(np.inf, y), np.nan)  # +-inf at +-1, nan outside or nan
    inside = a < 1
    a = a[inside]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.log((1 - a) * (1 + a))  # ln(1 - a^2), with 1 - a exact near 1
        t = 2 / (math.pi * 0.147) + w / 2
        x = np.sqrt(np.sqrt(t * t - w / 0.147) - t)
    # Near 0 the closed form cancels (t^2 swamps w); erfinv(a) ~ a sqrt(pi)/2 there.
    x = np.where(a < 1e-3, a * _SQRT_PI_OVER_TWO, x)
    low = a <= 0.5
    high = ~low
    residual = np.empty_like(a)
    for _ in range(2):  # cubic convergence: 2e-3 -> ~1e-7 -> below float64 rounding
        # f(x) = erf(x) - a, written as (1 - a) - erfc(x) where a > 1/2; f' = 2/sqrt(pi) e^-x^2
        # and f''/f' = -2x, so Halley's step is u / (1 + x u) with u = f / f'.
        residual[low] = erf64(x[low]) - a[low]
        residual[high] = (1 - a[high]) - erfc64(x[high])
        u = residual / (_TWO_OVER_SQRT_PI * np.exp(-x * x))
        x = x - u / (1 + x * u)
    out[inside] = np.copysign(x, y[inside])
    return out


def erfinv(y: Any) -> Any:
    """The inverse of erf over (-1, 1), +-inf at +-1 and nan outside, in y's dtype."""
    return _in_float64(_erfinv64, y)


class Expm1(Primitive):
    """Exact for small |x|, where exp(x) - 1 would lose the digits of x."""

    elementwise = True
    rule = Rule(
        "the slope of e^x - 1 is e^x, the output plus one",
        "y = exp(x) - 1",
        "y = e^{x} - 1",
        x=("d (exp(x) - 1)/dx = exp(x) = y + 1", r"\frac{d (e^{x} - 1)}{dx} = e^{x} = y + 1"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        y = namespace(x).expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        return g * (y + 1)


class Log2(Primitive):
    elementwise = True
    rule = Rule(
        "the base-2 logarithm is ln x / ln 2",
        "y = log2(x)",
        r"y = \log_2 x",
        x=("d log2(x)/dx = 1/(x ln 2)", r"\frac{d \log_2 x}{dx} = \frac{1}{x \ln 2}"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        xp = namespace(x)
        with dual._quiet(xp):  # -inf at 0 and nan below are the answers
            return xp.log2(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g / (x * _LN2)


class Log10(Primitive):
    elementwise = True
    rule = Rule(
        "the base-10 logarithm is ln x / ln 10",
        "y = log10(x)",
        r"y = \log_{10} x",
        x=("d log10(x)/dx = 1/(x ln 10)", r"\frac{d \log_{10} x}{dx} = \frac{1}{x \ln 10}"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        xp = namespace(x)
        with dual._quiet(xp):  # -inf at 0 and nan below are the answers
            return xp.log10(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g / (x * _LN10)


class Erf(Primitive):
    elementwise = True
    rule = Rule(
        "the error function's slope is the Gaussian 2/sqrt(pi) e^(-x^2)",
        "y = erf(x)",
        r"y = \operatorname{erf} x",
        x=(
            "d erf(x)/dx = 2/sqrt(pi) exp(-x^2)",
            r"\frac{d \operatorname{erf} x}{dx} = \frac{2}{\sqrt{\pi}} e^{-x^2}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return erf(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * (_TWO_OVER_SQRT_PI * dual.exp(-(x * x)))


class Erfc(Primitive):
    """1 - erf(x), exact where erf(x) is close to 1 (erfc(10) = 2e-45, not 0)."""

    elementwise = True
    rule = Rule(
        "the complementary error function's slope is minus erf's",
        "y = erfc(x) = 1 - erf(x)",
        r"y = \operatorname{erfc} x",
        x=(
            "d erfc(x)/dx = -2/sqrt(pi) exp(-x^2)",
            r"\frac{d \operatorname{erfc} x}{dx} = -\frac{2}{\sqrt{\pi}} e^{-x^2}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return erfc(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * (-_TWO_OVER_SQRT_PI * dual.exp(-(x * x)))


class Erfinv(Primitive):
    """inf at +-1, where the slope is inf too; nan outside [-1, 1], as torch."""

    elementwise = True
    rule = Rule(
        "the inverse's slope is one over erf's slope at the output",
        "y = erfinv(x)",
        r"y = \operatorname{erf}^{-1} x",
        x=(
            "d erfinv(x)/dx = sqrt(pi)/2 exp(y^2)",
            r"\frac{d \operatorname{erf}^{-1} x}{dx} = \frac{\sqrt{\pi}}{2} e^{y^2}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        y = erfinv(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        return g * (_SQRT_PI_OVER_TWO * dual.exp(y * y))


class LogAddExp(Binary):
    """max(a, b) + log1p(exp(-|a - b|)): never overflows; where a = b (both inf included) it is
    a + ln 2, so logaddexp(inf, inf) = inf and logaddexp(-inf, -inf) = -inf, as torch."""

    elementwise = True
    rule = Rule(
        "each input's share of the sum of exponentials is a logistic function of the difference",
        "y = log(exp(a) + exp(b))",
        r"y = \ln(e^{a} + e^{b})",
        a=("dy/da = 1/(1 + exp(b - a))", D % "a" + r" = \frac{1}{1 + e^{b - a}}"),
        b=("dy/db = 1/(1 + exp(a - b))", D % "b" + r" = \frac{1}{1 + e^{a - b}}"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        ctx.save_for_backward(a, b)
        xp = namespace(a if hasattr(a, "shape") else b)
        with dual._quiet(xp):  # inf - inf = nan at equal infinities is replaced below
            gap = -xp.abs(a - b)
            y = xp.maximum(a, b) + xp.log1p(xp.exp(gap))
            return xp.where(a == b, a + _LN2, y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = g / (1 + dual.exp(b - a)) if need_a else None  # exp overflows to inf: a share of 0
        gb = g / (1 + dual.exp(a - b)) if need_b else None
        return ga, gb


class Xlogy(Binary):
    """0 where x = 0 (even where log y is -inf or nan), but nan where y is nan, as torch."""

    elementwise = True
    rule = Rule(
        "a product with a logarithm: product rule, 0 where x = 0",
        "y = x log(other), 0 where x = 0",
        r"y = x \ln z",
        x=("dy/dx = log(other), 0 where x = 0 and other <= 0", D % "x" + r" = \ln z"),
        other=("dy/dother = x/other", r"\frac{\partial y}{\partial z} = \frac{x}{z}"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, other: Any) -> Any:
        ctx.save_for_backward(x, other)
        xp = namespace(x if hasattr(x, "shape") else other)
        with dual._quiet(xp):
            y = x * xp.log(other)
            return xp.where((x == 0) & ~xp.isnan(other), 0, y).astype(y.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, other = ctx.saved_tensors
        need_x, need_other = ctx.needs_input_grad
        gx = gother = None
        if need_x:  # torch's formula (so its own derivative is torch's too): xlogy(g, other),
            # 0 where x = 0 and other <= 0
            cut = (data_of(x) == 0) & (data_of(other) <= 0)
            gx = dual.where(cut, 0.0, same("Xlogy", g, other))
        if need_other:
            gother = g * x / other
        return gx, gother
