"""Property-based tests (hypothesis): random shapes, dims and values where they add reach.

The op table (test_ops_oracle.py) fixes shapes by hand; here hypothesis draws them: broadcasting
pairs, reduction dims, basic and advanced index keys, matmul batch shapes, and values up to 1e4
for the numerically delicate ops.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

FAST = settings(max_examples=40, deadline=None)


def values(shape: tuple[int, ...], low: float = -3.0, high: float = 3.0, dtype=np.float64):
    """Arrays of shape with finite values in [low, high] (hypothesis picks ties, 0s and edges)."""
    return hnp.arrays(
        dtype, shape, elements=st.floats(low, high, width=np.dtype(dtype).itemsize * 8)
    )


def leaf(a: np.ndarray) -> cr.Tensor:
    return cr.tensor(a, requires_grad=True)


def torch_leaf(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.copy()).requires_grad_(True)


def assert_close(actual: cr.Tensor, expected: torch.Tensor | np.ndarray, **tol) -> None:
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    assert tuple(actual.shape) == tuple(np.shape(expected))
    np.testing.assert_allclose(actual.detach().numpy(), expected, **{"rtol": 1e-10, **tol})


# -- broadcasting binary ops ------------------------------------------------------------------
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "maximum": lambda a, b: lib_maximum(a, b),
}


def lib_maximum(a, b):
    return torch.maximum(a, b) if isinstance(a, torch.Tensor) else cr.maximum(a, b)


broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3)


@FAST
@given(shapes=broadcast_pairs, op=st.sampled_from(sorted(BINARY)), data=st.data())
def test_broadcast_binary_op_gradients_have_input_shapes_and_match_torch(shapes, op, data):
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    positive = op in ("div", "pow")  # denominators and bases of real powers
    a = data.draw(values(sa, 0.5 if op == "pow" else -3.0, 3.0))
    b = data.draw(values(sb, 0.5 if positive else -3.0, 3.0))
    ca, cb = leaf(a), leaf(b)
    out = BINARY[op](ca, cb)
    assert out.shape == out_shape
    out.sum().backward()
    assert ca.grad.shape == sa and cb.grad.shape == sb
    ta, tb = torch_leaf(a), torch_leaf(b)
    BINARY[op](ta, tb).sum().backward()
    assert_close(out, BINARY[op](ta, tb))
    assert_close(ca.grad, ta.grad, atol=1e-12)
    assert_close(cb.grad, tb.grad, atol=1e-12)


@FAST
@given(shapes=broadcast_pairs, data=st.data())
def test_broadcast_gradients_sum_to_the_expected_totals(shapes, data):
    """d/da sum(a + b) counts how often each a_i was broadcast: the total is out.numel(); for
    a * b the total is the sum of the broadcast b; for a / b, the sum of the broadcast 1 / b."""
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    n = math.prod(out_shape)
    a = data.draw(values(sa))
    b = data.draw(values(sb, 0.5, 3.0))
    b_wide = np.broadcast_to(b, out_shape)

    ca, cb = leaf(a), leaf(b)
    (ca + cb).sum().backward()
    np.testing.assert_array_equal(ca.grad.numpy(), np.full(sa, n / math.prod(sa)))
    assert cb.grad.numpy().sum() == n
    ca.grad = cb.grad = None
    (ca - cb).sum().backward()
    assert ca.grad.numpy().sum() == n and cb.grad.numpy().sum() == -n
    ca.grad = cb.grad = None
    (ca * cb).sum().backward()
    np.testing.assert_allclose(ca.grad.numpy().sum(), b_wide.sum(), rtol=1e-12, atol=1e-12)
    ca.grad = cb.grad = None
    (ca / cb).sum().backward()
    np.testing.assert_allclose(ca.grad.numpy().sum(), (1 / b_wide).sum(), rtol=1e-12)


# -- reductions over random dims --------------------------------------------------------------
@st.composite
def shape_and_dims(draw, single: bool = False):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    ndim = len(shape)
    axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1, max_size=ndim))
    dims = [d - ndim if draw(st.booleans()) else d for d in axes]  # some negative
    if single:
        return shape, dims[0]
    return shape, dims[0] if len(dims) == 1 and draw(st.booleans()) else tuple(dims)


REDUCTIONS = {
    "sum": lambda x, d, k: x.sum(d, keepdim=k),
    "mean": lambda x, d, k: x.mean(d, keepdim=k),
    "amax": lambda x, d, k: x.amax(d, keepdim=k),
    "amin": lambda x, d, k: x.amin(d, keepdim=k),
    "logsumexp": lambda x, d, k: x.logsumexp(d, keepdim=k),
    "var": lambda x, d, k: x.var(d, correction=0, keepdim=k),
}


@FAST
@given(sd=shape_and_dims(), op=st.sampled_from(sorted(REDUCTIONS)), keepdim=st.booleans(),
       data=st.data())  # fmt: skip
def test_reduction_over_random_dims_matches_torch(sd, op, keepdim, data):
    shape, dim = sd
    x = data.draw(values(shape))
    cx, tx = leaf(x), torch_leaf(x)
    y = REDUCTIONS[op](cx, dim, keepdim)
    expected = REDUCTIONS[op](tx, dim, keepdim)
    assert_close(y, expected, atol=1e-12)
    g = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(cr.tensor(g))
    expected.backward(torch.from_numpy(g))
    assert_close(cx.grad, tx.grad, atol=1e-12)


@FAST
@given(sd=shape_and_dims(), keepdim=st.booleans(), data=st.data())
def test_sum_and_mean_gradients_are_ones_and_one_over_count(sd, keepdim, data):
    shape, dim = sd
    x = leaf(data.draw(values(shape)))
    dims = (dim,) if isinstance(dim, int) else dim
    count = math.prod(shape[d] for d in dims)
    x.sum(dim, keepdim=keepdim).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(shape))
    x.grad = None
    x.mean(dim, keepdim=keepdim).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(shape, 1 / count), rtol=1e-15)


@FAST
@given(sd=shape_and_dims(single=True), keepdim=st.booleans(), op=st.sampled_from(["max", "min"]),
       data=st.data())  # fmt: skip
def test_max_min_along_a_dim_match_torch(sd, keepdim, op, data):
    shape, dim = sd
    # small integers make ties likely; torch and chainrule both report the first extreme
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.integers(-2, 2).map(float)))
    cx, tx = leaf(x), torch_leaf(x)
    values_c, indices_c = getattr(cx, op)(dim, keepdim=keepdim)
    values_t, indices_t = getattr(tx, op)(dim, keepdim=keepdim)
    assert_close(values_c, values_t)
    np.testing.assert_array_equal(indices_c.numpy(), indices_t.numpy())
    values_c.sum().backward()
    values_t.sum().backward()
    assert_close(cx.grad, tx.grad)


# -- indexing: NumPy is the oracle (torch has no negative steps) --------------------------------
shapes_1_to_3 = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


@FAST
@given(data=st.data(), shape=shapes_1_to_3)
def test_basic_indexing_matches_numpy_and_routes_the_gradient(data, shape):
    key = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    x = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    cx = leaf(x)
    y = cx[key]
    np.testing.assert_array_equal(y.detach().numpy(), x[key])
    g = np.random.default_rng(1).standard_normal(np.shape(x[key]))
    y.backward(cr.tensor(g))
    expected = np.zeros(shape)
    expected[key] = g  # a basic key reaches each element at most once
    np.testing.assert_array_equal(cx.grad.numpy(), expected)


@FAST
@given(data=st.data(), shape=shapes_1_to_3)
def test_integer_array_indexing_accumulates_repeats(data, shape):
    key = data.draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=2)))
    x = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    cx = leaf(x)
    y = cx[key]
    np.testing.assert_array_equal(y.detach().numpy(), x[key])
    g = np.random.default_rng(2).standard_normal(np.shape(x[key]))
    y.backward(cr.tensor(g))
    expected = np.zeros(shape)
    np.add.at(expected, key, g)
    np.testing.assert_allclose(cx.grad.numpy(), expected, rtol=1e-12, atol=1e-12)


# -- matmul over random batch shapes and 1-D promotion ----------------------------------------
@FAST
@given(
    batch=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
    nkm=st.tuples(*[st.integers(1, 4)] * 3),
    vector=st.sampled_from(["none", "left", "right", "both"]),
    data=st.data(),
)
def test_matmul_random_shapes_match_torch(batch, nkm, vector, data):
    n, k, m = nkm
    sa, sb = batch.input_shapes
    shape_a = (k,) if vector in ("left", "both") else (*sa, n, k)
    shape_b = (k,) if vector in ("right", "both") else (*sb, k, m)
    a, b = data.draw(values(shape_a)), data.draw(values(shape_b))
    ca, cb, ta, tb = leaf(a), leaf(b), torch_leaf(a), torch_leaf(b)
    y, expected = ca @ cb, ta @ tb
    assert_close(y, expected, atol=1e-12)
    g = np.random.default_rng(3).standard_normal(y.shape)
    y.backward(cr.tensor(g))
    expected.backward(torch.from_numpy(g))
    assert_close(ca.grad, ta.grad, atol=1e-12)
    assert_close(cb.grad, tb.grad, atol=1e-12)


# -- softmax family ---------------------------------------------------------------------------
@st.composite
def array_and_dim(draw, low: float = -50.0, high: float = 50.0):
    shape, dim = draw(shape_and_dims(single=True))
    return draw(values(shape, low, high)), dim


@FAST
@given(xd=array_and_dim(), shift=st.floats(-100, 100))
def test_softmax_sums_to_one_and_ignores_shifts(xd, shift):
    x, dim = xd
    p = cr.tensor(x).softmax(dim)
    np.testing.assert_allclose(p.numpy().sum(axis=dim), 1.0, rtol=1e-12)
    assert ((p.numpy() >= 0) & (p.numpy() <= 1)).all()
    shifted = cr.tensor(x + shift).softmax(dim)
    np.testing.assert_allclose(shifted.numpy(), p.numpy(), rtol=1e-9, atol=1e-12)


@FAST
@given(xd=array_and_dim(-20.0, 20.0), beta=st.floats(-3, 3))
def test_log_softmax_is_log_of_softmax_and_beta_scales(xd, beta):
    x, dim = xd
    t = cr.tensor(x)
    logp = t.log_softmax(dim, beta=beta).numpy()
    np.testing.assert_allclose(logp, np.log(t.softmax(dim, beta=beta).numpy()), rtol=1e-10,
                               atol=1e-10)  # fmt: skip
    np.testing.assert_allclose(logp, cr.tensor(beta * x).log_softmax(dim).numpy(), rtol=1e-10,
                               atol=1e-10)  # fmt: skip
    expected = torch.log_softmax(beta * torch.from_numpy(x), dim).numpy()
    np.testing.assert_allclose(logp, expected, rtol=1e-10, atol=1e-10)


@FAST
@given(xd=array_and_dim(-1e4, 1e4))
def test_log_softmax_and_its_gradient_stay_finite_for_large_values(xd):
    x, dim = xd
    t = leaf(x)
    y = t.log_softmax(dim)
    assert np.isfinite(y.detach().numpy()).all()
    assert (y.detach().numpy() <= 0).all()
    y.sum().backward()
    assert np.isfinite(t.grad.numpy()).all()


# -- stability at large magnitudes ------------------------------------------------------------
@FAST
@given(data=st.data(), shape=hnp.array_shapes(max_dims=2, max_side=6),
       dtype=st.sampled_from([np.float32, np.float64]))  # fmt: skip
def test_sigmoid_is_finite_and_bounded_up_to_1e4(data, shape, dtype):
    x = data.draw(values(shape, -1e4, 1e4, dtype))
    t = leaf(x)
    y = t.sigmoid()
    assert y.dtype == dtype
    out = y.detach().numpy()
    assert np.isfinite(out).all() and ((out >= 0) & (out <= 1)).all()
    y.sum().backward()
    grad = t.grad.numpy()
    assert np.isfinite(grad).all() and (grad >= 0).all() and (grad <= 0.25).all()
    np.testing.assert_allclose(out, torch.sigmoid(torch.from_numpy(x)).numpy(),
                               rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-30)  # fmt: skip


@settings(deadline=None, max_examples=10)
@given(dtype=st.sampled_from([np.float32, np.float64]), big=st.sampled_from([1e3, 1e4]))
def test_sigmoid_limits_are_exact(dtype, big):
    y = cr.tensor(np.array([-big, big], dtype=dtype)).sigmoid().numpy()
    assert y[0] == 0.0 and y[1] == 1.0


@FAST
@given(xd=array_and_dim(-1e4, 1e4))
def test_logsumexp_is_stable_up_to_1e4(xd):
    x, dim = xd
    t = leaf(x)
    y = t.logsumexp(dim)
    out = y.detach().numpy()
    top = x.max(axis=dim)
    assert np.isfinite(out).all()
    assert (out >= top).all() and (out <= top + math.log(x.shape[dim]) + 1e-9 * abs(top)).all()
    np.testing.assert_allclose(out, torch.from_numpy(x).logsumexp(dim).numpy(), rtol=1e-12)
    y.sum().backward()  # the gradient is softmax along dim: finite, summing to 1
    np.testing.assert_allclose(t.grad.numpy().sum(axis=dim), 1.0, rtol=1e-12)


@settings(deadline=None, max_examples=10)
@given(big=st.sampled_from([1e2, 1e3, 1e4]), n=st.integers(1, 5))
def test_logsumexp_of_equal_large_values(big, n):
    y = cr.tensor(np.full(n, big)).logsumexp(0).item()
    assert math.isclose(y, big + math.log(n), rel_tol=1e-15)
