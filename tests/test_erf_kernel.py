"""The vectorised erf/erfc kernel (primitives/erf_kernel.py) against the C library's math.erf and
math.erfc: <= 2 ulp over dense sweeps (both tails, erfc's subnormal results, tiny and subnormal
x, negative x), nan/inf as math, float32 through the public ops, and its published coefficients
bit for bit against the hex patterns written next to them."""

from __future__ import annotations

import inspect
import math
import re
import struct

import numpy as np
import pytest

import chainrule as cr
from chainrule.primitives import erf_kernel
from chainrule.primitives.activations import NormalCdf
from chainrule.primitives.erf_kernel import erf64, erfc64

F64_MAX_ULP = 2


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How many representable floats lie between a and b (0 where equal, +-0 included)."""
    a = np.asarray(a)
    b = np.asarray(b)
    bits = np.int64 if a.dtype == np.float64 else np.int32
    ia = a.view(bits).astype(np.int64)
    ib = b.view(bits).astype(np.int64)
    sign = np.int64(np.iinfo(bits).min)
    # map the sign-magnitude bit patterns onto one monotone integer line
    ia = np.where(ia < 0, sign - ia, ia)
    ib = np.where(ib < 0, sign - ib, ib)
    return np.abs(ia - ib)


def reference(fn, xs: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([fn(float(v)) for v in xs], dtype=np.float64)


def sweep() -> np.ndarray:
    rng = np.random.default_rng(12)
    tiny = np.logspace(-323, 0, 4000)
    return np.concatenate([
        np.linspace(-30, 30, 120001),  # every region and the limits beyond +-28, +-6
        np.linspace(0.8, 1.3, 20001),  # the joins at 0.84375 and 1.25
        np.linspace(2.8, 2.9, 5001),  # the join of the two tail fits at 1/0.35
        np.linspace(5.9, 6.1, 2001), np.linspace(-6.1, -5.9, 2001),  # erf's and erfc's cut at 6
        np.linspace(26.0, 27.5, 30001),  # erfc's subnormal results (erfc(26.55) ~ 2^-1022)
        tiny, -tiny, [5e-324, -5e-324, 2.0**-1015, 2.0**-28, -(2.0**-28)],
        rng.standard_normal(20000) * 4,
    ])  # fmt: skip


@pytest.mark.parametrize(("kernel", "ref"), [(erf64, math.erf), (erfc64, math.erfc)])
def test_float64_within_two_ulp_of_the_c_library(kernel, ref) -> None:  # type: ignore[no-untyped-def]
    xs = sweep()
    dist = ulp_distance(kernel(xs), reference(ref, xs))
    worst = int(dist.argmax())
    assert dist[worst] <= F64_MAX_ULP, f"{ref.__name__}({xs[worst]!r}): {dist[worst]} ulp"


def test_subnormal_results_are_kept() -> None:
    xs = np.linspace(26.6, 27.2, 601)  # erfc is subnormal there, and nonzero up to ~27.2
    got = erfc64(xs)
    want = reference(math.erfc, xs)
    assert np.all(want[:-1] < np.finfo(np.float64).tiny) and np.any(want > 0)
    assert np.all(ulp_distance(got, want) <= F64_MAX_ULP)
    assert np.count_nonzero(got) == np.count_nonzero(want)


def test_symmetry_exactly_as_math_gives_it() -> None:
    xs = np.linspace(0, 10, 10001)
    np.testing.assert_array_equal(erf64(-xs), -erf64(xs))  # odd, bit for bit (-0 included)
    assert np.all(np.signbit(erf64(-xs)))
    # erfc(-x) = 2 - erfc(x), to the rounding of a number near 2
    assert np.all(ulp_distance(erfc64(-xs), 2 - erfc64(xs)) <= 1)


def test_nan_inf_and_zeros_as_math() -> None:
    xs = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 28.0, -28.0, 1e300, -1e300])
    for kernel, ref in ((erf64, math.erf), (erfc64, math.erfc)):
        got = kernel(xs)
        want = np.array([ref(v) for v in xs])
        np.testing.assert_array_equal(got, want)  # nan == nan for assert_array_equal
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))  # erf(-0) = -0


@pytest.mark.parametrize("n", [0, 1, 5, erf_kernel._BLOCK, 2 * erf_kernel._BLOCK + 3])
def test_any_shape_and_size_across_the_blocks(n: int) -> None:
    xs = np.random.default_rng(n).standard_normal(n) * 3
    for shape in ((n,), (1, n, 1)):
        got = erf64(xs.reshape(shape))
        assert got.shape == shape and got.dtype == np.float64
        assert np.all(ulp_distance(got.ravel(), reference(math.erf, xs)) <= F64_MAX_ULP)
    zero_d = erfc64(np.array(0.5))
    assert zero_d.shape == () and ulp_distance(zero_d, np.float64(math.erfc(0.5))) <= 1


def test_each_region_alone_and_mixed_takes_both_paths() -> None:
    # a block holding only one region evaluates it on the gathered elements or on the whole
    # block (_fill): both give the same bits
    for lo, hi in ((0, 0.8), (0.9, 1.2), (1.3, 2.8), (3, 27), (-5.9, -1.3)):
        xs = np.linspace(lo, hi, erf_kernel._BLOCK)
        mixed = np.concatenate([xs[:100], np.linspace(-30, 30, erf_kernel._BLOCK - 100)])
        for kernel in (erf64, erfc64):
            np.testing.assert_array_equal(kernel(xs)[:100], kernel(mixed)[:100])


def test_float32_through_the_public_ops() -> None:
    xs = np.concatenate([np.linspace(-12, 12, 24001), np.logspace(-44, 0, 500)]).astype(np.float32)
    for op, ref in ((cr.erf, math.erf), (cr.erfc, math.erfc)):
        got = op(cr.tensor(xs)).numpy()
        assert got.dtype == np.float32
        want = reference(ref, xs).astype(np.float32)
        assert ulp_distance(got, want).max() <= 1


def test_normal_cdf_tails() -> None:
    # GELU's Φ(x) = erfc(-x/√2)/2: relative precision in the far left tail, 1 on the right
    xs = np.concatenate([np.linspace(-38, 9, 4701), [np.inf, -np.inf]])
    got = NormalCdf.forward(_Ctx(), xs)
    want = np.array([math.erfc(v * -math.sqrt(0.5)) * 0.5 for v in xs])
    assert np.all(ulp_distance(got, want) <= F64_MAX_ULP)
    assert got[0] > 0 and got[-3] == 1.0 and got[-1] == 0.0


class _Ctx:
    def save_for_backward(self, *args: object) -> None:
        self.saved = args


def test_coefficients_are_the_published_bits() -> None:
    # every constant in the kernel's tables next to its IEEE-754 hex pattern, as printed in
    # fdlibm's s_erf.c; a typo in a digit would move the value off its pattern
    source = inspect.getsource(erf_kernel)
    pairs = re.findall(r"^\s*(?:\w+ = )?(-?\d\.\d+e-?\d+),?\s*# (0x[0-9A-F]{16})", source, re.M)
    assert len(pairs) == 3 + 5 + 5 + 7 + 6 + 8 + 8 + 7 + 7
    for text, pattern in pairs:
        value = float(text)
        assert struct.pack(">d", value).hex().upper() == pattern[2:], text
    tables = erf_kernel.PP + erf_kernel.QQ + erf_kernel.PA + erf_kernel.QA + erf_kernel.RA
    tables += erf_kernel.SA + erf_kernel.RB + erf_kernel.SB
    scalars = (erf_kernel.ERX, erf_kernel.EFX, erf_kernel.EFX8)
    assert [float(t) for t, _ in pairs] == [*scalars, *tables]
