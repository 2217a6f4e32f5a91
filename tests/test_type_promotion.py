"""Binary ops follow PyTorch's type promotion, not NumPy's (checked against torch directly)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import chainrule as cr

DTYPES = ["bool", "int32", "int64", "float16", "float32", "float64"]


def _operand(kind: str, dtype: str):
    """The same operand for both libraries: a (2,) tensor, a 0-d tensor, or a Python number."""
    if kind == "number":
        value = {"bool": True, "int32": 3, "int64": 3}.get(dtype, 1.5)
        return value, value
    shape = (2,) if kind == "dims" else ()
    array = np.ones(shape, dtype=dtype)
    return cr.tensor(array), torch.tensor(array)


CASES = [
    (ka, da, kb, db)
    for (ka, da), (kb, db) in itertools.product(
        itertools.product(["dims", "0d"], DTYPES),
        itertools.product(["dims", "0d", "number"], DTYPES),
    )
    if not (kb == "number" and db in ("int32", "float16", "float64"))  # numbers: bool/int/float
]


OPS = [
    (op, *case)
    for op in ("add", "mul", "maximum")
    for case in CASES
    if not (op == "maximum" and case[2] == "number")
]  # torch.maximum takes tensors only


@pytest.mark.parametrize("op, ka, da, kb, db", OPS)
def test_result_dtype_matches_torch(op, ka, da, kb, db):
    a, ta = _operand(ka, da)
    b, tb = _operand(kb, db)
    if op == "maximum":
        ours, theirs = cr.maximum(a, b), torch.maximum(ta, tb)
    elif op == "add":
        ours, theirs = a + b, ta + tb
    else:
        ours, theirs = a * b, ta * tb
    expected = str(theirs.dtype).replace("torch.", "")
    assert str(ours.dtype) == expected


def test_gradient_keeps_the_input_dtype():
    x = cr.tensor([1.0, 2.0], requires_grad=True)  # float32
    y = (x * cr.tensor(2.0, dtype=cr.float64)).sum()  # a float64 0-d tensor does not promote
    y.backward()
    assert y.dtype == cr.float32 and x.grad.dtype == cr.float32


def test_in_place_cannot_change_the_category():
    t = cr.tensor([1, 2])
    with pytest.raises(RuntimeError, match="add_: result type float32 can't be cast"):
        t += 1.5
    f = cr.tensor([1.0, 2.0])
    f += cr.tensor([1.0, 2.0], dtype=cr.float64)  # computed, then stored as float32
    assert f.dtype == cr.float32 and f.tolist() == [2.0, 4.0]
