"""&, |, ^ and ~ on tensors are torch's bitwise ops: the same results and dtypes as torch on
bools and integers (incl. a number on the left), and torch's NotImplementedError on floats."""

from __future__ import annotations

import operator

import numpy as np
import pytest
import torch

import chainrule as cr

VALUES = [
    ([True, False, True], [True, True, False]),
    ([3, 5, -8], [6, 1, 7]),
    (np.array([3, 250], dtype=np.uint8), np.array([5, 7], dtype=np.uint8)),
]


@pytest.mark.parametrize("op", [operator.and_, operator.or_, operator.xor])
@pytest.mark.parametrize("a, b", VALUES)
def test_binary_operators_match_torch(op, a, b):
    ours = op(cr.tensor(a), cr.tensor(b))
    theirs = op(torch.tensor(a), torch.tensor(b))
    assert ours.tolist() == theirs.tolist()
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    for number in (True, 1):  # a Python number on either side promotes as torch
        assert op(number, cr.tensor(a)).tolist() == op(number, torch.tensor(a)).tolist()
        assert op(cr.tensor(a), number).tolist() == op(torch.tensor(a), number).tolist()


@pytest.mark.parametrize("a", [v[0] for v in VALUES])
def test_invert_matches_torch(a):
    assert (~cr.tensor(a)).tolist() == (~torch.tensor(a)).tolist()


@pytest.mark.parametrize("op", [operator.and_, operator.or_, operator.xor])
def test_floats_are_refused_as_torch_refuses_them(op):
    with pytest.raises(NotImplementedError):
        op(torch.tensor([1.0]), torch.tensor([1.0]))
    with pytest.raises(NotImplementedError, match="integer or bool"):
        op(cr.tensor([1.0]), cr.tensor([1.0]))
    with pytest.raises(TypeError):  # chainrule's error is also a TypeError
        ~cr.tensor([1.5])
