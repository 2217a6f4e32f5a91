"""Hardening of shapes, indexing, ordering and error classes (issue 8, part 3), against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import errors


# -- 1. advanced indexing places dims by torch's rule ------------------------------------------
def _random_key(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple:
    """A random torch key over `shape`: ints (also negative, also 0-d tensors), slices (with
    steps), None, Ellipsis, integer lists and tensors, bool masks and bool scalars."""
    parts: list = []
    d = 0
    used_ellipsis = False
    while d < len(shape) and rng.random() < 0.85:
        n = shape[d]
        kind = rng.integers(0, 9)
        if kind == 0:
            parts.append(int(rng.integers(-n, n)))
        elif kind == 1:
            parts.append(cr.tensor(int(rng.integers(-n, n))))  # 0-d tensor: a select
        elif kind == 2:
            start, stop = sorted(rng.integers(-n, n + 1, 2).tolist())
            parts.append(slice(start, stop, int(rng.integers(1, 3))))
        elif kind == 3:
            parts.append(None)
            continue
        elif kind == 4 and not used_ellipsis:
            parts.append(Ellipsis)
            used_ellipsis = True
            d = len(shape) - int(rng.integers(0, len(shape) - d + 1))
            continue
        elif kind == 5:
            parts.append(rng.integers(-n, n, int(rng.integers(1, 3))).tolist())
        elif kind == 6:
            parts.append(cr.tensor(rng.integers(-n, n, (2, 1)[: int(rng.integers(1, 3))])))
        elif kind == 7 and d + 1 < len(shape):
            parts.append(cr.tensor(rng.random((n, shape[d + 1])) < 0.5))
            d += 2
            continue
        elif kind == 8:
            parts.append(bool(rng.random() < 0.7))
            continue
        else:
            parts.append(slice(None))
        d += 1
    return tuple(parts)


def _to_torch(key: tuple) -> tuple:
    return tuple(torch.from_numpy(k.numpy()) if isinstance(k, cr.Tensor) else k for k in key)


def _torch_result(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(), None
    except (IndexError, RuntimeError, ValueError, TypeError) as error:
        return None, error


def test_indexing_matches_torch_over_random_keys():
    rng = np.random.default_rng(8)
    checked = 0
    for _ in range(600):
        shape = tuple(int(n) for n in rng.integers(1, 4, int(rng.integers(1, 5))))
        key = _random_key(rng, shape)
        data = rng.standard_normal(shape)
        xt = torch.tensor(data, requires_grad=True)
        yt, error = _torch_result(lambda xt=xt, key=key: xt[_to_torch(key)])
        x = cr.tensor(data, requires_grad=True)
        if error is not None:
            with pytest.raises((IndexError, RuntimeError)):
                x[key]
            continue
        y = x[key]
        assert y.shape == tuple(yt.shape), (shape, key)
        np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
        # gradient (index_add, repeated indices accumulate) and its second derivative
        weights = rng.standard_normal(tuple(yt.shape))
        (yt * torch.tensor(weights)).sum().backward()
        (y * cr.tensor(weights)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())
        # assignment: x[key] = v and the out-of-place index_put
        value = rng.standard_normal(tuple(yt.shape))
        target_t = torch.tensor(data)
        _, put_error = _torch_result(
            lambda t=target_t, key=key, v=value: t.__setitem__(_to_torch(key), torch.tensor(v))
        )
        if put_error is None:
            target = cr.tensor(data)
            target[key] = cr.tensor(value)
            if not _has_repeats(key):
                np.testing.assert_array_equal(target.numpy(), target_t.numpy())
            put = cr.ops.index_put(cr.tensor(data), key, cr.tensor(value))
            np.testing.assert_array_equal(put.numpy(), target.numpy())
        checked += 1
    assert checked > 300


def _has_repeats(key: tuple) -> bool:
    """Writes through repeated indices keep an unspecified one of the values (torch and NumPy)."""
    return any(
        (isinstance(k, list) and len(set(k)) < len(k))
        or (
            isinstance(k, cr.Tensor)
            and k.dtype != np.bool_
            and k.ndim
            and len(np.unique(k.numpy())) < k.numel()
        )
        for k in key
    )


@pytest.mark.parametrize(
    "key",
    [
        (0, slice(None), [0, 1]),
        (slice(None), 1, [0, 2]),
        ([0, 1], slice(None), 0),
        (0, Ellipsis, True),
        (0, None, [1, 0]),
        (-1, slice(None), [[0], [1]]),
        (1, slice(None, None, 2), [1, 1]),
    ],
)
def test_int_then_slice_then_array_is_placed_as_torch(key):
    data = np.arange(24.0).reshape(2, 3, 4)
    expected = torch.tensor(data)[key]
    x = cr.tensor(data, requires_grad=True)
    y = x[key]
    assert y.shape == tuple(expected.shape)
    np.testing.assert_array_equal(y.detach().numpy(), expected.numpy())
    # the gradient goes back through the same layout (twice: create_graph records index_add)
    (g,) = cr.autograd.grad(y.sum() * 1.0, x, create_graph=True)
    xt = torch.tensor(data, requires_grad=True)
    (gt,) = torch.autograd.grad(xt[key].sum(), xt)
    np.testing.assert_array_equal(g.detach().numpy(), gt.numpy())


def test_zero_d_int_tensor_selects_like_an_int():
    x = cr.zeros(2, 3, 4)
    assert x[0, :, cr.tensor([0, 1])].shape == (3, 2)
    assert x[cr.tensor(0), :, cr.tensor([0, 1])].shape == (3, 2)


# -- 6. error classes: torch's class and the standard one, and a message naming the op --------
F = torch.nn.functional
T3, T23 = torch.zeros(3), torch.zeros(2, 3)

ERRORS = [
    # (name in the message, torch call, chainrule call, chainrule's standard class)
    ("matmul", lambda: T23 @ T23, lambda: cr.zeros(2, 3) @ cr.zeros(2, 3), ValueError),
    ("permute", lambda: T23.permute(0, 0), lambda: cr.zeros(2, 3).permute(0, 0), ValueError),
    ("permute", lambda: T23.permute(0), lambda: cr.zeros(2, 3).permute(0), ValueError),
    ("reshape", lambda: T23.reshape(-1, -1), lambda: cr.zeros(2, 3).reshape(-1, -1), ValueError),
    ("reshape", lambda: T23.reshape(4, 4), lambda: cr.zeros(2, 3).reshape(4, 4), ValueError),
    ("view", lambda: T23.t().view(6), lambda: cr.zeros(2, 3).t().view(6), ValueError),
    ("view", lambda: T23.view(4, -1), lambda: cr.zeros(2, 3).view(4, -1), ValueError),
    ("expand", lambda: T23.expand(3, 3), lambda: cr.zeros(2, 3).expand(3, 3), ValueError),
    ("expand", lambda: T23.expand(3), lambda: cr.zeros(2, 3).expand(3), ValueError),
    ("gather", lambda: T23.gather(1, torch.tensor([[5]])),
     lambda: cr.zeros(2, 3).gather(1, cr.tensor([[5]])), IndexError),
    ("gather", lambda: T23.gather(1, torch.tensor([0])),
     lambda: cr.zeros(2, 3).gather(1, cr.tensor([0])), ValueError),
    ("add", lambda: T3 + torch.zeros(2), lambda: cr.zeros(3) + cr.zeros(2), ValueError),
    ("mul", lambda: T3 * torch.zeros(2), lambda: cr.zeros(3) * cr.zeros(2), ValueError),
    ("cat", lambda: torch.cat([T23, torch.zeros(2, 2)]),
     lambda: cr.cat([cr.zeros(2, 3), cr.zeros(2, 2)]), ValueError),
    ("cat", lambda: torch.cat([T23, T3]), lambda: cr.cat([cr.zeros(2, 3), cr.zeros(3)]),
     ValueError),
    ("stack", lambda: torch.stack([T23, T3]), lambda: cr.stack([cr.zeros(2, 3), cr.zeros(3)]),
     ValueError),
    ("split", lambda: T3.split([1, 1]), lambda: cr.zeros(3).split([1, 1]), ValueError),
    ("flip", lambda: T23.flip(0, -2), lambda: cr.zeros(2, 3).flip(0, -2), ValueError),
    ("index", lambda: T3[5], lambda: cr.zeros(3)[5], IndexError),
    ("sum", lambda: T3.sum(dim=3), lambda: cr.zeros(3).sum(dim=3), IndexError),
    ("sum", lambda: T3.sum(dim=1.5), lambda: cr.zeros(3).sum(dim=1.5), TypeError),
    ("mean", lambda: T3.mean(dim=1.5), lambda: cr.zeros(3).mean(dim=1.5), TypeError),
    ("amax", lambda: T3.amax(dim=1.5), lambda: cr.zeros(3).amax(dim=1.5), TypeError),
    ("max", lambda: T3.max(dim=1.5), lambda: cr.zeros(3).max(dim=1.5), TypeError),
    ("logsumexp", lambda: T3.logsumexp(dim=1.5), lambda: cr.zeros(3).logsumexp(dim=1.5),
     TypeError),
    ("masked_fill", lambda: T3.masked_fill(torch.zeros(3), 1.0),
     lambda: cr.zeros(3).masked_fill(cr.zeros(3), 1.0), TypeError),
    ("masked_fill", lambda: T3.masked_fill(torch.zeros(2, dtype=torch.bool), 1.0),
     lambda: cr.zeros(3).masked_fill(cr.zeros(2, dtype=cr.bool_), 1.0), ValueError),
    ("where", lambda: torch.where(T3, T3, T3),
     lambda: cr.where(cr.zeros(3), cr.zeros(3), cr.zeros(3)), TypeError),
    ("floor_divide", lambda: T3 // "a", lambda: cr.zeros(3) // "a", TypeError),
    ("floor_divide", lambda: T3 // ["a"], lambda: cr.zeros(3) // ["a"], TypeError),
    ("floor_divide", lambda: T3 // torch.zeros(2), lambda: cr.zeros(3) // cr.zeros(2),
     ValueError),
    ("remainder", lambda: T3 % "a", lambda: cr.zeros(3) % "a", TypeError),
    ("remainder", lambda: T3 % torch.zeros(2), lambda: cr.zeros(3) % cr.zeros(2), ValueError),
    ("cross_entropy", lambda: F.cross_entropy(T23, torch.tensor([0.0, 1.0])),
     lambda: cr.nn.functional.cross_entropy(cr.zeros(2, 3), cr.tensor([0.0, 1.0])), TypeError),
    ("nll_loss", lambda: F.nll_loss(T23, torch.tensor([0.0, 1.0])),
     lambda: cr.nn.functional.nll_loss(cr.zeros(2, 3), cr.tensor([0.0, 1.0])), TypeError),
    ("argmax", lambda: torch.zeros(0).argmax(), lambda: cr.zeros(0).argmax(), IndexError),
    ("argmax", lambda: torch.zeros(0, 3).argmax(0), lambda: cr.zeros(0, 3).argmax(0), IndexError),
    ("max", lambda: torch.zeros(0).max(), lambda: cr.zeros(0).max(), ValueError),
    ("min", lambda: torch.zeros(0).min(), lambda: cr.zeros(0).min(), ValueError),
    ("max", lambda: torch.zeros(0, 3).max(0), lambda: cr.zeros(0, 3).max(0), IndexError),
    ("linspace", lambda: torch.linspace(0, 1, -1), lambda: cr.linspace(0, 1, -1), ValueError),
    ("linspace", lambda: torch.linspace(0, 1, 3, dtype=torch.bool),
     lambda: cr.linspace(0, 1, 3, dtype=cr.bool_), TypeError),
    ("mm", lambda: T3.mm(T23), lambda: cr.zeros(3).mm(cr.zeros(2, 3)), ValueError),
]  # fmt: skip


@pytest.mark.parametrize("name, torch_call, call, standard", ERRORS)
def test_errors_have_torch_class_and_standard_class(name, torch_call, call, standard):
    with pytest.raises(Exception) as torch_error:
        torch_call()
    torch_class = type(torch_error.value)
    with pytest.raises(standard) as error:
        call()
    if torch_class is not standard:  # e.g. torch's RuntimeError for chainrule's ValueError
        assert isinstance(error.value, torch_class), (torch_class, type(error.value))
    assert isinstance(error.value, standard)
    assert name in str(error.value), str(error.value)


def test_error_classes_subclass_both_habits():
    assert issubclass(errors.ShapeError, ValueError) and issubclass(errors.ShapeError, RuntimeError)
    assert issubclass(errors.IndexOutOfRangeError, IndexError)
    assert issubclass(errors.IndexOutOfRangeError, RuntimeError)
    assert issubclass(errors.DTypeError, TypeError) and issubclass(errors.DTypeError, RuntimeError)
    assert cr.errors is errors


def test_numpy_errors_re_raised_by_explain_get_the_dual_class():
    with pytest.raises(RuntimeError) as info:  # NumPy's ValueError inside matmul's forward
        cr.zeros(2, 3) @ cr.zeros(2, 3)
    assert isinstance(info.value, ValueError) and "matmul" in str(info.value)
    with pytest.raises(RuntimeError) as info:  # NumPy's IndexError inside gather's forward
        cr.zeros(2, 3).gather(1, cr.tensor([[7]]))
    assert isinstance(info.value, IndexError) and "gather" in str(info.value)
    with pytest.raises(IndexError) as info:  # x[i] out of bounds stays a plain IndexError
        cr.zeros(3)[cr.tensor([4])]
    assert not isinstance(info.value, RuntimeError)


# -- 2. linspace -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "start, end, steps",
    [(-5, 5, 4), (0, -7, 5), (0, 10, 7), (-3.5, 2.5, 6), (7, -7, 3), (2.9, 8.9, 4), (1, 2, 0)],
)
@pytest.mark.parametrize("dtype", ["int64", "int32", "int16"])
def test_integer_linspace_truncates_toward_zero_like_torch(start, end, steps, dtype):
    ours = cr.linspace(start, end, steps, dtype=getattr(np, dtype))
    theirs = torch.linspace(start, end, steps, dtype=getattr(torch, dtype))
    assert ours.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_linspace_steps_zero_and_one_and_float_values_like_torch():
    assert cr.linspace(0, 3, 0).shape == (0,)
    assert cr.linspace(2.0, 3.0, 1).tolist() == [2.0]  # torch: start, not end
    ours = cr.linspace(-1.0, 4.0, 11, dtype=np.float64).numpy()
    np.testing.assert_allclose(ours, torch.linspace(-1.0, 4.0, 11, dtype=torch.float64).numpy())
    assert ours[0] == -1.0 and ours[-1] == 4.0


def test_linspace_refuses_bool_and_negative_steps_as_torch():
    with pytest.raises(NotImplementedError, match="linspace"):
        cr.linspace(0, 1, 3, dtype=np.bool_)
    with pytest.raises(RuntimeError, match="linspace: number of steps must be non-negative"):
        cr.linspace(0, 1, -2)


# -- 3. NaN orders as the largest value; max/min send the gradient to it ----------------------
NAN_DATA = [3.0, float("nan"), 1.0, float("nan"), 2.0, 3.0, 1.0]


@pytest.mark.parametrize("descending", [False, True])
def test_sort_puts_nan_where_torch_does_and_is_stable(descending):
    ours = cr.sort(cr.tensor(NAN_DATA, dtype=np.float64), descending=descending)
    theirs = torch.sort(torch.tensor(NAN_DATA, dtype=torch.float64), descending=descending,
                        stable=True)  # fmt: skip
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())


def test_sort_descending_of_unsigned_and_bool_is_right():
    for data, dtype in (([3, 0, 255, 3, 1], torch.uint8), ([True, False, True], torch.bool)):
        ours = cr.sort(cr.tensor(np.array(data, dtype=str(dtype).split(".")[1])), descending=True)
        theirs = torch.sort(torch.tensor(data, dtype=dtype), descending=True, stable=True)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


def test_sort_descending_along_a_dim_with_nan_rows():
    data = np.array([[1.0, np.nan, 2.0, np.nan], [4.0, 4.0, np.nan, 0.0]])
    ours = cr.sort(cr.tensor(data), dim=1, descending=True)
    theirs = torch.sort(torch.tensor(data), dim=1, descending=True, stable=True)
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


@pytest.mark.parametrize("largest", [True, False])
def test_topk_with_nan_like_torch(largest):
    data = [3.0, float("nan"), 1.0, float("nan"), 2.0, 5.0]  # no ties: torch's topk is unstable
    ours = cr.topk(cr.tensor(data, dtype=np.float64), 4, largest=largest)
    theirs = torch.topk(torch.tensor(data, dtype=torch.float64), 4, largest=largest)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


@pytest.mark.parametrize(
    "call", ["max()", "min()", "max(0).values", "min(0).values", "max(1).values", "min(1).values"]
)
def test_reductions_over_nan_value_and_gradient_like_torch(call):
    data = np.array([[3.0, np.nan, 1.0], [np.nan, 2.0, 2.0]])
    x = cr.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    y, yt = eval(f"x.{call}"), eval(f"xt.{call}")
    np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_argmax_argmin_point_at_the_first_nan_like_torch():
    data = np.array([[3.0, np.nan, 1.0, np.nan], [0.0, 2.0, 2.0, -1.0]])
    for op in ("argmax", "argmin"):
        assert getattr(cr.tensor(data), op)().item() == getattr(torch.tensor(data), op)().item()
        np.testing.assert_array_equal(
            getattr(cr.tensor(data), op)(1).numpy(), getattr(torch.tensor(data), op)(1).numpy()
        )


# -- 4. flip and view ---------------------------------------------------------------------------
def test_flip_of_a_0d_tensor_and_of_no_dims():
    assert cr.tensor(2.0).flip(0).item() == 2.0
    assert cr.tensor(2.0).flip([]).item() == 2.0
    assert cr.arange(3).flip([]).tolist() == [0, 1, 2]
    assert cr.arange(6).reshape(2, 3).flip(0, 1).tolist() == [[5, 4, 3], [2, 1, 0]]


def test_flip_with_a_repeated_dim_raises_like_torch():
    with pytest.raises(RuntimeError, match="flip: dim 0 appears multiple times"):
        cr.zeros(3, 4).flip([0, -2])


VIEWS = [
    ("permute(1, 0)", (6,)), ("t()", (3, 2)), ("t()", (3, 1, 2)), ("t()", (-1,)),
    ("transpose(0, 1)", (6,)), ("expand(2, 2, 3)", (12,)), ("expand(2, 2, 3)", (2, 6)),
    ("expand(2, 2, 3)", (4, 3)), ("[:, ::2]", (4,)), ("[:, ::2]", (2, 2)), ("[::2]", (3,)),
    ("[:, :2]", (4,)), ("[:, :2]", (2, 2, 1)), ("[0:1]", (3,)), ("[:, [0, 2]]", (4,)),
    ("unsqueeze(1)", (6,)), ("[:, None, :]", (3, 2)), ("[..., 1:]", (4,)),
]  # fmt: skip


@pytest.mark.parametrize("make, shape", VIEWS)
def test_view_follows_torch_contiguity_rule(make, shape):
    sep = "" if make.startswith("[") else "."
    data = np.arange(6.0).reshape(2, 3)
    xt = eval(f"base{sep}{make}", {"base": torch.tensor(data)})
    x = eval(f"base{sep}{make}", {"base": cr.tensor(data)})
    try:
        expected = xt.view(shape)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=r"view.*Use \.reshape"):
            x.view(shape)
        assert x.reshape(shape).shape == tuple(xt.reshape(shape).shape)
        return
    y = x.view(shape)
    np.testing.assert_array_equal(y.numpy(), expected.numpy())
    assert np.shares_memory(y._memory(), x._memory()) or x.numel() == 0


# -- 5. messages that name the op ---------------------------------------------------------------
def test_masked_fill_with_a_mask_that_does_not_broadcast_names_the_shapes():
    with pytest.raises(RuntimeError, match=r"masked_fill: mask of shape \(2,\)"):
        cr.zeros(3).masked_fill(cr.zeros(2, dtype=np.bool_), 1.0)
