"""The Tensor surface users touch first: dtypes and their inference, the default dtype, seeding,
conversions (.item, .numpy, .tolist), shape properties and repr, each compared with PyTorch."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.fixture
def float64_default() -> Iterator[None]:
    """Switch the default dtype to float64 for one test, and always switch it back."""
    previous = cr.get_default_dtype()
    previous_t = torch.get_default_dtype()
    cr.set_default_dtype(cr.float64)
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        cr.set_default_dtype(previous)
        torch.set_default_dtype(previous_t)


@pytest.fixture
def keep_rng() -> Iterator[None]:
    """Leave chainrule's generator as the test found it."""
    state = cr.get_rng_state()
    try:
        yield
    finally:
        cr.set_rng_state(state)


def name(dtype: object) -> str:
    return str(dtype).replace("torch.", "")


# -- dtypes ---------------------------------------------------------------------------------------
def test_default_dtype_is_float32() -> None:
    assert cr.get_default_dtype() == cr.float32
    assert cr.tensor([1.0]).dtype == cr.float32
    assert cr.tensor(1.5).dtype == cr.float32
    assert cr.tensor([[1, 2.5]]).dtype == cr.float32  # mixed int/float lists become float
    for make in (cr.zeros, cr.ones, cr.randn, cr.rand, cr.empty):
        assert make(2, 3).dtype == cr.float32
    assert cr.arange(0.0, 1.0, 0.5).dtype == cr.float32
    assert cr.full((2,), 1.5).dtype == cr.float32


@pytest.mark.parametrize(
    "data",
    [[1.0, 2.0], [1, 2], 3, 2.5, True, [True, False], [[1, 2], [3, 4]], [1, 2.0]],
)
def test_dtype_inference_matches_torch(data) -> None:
    assert name(cr.tensor(data).dtype) == name(torch.tensor(data).dtype)


def test_integer_inference_is_int64() -> None:
    assert cr.tensor([1, 2, 3]).dtype == cr.int64
    assert cr.tensor(7).dtype == cr.int64
    assert cr.arange(5).dtype == cr.int64
    assert cr.full((2,), 3).dtype == cr.int64
    assert cr.tensor([1, 2]).sum().dtype == cr.int64


def test_numpy_arrays_keep_their_dtype_like_torch() -> None:
    for dtype in (np.float64, np.float32, np.int32, np.int64, np.bool_):
        array = np.array([1, 0], dtype=dtype)
        assert name(cr.tensor(array).dtype) == name(torch.tensor(array).dtype)
        assert name(cr.from_numpy(array).dtype) == name(torch.from_numpy(array).dtype)


def test_explicit_dtype_argument() -> None:
    assert cr.tensor([1, 2], dtype=cr.float64).dtype == cr.float64
    assert cr.tensor([1.7, 2.2], dtype=cr.int64).tolist() == [1, 2]
    assert cr.zeros(2, dtype=cr.int64).dtype == cr.int64
    assert cr.ones(2, dtype=cr.float64).dtype == cr.float64


def test_set_default_dtype_float64(float64_default) -> None:
    assert cr.get_default_dtype() == cr.float64
    assert cr.tensor([1.0]).dtype == cr.float64
    for make in (cr.zeros, cr.ones, cr.randn, cr.rand):
        assert make(2).dtype == cr.float64
    assert cr.tensor([1, 2]).dtype == cr.int64  # integers are unaffected
    assert (cr.tensor([1, 2]) / 2).dtype == cr.float64  # true division gives the default float
    assert name((torch.tensor([1, 2]) / 2).dtype) == "float64"
    assert repr(cr.tensor([1.5])) == "tensor([1.5000])"  # the default dtype is not printed
    assert repr(cr.tensor([1.5], dtype=cr.float32)) == "tensor([1.5000], dtype=float32)"


def test_default_dtype_restored_by_fixture() -> None:
    # Runs after test_set_default_dtype_float64 in file order: the fixture restored float32.
    assert cr.get_default_dtype() == cr.float32
    assert torch.get_default_dtype() == torch.float32


def test_set_default_dtype_rejects_non_float() -> None:
    with pytest.raises(TypeError, match="float32 or float64"):
        cr.set_default_dtype(cr.int64)
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int64)
    assert cr.get_default_dtype() == cr.float32


def test_conversions_between_dtypes() -> None:
    x = cr.tensor([1.5, -2.5], requires_grad=True)
    assert x.double().dtype == cr.float64 and x.float().dtype == cr.float32
    assert x.long().tolist() == torch.tensor([1.5, -2.5]).long().tolist() == [1, -2]
    assert x.to(cr.float64).dtype == cr.float64
    y = x.double()
    assert y.requires_grad and not y.is_leaf
    (y * y).sum().backward()
    assert x.grad.dtype == cr.float32 and x.grad.tolist() == [3.0, -5.0]


@pytest.mark.parametrize("fn", ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid"])
def test_float_functions_of_integer_tensors_give_the_default_float(fn) -> None:
    ours = getattr(cr.tensor([1, 2, 4]), fn)()
    theirs = getattr(torch.tensor([1, 2, 4]), fn)()
    assert name(ours.dtype) == name(theirs.dtype) == "float32"
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


# -- random numbers -------------------------------------------------------------------------------
def test_manual_seed_makes_randn_reproducible(keep_rng) -> None:
    cr.manual_seed(123)
    a = cr.randn(3, 4)
    r1 = cr.rand(5)
    cr.manual_seed(123)
    b = cr.randn(3, 4)
    r2 = cr.rand(5)
    assert np.array_equal(a.numpy(), b.numpy())
    assert np.array_equal(r1.numpy(), r2.numpy())
    cr.manual_seed(124)
    assert not np.array_equal(cr.randn(3, 4).numpy(), a.numpy())


def test_consecutive_draws_differ_and_rng_state_restores(keep_rng) -> None:
    cr.manual_seed(0)
    state = cr.get_rng_state()
    first, second = cr.randn(4), cr.randn(4)
    assert not np.array_equal(first.numpy(), second.numpy())
    cr.set_rng_state(state)
    assert np.array_equal(cr.randn(4).numpy(), first.numpy())


def test_random_values_are_plausible(keep_rng) -> None:
    cr.manual_seed(7)
    x = cr.randn(20_000, dtype=cr.float64).numpy()
    assert abs(x.mean()) < 0.05 and abs(x.std() - 1) < 0.05
    u = cr.rand(20_000, dtype=cr.float64).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.02


def test_manual_seed_rejects_non_int() -> None:
    with pytest.raises(TypeError, match="int"):
        cr.manual_seed(1.5)


# -- conversions ----------------------------------------------------------------------------------
def test_item_returns_python_numbers_like_torch() -> None:
    for data in (2.5, [2.5], [[7]], 3, True):
        ours, theirs = cr.tensor(data).item(), torch.tensor(data).item()
        assert ours == theirs
        assert type(ours) is type(theirs)
    x = cr.tensor([3.0], requires_grad=True)
    assert x.item() == 3.0  # item works on tensors that require grad, as in torch
    assert float(cr.tensor(2.5)) == 2.5 and int(cr.tensor(3)) == 3


def test_item_on_many_elements_raises() -> None:
    with pytest.raises(RuntimeError, match="3 elements"):
        cr.tensor([1.0, 2.0, 3.0]).item()


def test_numpy_raises_on_requires_grad_like_torch() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        torch.tensor([1.0, 2.0], requires_grad=True).numpy()
    with pytest.raises(RuntimeError, match="requires grad"):
        (x * 2).numpy()
    assert x.detach().numpy().tolist() == [1.0, 2.0]


def test_numpy_shares_memory_like_torch() -> None:
    x = cr.tensor([1.0, 2.0])
    xt = torch.tensor([1.0, 2.0])
    x.numpy()[0] = 10.0
    xt.numpy()[0] = 10.0
    assert x.tolist() == xt.tolist() == [10.0, 2.0]
    assert isinstance(x.numpy(), np.ndarray) and x.numpy().dtype == np.float32


def test_from_numpy_shares_and_tensor_copies() -> None:
    array = np.array([1.0, 2.0])
    shared, copied = cr.from_numpy(array), cr.tensor(array)
    array[0] = 5.0
    assert shared.tolist() == [5.0, 2.0]
    assert copied.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="ndarray"):
        cr.from_numpy([1.0, 2.0])


def test_tensor_of_tensor_copies() -> None:
    x = cr.tensor([1.0, 2.0])
    y = cr.tensor(x)
    y.add_(1)
    assert x.tolist() == [1.0, 2.0] and y.tolist() == [2.0, 3.0]


def test_tolist_and_bool() -> None:
    assert cr.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert cr.tensor(2.5).tolist() == 2.5
    assert bool(cr.tensor([1.0])) and not bool(cr.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.tensor([1.0, 2.0]))


def test_bad_data_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="tensor"):
        cr.tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError, match="tensor"):
        cr.tensor("abc")
    with pytest.raises(TypeError):
        torch.tensor("abc")
    with pytest.raises(TypeError, match="tensor"):
        cr.tensor(["1.0", "2.0"])


# -- shape properties -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 1, 3), (0, 3)])
def test_shape_properties_match_torch(shape) -> None:
    x, xt = cr.zeros(shape), torch.zeros(shape)
    assert x.shape == tuple(xt.shape) and isinstance(x.shape, tuple)
    assert x.ndim == xt.ndim == x.dim()
    assert x.numel() == xt.numel() and cr.numel(x) == xt.numel()
    assert x.size() == tuple(xt.size())
    for d in range(-len(shape), len(shape)):
        assert x.size(d) == xt.size(d)
    if shape:
        assert len(x) == len(xt)
    else:
        with pytest.raises(TypeError):
            len(x)
        with pytest.raises(TypeError):
            len(xt)


def test_size_with_bad_dim_names_the_range() -> None:
    with pytest.raises(IndexError, match=r"size: dim 2 .*\[-2, 1\]"):
        cr.zeros(3, 4).size(2)


def test_iteration_and_indexing_shapes() -> None:
    x = cr.arange(6).reshape(2, 3)
    rows = list(x)
    assert [r.tolist() for r in rows] == [[0, 1, 2], [3, 4, 5]]
    assert x[1].shape == (3,) and x[:, 1].shape == (2,) and x[None].shape == (1, 2, 3)
    assert x[..., 0].tolist() == [0, 3]
    assert x[cr.tensor([1, 0])].tolist() == [[3, 4, 5], [0, 1, 2]]


def test_device_and_misc_properties() -> None:
    x = cr.tensor([1.0])
    assert x.device == "cpu"
    assert x.is_floating_point() and not cr.tensor([1]).is_floating_point()
    assert cr.is_tensor(x) and not cr.is_tensor(np.ones(1))


# -- repr -----------------------------------------------------------------------------------------
REPR_CASES = [
    "L.tensor([1., 2.])",
    "L.tensor([0.12345, 1.0])",
    "L.tensor(3.0)",
    "L.tensor(3.25)",
    "L.tensor([-1.5, 2.25])",
    "L.tensor([[1.5, 2.], [3., 4.]])",
    "L.tensor([1.5e10, 1.0])",
    "L.tensor([1e-5, 1.])",
    "L.tensor([123.456, 0.5])",
    "L.tensor([float('nan'), 1.5, float('inf')])",
    "L.tensor([1, 2])",
    "L.arange(12).reshape(3, 4)",
    "L.tensor([True, False])",
    "L.zeros(0)",
    "L.tensor([1., 2.], dtype=L.float64)",
    "L.tensor([0.1, 0.2], dtype=L.float64)",
    "L.tensor([1, 2], dtype=L.int32)",
    "L.tensor([1., 2.], requires_grad=True)",
    "L.tensor([1., 2.], requires_grad=True) * 2",
    "L.tensor([1., 2.], requires_grad=True).exp()",
]


@pytest.mark.parametrize("expr", REPR_CASES)
def test_repr_matches_torch(expr: str) -> None:
    ours = repr(eval(expr.replace("L.", "cr.")))
    theirs = repr(eval(expr.replace("L.", "torch.")))
    # The only differences: dtypes print without "torch." and node names without torch's "0".
    expected = theirs.replace("torch.", "").replace("Backward0>", "Backward>")
    assert ours == expected
