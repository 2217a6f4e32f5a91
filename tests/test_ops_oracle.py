"""Every op against PyTorch and finite differences: one line per case (see helpers.check_op).

Each case compares forward values and the gradients of one random upstream gradient with PyTorch
(float64), runs `gradcheck`, and runs `gradgradcheck` unless the case says otherwise (comparisons
and points where the first derivative jumps have no second derivative to check).
"""

from __future__ import annotations

import importlib
import inspect
import math
import pathlib
import sys
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import Case, case, check_op, lib

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import ops
from chainrule.primitives.elementwise import Cast

SHAPES = [(), (5,), (3, 4), (2, 1, 3)]
PAIRS = [
    ((), ()),
    ((5,), (5,)),
    ((3, 4), (3, 4)),
    ((1, 4), (3, 4)),
    ((3, 4), (1, 4)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 3, 4)),
    ((3, 4), ()),
    ((), (2, 3)),
    ((2, 1, 4), (3, 1)),
]
# every dim of a 3-D tensor, negative ones and tuples (as torch: a tuple reduces each listed dim)
DIMS = [None, 0, 1, 2, -1, -2, -3, (0, 1), (0, 2), (1, 2), (-1, 0), (0, 1, 2)]


# Cases at points where the derivative is inf or nan on purpose (as in torch: sqrt'(0) = inf):
# NumPy's warnings there are expected.
INF = pytest.mark.filterwarnings(
    "ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning"
)


def name(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "scalar"


def pair_name(a: tuple[int, ...], b: tuple[int, ...]) -> str:
    return f"{name(a)}&{name(b)}"


def dim_name(dim: object) -> str:
    return "all" if dim is None else str(dim).replace(" ", "")


def ints(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def floats(values: object) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def mask(*rows: list[int]) -> np.ndarray:
    return np.array(rows, dtype=bool)


# -- elementwise unary ------------------------------------------------------------------------
UNARY = {
    "neg": (lambda x: -x, {}),
    "neg_method": (lambda x: x.neg(), {}),
    "exp": (lambda x: x.exp(), {}),
    "exp_fn": (lambda x: lib(x).exp(x), {}),
    "log": (lambda x: x.log(), {"positive": True}),
    "log_fn": (lambda x: lib(x).log(x), {"positive": True}),
    "log1p": (lambda x: x.log1p(), {"low": -0.9}),
    "sqrt": (lambda x: x.sqrt(), {"positive": True}),
    "rsqrt": (lambda x: x.rsqrt(), {"positive": True}),
    "reciprocal": (lambda x: x.reciprocal(), {"positive": True}),
    "square": (lambda x: x.square(), {}),
    "sin": (lambda x: x.sin(), {}),
    "cos": (lambda x: x.cos(), {}),
    "tanh": (lambda x: x.tanh(), {}),
    "tanh_fn": (lambda x: lib(x).tanh(x), {}),
    "sigmoid": (lambda x: x.sigmoid(), {}),
    "sigmoid_fn": (lambda x: lib(x).sigmoid(x), {}),
    "relu": (lambda x: x.relu(), {}),
    "relu_fn": (lambda x: lib(x).relu(x), {}),
    "abs": (lambda x: x.abs(), {}),
    "abs_builtin": (lambda x: abs(x), {}),
    "pos": (lambda x: +x, {}),
    "clamp_min": (lambda x: x.clamp(min=-0.5), {}),
    "clamp_max": (lambda x: x.clamp(max=0.7), {}),
    "clamp_both": (lambda x: x.clamp(-0.5, 0.7), {}),
    "clamp_fn": (lambda x: lib(x).clamp(x, min=-1.0, max=1.0), {}),
    "clip": (lambda x: x.clip(-0.5, 0.7), {}),
    "clone": (lambda x: x.clone(), {}),
}
UNARY_CASES = [
    case(f"{op}-{name(shape)}", [shape], fn, float32=shape == (3, 4), **options)
    for op, (fn, options) in UNARY.items()
    for shape in SHAPES
]

# Kinks and special points: torch's conventions there (its gradient at the kink) are the oracle.
# Finite differences see the average of the two one-sided slopes, so gradcheck is off wherever
# that average is not the convention (relu'(0) = 0 but the average is 1/2).
KINKS = floats([-1.5, -0.5, 0.0, 0.5, 0.7, 1.0, 2.0])
SPECIAL_CASES = [
    case("abs-at-0", [KINKS], lambda x: x.abs(), gradgradcheck=False),  # average is 0: checkable
    case("relu-at-0", [KINKS], lambda x: x.relu(), gradcheck=False),
    case("clamp-at-bounds", [KINKS], lambda x: x.clamp(-0.5, 0.7), gradcheck=False),
    case("clamp-min-at-bound", [KINKS], lambda x: x.clamp(min=0.0), gradcheck=False),
    case("clamp-tensor-bounds", [(3, 4), floats([-0.5]), floats([[0.1], [0.3], [0.5]])],
         lambda x, lo, hi: x.clamp(lo, hi), const=(1, 2)),
    case("clamp-tensor-bounds-grad", [(3, 4), floats([-1.0, -0.5, 0.0, -0.2]),
                                      floats([[0.3], [0.8], [1.5]])],
         lambda x, lo, hi: x.clamp(lo, hi)),
    case("clamp-tensor-min-grad", [(3, 4), (4,)], lambda x, lo: x.clamp(min=lo)),
    case("clamp-tensor-max-grad-const-x", [(3, 4), (3, 1)], lambda x, hi: x.clamp(max=hi),
         const=(0,)),
    case("sqrt-at-0", [floats([0.0, 1.0, 4.0])], lambda x: x.sqrt(), gradcheck=False, marks=INF),
    case("log-at-0-and-negative", [floats([0.0, -1.0, 2.0])], lambda x: x.log(), gradcheck=False,
         marks=INF),
    case("sigmoid-extremes", [floats([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])],
         lambda x: x.sigmoid()),
    case("tanh-extremes", [floats([-1000.0, -20.0, 0.0, 20.0, 1000.0])], lambda x: x.tanh()),
    case("exp-of-minus-inf", [floats([-np.inf, 0.0, 1.0])], lambda x: x.exp(), gradcheck=False),
]  # fmt: skip

# -- elementwise binary (broadcasting) and Python scalars on either side ----------------------
BINARY = {
    "add": (lambda a, b: a + b, {}),
    "add_fn_alpha": (lambda a, b: lib(a).add(a, b, alpha=2.0), {}),
    "sub": (lambda a, b: a - b, {}),
    "sub_fn_alpha": (lambda a, b: lib(a).sub(a, b, alpha=0.5), {}),
    "mul": (lambda a, b: a * b, {}),
    "mul_fn": (lambda a, b: lib(a).mul(a, b), {}),
    "div": (lambda a, b: a / b, {"positive": (1,)}),
    "div_fn": (lambda a, b: lib(a).div(a, b), {"positive": (1,)}),
    "pow": (lambda a, b: a**b, {"positive": (0,)}),
    "pow_fn": (lambda a, b: lib(a).pow(a, b), {"positive": (0,)}),
    "maximum": (lambda a, b: lib(a).maximum(a, b), {}),
    "minimum": (lambda a, b: lib(a).minimum(a, b), {}),
    "max_binary": (lambda a, b: lib(a).max(a, b), {}),
    "min_binary": (lambda a, b: lib(a).min(a, b), {}),
}
BINARY_CASES = [
    case(f"{op}-{pair_name(a, b)}", [a, b], fn, float32=(a, b) == ((3, 1), (1, 4)), **options)
    for op, (fn, options) in BINARY.items()
    for a, b in PAIRS
]
BINARY_CASES += [
    # one side constant: only the other gets a gradient (Mul, Div, Pow skip the unneeded one)
    case("mul-const-b", [(3, 4), (4,)], lambda a, b: a * b, const=(1,)),
    case("mul-const-a", [(3, 4), (4,)], lambda a, b: a * b, const=(0,)),
    case("div-const-b", [(3, 4), (4,)], lambda a, b: a / b, const=(1,), positive=(1,)),
    case("div-const-a", [(3, 4), (4,)], lambda a, b: a / b, const=(0,), positive=(1,)),
    case("pow-const-exponent", [(3, 4), (4,)], lambda a, b: a**b, const=(1,), positive=(0,)),
    case("pow-const-base", [(3, 4), (4,)], lambda a, b: a**b, const=(0,), positive=(0,)),
    case("same-tensor-twice", [(3, 4)], lambda a: a * a + a / (a.abs() + 1)),
    # maximum/minimum at ties: torch splits the gradient half/half (and so does the central
    # difference: (f(a + e) - f(a - e)) / 2e = 1/2 at a tie), no second derivative there
    case("maximum-ties", [floats([1.0, 2, 3, 4, -1]), floats([1.0, 0, 3, 5, -1])],
         lambda a, b: lib(a).maximum(a, b), gradgradcheck=False),
    case("minimum-ties", [floats([1.0, 2, 3, 4, -1]), floats([1.0, 0, 3, 5, -1])],
         lambda a, b: lib(a).minimum(a, b), gradgradcheck=False),
    case("maximum-ties-broadcast", [floats([[0.0], [1.0]]), floats([[0.0, 1.0, 2.0]])],
         lambda a, b: lib(a).maximum(a, b), gradgradcheck=False),
    case("maximum-self", [(3, 4)], lambda a: lib(a).maximum(a, a), gradgradcheck=False),
    case("pow-base-0-tensor-exponent", [floats([0.0, 0.0, 1.0, 2.0]), floats([2.0, 3.0, 0.5, 1.5])],
         lambda a, b: a**b, gradcheck=False, marks=INF),
    case("pow-base-0-exponent-0", [floats([0.0, 0.0, 2.0]), floats([0.0, 1.0, 0.0])],
         lambda a, b: a**b, gradcheck=False, const=(1,), marks=INF),
]  # fmt: skip


def scalar_pow(p: float):
    return lambda x: x**p


SCALAR_OPERANDS = {
    "x+2": (lambda x: x + 2, {}),
    "2+x": (lambda x: 2 + x, {}),
    "x+0.5": (lambda x: x + 0.5, {}),
    "x-2": (lambda x: x - 2, {}),
    "2-x": (lambda x: 2 - x, {}),
    "x*3": (lambda x: x * 3, {}),
    "3*x": (lambda x: 3 * x, {}),
    "x*-0.5": (lambda x: x * -0.5, {}),
    "x/4": (lambda x: x / 4, {}),
    "2/x": (lambda x: 2 / x, {"positive": True}),
    "1.5/x": (lambda x: 1.5 / x, {"positive": True}),
    "x**2": (scalar_pow(2), {}),
    "x**3": (scalar_pow(3), {}),
    "x**2.5": (scalar_pow(2.5), {"positive": True}),
    "x**0.5": (scalar_pow(0.5), {"positive": True}),
    "x**-1": (scalar_pow(-1), {"positive": True}),
    "x**-1.5": (scalar_pow(-1.5), {"positive": True}),
    "x**1": (scalar_pow(1), {}),
    "x**0": (scalar_pow(0), {}),
    "2**x": (lambda x: 2**x, {}),
    "0.5**x": (lambda x: 0.5**x, {}),
    "2.5**x": (lambda x: 2.5**x, {}),
    "pow_method": (lambda x: x.pow(3), {}),
    "max(x,0.5)": (lambda x: cr.maximum(x, 0.5), {"torch_fn": lambda x: x.clamp(min=0.5)}),
    "min(0.5,x)": (lambda x: cr.minimum(0.5, x), {"torch_fn": lambda x: x.clamp(max=0.5)}),
}
SCALAR_CASES = [
    case(f"{op}-{name(shape)}", [shape], fn, float32=shape == (3, 4), **options)
    for op, (fn, options) in SCALAR_OPERANDS.items()
    for shape in [(), (3, 4)]
]
SCALAR_CASES += [
    # integer pow edges torch defines: x**0 has derivative 0 even at x = 0, x**1 has 1, x**2 has 0
    case("x**0-at-0", [floats([0.0, 1.0, -2.0])], scalar_pow(0)),
    case("x**1-at-0", [floats([0.0, 1.0, -2.0])], scalar_pow(1)),
    case("x**2-at-0", [floats([0.0, 1.0, -2.0])], scalar_pow(2)),
    case("x**3-at-0", [floats([0.0, 1.0, -2.0])], scalar_pow(3)),
    case("x**0.5-at-0", [floats([0.0, 1.0, 4.0])], scalar_pow(0.5), gradcheck=False, marks=INF),
    case("int-true-division", [ints(1, 2, 3), ints(2, 2, 4)], lambda a, b: a / b, grad=False,
         gradcheck=False, gradgradcheck=False),
    case("int-div-by-scalar", [ints(1, 2, 3)], lambda a: a / 2, grad=False, gradcheck=False,
         gradgradcheck=False),
]  # fmt: skip

# -- comparisons and logic: forward only (never differentiable) -------------------------------
NO_GRAD = {"grad": False, "gradcheck": False, "gradgradcheck": False}
COMPARE = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "eq_method": lambda a, b: a.eq(b),
    "gt_method": lambda a, b: a.gt(b),
}
TIED = [floats([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), floats([2.0, 2.0, 7.0])]
COMPARE_CASES = [case(f"{op}-ties-broadcast", TIED, fn, **NO_GRAD) for op, fn in COMPARE.items()]
COMPARE_CASES += [
    case("gt-scalar", [(3, 4)], lambda a: a > 0.5, **NO_GRAD),
    case("and", [mask([1, 0, 1]), mask([1, 1, 0])], lambda a, b: a & b, **NO_GRAD),
    case("or", [mask([1, 0, 0]), mask([1, 1, 0])], lambda a, b: a | b, **NO_GRAD),
    case("xor", [mask([1, 0, 0]), mask([1, 1, 0])], lambda a, b: a ^ b, **NO_GRAD),
    case("invert", [mask([1, 0, 1])], lambda a: ~a, **NO_GRAD),
    case("logical_not", [mask([1, 0, 1])], lambda a: a.logical_not(), **NO_GRAD),
    case("isnan", [floats([np.nan, 1.0, np.inf])], lambda a: a.isnan(), **NO_GRAD),
    case("isfinite", [floats([np.nan, 1.0, np.inf])], lambda a: a.isfinite(), **NO_GRAD),
    case("argmax", [(3, 4)], lambda x: x.argmax(), **NO_GRAD),
    case("argmax-dim", [(3, 4)], lambda x: x.argmax(1), **NO_GRAD),
    case("argmax-dim-keepdim", [(3, 4)], lambda x: x.argmax(0, keepdim=True), **NO_GRAD),
    case("argmin-dim", [(2, 3, 4)], lambda x: x.argmin(-1), **NO_GRAD),
    case("argmin", [(2, 3, 4)], lambda x: lib(x).argmin(x), **NO_GRAD),
]


# -- where ------------------------------------------------------------------------------------
def cond(*shape: int) -> np.ndarray:
    return np.random.default_rng(7).random(shape) > 0.5


WHERE_CASES = [
    case("where-same-shape", [cond(3, 4), (3, 4), (3, 4)], lambda c, a, b: lib(a).where(c, a, b)),
    case("where-broadcast", [cond(3, 1), (1, 4), (3, 4)], lambda c, a, b: lib(a).where(c, a, b)),
    case("where-cond-broadcast", [cond(4), (3, 4), (3, 1)], lambda c, a, b: lib(a).where(c, a, b)),
    case("where-scalar-operand", [cond(3, 4), (3, 4)], lambda c, a: lib(a).where(c, a, 0.0)),
    case("where-scalar-first", [cond(3, 4), (3, 4)], lambda c, b: lib(b).where(c, 1.5, b)),
    case("where-0d-other", [cond(2, 3), (2, 3), ()], lambda c, a, b: lib(a).where(c, a, b)),
    case("where-const-b", [cond(3, 4), (3, 4), (3, 4)], lambda c, a, b: lib(a).where(c, a, b),
         const=(2,)),
    case("where-from-comparison", [(3, 4)], lambda x: lib(x).where(x > 0, x, x * 0.1)),
]  # fmt: skip


# -- reductions -------------------------------------------------------------------------------
def reduce(op: str, dim: object, keepdim: bool):
    return lambda x: getattr(x, op)(dim=dim, keepdim=keepdim)


def var(op: str, dim: object, correction: int, keepdim: bool):
    return lambda x: getattr(x, op)(dim=dim, correction=correction, keepdim=keepdim)


REDUCTION_CASES = [
    case(f"{op}-{dim_name(dim)}-keepdim={keepdim}", [(2, 3, 4)], reduce(op, dim, keepdim))
    for op in ["sum", "mean", "amax", "amin", "logsumexp"]
    for dim in DIMS
    for keepdim in [False, True]
    if not (op == "logsumexp" and dim is None)  # torch's logsumexp requires dim
]
REDUCTION_CASES += [
    case(f"{op}-{dim_name(dim)}-correction={c}-keepdim={keepdim}", [(2, 3, 4)],
         var(op, dim, c, keepdim))
    for op in ["var", "std"]
    for dim in [None, 0, -1, (0, 2)]
    for c in [0, 1]
    for keepdim in [False, True]
]  # fmt: skip
REDUCTION_CASES += [
    case(f"{op}-dim={dim}-keepdim={keepdim}", [(2, 3, 4)], reduce(op, dim, keepdim))
    for op in ["max", "min"]
    for dim in [0, 1, 2, -1]
    for keepdim in [False, True]
]
REDUCTION_CASES += [
    # the default (all elements), 0-d tensors, vectors, size-1 and empty dims
    case("sum-default", [(3, 4)], lambda x: x.sum(), float32=True),
    case("sum-fn-dim", [(3, 4)], lambda x: lib(x).sum(x, 1)),
    case("sum-positional-keepdim", [(3, 4)], lambda x: x.sum(0, True)),
    case("mean-default", [(3, 4)], lambda x: x.mean(), float32=True),
    case("mean-fn", [(3, 4)], lambda x: lib(x).mean(x, dim=-1)),
    case("amax-default", [(3, 4)], lambda x: x.amax()),
    case("amin-fn", [(3, 4)], lambda x: lib(x).amin(x, 0)),
    case("max-all", [(3, 4)], lambda x: x.max(), float32=True),
    case("min-all", [(3, 4)], lambda x: x.min()),
    case("max-fn-dim", [(3, 4)], lambda x: lib(x).max(x, 1)),
    case("min-fn-dim", [(3, 4)], lambda x: lib(x).min(x, dim=0, keepdim=True)),
    case("max-values", [(3, 4)], lambda x: x.max(1).values),
    case("max-indices", [(3, 4)], lambda x: x.max(1).indices, **NO_GRAD),
    case("logsumexp-fn", [(3, 4)], lambda x: lib(x).logsumexp(x, 1), float32=True),
    case("logsumexp-positional-keepdim", [(3, 4)], lambda x: x.logsumexp(0, True)),
    case("var-default", [(3, 4)], lambda x: x.var(), float32=True),
    case("var-unbiased-false", [(3, 4)], lambda x: x.var(1, False)),
    case("var-unbiased-kw", [(3, 4)], lambda x: x.var(dim=0, unbiased=True, keepdim=True)),
    case("std-default", [(3, 4)], lambda x: x.std(), float32=True),
    case("std-unbiased-false", [(3, 4)], lambda x: x.std(0, False)),
    case("std-fn", [(3, 4)], lambda x: lib(x).std(x, dim=1)),
    case("var-fn", [(3, 4)], lambda x: lib(x).var(x, dim=1, correction=0)),
    case("norm", [(3, 4)], lambda x: x.norm()),
    case("norm-dim", [(3, 4)], lambda x: x.norm(dim=1, keepdim=True)),
    case("norm-p1", [(3, 4)], lambda x: x.norm(p=1)),
    case("norm-p3-dim", [(3, 4)], lambda x: x.norm(p=3, dim=0)),
    case("sum-size1-dim", [(3, 1, 4)], lambda x: x.sum(1)),
    case("amax-size1-dim", [(3, 1, 4)], lambda x: x.amax(1, keepdim=True)),
    case("logsumexp-size1-dim", [(3, 1, 4)], lambda x: x.logsumexp(1)),
    case("mean-size1-dim", [(3, 1, 4)], lambda x: x.mean((0, 1))),
    case("sum-empty", [(0, 3)], lambda x: x.sum(0)),
    case("sum-empty-all", [(0, 3)], lambda x: x.sum()),
    case("amax-empty-other-dim", [(0, 3)], lambda x: x.amax(1)),
]
for op in ["sum", "mean", "amax", "amin", "logsumexp", "max", "min"]:
    for dim, keepdim in [(0, False), (-1, True)]:
        REDUCTION_CASES.append(
            case(f"{op}-scalar-dim={dim}-keepdim={keepdim}", [()], reduce(op, dim, keepdim))
        )
    REDUCTION_CASES.append(case(f"{op}-vector", [(5,)], reduce(op, 0, False)))
REDUCTION_CASES += [
    case(f"{op}-scalar-all", [()], lambda x, op=op: getattr(x, op)())
    for op in ["sum", "mean", "amax", "amin", "max", "min"]
]

# Ties: amax/amin and max() spread the gradient evenly over the k tied elements (torch's rule);
# max(dim)/min(dim) give it to the returned index. The central difference at a tie of k >= 3 is
# 1/2, not 1/k, so gradcheck is off where ties are three or more.
TIES = floats([[1.0, 3.0, 3.0, 3.0], [0.0, 3.0, 2.0, 3.0], [-1.0, -1.0, -2.0, 5.0]])
TIE_OFF = {"gradcheck": False, "gradgradcheck": False}
TIE_CASES = [
    case("max-all-ties", [TIES], lambda x: x.max(), **TIE_OFF),
    case("min-all-ties", [TIES], lambda x: x.min(), **TIE_OFF),
    case("amax-all-ties", [TIES], lambda x: x.amax(), **TIE_OFF),
    case("amax-dim1-ties", [TIES], lambda x: x.amax(1), **TIE_OFF),
    case("amin-dim1-ties", [TIES], lambda x: x.amin(1), **TIE_OFF),
    case("amax-dim0-ties", [TIES], lambda x: x.amax(0, keepdim=True), **TIE_OFF),
    case("amax-tuple-ties", [TIES], lambda x: x.amax((0, 1)), **TIE_OFF),
    case("max-dim-ties", [TIES], lambda x: x.max(1), **TIE_OFF),
    case("min-dim-ties", [TIES], lambda x: x.min(1), **TIE_OFF),
    case("max-dim0-ties", [TIES], lambda x: x.max(0), **TIE_OFF),
    case("amax-pair-tie", [floats([2.0, 1.0, 2.0])], lambda x: x.amax(), gradgradcheck=False),
    case("max-constant", [np.full((2, 3), 4.0)], lambda x: x.max(), **TIE_OFF),
]


# -- shapes -----------------------------------------------------------------------------------
SHAPE_CASES = [
    case("reshape", [(3, 4)], lambda x: x.reshape(4, 3)),
    case("reshape-tuple", [(3, 4)], lambda x: x.reshape((2, 6))),
    case("reshape-minus1", [(2, 3, 4)], lambda x: x.reshape(-1, 4), float32=True),
    case("reshape-flat", [(2, 3, 4)], lambda x: x.reshape(-1)),
    case("reshape-middle-minus1", [(2, 3, 4)], lambda x: x.reshape(2, -1, 2)),
    case("reshape-scalar-to-1", [()], lambda x: x.reshape(1)),
    case("reshape-1-to-scalar", [(1,)], lambda x: x.reshape(())),
    case("reshape-same", [(3, 4)], lambda x: x.reshape(3, 4) * 2),
    case("reshape-fn", [(3, 4)], lambda x: lib(x).reshape(x, (6, 2))),
    case("view", [(3, 4)], lambda x: x.view(2, 2, 3)),
    case("view-as", [(3, 4), (6, 2)], lambda x, y: x.view_as(y), const=(1,)),
    case("reshape-as", [(3, 4), (12,)], lambda x, y: x.reshape_as(y), const=(1,)),
    case("flatten", [(2, 3, 4)], lambda x: x.flatten()),
    case("flatten-start", [(2, 3, 4)], lambda x: x.flatten(1)),
    case("flatten-range", [(2, 3, 4)], lambda x: x.flatten(0, 1)),
    case("flatten-negative", [(2, 3, 4)], lambda x: x.flatten(-2, -1)),
    case("flatten-scalar", [()], lambda x: x.flatten()),
    case("flatten-fn", [(2, 3, 4)], lambda x: lib(x).flatten(x, 1)),
    case("permute", [(2, 3, 4)], lambda x: x.permute(2, 0, 1), float32=True),
    case("permute-tuple", [(2, 3, 4)], lambda x: x.permute((1, 2, 0))),
    case("permute-negative", [(2, 3, 4)], lambda x: x.permute(-1, 0, 1)),
    case("permute-2d", [(3, 4)], lambda x: x.permute(1, 0)),
    case("permute-fn", [(2, 3, 4)], lambda x: lib(x).permute(x, (0, 2, 1))),
    case("transpose", [(2, 3, 4)], lambda x: x.transpose(0, 2)),
    case("transpose-negative", [(2, 3, 4)], lambda x: x.transpose(-1, -2)),
    case("transpose-same-dim", [(2, 3)], lambda x: x.transpose(1, 1) * 1),
    case("transpose-fn", [(2, 3)], lambda x: lib(x).transpose(x, 0, 1)),
    case("T", [(3, 4)], lambda x: x.T),
    case("mT", [(2, 3, 4)], lambda x: x.mT),
    case("t", [(3, 4)], lambda x: x.t()),
    case("t-1d", [(5,)], lambda x: x.t() * 1),
    case("squeeze", [(3, 1, 4, 1)], lambda x: x.squeeze()),
    case("squeeze-dim", [(3, 1, 4)], lambda x: x.squeeze(1)),
    case("squeeze-negative", [(3, 1, 4)], lambda x: x.squeeze(-2)),
    case("squeeze-not-1", [(3, 1, 4)], lambda x: x.squeeze(0) * 1),
    case("squeeze-tuple", [(1, 3, 1, 4)], lambda x: x.squeeze((0, 2))),
    case("squeeze-fn", [(1, 3)], lambda x: lib(x).squeeze(x, 0)),
    case("unsqueeze-0", [(3, 4)], lambda x: x.unsqueeze(0)),
    case("unsqueeze-1", [(3, 4)], lambda x: x.unsqueeze(1)),
    case("unsqueeze-last", [(3, 4)], lambda x: x.unsqueeze(-1)),
    case("unsqueeze-scalar", [()], lambda x: x.unsqueeze(0)),
    case("unsqueeze-fn", [(3,)], lambda x: lib(x).unsqueeze(x, -2)),
    case("expand", [(3, 1)], lambda x: x.expand(3, 4), float32=True),
    case("expand-new-dims", [(4,)], lambda x: x.expand(2, 3, 4)),
    case("expand-minus1", [(3, 1)], lambda x: x.expand(2, -1, 4)),
    case("expand-tuple", [(1, 4)], lambda x: x.expand((3, 4))),
    case("expand-scalar", [()], lambda x: x.expand(2, 3)),
    case("expand-same", [(3, 4)], lambda x: x.expand(3, 4) * 1),
    case("expand-as", [(1, 4), (3, 4)], lambda x, y: x.expand_as(y), const=(1,)),
    case("expand-then-reduce", [(3, 1)], lambda x: x.expand(3, 4).sum(0)),
    case("expand-fn", [(3, 1)], lambda x: lib(x).broadcast_to(x, (3, 2))
         if lib(x) is torch else cr.expand(x, 3, 2)),
    case("split", [(5, 3)], lambda x: x.split(2)),
    case("split-sizes-dim1", [(2, 5)], lambda x: x.split([1, 4], dim=1)),
    case("split-fn", [(6,)], lambda x: lib(x).split(x, 3)),
    case("chunk", [(5, 3)], lambda x: x.chunk(3)),
    case("chunk-dim", [(2, 6)], lambda x: x.chunk(2, dim=-1)),
    case("chunk-fn", [(4, 2)], lambda x: lib(x).chunk(x, 2)),
    case("contiguous", [(3, 4)], lambda x: x.T.contiguous()),
    case("cast-float32", [(3, 4)], lambda x: x.float(), gradcheck=False, gradgradcheck=False),
    case("cast-to-float32", [(3, 4)], lambda x: x.to(lib(x).float32) * 2, gradcheck=False,
         gradgradcheck=False),
    case("cast-float32-then-back", [(3, 4)], lambda x: x.float().double().exp(),
         gradcheck=False, gradgradcheck=False),
    case("cast-float32-to-64", [np.linspace(-1, 1, 6, dtype=np.float32)],
         lambda x: x.double() * 3, gradcheck=False, gradgradcheck=False),
    # a float64 -> float64 Cast goes through the primitive (x.to(float64) alone would be a no-op)
    case("cast-primitive-float64", [(3, 4)], lambda x: Cast.apply(x, np.float64) * x,
         lambda x: x.to(torch.float64, copy=True) * x),
    case("cast-int-to-float", [ints(1, 2, 3)], lambda x: x.float(), **NO_GRAD),
]  # fmt: skip

CAT_CASES = [
    case("cat-dim0", [(2, 3), (4, 3)], lambda a, b: lib(a).cat([a, b], 0), float32=True),
    case("cat-dim1", [(2, 3), (2, 1)], lambda a, b: lib(a).cat([a, b], dim=1)),
    case("cat-dim-negative", [(2, 3, 1), (2, 3, 2)], lambda a, b: lib(a).cat([a, b], -1)),
    case("cat-three", [(1, 3), (2, 3), (1, 3)], lambda a, b, c: lib(a).cat((a, b, c))),
    case("cat-one", [(2, 3)], lambda a: lib(a).cat([a]) * 1),
    case("cat-same-twice", [(2, 3)], lambda a: lib(a).cat([a, a], 1)),
    case("cat-1d", [(3,), (2,)], lambda a, b: lib(a).cat([a, b])),
    case("cat-const", [(2, 3), (4, 3)], lambda a, b: lib(a).cat([a, b]), const=(0,)),
    case("cat-empty-part", [(0, 3), (2, 3)], lambda a, b: lib(a).cat([a, b])),
    case("stack-dim0", [(2, 3), (2, 3)], lambda a, b: lib(a).stack([a, b])),
    case("stack-dim1", [(2, 3), (2, 3)], lambda a, b: lib(a).stack([a, b], 1)),
    case("stack-dim2", [(2, 3), (2, 3), (2, 3)], lambda a, b, c: lib(a).stack([a, b, c], dim=2)),
    case("stack-negative", [(2, 3), (2, 3)], lambda a, b: lib(a).stack([a, b], -1)),
    case("stack-scalars", [(), ()], lambda a, b: lib(a).stack([a, b])),
    case("stack-const", [(3,), (3,)], lambda a, b: lib(a).stack([a, b]), const=(1,)),
]


# -- indexing ---------------------------------------------------------------------------------
X = (4, 5)
X3 = (3, 4, 5)
INDEX_CASES = [
    case("index-int", [X], lambda x: x[1], float32=True),
    case("index-negative-int", [X], lambda x: x[-1]),
    case("index-two-ints", [X], lambda x: x[1, 2]),
    case("index-slice", [X], lambda x: x[1:3]),
    case("index-slice-step", [X], lambda x: x[::2]),
    case("index-slice-both", [X], lambda x: x[1:, :3]),
    case("index-empty-slice", [X], lambda x: x[2:2]),
    # torch has no negative steps: flip is its spelling of x[::-1]
    case("index-negative-step", [X], lambda x: x[::-1], lambda x: x.flip(0)),
    case("index-negative-step-2", [X], lambda x: x[1:, ::-2], lambda x: x[1:].flip(1)[:, ::2]),
    case("index-none", [X], lambda x: x[None]),
    case("index-none-middle", [X], lambda x: x[:, None, 2]),
    case("index-ellipsis", [X3], lambda x: x[..., 1]),
    case("index-ellipsis-slice", [X3], lambda x: x[1, ..., 1:3]),
    case("index-scalar-ellipsis", [()], lambda x: x[...] * 1),
    case("index-scalar-none", [()], lambda x: x[None]),
    case("index-int-array", [X, ints(0, 2, 0, 3, 2)], lambda x, i: x[i]),
    case("index-int-array-cols", [X, ints(4, 4, 0)], lambda x, i: x[:, i]),
    case("index-int-array-negative", [X, ints(-1, 0, -1)], lambda x, i: x[i]),
    case("index-two-arrays", [X, ints(0, 0, 3), ints(1, 1, 4)], lambda x, i, j: x[i, j]),
    case("index-array-2d", [X, np.array([[0, 1], [1, 3]])], lambda x, i: x[i]),
    case("index-array-and-slice", [X3, ints(2, 0, 2)], lambda x, i: x[i, 1:3]),
    case("index-array-ellipsis", [X3, ints(1, 1)], lambda x, i: x[..., i]),
    case("index-list", [X], lambda x: x[[0, 0, 3]]),
    case("index-list-cols", [X], lambda x: x[:, [1, 4, 1]]),
    case("index-mask", [X, cond(4, 5)], lambda x, m: x[m]),
    case("index-row-mask", [X, cond(4)], lambda x, m: x[m]),
    case("index-mask-3d", [X3, cond(3, 4)], lambda x, m: x[m]),
    case("index-comparison-mask", [X], lambda x: x[x > 0]),
    case("index-iterate", [(3, 2)], lambda x: lib(x).stack(list(x)) * 2),
]


def set_slice(x, v):
    y = x * 1
    y[1:3] = v
    return y


def set_mask(x, m):
    y = x * 1
    y[m] = 0.0
    return y


def set_int_array(x, i, v):
    y = x + 0
    y[i] = v
    return y


def torch_index_add(key, shape):
    def fn(g):
        out = torch.zeros(shape, dtype=g.dtype)
        if isinstance(key, tuple) and all(isinstance(k, np.ndarray) for k in key):
            return out.index_put(tuple(torch.from_numpy(k) for k in key), g, accumulate=True)
        out = out + 0 * g.sum()  # out must require grad before the slice assignment records
        out[key] = g
        return out

    return fn


INDEX_PUT_CASES = [
    case("index-put-fn", [(4, 3), (3,)], lambda x, v: ops.index_put(x, (ints(2, 0),), v),
         lambda x, v: x.index_put((torch.tensor([2, 0]),), v)),
    case("index-put-mask", [(4, 3), ()], lambda x, v: ops.index_put(x, cond(4, 3), v),
         lambda x, v: x.index_put((torch.from_numpy(cond(4, 3)),), v)),
    case("index-put-const-value", [(4, 3), (2, 3)],
         lambda x, v: ops.index_put(x, (ints(1, 3),), v),
         lambda x, v: x.index_put((torch.tensor([1, 3]),), v), const=(1,)),
    case("setitem-slice", [(4, 3), (3,)], set_slice),
    case("setitem-mask", [(4, 3), cond(4, 3)], set_mask),
    case("setitem-int-array", [(4, 3), ints(3, 1), (2, 1)], set_int_array),
    case("index-add-repeats", [(5, 3)], lambda g: ops.index_add(g, (ints(0, 2, 0, 3, 0),), (4, 3)),
         torch_index_add((ints(0, 2, 0, 3, 0),), (4, 3))),
    case("index-add-pairs", [(3,)],
         lambda g: ops.index_add(g, (ints(0, 1, 0), ints(2, 2, 2)), (2, 3)),
         torch_index_add((ints(0, 1, 0), ints(2, 2, 2)), (2, 3))),
    case("index-add-slice", [(2, 3)], lambda g: ops.index_add(g, (slice(1, 3),), (4, 3)),
         torch_index_add((slice(1, 3),), (4, 3))),
]  # fmt: skip

GATHER_INDEX = np.array([[0, 2, 2, 1], [1, 0, 2, 2]])
GATHER_CASES = [
    case("gather-dim0", [(3, 4), GATHER_INDEX], lambda x, i: x.gather(0, i), float32=True),
    case("gather-dim1", [(3, 4), np.array([[3, 3], [0, 1], [2, 0]])], lambda x, i: x.gather(1, i)),
    case("gather-dim-negative", [(3, 4), np.array([[1], [0], [3]])], lambda x, i: x.gather(-1, i)),
    # torch lets index be smaller than the input in the dims it does not gather along
    case("gather-smaller-index", [(3, 4), np.array([[0, 1, 1], [2, 0, 3]])],
         lambda x, i: x.gather(1, i)),
    case("gather-one-row-index", [(3, 4), np.array([[3, 0, 1, 1]])], lambda x, i: x.gather(1, i)),
    case("gather-3d", [(2, 3, 4), np.random.default_rng(1).integers(0, 3, (2, 5, 4))],
         lambda x, i: x.gather(1, i)),
    case("gather-fn", [(3, 4), GATHER_INDEX], lambda x, i: lib(x).gather(x, 0, i)),
    case("scatter-add-fn", [(2, 4)], lambda g: ops.scatter_add(g, 0, GATHER_INDEX, (3, 4)),
         lambda g: torch.zeros(3, 4, dtype=g.dtype).scatter_add(0, torch.tensor(GATHER_INDEX), g)),
    case("scatter-add-dim1", [(3, 2)],
         lambda g: ops.scatter_add(g, 1, np.array([[3, 3], [0, 1], [2, 0]]), (3, 4)),
         lambda g: torch.zeros(3, 4, dtype=g.dtype).scatter_add(
             1, torch.tensor([[3, 3], [0, 1], [2, 0]]), g)),
]  # fmt: skip


# -- products ---------------------------------------------------------------------------------
MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((3, 4), (4,)),
    ((3, 4), (4, 5)),
    ((1, 4), (4, 1)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((1, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
]
MATMUL_CASES = [
    case(
        f"matmul-{pair_name(a, b)}", [a, b], lambda a, b: a @ b, float32=(a, b) == MATMUL_SHAPES[3]
    )
    for a, b in MATMUL_SHAPES
]
MATMUL_CASES += [
    case("matmul-fn", [(3, 4), (4, 2)], lambda a, b: lib(a).matmul(a, b)),
    case("matmul-method", [(2, 3, 4), (4, 2)], lambda a, b: a.matmul(b)),
    case("matmul-const-b", [(3, 4), (4, 2)], lambda a, b: a @ b, const=(1,)),
    case("matmul-const-a", [(3, 4), (4, 2)], lambda a, b: a @ b, const=(0,)),
    case("matmul-self", [(3, 3)], lambda a: a @ a),
    case("mm", [(3, 4), (4, 2)], lambda a, b: a.mm(b)),
    case("dot", [(4,), (4,)], lambda a, b: a.dot(b)),
]
LINEAR_CASES = [
    case("linear", [(3, 4), (5, 4), (5,)], lambda x, w, b: F.linear(x, w, b),
         lambda x, w, b: TF.linear(x, w, b), float32=True),
    case("linear-cr-fn", [(3, 4), (5, 4), (5,)], lambda x, w, b: cr.linear(x, w, b),
         lambda x, w, b: TF.linear(x, w, b)),
    case("linear-1d-input", [(4,), (5, 4), (5,)], lambda x, w, b: F.linear(x, w, b),
         lambda x, w, b: TF.linear(x, w, b)),
    case("linear-batched", [(2, 3, 4), (5, 4), (5,)], lambda x, w, b: F.linear(x, w, b),
         lambda x, w, b: TF.linear(x, w, b)),
    case("linear-no-bias", [(3, 4), (5, 4)], lambda x, w: F.linear(x, w),
         lambda x, w: TF.linear(x, w)),
    case("linear-const-weight", [(3, 4), (5, 4), (5,)], lambda x, w, b: F.linear(x, w, b),
         lambda x, w, b: TF.linear(x, w, b), const=(1,)),
    case("linear-const-input", [(3, 4), (5, 4), (5,)], lambda x, w, b: F.linear(x, w, b),
         lambda x, w, b: TF.linear(x, w, b), const=(0,)),
]  # fmt: skip


# -- softmax family ---------------------------------------------------------------------------
def softmax(op: str, dim: int, beta: float):
    def fn(x):
        if isinstance(x, torch.Tensor):  # torch has no beta: softmax(beta x) is the definition
            return getattr(torch, op)(beta * x, dim)
        return getattr(x, op)(dim, beta=beta)

    return fn


SOFTMAX_CASES = [
    case(f"{op}-{name(shape)}-dim={dim}-beta={beta}", [shape], softmax(op, dim, beta),
         float32=shape == (3, 4) and beta == 1.0)
    for op in ["softmax", "log_softmax"]
    for shape, dims in [((5,), [0, -1]), ((3, 4), [0, 1, -1]), ((2, 3, 4), [0, 1, 2, -2])]
    for dim in dims
    for beta in [1.0, 2.5, 0.5, -1.0]
    if not (shape == (2, 3, 4) and beta not in (1.0, 2.5))
]  # fmt: skip
SOFTMAX_CASES += [
    case("softmax-scalar", [()], softmax("softmax", 0, 1.0)),
    case("log_softmax-scalar", [()], softmax("log_softmax", -1, 1.0)),
    case("softmax-default-dim", [(3, 4)], lambda x: cr.softmax(x),
         lambda x: torch.softmax(x, -1)),
    case("softmax-fn-beta", [(3, 4)], lambda x: cr.softmax(x, 0, beta=3.0),
         lambda x: torch.softmax(3.0 * x, 0)),
    case("log_softmax-fn-beta", [(3, 4)], lambda x: cr.log_softmax(x, dim=1, beta=0.25),
         lambda x: torch.log_softmax(0.25 * x, 1)),
    case("softmax-nn-functional", [(3, 4)], lambda x: F.softmax(x, dim=0, beta=2.0),
         lambda x: TF.softmax(2.0 * x, dim=0)),
    case("log_softmax-nn-functional", [(3, 4)], lambda x: F.log_softmax(x, dim=-1),
         lambda x: TF.log_softmax(x, dim=-1)),
    case("softmax-size1-dim", [(3, 1)], softmax("softmax", 1, 1.0)),
    case("softmax-large-beta", [(3, 4)], softmax("softmax", 1, 50.0)),
    # a loss-like composition reuses the saved output under second derivatives
    case("softmax-then-log", [(3, 4)], lambda x: x.softmax(1).log()),
]  # fmt: skip


# -- fused losses (ops/loss.py primitives) ----------------------------------------------------
TARGET = np.array([1, 0, 3])
LOSS_CASES = [
    case(f"cross-entropy-{reduction}", [(3, 4), TARGET],
         lambda x, t, r=reduction: F.cross_entropy(x, t, reduction=r),
         lambda x, t, r=reduction: TF.cross_entropy(x, t, reduction=r))
    for reduction in ["mean", "sum", "none"]
]  # fmt: skip
LOSS_CASES += [
    case(f"bce-with-logits-{reduction}", [(3, 4), (3, 4)],
         lambda x, y, r=reduction: F.binary_cross_entropy_with_logits(x, y, reduction=r),
         lambda x, y, r=reduction: TF.binary_cross_entropy_with_logits(x, y, reduction=r),
         low=0.0, high=1.0)
    for reduction in ["mean", "sum", "none"]
]  # fmt: skip
LOSS_CASES += [
    case(f"bce-{reduction}", [(3, 4), (3, 4)],
         lambda p, y, r=reduction: F.binary_cross_entropy(p, y, reduction=r),
         lambda p, y, r=reduction: TF.binary_cross_entropy(p, y, reduction=r),
         low=0.05, high=0.95)
    for reduction in ["mean", "sum", "none"]
]  # fmt: skip
LOSS_CASES += [
    case("bce-weight", [(2, 3), (2, 3), (3,)],
         lambda p, y, w: F.binary_cross_entropy(p, y, weight=w),
         lambda p, y, w: TF.binary_cross_entropy(p, y, weight=w), low=0.05, high=0.95, const=(2,)),
    # p = 0 and 1: the logs are clamped at -100 and dL/dp stays finite, as torch. The target is
    # constant here: dL/dy at p in {0, 1} is the derivative of the clamped loss (+-100, see the
    # rule's docstring) where torch returns +-inf from the unclamped logs.
    case("bce-at-0-and-1", [floats([0.0, 1e-3, 0.5, 1.0]), floats([0.5, 1.0, 0.0, 0.2])],
         lambda p, y: F.binary_cross_entropy(p, y, reduction="none"),
         lambda p, y: TF.binary_cross_entropy(p, y, reduction="none"), const=(1,),
         gradcheck=False),
    case("bce-with-logits-const-target", [(5,), (5,)],
         lambda x, y: F.binary_cross_entropy_with_logits(x, y),
         lambda x, y: TF.binary_cross_entropy_with_logits(x, y), const=(1,)),
    case("bce-with-logits-extreme",
         [floats([-1000.0, -50.0, 0.0, 50.0, 1000.0]), floats([0, 1, 1, 0, 1.0])],
         lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"),
         lambda x, y: TF.binary_cross_entropy_with_logits(x, y, reduction="none")),
    case("cross-entropy-extreme",
         [floats([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]]), np.array([2, 1])],
         lambda x, t: F.cross_entropy(x, t, reduction="none"),
         lambda x, t: TF.cross_entropy(x, t, reduction="none")),
]  # fmt: skip


# -- numerically hard inputs ------------------------------------------------------------------
STABILITY_CASES = [
    case("softmax-1000-0", [floats([1000.0, 0.0])], lambda x: x.softmax(0)),
    case("softmax-huge-rows", [floats([[1000.0, 1000.0], [-1000.0, 0.0]])], lambda x: x.softmax(1)),
    case("log_softmax-1000-0", [floats([1000.0, 0.0, -1000.0])], lambda x: x.log_softmax(0)),
    case("log_softmax-huge", [floats([[1e4, -1e4], [5e3, 5e3]])], lambda x: x.log_softmax(1)),
    case("logsumexp-1e4", [floats([1e4, 1e4, -1e4])], lambda x: x.logsumexp(0)),
    case("logsumexp-minus-1e4", [floats([[-1e4, -1e4 + 1.0]])], lambda x: x.logsumexp(1)),
    case("logsumexp-with-minus-inf", [floats([-np.inf, 0.0, 1.0])], lambda x: x.logsumexp(0),
         gradcheck=False),
    case("softmax-with-minus-inf", [floats([[-np.inf, 0.0, 1.0]])], lambda x: x.softmax(-1),
         gradcheck=False),
]  # fmt: skip


CASES: list[Case] = [
    *UNARY_CASES, *SPECIAL_CASES, *BINARY_CASES, *SCALAR_CASES, *COMPARE_CASES, *WHERE_CASES,
    *REDUCTION_CASES, *TIE_CASES, *SHAPE_CASES, *CAT_CASES, *INDEX_CASES, *INDEX_PUT_CASES,
    *GATHER_CASES, *MATMUL_CASES, *LINEAR_CASES, *SOFTMAX_CASES, *LOSS_CASES, *STABILITY_CASES,
]  # fmt: skip
BY_ID = {c.id: c for c in CASES}


def test_case_ids_are_unique():
    assert len(BY_ID) == len(CASES), [c.id for c in CASES if list(BY_ID).count(c.id) > 1]


@pytest.mark.parametrize("c", [c.param() for c in CASES])
def test_op(c: Case) -> None:
    c.run(gradgradcheck=True)


# -- coverage: every primitive and every public op has at least one case ----------------------
def _case_modules() -> list[Any]:
    """This module and every other `tests/test_ops_*.py` (one per area of the rule table: math,
    scans, convolutions, ...), each holding its own `CASES` and `PUBLIC_CASES`."""
    here = pathlib.Path(__file__).parent
    names = sorted(p.stem for p in here.glob("test_ops_*.py") if p.stem != "test_ops_oracle")
    return [sys.modules[__name__], *(importlib.import_module(n) for n in names)]


def _all_cases() -> list[Case]:
    return [c for m in _case_modules() for c in getattr(m, "CASES", [])]


def test_every_primitive_is_recorded_by_some_case():
    """Coverage by observation: running all cases (of every case module) records every
    registered primitive, so a new primitive needs only its line in a table, never a second list
    to keep."""
    seen: set[str] = set()
    for c in _all_cases():
        seen |= c.primitives()
    missing = {p.__name__ for p in ops.PRIMITIVES} - seen
    assert not missing, f"no case records {sorted(missing)}"


# Public functions of chainrule.ops -> a case calling them (through cr.*, a Tensor method, or
# the function itself). Helpers that are not ops are listed as such.
PUBLIC_CASES = {
    "abs": "abs-3x4", "add": "add_fn_alpha-3x1&1x4", "amax": "amax-2-keepdim=True",
    "amin": "amin-fn", "argmax": "argmax-dim", "argmin": "argmin", "cat": "cat-dim0",
    "chunk": "chunk-fn", "clamp": "clamp_fn-3x4", "cos": "cos-3x4", "div": "div_fn-3x4&1x4",
    "exp": "exp_fn-3x4", "expand": "expand-fn", "flatten": "flatten-fn", "gather": "gather-fn",
    "index": "index-slice", "index_add": "index-add-pairs", "index_put": "index-put-fn",
    "linear": "linear-cr-fn", "log": "log_fn-3x4", "log_softmax": "log_softmax-fn-beta",
    "logsumexp": "logsumexp-fn", "matmul": "matmul-fn", "max": "max-fn-dim",
    "maximum": "maximum-3x4&3x4", "mean": "mean-fn", "min": "min-fn-dim",
    "minimum": "minimum-3x4&3x4", "mul": "mul_fn-3x4&3x4", "neg": "neg_method-3x4",
    "norm": "norm-dim", "log1p": "log1p-3x4",
    "permute": "permute-fn", "pow": "pow_fn-3x4&3x4", "relu": "relu_fn-3x4",
    "reshape": "reshape-fn", "scatter_add": "scatter-add-fn", "sigmoid": "sigmoid_fn-3x4",
    "sin": "sin-3x4", "softmax": "softmax-fn-beta", "split": "split-fn", "sqrt": "sqrt-3x4",
    "squeeze": "squeeze-fn", "stack": "stack-dim0", "std": "std-fn", "sub": "sub_fn_alpha-3x4&3x4",
    "sum": "sum-fn-dim", "tanh": "tanh_fn-3x4", "to": "cast-to-float32",
    "transpose": "transpose-fn", "unsqueeze": "unsqueeze-fn", "var": "var-fn", "view": "view",
    "where": "where-broadcast",
}  # fmt: skip
# conversion and promotion helpers, exercised by every case that passes a scalar or mixes dtypes
NOT_OPS = {"as_tensor", "promote"}


def test_every_public_op_has_a_case():
    public = {
        n for n, v in vars(ops).items()
        if inspect.isfunction(v) and v.__module__.startswith("chainrule.ops")
        and not n.startswith("_")
    }  # fmt: skip
    every: dict[str, str] = {}
    for m in _case_modules():
        every.update(getattr(m, "PUBLIC_CASES", {}))
    missing = public - set(every) - NOT_OPS
    assert not missing, f"public ops without a case: {sorted(missing)}"
    by_id = {c.id for c in _all_cases()}
    unknown = {n: i for n, i in every.items() if i not in by_id}
    assert not unknown, f"case ids that do not exist: {unknown}"


# -- explicit values at the conventions torch defines (the table above compares; these say it) --
def test_maximum_splits_ties_half_half():
    a = cr.tensor(floats([1.0, 2.0, 3.0]), requires_grad=True)
    b = cr.tensor(floats([1.0, 0.0, 4.0]), requires_grad=True)
    cr.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 0.0, 1.0])


def test_max_spreads_ties_evenly_and_max_dim_picks_one():
    x = cr.tensor(floats([[1.0, 3.0, 3.0], [3.0, 0.0, 2.0]]), requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 1 / 3, 1 / 3], [1 / 3, 0, 0]])
    x.grad = None
    values, indices = x.max(1)
    values.sum().backward()
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])


def test_sigmoid_saturates_with_zero_gradient():
    x = cr.tensor(floats([-1000.0, 1000.0]), requires_grad=True)
    y = x.sigmoid()
    y.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_and_log_softmax_of_huge_logits_are_finite(dtype):
    x = cr.tensor(np.array([1000.0, 0.0], dtype=dtype), requires_grad=True)
    p = x.softmax(0)
    np.testing.assert_array_equal(p.detach().numpy(), [1.0, 0.0])
    p[0].backward()
    assert np.isfinite(x.grad.numpy()).all()
    logp = cr.tensor(np.array([1000.0, 0.0], dtype=dtype)).log_softmax(0)
    np.testing.assert_allclose(logp.numpy(), [0.0, -1000.0])


def test_logsumexp_of_all_minus_inf_is_minus_inf():
    x = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    ours = cr.tensor(x).logsumexp(1).numpy()
    theirs = torch.from_numpy(x).logsumexp(1).numpy()
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, [-np.inf, 0.0])


def test_logsumexp_of_large_values_does_not_overflow():
    x = cr.tensor(floats([1e4, 1e4]), requires_grad=True)
    y = x.logsumexp(0)
    np.testing.assert_allclose(y.item(), 1e4 + math.log(2), rtol=1e-15)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5])


def test_check_op_catches_a_wrong_gradient():
    """The oracle must be able to fail: a deliberately wrong backward is caught."""

    class WrongSquare(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 g x

    with pytest.raises(AssertionError, match="gradient of input 0"):
        check_op([(3,)], WrongSquare.apply, lambda x: x * x, gradcheck=False)
    with pytest.raises(cr.autograd.GradcheckError):
        check_op([(3,)], WrongSquare.apply, lambda x: x * x, grad=False)


def test_check_op_catches_a_wrong_forward_shape():
    with pytest.raises(AssertionError, match="shape"):
        check_op([(3, 1)], lambda x: x.squeeze() if isinstance(x, cr.Tensor) else x, grad=False,
                 gradcheck=False)  # fmt: skip


def test_oracle_table_size():
    # guards against a refactor silently emptying a group of cases (a comprehension's filter)
    assert len(CASES) > 400
    groups = [UNARY_CASES, BINARY_CASES, REDUCTION_CASES, INDEX_CASES, MATMUL_CASES, SOFTMAX_CASES]
    assert all(len(g) >= 10 for g in groups)
