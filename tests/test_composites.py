"""PyTorch's extra tensor functions, built as compositions: values and gradients against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 4))


def _both(fn, array=X, upstream_seed=1):
    """Run fn on a chainrule and a torch leaf; return (values, gradients) for each."""
    a = cr.tensor(array, requires_grad=True)
    t = torch.tensor(array, requires_grad=True)
    ya, yt = fn(a), fn(t)
    g = np.random.default_rng(upstream_seed).standard_normal(tuple(yt.shape))
    ya.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    return (ya.detach().numpy(), a.grad.numpy()), (yt.detach().numpy(), t.grad.numpy())


@pytest.mark.parametrize(
    "name, fn",
    [
        ("masked_fill", lambda x: x.masked_fill(x > 0, 0.5)),
        ("sort values", lambda x: x.sort(dim=1).values * 2),
        ("sort descending dim 0", lambda x: x.sort(dim=0, descending=True).values),
        ("topk", lambda x: x.topk(2, dim=1).values),
        ("topk smallest", lambda x: x.topk(3, dim=0, largest=False).values),
        ("unbind", lambda x: x.unbind(1)[2] * 3),
        ("repeat", lambda x: x.repeat(2, 3)),
        ("repeat new dims", lambda x: x.repeat(2, 1, 2)),
        ("flip", lambda x: x.flip(1) * x),
        ("flip both", lambda x: x.flip((0, 1))),
        ("remainder", lambda x: x % 0.7),
    ],
)
def test_values_and_gradients_match_torch(name, fn):
    (ours, our_grad), (theirs, their_grad) = _both(fn)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-12, atol=1e-12, err_msg=name)


def test_remainder_by_a_tensor_has_the_closed_form_gradient():
    """torch gives no derivative for the divisor; ours is d(a - b floor(a/b))/db = -floor(a/b)."""
    b = cr.tensor(np.abs(X) + 1, requires_grad=True)
    y = 2.5 % b
    np.testing.assert_allclose(y.detach().numpy(), (2.5 % torch.tensor(np.abs(X) + 1)).numpy())
    y.sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), -np.floor(2.5 / (np.abs(X) + 1)))


def test_indices_are_torchs_and_carry_no_gradient():
    x = cr.tensor(X, requires_grad=True)
    ours = x.topk(2, dim=1)
    theirs = torch.tensor(X).topk(2, dim=1)
    assert ours.indices.tolist() == theirs.indices.tolist()
    assert not ours.indices.requires_grad and ours.indices.dtype == cr.int64


def test_integer_floor_division_and_remainder_follow_python_signs():
    a, b = cr.tensor([5, -7, 7]), cr.tensor([2, 2, -3])
    assert (a // b).tolist() == [2, -4, -3] and (a % b).tolist() == [1, 1, -2]
    assert (a // b).dtype == cr.int64


def test_all_any_one_hot():
    flags = cr.tensor([[True, False], [True, True]])
    assert flags.all().item() is False and flags.any().item() is True
    assert flags.all(dim=1).tolist() == [False, True]
    assert cr.nn.functional.one_hot(cr.tensor([1, 0]), 3).tolist() == [[0, 1, 0], [1, 0, 0]]


def test_dropout_trains_with_the_right_rate_and_scale_and_is_identity_in_eval():
    cr.manual_seed(0)
    layer = cr.nn.Dropout(0.25)
    x = cr.ones(200, 100)
    y = layer(x).numpy()
    assert abs((y == 0).mean() - 0.25) < 0.01  # 20,000 draws: the rate is within 1% of p
    assert np.allclose(y[y != 0], 1 / 0.75)  # survivors are scaled so the mean is kept
    layer.eval()
    assert np.array_equal(layer(x).numpy(), x.numpy())
    w = cr.tensor(np.ones(10), requires_grad=True)
    cr.nn.functional.dropout(w, 0.5).sum().backward()
    assert set(np.unique(w.grad.numpy())) <= {0.0, 2.0}  # gradient flows through kept entries


def test_module_list_registers_its_modules():
    layers = cr.nn.ModuleList([cr.nn.Linear(2, 3), cr.nn.Linear(3, 1)])
    layers.append(cr.nn.ReLU())
    assert len(layers) == 3 and isinstance(layers[2], cr.nn.ReLU)
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: cr.ones(3).masked_fill(cr.tensor([1, 0, 1]), 0.0), TypeError, "bool"),
        (lambda: cr.ones(3).masked_fill(cr.tensor([True, False]), 0.0), ValueError, "broadcast"),
        (lambda: cr.ones(3).topk(4), ValueError, "k=4 is out of range"),
        (lambda: cr.nn.functional.one_hot(cr.tensor([3]), 3), IndexError, "in \\[0, 2\\]"),
        (lambda: cr.nn.Dropout(1.5), ValueError, "between 0 and 1"),
        (lambda: cr.ones(2, 2).repeat(2), ValueError, "at least as many sizes"),
    ],
)
def test_bad_input_names_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()
