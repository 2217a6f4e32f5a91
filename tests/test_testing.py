"""cr.testing.assert_close against torch.testing.assert_close: the same verdict (and the same
kind of message) on the same values, dtypes and shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

CASES = [
    ([1.0, 2.0], [1.0, 2.0 + 1e-7], np.float32, {}),
    ([1.0, 2.0], [1.0, 2.0 + 1e-4], np.float32, {}),
    ([1.0, 2.0], [1.0, 2.0 + 1e-9], np.float64, {}),
    ([1.0, 2.0], [1.0, 2.0 + 1e-6], np.float64, {}),
    ([1.0, float("nan")], [1.0, float("nan")], np.float64, {}),
    ([1.0, float("nan")], [1.0, float("nan")], np.float64, {"equal_nan": True}),
    ([float("inf")], [float("inf")], np.float64, {}),
    ([float("inf")], [-float("inf")], np.float64, {}),
    ([1.0, 2.0], [1.1, 2.0], np.float64, {"rtol": 0.2, "atol": 0.0}),
    ([1, 2], [1, 3], np.int64, {}),
    ([[1.0, 2.0]], [1.0, 2.0], np.float64, {}),
]


def verdict(fn, a, b, **kwargs) -> str | None:
    try:
        fn(a, b, **kwargs)
    except AssertionError as e:
        return str(e).split("\n")[0]
    return None


@pytest.mark.parametrize("a, b, dtype, kwargs", CASES)
def test_same_verdict_as_torch(a, b, dtype, kwargs):
    ours = verdict(cr.testing.assert_close, cr.tensor(np.array(a, dtype)),
                   cr.tensor(np.array(b, dtype)), **kwargs)  # fmt: skip
    theirs = verdict(torch.testing.assert_close, torch.tensor(np.array(a, dtype)),
                     torch.tensor(np.array(b, dtype)), **kwargs)  # fmt: skip
    assert (ours is None) == (theirs is None), (ours, theirs)
    if theirs is not None:
        assert ours.split(":")[0] == theirs.split(":")[0]


def test_dtype_mismatch_is_an_error_unless_told_otherwise():
    a, b = cr.tensor([1.0], dtype=cr.float32), cr.tensor([1.0], dtype=cr.float64)
    with pytest.raises(AssertionError, match="dtype"):
        cr.testing.assert_close(a, b)
    cr.testing.assert_close(a, b, check_dtype=False)


def test_message_names_the_worst_element_and_containers_are_walked():
    with pytest.raises(AssertionError) as info:
        cr.testing.assert_close(cr.tensor([1.0, 2.0, 3.0]), cr.tensor([1.0, 2.5, 3.0]))
    text = str(info.value)
    assert "Mismatched elements: 1 / 3" in text and "index (1,)" in text
    cr.testing.assert_close({"w": [cr.ones(2)]}, {"w": [cr.ones(2)]})
    with pytest.raises(AssertionError, match=r"item \['w'\]"):
        cr.testing.assert_close({"w": cr.ones(2)}, {"w": cr.zeros(2)})
    with pytest.raises(ValueError, match="both"):
        cr.testing.assert_close(cr.ones(1), cr.ones(1), rtol=0.1)


def test_utils_data_is_torchs_path_to_the_same_classes():
    import chainrule.utils.data as data

    assert data.DataLoader is cr.data.DataLoader and data.random_split is cr.data.random_split
