"""Reductions and scans against PyTorch and finite differences (one line per case, see
helpers.check_op): prod, cumsum, cumprod, cummax, cummin, logcumsumexp, std_mean, var_mean,
aminmax, nansum, nanmean, median, nanmedian, count_nonzero, diff, and the NumPy-style aliases
(axis=, keepdims=) and dtype rules of the older reductions.

Each lambda runs unchanged on torch and chainrule tensors: that is the promise being tested.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from helpers import Case, case, lib

import chainrule as cr
from chainrule import errors

NO_GRAD = {"grad": False, "gradcheck": False, "gradgradcheck": False}
# Where entries tie, the convention (which entry gets the gradient) is not what central
# differences see (they average the slopes of the tied entries), so only torch judges.
TIE_OFF = {"gradcheck": False, "gradgradcheck": False}
DIMS = [0, 1, 2, -1, -2, -3]


def method(op: str, *args: Any, **kwargs: Any) -> Any:
    return lambda x: getattr(x, op)(*args, **kwargs)


def function(op: str, *args: Any, **kwargs: Any) -> Any:
    """torch.op(x, ...) or cr.op(x, ...)."""
    return lambda x: getattr(lib(x), op)(x, *args, **kwargs)


def floats(values: object) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def ints(values: object, dtype: Any = np.int64) -> np.ndarray:
    return np.array(values, dtype=dtype)


def args_name(*args: Any, **kwargs: Any) -> str:
    parts = [str(a) for a in args] + [f"{k}={v}" for k, v in kwargs.items()]
    return ",".join(parts).replace(" ", "") or "all"


NAN = float("nan")
INF = float("inf")
# one zero in a row, two zeros in a row, a row without zeros, a zero first and last
ZEROS = floats([[1.5, 0.0, -2.0, 3.0], [0.0, 2.0, 0.0, -1.5], [1.2, -0.7, 2.0, 1.1]])
EDGE_ZEROS = floats([[0.0, 1.5, -2.0, 0.5], [1.5, -2.0, 0.5, 0.0]])
TIES = floats([[1.0, 3.0, 3.0, 2.0, 3.0], [0.0, -1.0, 0.0, 5.0, 5.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
WITH_NAN = floats([[1.0, NAN, 2.5, -1.0], [0.5, 1.5, -2.0, 3.0], [NAN, NAN, NAN, NAN]])
SOME_NAN = WITH_NAN[:2]  # no row of NaNs only (see test_nanmean_of_nans_only)

# -- prod ---------------------------------------------------------------------------------------
PROD_CASES = [
    case("prod-all", [(2, 3, 4)], method("prod"), float32=True),
    case("prod-fn", [(3, 4)], function("prod", 1), float32=True),
    *[case(f"prod-dim={d}-keepdim={k}", [(2, 3, 4)], method("prod", d, keepdim=k))
      for d in DIMS for k in [False, True]],
    case("prod-scalar", [()], method("prod")),
    case("prod-scalar-dim", [()], method("prod", 0, True)),
    case("prod-vector", [(5,)], method("prod", -1)),
    case("prod-size1-dim", [(3, 1, 4)], method("prod", 1)),
    case("prod-empty-dim", [(0, 3)], method("prod", 0)),
    case("prod-empty-all", [(0, 3)], method("prod")),
    case("prod-empty-other-dim", [(0, 3)], method("prod", 1)),
    case("prod-one-zero-all", [floats([[1.5, 0.0], [-2.0, 3.0]])], method("prod")),
    case("prod-two-zeros-all", [floats([[1.5, 0.0], [0.0, 3.0]])], method("prod")),
    case("prod-zeros-dim1", [ZEROS], method("prod", 1)),
    case("prod-zeros-dim0", [ZEROS], method("prod", 0, keepdim=True)),
    case("prod-zeros-edges", [EDGE_ZEROS], method("prod", -1)),
    case("prod-all-zeros", [np.zeros((2, 3))], method("prod", 1)),
    case("prod-dtype", [(3, 4)], lambda x: x.prod(1, dtype=lib(x).float32), gradcheck=False,
         gradgradcheck=False),
    case("prod-int32", [ints([[1, 2, 3], [4, 5, 6]], np.int32)], method("prod", 1), **NO_GRAD),
    case("prod-bool", [np.array([True, False, True])], method("prod"), **NO_GRAD),
]  # fmt: skip

# -- scans ---------------------------------------------------------------------------------------
SCAN_CASES = [
    *[case(f"{op}-dim={d}", [(2, 3, 4)], method(op, d))
      for op in ["cumsum", "cumprod", "logcumsumexp"] for d in DIMS],
    *[case(f"{op}-fn", [(3, 4)], function(op, 1), float32=True)
      for op in ["cumsum", "cumprod", "logcumsumexp"]],
    *[case(f"{op}-dim-kw", [(3, 4)], method(op, dim=0)) for op in ["cumsum", "cumprod"]],
    *[case(f"{op}-scalar", [()], method(op, 0)) for op in ["cumsum", "cumprod", "logcumsumexp"]],
    *[case(f"{op}-scalar-minus1", [()], method(op, -1)) for op in ["cumsum", "logcumsumexp"]],
    *[case(f"{op}-empty", [(0, 2)], method(op, 0)) for op in ["cumsum", "cumprod", "logcumsumexp"]],
    case("cumsum-size1", [(3, 1)], method("cumsum", 1)),
    case("cumsum-dtype", [(3, 4)], lambda x: x.cumsum(0, dtype=lib(x).float32), gradcheck=False,
         gradgradcheck=False),
    case("cumsum-int32", [ints([[1, 2], [3, 4]], np.int32)], method("cumsum", 0), **NO_GRAD),
    case("cumsum-bool", [np.array([True, False, True])], method("cumsum", 0), **NO_GRAD),
    case("cumsum-int-to-float", [ints([1, 2, 3])], lambda x: x.cumsum(0, dtype=lib(x).float64),
         **NO_GRAD),
    case("cumprod-int32", [ints([[1, 2], [3, 4]], np.int32)], method("cumprod", 1), **NO_GRAD),
    case("cumprod-zeros-dim1", [ZEROS], method("cumprod", 1)),
    case("cumprod-zeros-dim0", [ZEROS], method("cumprod", 0)),
    case("cumprod-zeros-edges", [EDGE_ZEROS], method("cumprod", 1)),
    case("cumprod-all-zeros", [np.zeros((2, 3))], method("cumprod", 1)),
    case("cumprod-zeros-then-sum", [ZEROS], lambda x: (x.cumprod(1) * x).sum(1)),
    case("logcumsumexp-large", [floats([1000.0, 1001.0, -1000.0, 999.0])],
         method("logcumsumexp", 0)),
    case("logcumsumexp-tiny", [floats([[-1000.0, -1001.0], [-999.0, -2000.0]])],
         method("logcumsumexp", 0), float32=True),
    # exp(-inf) = 0 for an -inf after a finite entry; an all -inf prefix stays -inf, and its
    # gradient is nan in both libraries (exp(-inf - -inf))
    case("logcumsumexp-minus-inf", [floats([0.5, -INF, 1.0])], method("logcumsumexp", 0),
         **TIE_OFF),
    case("logcumsumexp-leading-minus-inf", [floats([-INF, -INF, 0.0, 1.0])],
         method("logcumsumexp", 0), **TIE_OFF),
]  # fmt: skip

EXTREME_CASES = [
    *[case(f"{op}-dim={d}", [(2, 3, 4)], method(op, d))
      for op in ["cummax", "cummin"] for d in DIMS],
    *[case(f"{op}-fn", [(3, 4)], function(op, dim=1), float32=True) for op in ["cummax", "cummin"]],
    *[case(f"{op}-values", [(3, 4)], lambda x, op=op: getattr(x, op)(0).values)
      for op in ["cummax", "cummin"]],
    *[case(f"{op}-indices", [(3, 4)], lambda x, op=op: getattr(x, op)(0).indices, **NO_GRAD)
      for op in ["cummax", "cummin"]],
    # ties: torch moves the index to the latest tied entry, and the gradient goes there
    *[case(f"{op}-ties-dim={d}", [TIES], method(op, d), **TIE_OFF)
      for op in ["cummax", "cummin"] for d in [0, 1]],
    *[case(f"{op}-nan", [floats([1.0, 3.0, NAN, 5.0, NAN, 0.0])], method(op, 0), **TIE_OFF)
      for op in ["cummax", "cummin"]],
    *[case(f"{op}-scalar", [()], method(op, 0)) for op in ["cummax", "cummin"]],
    *[case(f"{op}-empty", [(0, 2)], method(op, 0)) for op in ["cummax", "cummin"]],
    case("cummax-int", [ints([[3, 1, 4], [1, 5, 9]])], method("cummax", 1), **NO_GRAD),
    case("cummin-bool", [np.array([True, False, True])], method("cummin", 0), **NO_GRAD),
]  # fmt: skip

# -- spreads with means, extremes together ---------------------------------------------------------
SPREAD_CASES = [
    *[case(f"{op}-{args_name(*a, **k)}", [(2, 3, 4)], function(op, *a, **k))
      for op in ["std_mean", "var_mean"]
      for a, k in [((), {}), ((0,), {}), ((-1,), {"keepdim": True}), (((0, 2),), {}),
                   ((1,), {"correction": 0}), ((), {"correction": 2}), ((1, False), {}),
                   ((False,), {}), ((1,), {"unbiased": True, "keepdim": True})]],
    case("std_mean-float32", [(3, 4)], function("std_mean", 1), float32=True),
    case("var-correction-float", [(3, 4)], method("var", 1, correction=0.5)),
    case("std-correction-2", [(3, 4)], method("std", correction=2)),
    case("var-unbiased-positional-first", [(3, 4)], method("var", False)),
    case("std-unbiased-positional-first", [(3, 4)], method("std", True)),
    case("aminmax-all", [(2, 3, 4)], function("aminmax"), float32=True),
    *[case(f"aminmax-dim={d}-keepdim={k}", [(2, 3, 4)], function("aminmax", dim=d, keepdim=k))
      for d in [0, -1] for k in [False, True]],
    case("aminmax-method", [(3, 4)], method("aminmax", dim=1)),
    case("aminmax-scalar", [()], function("aminmax")),
    case("aminmax-ties", [TIES], function("aminmax"), **TIE_OFF),
    case("aminmax-ties-dim", [TIES], function("aminmax", dim=1), **TIE_OFF),
    case("aminmax-min", [(3, 4)], lambda x: lib(x).aminmax(x, dim=0).min),
]  # fmt: skip

# -- ignoring NaN ----------------------------------------------------------------------------------
NAN_CASES = [
    *[case(f"{op}-nan-{args_name(*a, **k)}", [data], method(op, *a, **k), **TIE_OFF)
      for op, data in [("nansum", WITH_NAN), ("nanmean", SOME_NAN)]
      for a, k in [((), {}), ((1,), {}), ((0,), {"keepdim": True}), (((0, 1),), {})]],
    *[case(f"{op}-no-nan-dim={d}", [(2, 3, 4)], method(op, d)) for op in ["nansum", "nanmean"]
      for d in [None, 0, -1, (0, 2)]],
    case("nansum-fn", [(3, 4)], function("nansum", 1), float32=True),
    case("nanmean-fn", [SOME_NAN], function("nanmean", dim=1), float32=True, **TIE_OFF),
    case("nansum-scalar", [()], method("nansum")),
    case("nanmean-scalar-nan", [floats(NAN)], method("nanmean"), **NO_GRAD),  # see below
    case("nansum-empty", [(0, 3)], method("nansum", 0)),
    case("nanmean-empty", [(0, 3)], method("nanmean", 1)),
    case("nansum-int", [ints([[1, 2], [3, 4]], np.int32)], method("nansum", 0), **NO_GRAD),
    case("nansum-dtype", [WITH_NAN], lambda x: x.nansum(1, dtype=lib(x).float32), **NO_GRAD),
]  # fmt: skip

# -- medians ---------------------------------------------------------------------------------------
# distinct values (which of several equal entries torch's index names is unspecified)
ODD = floats([[0.3, -1.2, 2.5, 0.9, -0.4], [1.1, 0.2, -0.8, 3.0, 0.6]])
EVEN = floats([[0.3, -1.2, 2.5, 0.9], [1.1, 0.2, -0.8, 3.0], [-2.0, 0.5, 0.25, 1.5]])
MEDIAN_CASES = [
    *[case(f"{op}-all-{name}", [data], method(op)) for op in ["median", "nanmedian"]
      for name, data in [("odd", ODD), ("even", EVEN)]],
    *[case(f"median-dim={d}-keepdim={k}", [(2, 3, 4)], method("median", d, keepdim=k))
      for d in DIMS for k in [False, True]],
    *[case(f"nanmedian-dim={d}", [(2, 3, 4)], method("nanmedian", d)) for d in [0, -1]],
    case("median-fn", [EVEN], function("median", 1), float32=True),
    case("median-even-dim", [EVEN], method("median", 1)),
    case("median-values", [ODD], lambda x: x.median(-1).values),
    case("median-indices", [ODD], lambda x: x.median(0).indices, **NO_GRAD),
    case("median-scalar", [()], method("median")),
    case("median-scalar-dim", [()], method("median", 0)),
    case("median-empty", [(0,)], method("median")),
    case("median-empty-other-dim", [(0, 3)], method("median", 1)),
    # ties: the median of all elements shares its gradient evenly among the equal entries
    case("median-all-ties", [TIES], method("median"), **TIE_OFF),
    case("nanmedian-all-ties", [TIES], method("nanmedian"), **TIE_OFF),
    case("median-ties-values", [TIES], lambda x: x.median(1).values, **NO_GRAD),
    # NaN: median is NaN (the index of the first NaN along a dim); nanmedian skips NaNs
    case("median-nan-all", [WITH_NAN], method("median"), **TIE_OFF),
    case("median-nan-dim", [WITH_NAN], method("median", 1), **TIE_OFF),
    case("nanmedian-nan-all", [WITH_NAN], method("nanmedian"), **TIE_OFF),
    # (a row of NaNs only: NaN, at an index torch leaves to its selection algorithm)
    case("nanmedian-nan-dim", [SOME_NAN], method("nanmedian", 1), **TIE_OFF),
    case("nanmedian-nans-only-values", [WITH_NAN], lambda x: x.nanmedian(1).values, **NO_GRAD),
    case("nanmedian-fn", [WITH_NAN], function("nanmedian", 0), **TIE_OFF),
    case("median-int", [ints([[3, 1, 2], [9, 7, 8]])], method("median", 1), **NO_GRAD),
    case("median-int-all", [ints([4, 1, 3, 2])], method("median"), **NO_GRAD),
]  # fmt: skip

# distinct values: a central difference at a tie sees the average of two slopes
QUANTILE_CASES = [
    *[case(f"{op}-q={q}-dim={d}-keepdim={k}", [(2, 3, 4)],
           lambda x, op=op, q=q, d=d, k=k: getattr(x, op)(q, d, k))
      for op in ["quantile", "nanquantile"] for q in [0.0, 0.3, 1.0]
      for d, k in [(None, False), (1, False), (-1, True)]],
    *[case(f"quantile-{how}-dim={d}", [(3, 5)],
           lambda x, how=how, d=d: x.quantile(0.4, d, interpolation=how))
      for how in ["linear", "lower", "higher", "midpoint", "nearest"] for d in [None, 1]],
    case("quantile-fn", [(3, 4)], function("quantile", 0.75, dim=0), float32=True),
    case("quantile-q-tensor", [(3, 4), floats([0.1, 0.5, 0.9])],
         lambda x, q: lib(x).quantile(x, q, dim=1), const=(1,)),
    case("quantile-q-tensor-keepdim", [(2, 3, 4), floats([0.25, 0.6])],
         lambda x, q: x.quantile(q, 1, keepdim=True), const=(1,)),
    case("quantile-q-tensor-all-keepdim", [(2, 3), floats([0.25, 0.6])],
         lambda x, q: x.quantile(q, keepdim=True), const=(1,)),
    case("quantile-q-0d-tensor", [(3, 4), floats(0.3)], lambda x, q: x.quantile(q), const=(1,)),
    case("quantile-nearest-halves", [floats([3.0, 0.0, 4.0, 1.0, 2.0])],
         lambda x: x.quantile(lib(x).tensor([0.125, 0.375, 0.625, 0.875], dtype=x.dtype),
                              interpolation="nearest"), **TIE_OFF),
    case("quantile-nan", [SOME_NAN], method("quantile", 0.5, 1), **TIE_OFF),
    case("nanquantile-fn", [WITH_NAN], function("nanquantile", 0.4, dim=1), **TIE_OFF),
    case("nanquantile-nan-all", [WITH_NAN], method("nanquantile", 0.7), **TIE_OFF),
]  # fmt: skip

# -- counts and differences ------------------------------------------------------------------------
SPARSE = floats([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
COUNT_DIFF_CASES = [
    *[case(f"count_nonzero-{args_name(*a)}", [SPARSE], function("count_nonzero", *a), **NO_GRAD)
      for a in [(), (0,), (-1,), ((0, 1),)]],
    case("count_nonzero-method", [SPARSE], method("count_nonzero", dim=1), **NO_GRAD),
    case("count_nonzero-bool", [np.array([True, False, True])], method("count_nonzero"),
         **NO_GRAD),
    case("count_nonzero-scalar", [floats(2.0)], method("count_nonzero"), **NO_GRAD),
    *[case(f"diff-{args_name(**k)}", [(3, 4, 5)], method("diff", **k))
      for k in [{}, {"n": 2}, {"dim": 0}, {"dim": -2, "n": 2}, {"n": 0}, {"n": 4}, {"n": 6}]],
    case("diff-fn", [(5,)], function("diff"), float32=True),
    case("diff-prepend", [(3, 4), (1, 4)], lambda x, p: x.diff(dim=0, prepend=p)),
    case("diff-append", [(3, 4), (3, 2)], lambda x, a: x.diff(append=a, n=2)),
    case("diff-both", [(3, 4), (2, 4), (1, 4)], lambda x, p, a: lib(x).diff(x, 1, 0, p, a)),
    case("diff-bool", [np.array([True, False, False, True])], method("diff"), **NO_GRAD),
    case("diff-int", [ints([[1, 4, 9], [2, 3, 5]])], method("diff", dim=1), **NO_GRAD),
    case("diff-empty", [(0, 3)], method("diff"), **NO_GRAD),
]  # fmt: skip

# -- axis= / keepdims= (torch's NumPy-style aliases), dtype rules of the older reductions ----------
ALIAS_CASES = [
    *[case(f"{op}-axis", [(2, 3, 4)], method(op, axis=1))
      for op in ["sum", "mean", "std", "var", "amax", "amin", "logsumexp", "prod", "nansum",
                 "nanmean", "cumsum", "cumprod", "logcumsumexp", "max", "min", "median",
                 "nanmedian", "cummax", "cummin"]],
    *[case(f"{op}-axis-tuple-keepdims", [(2, 3, 4)], method(op, axis=(0, 2), keepdims=True))
      for op in ["sum", "mean", "std", "var", "amax", "amin", "logsumexp", "nansum", "nanmean"]],
    *[case(f"{op}-axis-keepdims", [(2, 3, 4)], method(op, axis=-1, keepdims=True))
      for op in ["prod", "max", "min", "median"]],
    *[case(f"{op}-keepdims", [(3, 4)], method(op, 0, keepdims=True))
      for op in ["sum", "mean", "amax", "var", "std", "logsumexp", "max"]],
    *[case(f"{op}-fn-axis", [(3, 4)], function(op, axis=0))
      for op in ["sum", "mean", "std", "var", "amax", "amin", "max", "min", "logsumexp",
                 "prod", "cumsum", "std_mean", "var_mean"]],
    *[case(f"{op}-axis", [(3, 4)], method(op, axis=1, keepdims=True), **NO_GRAD)
      for op in ["argmax", "argmin"]],
    *[case(f"{op}-axis", [np.array([[True, False], [True, True]])], method(op, axis=0), **NO_GRAD)
      for op in ["any", "all"]],
    *[case(f"{op}-tuple", [np.array([[True, False], [True, True]])], method(op, (0, 1)),
           **NO_GRAD) for op in ["any", "all"]],
    *[case(f"{op}-keepdims", [np.array([[True, False], [True, True]])],
           method(op, 1, keepdims=True), **NO_GRAD) for op in ["any", "all"]],
    case("any-uint8", [ints([[0, 3], [0, 0]], np.uint8)], method("any", 1), **NO_GRAD),
    case("all-float", [floats([[0.0, 3.0], [1.0, 2.0]])], method("all", dim=1), **NO_GRAD),
    case("count_nonzero-axis", [SPARSE], method("count_nonzero", axis=0), **NO_GRAD),
    case("aminmax-axis", [(3, 4)], function("aminmax", axis=1, keepdims=True)),
    case("sum-bool", [np.array([True, False, True])], method("sum"), **NO_GRAD),
    case("sum-int32", [ints([[1, 2], [3, 4]], np.int32)], method("sum", 0), **NO_GRAD),
    case("sum-uint8", [ints([200, 100], np.uint8)], method("sum"), **NO_GRAD),
    case("sum-int-dtype-float", [ints([1, 2, 3])], lambda x: x.sum(dtype=lib(x).float64),
         **NO_GRAD),
    case("sum-dtype-float32", [(3, 4)], lambda x: x.sum(1, dtype=lib(x).float32),
         gradcheck=False, gradgradcheck=False),
    case("mean-dtype-float32", [(3, 4)], lambda x: x.mean(0, dtype=lib(x).float32),
         gradcheck=False, gradgradcheck=False),
    case("mean-int-dtype", [ints([[1, 2], [3, 5]])], lambda x: x.mean(1, dtype=lib(x).float64),
         **NO_GRAD),
]  # fmt: skip

CASES: list[Case] = [
    *PROD_CASES, *SCAN_CASES, *EXTREME_CASES, *SPREAD_CASES, *NAN_CASES, *MEDIAN_CASES,
    *QUANTILE_CASES, *COUNT_DIFF_CASES, *ALIAS_CASES,
]  # fmt: skip

PUBLIC_CASES = {
    "aminmax": "aminmax-all", "count_nonzero": "count_nonzero-all", "cummax": "cummax-fn",
    "cummin": "cummin-fn", "cumprod": "cumprod-fn", "cumsum": "cumsum-fn", "diff": "diff-fn",
    "logcumsumexp": "logcumsumexp-fn", "median": "median-fn", "nanmean": "nanmean-fn",
    "nanmedian": "nanmedian-fn", "nansum": "nansum-fn", "prod": "prod-fn",
    "std_mean": "std_mean-all", "var_mean": "var_mean-all", "quantile": "quantile-fn",
    "nanquantile": "nanquantile-fn",
}  # fmt: skip


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("c", [c.param() for c in CASES])
def test_op(c: Case) -> None:
    c.run(gradgradcheck=True)


def test_nanmean_of_nans_only() -> None:
    """A row of NaNs only has mean NaN, as in torch, but gradient 0 where torch's is NaN (its
    backward multiplies 1/0 by the 0 of the NaN mask): the output does not depend on the row's
    entries, and a NaN here would poison every gradient below the op."""
    x = cr.tensor(WITH_NAN, requires_grad=True)
    y = x.nanmean(1)
    xt = torch.from_numpy(WITH_NAN.copy())
    np.testing.assert_array_equal(y.detach().numpy(), xt.nanmean(1).numpy())
    assert np.isnan(y.detach().numpy()[2])
    y.backward(cr.tensor(floats([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(x.grad.numpy(), [[1 / 3, 0, 1 / 3, 1 / 3], [0.5] * 4, [0.0] * 4])


def test_nanmedian_of_nans_only_is_nan() -> None:
    values = cr.tensor(WITH_NAN).nanmedian(1).values.numpy()
    np.testing.assert_array_equal(values, [1.0, 0.5, NAN])


# -- conventions stated explicitly (the table above compares with torch; these say what it is) ---
def test_prod_gradient_at_one_and_at_several_zeros() -> None:
    x = cr.tensor(floats([[2.0, 0.0, 3.0], [0.0, 4.0, 0.0]]), requires_grad=True)
    x.prod(1).sum().backward()
    # one zero: it gets the product of the others, the others get 0; two zeros: all 0
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("op", ["cumprod", "prod"])
def test_second_derivative_at_zeros_matches_torch(op: str) -> None:
    """create_graph through a product with zeros: torch's exact (omitted-product) formulas."""
    upstream = np.random.default_rng(3).standard_normal((3, 4) if op == "cumprod" else (3,))
    x = cr.tensor(ZEROS, requires_grad=True)
    xt = torch.from_numpy(ZEROS.copy()).requires_grad_(True)
    (g,) = cr.autograd.grad(getattr(x, op)(1), [x], [cr.tensor(upstream)], create_graph=True)
    (gt,) = torch.autograd.grad(getattr(xt, op)(1), [xt], [torch.from_numpy(upstream)],
                                create_graph=True)  # fmt: skip
    np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), rtol=1e-12)
    (h,) = cr.autograd.grad((g * g).sum(), [x])
    (ht,) = torch.autograd.grad((gt * gt).sum(), [xt])
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-12, atol=1e-12)


def test_cummax_index_moves_to_the_latest_tie() -> None:
    result = cr.tensor(floats([1.0, 3.0, 3.0, 2.0, 3.0])).cummax(0)
    np.testing.assert_array_equal(result.indices.numpy(), [0, 1, 2, 2, 4])


def test_logcumsumexp_of_large_values_is_finite() -> None:
    x = cr.tensor(floats([1e4, 1e4, -1e4]), requires_grad=True)
    y = x.logcumsumexp(0)
    np.testing.assert_allclose(y.detach().numpy(), [1e4, 1e4 + np.log(2), 1e4 + np.log(2)])
    y.backward(cr.tensor(floats([1.0, -2.0, 3.0])))
    assert np.isfinite(x.grad.numpy()).all()


def test_sum_of_bools_and_small_ints_is_int64() -> None:
    for data in [[True, False, True], np.array([200, 100], dtype=np.uint8)]:
        assert cr.tensor(data).sum().dtype == np.int64
        assert cr.tensor(data).cumsum(0).dtype == np.int64
        assert cr.tensor(data).prod().dtype == np.int64


# -- errors: raised where the mistake is made, of the class torch raises ------------------------
ERRORS = [
    # (what, the call on either library, chainrule's class, a phrase of its message)
    ("mean-int", lambda L: L.tensor([1, 2]).mean(), errors.DTypeError, "mean: input dtype"),
    ("mean-int-dtype", lambda L: L.ones(2).mean(dtype=L.int64), errors.DTypeError, "mean: dtype"),
    ("std-int", lambda L: L.tensor([1, 2]).std(), errors.DTypeError, "std:"),
    ("var_mean-int", lambda L: L.var_mean(L.tensor([1, 2])), errors.DTypeError, "var_mean:"),
    ("nanmean-int", lambda L: L.tensor([1, 2]).nanmean(), errors.DTypeError, "nanmean:"),
    ("cumsum-dim", lambda L: L.ones(2, 3).cumsum(3), IndexError, "cumsum: dim 3 is out of range"),
    ("cummax-dim", lambda L: L.ones(2, 3).cummax(-3), IndexError, "cummax: dim -3"),
    ("prod-dim", lambda L: L.ones(2, 3).prod(2), IndexError, "prod: dim 2"),
    ("prod-tuple", lambda L: L.ones(2, 3).prod((0, 1)), TypeError, "prod: dim must be an int"),
    ("cumsum-no-dim", lambda L: L.ones(2).cumsum(), TypeError, "'dim'"),
    ("sum-dim-and-axis", lambda L: L.ones(2, 3).sum(dim=0, axis=1), TypeError, "axis"),
    ("mean-keepdim-twice", lambda L: L.ones(2).mean(0, keepdim=True, keepdims=True), TypeError,
     "keepdims"),
    ("var-unbiased-and-correction", lambda L: L.ones(3).var(unbiased=True, correction=0),
     TypeError, "unbiased or correction"),
    ("logcumsumexp-int", lambda L: L.tensor([1, 2]).logcumsumexp(0), NotImplementedError,
     "logcumsumexp: not implemented"),
    ("aminmax-empty", lambda L: L.aminmax(L.zeros(0)), RuntimeError, "aminmax: cannot reduce"),
    ("median-empty-dim", lambda L: L.zeros(0, 3).median(0), IndexError, "non-zero size"),
    ("count_nonzero-repeated", lambda L: L.ones(2, 3).count_nonzero((0, 0)), RuntimeError,
     "appears more than once"),
    ("quantile-q-range", lambda L: L.ones(3).quantile(1.5), RuntimeError, "quantile: q must"),
    ("quantile-empty", lambda L: L.zeros(0).quantile(0.5), RuntimeError, "non-empty"),
    ("quantile-int", lambda L: L.tensor([1, 2]).quantile(0.5), RuntimeError, "float tensor"),
    ("quantile-q-dtype", lambda L: L.ones(3).quantile(L.tensor([0.5], dtype=L.float64)),
     RuntimeError, "q must have the input's dtype"),
    ("quantile-q-2d", lambda L: L.ones(3).quantile(L.full((2, 2), 0.5)), RuntimeError, "1-D"),
    ("quantile-how", lambda L: L.ones(3).quantile(0.5, interpolation="foo"), RuntimeError,
     "interpolation must be one of"),
    ("diff-0d", lambda L: L.tensor(1.0).diff(), RuntimeError, "at least one dimension"),
    ("diff-negative-n", lambda L: L.ones(3).diff(n=-1), RuntimeError, "non-negative"),
    ("diff-prepend-shape", lambda L: L.ones(3, 4).diff(dim=0, prepend=L.zeros(2, 3)),
     RuntimeError, "prepend must have the input's shape"),
    ("diff-prepend-ndim", lambda L: L.ones(3, 4).diff(dim=0, prepend=L.zeros(4)), RuntimeError,
     "prepend"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "error", "phrase"), [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])  # fmt: skip
def test_errors_name_the_op_and_match_torchs_class(call: Any, error: Any, phrase: str) -> None:
    with pytest.raises(error, match=phrase.replace("(", r"\(")):
        call(cr)
    # torch refuses the same call with the same class (RuntimeError where ours is one of the
    # chainrule.errors classes, which subclass it)
    with pytest.raises(RuntimeError if error.__module__ == "chainrule.errors" else error):
        call(torch)
