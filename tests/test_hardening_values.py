"""Values and gradients at the edges (issue 8, part 2), held against PyTorch.

* Singular points with a removable 0/0 (std and norm at zero spread): PyTorch's gradient is 0.
* Masks select, they do not multiply: an infinite upstream gradient through a zeroed mask is 0.
* pow's special cases at base 0, and negative bases.
* Empty tensors: softmax/logsumexp over a zero-size dim, var/std/mean and mean-reduced losses.

Every chainrule run here turns warnings into errors: no NumPy RuntimeWarning may reach the user.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F

NAN, INF = float("nan"), float("inf")


def _run(lib: Any, fn: Callable, values: Sequence[Any], dtype: str, upstream: Any) -> tuple:
    xs = [lib.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in values]
    xs = [x.to(getattr(lib, dtype)).detach().requires_grad_() for x in xs]
    y = fn(lib, *xs)
    g = np.ones(tuple(y.shape)) if upstream is None else np.asarray(upstream, dtype=np.float64)
    y.backward(lib.tensor(g).to(getattr(lib, dtype)))
    grads = [x.grad.detach().numpy() if x.grad is not None else None for x in xs]
    return y.detach().numpy(), grads


def compare(
    fn: Callable, *values: Any, dtype: str = "float64", upstream: Any = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """fn(lib, *tensors) on chainrule and torch: same values, shapes and gradients (nan = nan)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, grads = _run(cr, fn, values, dtype, upstream)
    with warnings.catch_warnings():  # torch warns of var's degrees of freedom <= 0
        warnings.simplefilter("ignore")
        ty, tgrads = _run(torch, fn, values, dtype, upstream)
    # atol for gradients that are 0 up to rounding (softmax's with a constant upstream)
    rtol, atol = (1e-12, 1e-15) if dtype == "float64" else (1e-6, 1e-7)
    assert y.shape == ty.shape
    np.testing.assert_allclose(y, ty, rtol=rtol, atol=0, equal_nan=True)
    for i, (a, b) in enumerate(zip(grads, tgrads, strict=True)):
        assert (a is None) == (b is None), f"input {i}"
        if a is not None:
            assert a.shape == b.shape, f"input {i}: {a.shape} vs {b.shape}"
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True, err_msg=f"{i}")
    return y, grads


# -- 1. removable singularities -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "fn",
    [
        lambda L, x: L.relu(x).std(),
        lambda L, x: L.relu(x).std(dim=1),
        lambda L, x: L.relu(x).std(dim=0, keepdim=True),
        lambda L, x: L.relu(x).std(correction=0),
        lambda L, x: L.relu(x).var(dim=1),
        lambda L, x: L.relu(x).norm(),
        lambda L, x: L.relu(x).norm(dim=1),
        lambda L, x: L.relu(x).norm(p=1, dim=1),
        lambda L, x: L.relu(x).norm(p=3, dim=1, keepdim=True),
        lambda L, x: L.relu(x).norm(p=1.5, dim=1),
        lambda L, x: L.relu(x).norm(p=0.5, dim=1),
        lambda L, x: L.relu(x).norm(p=INF, dim=1),
    ],
    ids=["std", "std-dim1", "std-dim0-keepdim", "std-c0", "var-dim1", "norm", "norm-dim1",
         "norm-p1", "norm-p3-keepdim", "norm-p1.5", "norm-p0.5", "norm-inf"],
)  # fmt: skip
def test_zero_spread_gives_zero_gradient_like_torch(fn: Callable, dtype: str) -> None:
    # a dead unit (relu of negatives) makes rows of zeros: the singular point of std and norm
    # (row 0 and column 1 are all zeros after the relu)
    x = [[-1.0, -2.0, -0.5], [3.0, 0.0, -4.0], [1.0, -2.0, 0.5]]
    _, (grad,) = compare(fn, x, dtype=dtype, upstream=None)
    assert np.isfinite(grad).all()


def test_zero_spread_gradient_is_zero_not_nan() -> None:
    x = cr.tensor([-1.0, -2.0, -3.0], dtype=cr.float64, requires_grad=True)
    cr.relu(x).std().backward()
    assert x.grad.numpy().tolist() == [0.0, 0.0, 0.0]
    v = cr.tensor([0.0, 0.0], dtype=cr.float64, requires_grad=True)
    v.norm().backward()
    assert v.grad.numpy().tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    "fn",
    [
        lambda L, x: x.std(dim=1),
        lambda L, x: x.std(),
        lambda L, x: x.norm(dim=1),
        lambda L, x: x.norm(p=3, dim=0),
        lambda L, x: x.norm(p=1.5),
    ],
    ids=["std-dim1", "std", "norm-dim1", "norm-p3", "norm-p1.5"],
)
def test_second_derivatives_match_torch_and_gradgradcheck(fn: Callable) -> None:
    rng = np.random.default_rng(3)
    data = rng.uniform(0.5, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    x = cr.tensor(data, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda t: fn(cr, t), (x,))
    # the Hessian-vector product against torch's
    v = rng.standard_normal((3, 4))
    out = []
    for lib in (cr, torch):
        t = lib.tensor(data, dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(fn(lib, t).sum(), t, create_graph=True)
        (h,) = lib.autograd.grad((g * lib.tensor(v)).sum(), t)
        out.append(h.detach().numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "fn",
    [lambda L, x: L.relu(x).std(dim=1), lambda L, x: L.relu(x).norm(dim=1)],
    ids=["std", "norm"],
)
def test_second_derivative_at_the_singular_point_is_finite(fn: Callable) -> None:
    # torch: 0 here too (its masked_fill is a constant where the spread is zero)
    x = cr.tensor([[-1.0, -2.0], [1.0, 3.0]], dtype=cr.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (g,) = cr.autograd.grad(fn(cr, x).sum(), x, create_graph=True)
        (h,) = cr.autograd.grad((g * g).sum() + g.sum(), x)
    t = torch.tensor([[-1.0, -2.0], [1.0, 3.0]], dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(fn(torch, t).sum(), t, create_graph=True)
    (th,) = torch.autograd.grad((tg * tg).sum() + tg.sum(), t)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-10, atol=1e-12)
    assert np.isfinite(h.numpy()).all()


# -- 2. masks select ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn, values",
    [
        (lambda L, x: L.relu(x).sqrt(), [[-1.0, 0.0, 4.0]]),
        (lambda L, x: L.relu(x), [[NAN, 1.0, -1.0]]),
        (lambda L, x: x.clamp(min=0).sqrt(), [[-1.0, 0.0, 4.0]]),
        (lambda L, x: x.clamp(min=-1, max=0.0).neg().sqrt(), [[-2.0, -0.25, 4.0]]),
        (lambda L, x, y: L.maximum(x, y), [[NAN, 1.0, 2.0, 3.0], [1.0, NAN, 2.0, 1.0]]),
        (lambda L, x, y: L.minimum(x, y), [[NAN, 1.0, 2.0, 3.0], [1.0, NAN, 2.0, 1.0]]),
        (lambda L, x, y: L.maximum(x, y).sqrt(), [[-1.0, 0.0], [0.0, -2.0]]),
        (lambda L, x, y: L.minimum(x, y).neg().sqrt(), [[1.0, 0.0], [0.0, 2.0]]),
        (lambda L, x: L.where(x > 0, x, L.zeros_like(x)).sqrt(), [[-1.0, 4.0]]),
        (lambda L, x: x.amax(dim=1), [[[-1.0, 0.0], [2.0, 2.0]]]),
        (lambda L, x: L.softmax(x, 0), [[INF, 1.0, 0.0]]),
        (lambda L, x: L.log_softmax(x, 0), [[INF, 1.0, -INF]]),
        (lambda L, x: L.softmax(x, 0), [[-INF, -INF]]),
    ],
    ids=["relu-sqrt", "relu-nan", "clamp-sqrt", "clamp-both", "maximum-nan", "minimum-nan",
         "maximum-sqrt", "minimum-sqrt", "where-sqrt", "amax-ties", "softmax-inf",
         "log_softmax-inf", "softmax-all-minus-inf"],
)  # fmt: skip
def test_masked_rules_match_torch(fn: Callable, values: list) -> None:
    compare(fn, *values)


def test_relu_sqrt_at_zero_is_zero_not_nan() -> None:
    _, (grad,) = compare(lambda L, x: L.relu(x).sqrt(), [-1.0, 0.0, 4.0])
    assert grad.tolist() == [0.0, 0.0, 0.25]


def test_masks_select_where_torch_multiplies() -> None:
    # torch gives nan at abs'(0) * inf and at amax's non-maximal entries * inf (its rules multiply
    # by a 0/1 mask); the entries that do not move the output get exactly 0 here, like relu's
    x = cr.tensor([-1.0, 0.0, 4.0], dtype=cr.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.abs().sqrt().sum().backward()
    assert x.grad.numpy().tolist() == [-0.5, 0.0, 0.25]
    x = cr.tensor([-1.0, 0.0, 0.0], dtype=cr.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.amax().sqrt().backward()
    assert x.grad.numpy().tolist() == [0.0, INF, INF]


def test_amax_of_a_nan_row_sends_the_gradient_to_the_nan() -> None:
    # like torch.max(): nan is the maximum, so it owns the gradient (no 0/0 from an empty tie set)
    x = cr.tensor([[NAN, 1.0], [2.0, 1.0]], dtype=cr.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.amax(dim=1).sum().backward()
    assert x.grad.numpy().tolist() == [[1.0, 0.0], [1.0, 0.0]]


def test_index_put_backward_selects() -> None:
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        y = x * 1
        y[1] = 0.0
        y.sqrt().sum().backward()
        assert x.grad.numpy().tolist() == [0.5, 0.0, 0.5 / 3**0.5]


def test_index_put_backward_selects_under_create_graph() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    y = x * x
    y[1] = 0.0
    (g,) = cr.autograd.grad(y.sqrt().sum(), x, create_graph=True)
    assert g.detach().numpy().tolist() == [1.0, 0.0, 1.0]
    (h,) = cr.autograd.grad(g.sum(), x)
    assert h.numpy().tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ignored_rows_get_zero_even_with_inf_inputs(reduction: str) -> None:
    logits = [[1.0, 2.0, 0.5], [INF, 0.0, 1.0], [0.0, 1.0, 2.0]]
    target = [0, -100, 2]

    def loss(name: str) -> Callable:
        return lambda L, x: getattr(F if L is cr else TF, name)(
            x, L.tensor(target), reduction=reduction
        )

    compare(loss("nll_loss"), logits)  # torch's nll selects too
    # torch's cross-entropy is log_softmax + nll: its log_softmax backward multiplies the
    # ignored row's 0 by nan; the fused rule selects 0 there, and agrees with torch elsewhere
    x = cr.tensor(logits, dtype=cr.float64, requires_grad=True)
    t = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.cross_entropy(x, cr.tensor(target), reduction=reduction)
        y.sum().backward()
    ty = TF.cross_entropy(t, torch.tensor(target), reduction=reduction)
    ty.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    assert x.grad.numpy()[1].tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(t.grad.numpy()[1]).all()
    np.testing.assert_allclose(x.grad.numpy()[[0, 2]], t.grad.numpy()[[0, 2]], rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_all_ignored_targets_like_torch(loss: str, reduction: str) -> None:
    def fn(L: Any, x: Any) -> Any:
        mod = F if L is cr else TF
        return getattr(mod, loss)(x, L.tensor([-100, -100]), reduction=reduction)

    compare(fn, [[1.0, 2.0], [3.0, 4.0]])


def test_cross_entropy_label_smoothing_all_ignored_like_torch() -> None:
    def fn(L: Any, x: Any) -> Any:
        mod = F if L is cr else TF
        return mod.cross_entropy(x, L.tensor([-100, -100]), label_smoothing=0.1)

    compare(fn, [[1.0, 2.0], [3.0, 4.0]])


# -- 3. pow at base 0 -------------------------------------------------------------------------
BASES = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0, -2.0, -2.0, 2.0, -0.0]
EXPONENTS = [-1.0, -2.0, -0.5, 0.0, 0.5, 2.0, 3.0, -2.0, 0.5, 0.0, 1.0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pow_both_gradients_at_base_zero_like_torch(dtype: str) -> None:
    _, (_, gy) = compare(lambda L, x, y: x**y, BASES, EXPONENTS, dtype=dtype)
    assert gy[0] == -INF  # 0^-1: d/dy = inf * ln 0


@pytest.mark.parametrize("p", [-1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0])
def test_pow_scalar_exponent_like_torch(p: float) -> None:
    # (not -0.0: torch computes x^-0.5 as rsqrt, giving -inf at -0 where C's pow gives +inf)
    compare(lambda L, x: x**p, [0.0, -2.0, 1.5, 4.0])


@pytest.mark.parametrize("base", [0.0, 2.0, -2.0])
def test_pow_scalar_base_like_torch(base: float) -> None:
    compare(lambda L, y: base**y, [-1.0, 0.0, 0.5, 2.0, 3.0])


def test_pow_exponent_zero_selects_zero_under_inf_upstream() -> None:
    # d(x^0)/dx is 0 everywhere: a selected constant, also when the upstream gradient is inf
    compare(lambda L, x: x**0, [0.0, 2.0], upstream=[INF, 1.0])
    compare(lambda L, x, y: x ** y.detach(), [0.0, 2.0], [0.0, 0.0], upstream=[INF, 1.0])


def test_pow_exponent_gradient_at_base_zero_selects_under_inf_upstream() -> None:
    # torch multiplies g by its 0 here (inf * 0 = nan); 0^b is flat in b for b > 0, so the
    # selected 0 is exact
    x = cr.tensor([0.0, 2.0], dtype=cr.float64)
    y = cr.tensor([2.0, 1.0], dtype=cr.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x**y).backward(cr.tensor([INF, 1.0], dtype=cr.float64))
    assert y.grad.numpy().tolist() == [0.0, 2.0 * np.log(2.0)]


def test_pow_second_derivative_at_base_zero_like_torch() -> None:
    out = []
    for lib in (cr, torch):
        x = lib.tensor([0.0, 1.0, 2.0], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad((x**2).sum() + (x**1).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        out.append(h.numpy())
    np.testing.assert_array_equal(out[0], out[1])


# -- 4. empty tensors -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn, shape",
    [
        (lambda L, x: L.softmax(x, dim=1), (3, 0)),
        (lambda L, x: L.log_softmax(x, dim=1), (3, 0)),
        (lambda L, x: L.softmax(x, dim=0), (0, 3)),
        (lambda L, x: L.log_softmax(x, dim=-1), (0, 3)),
        (lambda L, x: L.logsumexp(x, dim=1), (3, 0)),
        (lambda L, x: L.logsumexp(x, dim=(0, 1), keepdim=True), (3, 0)),
        (lambda L, x: L.logsumexp(x, dim=0), (0, 3)),
        (lambda L, x: x.var(), (0,)),
        (lambda L, x: x.std(), (0,)),
        (lambda L, x: x.var(dim=1), (3, 0)),
        (lambda L, x: x.std(dim=0), (0, 3)),
        (lambda L, x: x.std(dim=1, correction=0), (3, 0)),
        (lambda L, x: x.mean(), (0,)),
        (lambda L, x: x.mean(dim=1), (3, 0)),
        (lambda L, x: x.norm(), (0,)),
        (lambda L, x: x.norm(dim=1), (3, 0)),
        (lambda L, x: x.norm(p=3, dim=1), (3, 0)),
    ],
    ids=["softmax-3x0", "log_softmax-3x0", "softmax-0x3-dim0", "log_softmax-0x3", "lse-3x0",
         "lse-all", "lse-0x3", "var", "std", "var-dim1", "std-dim0", "std-c0", "mean",
         "mean-dim1", "norm", "norm-dim1", "norm-p3"],
)  # fmt: skip
def test_empty_reductions_like_torch(fn: Callable, shape: tuple) -> None:
    y, _ = compare(lambda L, x: fn(L, x.reshape(shape)), np.zeros(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert y.shape == tuple(fn(torch, torch.zeros(shape)).shape)


def test_logsumexp_over_an_empty_dim_is_minus_inf() -> None:
    y = cr.logsumexp(cr.zeros(2, 0, dtype=cr.float64), dim=1)
    assert y.numpy().tolist() == [-INF, -INF]


def test_var_and_std_of_a_single_element_like_torch() -> None:
    compare(lambda L, x: x.var(), [1.5])
    compare(lambda L, x: x.std(dim=1), [[1.5], [2.0]])
    compare(lambda L, x: x.std(dim=1, correction=0), [[1.5], [2.0]])


@pytest.mark.parametrize(
    "loss",
    [
        lambda M, L, x: M.cross_entropy(x.reshape(0, 3), L.zeros(0, dtype=L.int64)),
        lambda M, L, x: M.cross_entropy(x.reshape(0, 3), L.zeros(0, dtype=L.int64),
                                        label_smoothing=0.2),
        lambda M, L, x: M.cross_entropy(x.reshape(0, 3), x.reshape(0, 3).detach()),
        lambda M, L, x: M.nll_loss(x.reshape(0, 3), L.zeros(0, dtype=L.int64)),
        lambda M, L, x: M.binary_cross_entropy(x.sigmoid(), x.detach().sigmoid()),
        lambda M, L, x: M.binary_cross_entropy_with_logits(x, x.detach()),
        lambda M, L, x: M.mse_loss(x, x.detach() + 1),
        lambda M, L, x: M.l1_loss(x, x.detach() + 1),
        lambda M, L, x: M.cross_entropy(x.reshape(0, 3), L.zeros(0, dtype=L.int64),
                                        reduction="sum"),
    ],
    ids=["ce", "ce-smooth", "ce-probs", "nll", "bce", "bce-logits", "mse", "l1", "ce-sum"],
)  # fmt: skip
def test_mean_losses_of_an_empty_batch_like_torch(loss: Callable) -> None:
    y, _ = compare(lambda L, x: loss(F if L is cr else TF, L, x), np.zeros(0))
    assert y.shape == ()


# -- 5. random compositions with inf, 0 and nan inputs, against torch ---------------------------
SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, -3.0, INF, -INF, NAN, 1e-300, 0.5]
COMPOSITIONS = [
    lambda L, x: L.relu(x).sqrt(),
    lambda L, x: L.sigmoid(x) * L.tanh(x),
    lambda L, x: x.clamp(-1.0, 1.0).exp(),
    lambda L, x: L.maximum(x, x * 0.5),
    lambda L, x: L.minimum(x.abs(), x.exp()),
    lambda L, x: L.softmax(x.reshape(-1), 0),
    lambda L, x: L.log_softmax(x.reshape(-1), 0),
    lambda L, x: L.logsumexp(x.reshape(-1), 0),
    lambda L, x: L.where(x > 0, x.log(), x),
    lambda L, x: (x * x).sum() ** 0.5,
    lambda L, x: x.norm(p=2),
    lambda L, x: L.relu(x).std(),
    lambda L, x: x.abs() ** 1.5,
    lambda L, x: L.relu(x) ** 0,
]


@pytest.mark.parametrize("index", range(len(COMPOSITIONS)))
def test_compositions_with_special_values_like_torch(index: int) -> None:
    fn = COMPOSITIONS[index]
    rng = np.random.default_rng(index)
    for _ in range(4):
        values = rng.choice(SPECIAL, size=5)
        compare(fn, values)
