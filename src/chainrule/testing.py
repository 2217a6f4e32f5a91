"""torch.testing.assert_close for chainrule tensors: the same defaults, checks and message, so
a test written against torch asserts the same thing here.

>>> import chainrule as cr
>>> cr.testing.assert_close(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0 + 1e-7]))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from chainrule.tensor_base import TensorBase

# torch's default tolerances by dtype (torch.testing._comparison): (rtol, atol)
_TOLERANCES = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
}


def _array(x: Any) -> np.ndarray:
    if isinstance(x, TensorBase):
        return np.asarray(x._data)
    return np.asarray(x)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: str | None = None,
) -> None:
    """Raise AssertionError unless |actual - expected| <= atol + rtol * |expected| everywhere,
    with equal shapes (and dtypes, unless check_dtype=False). Sequences and mappings are compared
    item by item; numbers and arrays are accepted where torch accepts them."""
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: both 'rtol' and 'atol' must be given, or neither")
    _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, "")


def _compare(
    actual: Any,
    expected: Any,
    rtol: float | None,
    atol: float | None,
    equal_nan: bool,
    check_dtype: bool,
    msg: str | None,
    where: str,
) -> None:
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping) or set(actual) != set(expected):
            raise AssertionError(f"The keys of the mappings do not match{where}")
        for k in expected:
            _compare(actual[k], expected[k], rtol, atol, equal_nan, check_dtype, msg,
                     f"{where}, item [{k!r}]")  # fmt: skip
        return
    if isinstance(expected, Sequence) and not isinstance(expected, str):
        if not isinstance(actual, Sequence) or len(actual) != len(expected):
            raise AssertionError(f"The length of the sequences mismatch{where}")
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _compare(a, e, rtol, atol, equal_nan, check_dtype, msg, f"{where}, item [{i}]")
        return
    a, e = _array(actual), _array(expected)
    if a.shape != e.shape:
        raise AssertionError(msg or f"The values for attribute 'shape' do not match: "
                             f"{a.shape} != {e.shape}{where}.")  # fmt: skip
    both_tensors = isinstance(actual, TensorBase) and isinstance(expected, TensorBase)
    if check_dtype and both_tensors and a.dtype != e.dtype:
        raise AssertionError(msg or f"The values for attribute 'dtype' do not match: "
                             f"{a.dtype} != {e.dtype}{where}.")  # fmt: skip
    if rtol is None or atol is None:
        rtol, atol = max(_TOLERANCES.get(a.dtype, (0.0, 0.0)), _TOLERANCES.get(e.dtype, (0.0, 0.0)))
    if a.dtype == bool or e.dtype == bool or (a.dtype.kind in "iu" and e.dtype.kind in "iu"):
        close = a == e
    else:
        af, ef = a.astype(np.float64), e.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            close = np.isclose(af, ef, rtol=rtol, atol=atol, equal_nan=equal_nan)
            close |= af == ef  # equal infinities
    if np.all(close):
        return
    if msg:
        raise AssertionError(msg)
    bad = ~np.asarray(close)
    total = bad.size
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
        rel = diff / np.abs(e.astype(np.float64))
    worst, worst_rel = _worst(bad, diff), _worst(bad, rel)
    equality = rtol == 0 and atol == 0  # torch's wording: "equal" when no tolerance is allowed
    allowed = ("", "") if equality else (f" (up to {atol} allowed)", f" (up to {rtol} allowed)")
    kind = "Scalars" if a.ndim == 0 else "Tensor-likes"
    raise AssertionError(
        f"{kind} are not {'equal' if equality else 'close'}!{where}\n\n"
        f"Mismatched elements: {int(bad.sum())} / {total} ({100 * bad.sum() / total:.1f}%)\n"
        f"Greatest absolute difference: {float(diff[worst])} at index {worst}{allowed[0]}\n"
        f"Greatest relative difference: {float(rel[worst_rel])} at index {worst_rel}{allowed[1]}"
    )


def _worst(bad: np.ndarray, values: np.ndarray) -> tuple[int, ...]:
    """The index of the largest value among the mismatched entries (nan counts as largest)."""
    ranked = np.where(bad, np.nan_to_num(values, nan=np.inf), -1.0)
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(ranked)), values.shape))
