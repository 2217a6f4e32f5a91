"""cr.nn.functional losses against torch.nn.functional in float64, forward and gradients.

Every loss, every reduction, gradients with respect to the inputs (and the targets where torch
differentiates them), the numerically hard corners (logits of +-1e4, probabilities of exactly 0 and
1), the seed formulas the fused primitives implement, their second derivatives, and the errors.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

REDUCTIONS = ["mean", "sum", "none"]
RTOL, ATOL = 1e-10, 1e-12


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny tensors: torch's thread pool only adds overhead (10x here), so use one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def both(fn: Callable, *arrays: Any, grad: Sequence[int] = (0,), seed: int = 0) -> None:
    """Run fn(F, *tensors) with chainrule and with torch; compare values and gradients.

    `grad` lists the positions of the arrays that require grad. A random upstream gradient is
    used when the loss is not a scalar.
    """
    cr_args = [
        cr.tensor(a, requires_grad=i in grad) if a is not None else None
        for i, a in enumerate(arrays)
    ]
    t_args = [
        torch.tensor(a, requires_grad=i in grad) if a is not None else None
        for i, a in enumerate(arrays)
    ]
    y = fn(F, *cr_args)
    ty = fn(TF, *t_args)
    assert tuple(y.shape) == tuple(ty.shape)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=RTOL, atol=ATOL)
    upstream = rng(seed + 100).standard_normal(tuple(ty.shape))
    y.backward(cr.tensor(upstream))
    ty.backward(torch.tensor(upstream))
    for i in grad:
        np.testing.assert_allclose(
            cr_args[i].grad.numpy(),
            t_args[i].grad.numpy(),
            rtol=RTOL,
            atol=ATOL,
            err_msg=f"gradient of argument {i}",
        )


def logits(*shape: int, seed: int = 0) -> np.ndarray:
    return rng(seed).standard_normal(shape) * 2


def classes(n_classes: int, *shape: int, seed: int = 1) -> np.ndarray:
    return rng(seed).integers(0, n_classes, size=shape)


def probabilities(*shape: int, dim: int = 1, seed: int = 2) -> np.ndarray:
    raw = rng(seed).uniform(0.05, 1.0, size=shape)
    return raw / raw.sum(axis=dim, keepdims=True)


# -- cross_entropy with class indices --------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_2d(reduction):
    both(lambda f, x, t: f.cross_entropy(x, t, reduction=reduction), logits(6, 4), classes(4, 6))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_single_sample(reduction):
    both(
        lambda f, x, t: f.cross_entropy(x, t, reduction=reduction),
        logits(5),
        np.array(3),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_k_dimensional(reduction):
    both(
        lambda f, x, t: f.cross_entropy(x, t, reduction=reduction),
        logits(2, 3, 4, 5),
        classes(3, 2, 4, 5),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 4), (2, 4, 3)])
def test_cross_entropy_weight(reduction, shape):
    n, c, rest = shape[0], shape[1], shape[2:]
    weight = rng(5).uniform(0.2, 2.0, size=c)
    both(
        lambda f, x, t, w: f.cross_entropy(x, t, weight=w, reduction=reduction),
        logits(*shape),
        classes(c, n, *rest),
        weight,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_ignore_index(reduction, ignore_index, weighted):
    target = np.array([0, ignore_index, 1, 3, ignore_index, 2 if ignore_index != 2 else 0])
    weight = rng(6).uniform(0.2, 2.0, size=4) if weighted else None
    both(
        lambda f, x, t, w: f.cross_entropy(
            x, t, weight=w, ignore_index=ignore_index, reduction=reduction
        ),
        logits(6, 4),
        target,
        weight,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.1, 0.35])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_label_smoothing(reduction, smoothing, weighted):
    weight = rng(7).uniform(0.2, 2.0, size=4) if weighted else None
    both(
        lambda f, x, t, w: f.cross_entropy(
            x, t, weight=w, reduction=reduction, label_smoothing=smoothing
        ),
        logits(6, 4),
        np.array([0, 3, -100, 1, 1, 2]),
        weight,
    )
    both(
        lambda f, x, t, w: f.cross_entropy(
            x, t, weight=w, reduction=reduction, label_smoothing=smoothing
        ),
        logits(2, 4, 3),
        classes(4, 2, 3),
        weight,
    )


def test_cross_entropy_all_ignored_mean_is_nan_like_torch():
    x, t = logits(3, 4), np.full(3, -100)
    ours = F.cross_entropy(cr.tensor(x), cr.tensor(t)).item()
    theirs = TF.cross_entropy(torch.tensor(x), torch.tensor(t)).item()
    assert math.isnan(ours) and math.isnan(theirs)
    assert F.cross_entropy(cr.tensor(x), cr.tensor(t), reduction="sum").item() == 0.0


# -- cross_entropy with probability targets --------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets(reduction):
    # gradients with respect to the targets too: torch differentiates soft targets
    both(
        lambda f, x, p: f.cross_entropy(x, p, reduction=reduction),
        logits(5, 4),
        probabilities(5, 4),
        grad=(0, 1),
    )
    both(
        lambda f, x, p: f.cross_entropy(x, p, reduction=reduction),
        logits(2, 3, 4),
        probabilities(2, 3, 4),
        grad=(0, 1),
    )
    both(
        lambda f, x, p: f.cross_entropy(x, p, reduction=reduction),
        logits(4),
        probabilities(4, dim=0),
        grad=(0, 1),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_weight_and_smoothing(reduction):
    weight = rng(8).uniform(0.2, 2.0, size=4)
    both(
        lambda f, x, p, w: f.cross_entropy(
            x, p, weight=w, reduction=reduction, label_smoothing=0.2
        ),
        logits(5, 4),
        probabilities(5, 4),
        weight,
        grad=(0, 1),
    )


def test_cross_entropy_module_matches_function():
    x, t = cr.tensor(logits(5, 3)), cr.tensor(classes(3, 5))
    loss = nn.CrossEntropyLoss(reduction="sum", label_smoothing=0.1)
    assert loss(x, t).item() == F.cross_entropy(x, t, reduction="sum", label_smoothing=0.1).item()
    assert repr(loss) == "CrossEntropyLoss(reduction='sum')"


# -- nll_loss --------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(reduction, weighted):
    weight = rng(9).uniform(0.2, 2.0, size=4) if weighted else None
    logp = np.log(probabilities(6, 4))
    both(
        lambda f, x, t, w: f.nll_loss(x, t, weight=w, reduction=reduction),
        logp,
        np.array([0, 3, 1, -100, 2, 2]),
        weight,
    )
    both(
        lambda f, x, t, w: f.nll_loss(x, t, weight=w, ignore_index=1, reduction=reduction),
        np.log(probabilities(2, 4, 3)),
        classes(4, 2, 3),
        weight,
    )
    both(
        lambda f, x, t, w: f.nll_loss(x, t, weight=w, reduction=reduction),
        np.log(probabilities(4, dim=0)),
        np.array(2),
        weight,
    )


def test_nll_of_log_softmax_is_cross_entropy():
    x, t = cr.tensor(logits(6, 5), requires_grad=True), cr.tensor(classes(5, 6))
    a = F.nll_loss(F.log_softmax(x, dim=1), t)
    b = F.cross_entropy(x, t)
    assert a.item() == pytest.approx(b.item(), rel=1e-14)
    (ga,) = cr.autograd.grad(a, [x])
    (gb,) = cr.autograd.grad(b, [x])
    np.testing.assert_allclose(ga.numpy(), gb.numpy(), rtol=1e-12, atol=1e-15)


# -- binary_cross_entropy_with_logits --------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction):
    targets = rng(3).uniform(0, 1, size=(4, 3))  # soft targets: torch differentiates them
    both(
        lambda f, x, y: f.binary_cross_entropy_with_logits(x, y, reduction=reduction),
        logits(4, 3),
        targets,
        grad=(0, 1),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_weight_and_pos_weight(reduction):
    x, y = logits(4, 3), rng(3).integers(0, 2, size=(4, 3)).astype(np.float64)
    weight = rng(4).uniform(0.2, 2.0, size=(4, 3))
    pos_weight = rng(5).uniform(0.5, 3.0, size=3)  # broadcast over the batch, one per class
    both(
        lambda f, x, y, w: f.binary_cross_entropy_with_logits(x, y, weight=w, reduction=reduction),
        x,
        y,
        weight,
        grad=(0, 1),
    )
    both(
        lambda f, x, y, w, pw: f.binary_cross_entropy_with_logits(
            x, y, weight=w, reduction=reduction, pos_weight=pw
        ),
        x,
        y,
        weight,
        pos_weight,
        grad=(0, 1),
    )
    both(
        lambda f, x, y, pw: f.binary_cross_entropy_with_logits(
            x, y, reduction=reduction, pos_weight=pw
        ),
        x,
        rng(6).uniform(0, 1, size=(4, 3)),
        pos_weight,
        grad=(0, 1),
    )


EXTREME_X = np.array([1e4, -1e4, 1e4, -1e4, 800.0, -800.0, 0.0])
EXTREME_Y = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("pos_weight", [None, 2.5])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_extreme_logits_match_torch(reduction, pos_weight):
    pw = None if pos_weight is None else np.full(EXTREME_X.shape, pos_weight)
    both(
        lambda f, x, y, pw: f.binary_cross_entropy_with_logits(
            x, y, reduction=reduction, pos_weight=pw
        ),
        EXTREME_X,
        EXTREME_Y,
        pw,
        grad=(0, 1),
    )


@pytest.mark.parametrize("dtype", [cr.float64, cr.float32])
def test_bce_with_logits_is_exact_and_finite_at_1e4(dtype):
    x = cr.tensor(EXTREME_X, dtype=dtype, requires_grad=True)
    y = cr.tensor(EXTREME_Y, dtype=dtype)
    losses = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    values = losses.detach().numpy()
    assert np.all(np.isfinite(values))
    # wrong sign: the loss is |x| exactly; right sign: exactly 0
    assert values[0] == 1e4 and values[1] == 1e4
    assert values[2] == 0.0 and values[3] == 0.0
    assert values[4] == 800.0 and values[5] == 800.0
    assert values[6] == pytest.approx(math.log(2), rel=1e-6)
    losses.sum().backward()
    grad = x.grad.numpy()
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad[:6], [1.0, -1.0, 0.0, 0.0, 1.0, -1.0])
    assert grad[6] == pytest.approx(-0.5)


def test_bce_with_logits_module():
    x, y = cr.tensor(logits(3)), cr.tensor([1.0, 0.0, 1.0])
    pw = cr.tensor([3.0, 3.0, 3.0])
    loss = nn.BCEWithLogitsLoss(pos_weight=pw, reduction="sum")
    assert loss(x, y).item() == pytest.approx(
        TF.binary_cross_entropy_with_logits(
            torch.tensor(x.numpy()),
            torch.tensor(y.numpy()),
            pos_weight=torch.tensor(pw.numpy()),
            reduction="sum",
        ).item(),
        rel=1e-6,
    )


# -- binary_cross_entropy --------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce(reduction, weighted):
    p = rng(10).uniform(0.02, 0.98, size=(5, 3))
    y = rng(11).uniform(0, 1, size=(5, 3))
    w = rng(12).uniform(0.2, 2.0, size=(5, 3)) if weighted else None
    both(
        lambda f, p, y, w: f.binary_cross_entropy(p, y, weight=w, reduction=reduction),
        p,
        y,
        w,
        grad=(0, 1),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_at_probabilities_0_and_1(reduction):
    # torch clamps the logs at -100: the loss is at most 100 and the gradient stays finite
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-10, 1 - 1e-10, 0.5])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    both(lambda f, p, y: f.binary_cross_entropy(p, y, reduction=reduction), p, y)
    x = cr.tensor(p, requires_grad=True)
    losses = F.binary_cross_entropy(x, cr.tensor(y), reduction="none")
    np.testing.assert_array_equal(losses.detach().numpy()[:4], [0.0, 0.0, 100.0, 100.0])
    losses.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_bce_of_float32_sigmoid_that_rounds_to_one_has_finite_gradient():
    z = cr.tensor([20.0, -20.0, 3.0], requires_grad=True)  # sigmoid(20) == 1.0 in float32
    p = cr.sigmoid(z)
    assert p.detach().numpy()[0] == 1.0
    F.binary_cross_entropy(p, cr.tensor([0.0, 1.0, 1.0])).backward()
    tz = torch.tensor([20.0, -20.0, 3.0], requires_grad=True)
    TF.binary_cross_entropy(torch.sigmoid(tz), torch.tensor([0.0, 1.0, 1.0])).backward()
    assert np.all(np.isfinite(z.grad.numpy()))
    np.testing.assert_allclose(z.grad.numpy(), tz.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_bce_refuses_values_outside_0_1():
    with pytest.raises(ValueError, match="binary_cross_entropy"):
        F.binary_cross_entropy(cr.tensor([0.5, 1.5]), cr.tensor([0.0, 1.0]))


# -- mse_loss and l1_loss --------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_regression_losses(reduction, name):
    both(
        lambda f, x, y: getattr(f, name)(x, y, reduction=reduction),
        logits(4, 3),
        logits(4, 3, seed=9),
        grad=(0, 1),
    )
    both(lambda f, x, y: getattr(f, name)(x, y, reduction=reduction), np.array(0.7), np.array(0.3))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_regression_losses_warn_on_broadcast_like_torch(name):
    x, y = logits(4, 1), logits(4, seed=3)
    with pytest.warns(UserWarning, match=r"\(4,\).*\(4, 1\)|\(4, 1\).*\(4,\)"):
        ours = getattr(F, name)(cr.tensor(x), cr.tensor(y))
    with pytest.warns(UserWarning):
        theirs = getattr(TF, name)(torch.tensor(x), torch.tensor(y))
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)


@pytest.mark.parametrize(
    ("module", "function"),
    [
        (nn.MSELoss, F.mse_loss),
        (nn.L1Loss, F.l1_loss),
        (nn.BCELoss, F.binary_cross_entropy),
        (nn.BCEWithLogitsLoss, F.binary_cross_entropy_with_logits),
    ],
)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_modules_match_functions(module, function, reduction):
    x = cr.tensor(rng(1).uniform(0.1, 0.9, size=(3, 2)))
    y = cr.tensor(rng(2).uniform(0, 1, size=(3, 2)))
    np.testing.assert_array_equal(
        module(reduction=reduction)(x, y).numpy(), function(x, y, reduction=reduction).numpy()
    )


def test_nll_module_matches_function():
    x, t = cr.tensor(np.log(probabilities(4, 3))), cr.tensor([0, 2, 1, 1])
    w = cr.tensor([1.0, 2.0, 0.5], dtype=cr.float64)
    np.testing.assert_array_equal(
        nn.NLLLoss(weight=w)(x, t).numpy(), F.nll_loss(x, t, weight=w).numpy()
    )


# -- the seed formulas -----------------------------------------------------------------------------


@pytest.mark.parametrize("c", [0, 2, 4])
def test_cross_entropy_gradient_is_softmax_minus_onehot(c):
    # seed 000 Ex3 Q1: dL/do = softmax(o) - onehot(c)
    o = np.array([0.3, -1.2, 2.0, 0.7, -0.4])
    x = cr.tensor(o, requires_grad=True)
    F.cross_entropy(x, cr.tensor(c), reduction="sum").backward()
    e = np.exp(o - o.max())
    expected = e / e.sum() - np.eye(5)[c]
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=0, atol=1e-16)
    # the same through a batch of one and a batch of three with 'sum'
    xb = cr.tensor(np.stack([o, o[::-1], o]), requires_grad=True)
    F.cross_entropy(xb, cr.tensor([c, 0, c]), reduction="sum").backward()
    np.testing.assert_allclose(xb.grad.numpy()[0], expected, rtol=0, atol=1e-16)
    np.testing.assert_allclose(xb.grad.numpy()[2], expected, rtol=0, atol=1e-16)


def test_cross_entropy_mean_gradient_divides_by_batch():
    o = logits(4, 3)
    t = np.array([0, 1, 2, 1])
    x = cr.tensor(o, requires_grad=True)
    F.cross_entropy(x, cr.tensor(t)).backward()
    e = np.exp(o - o.max(axis=1, keepdims=True))
    expected = (e / e.sum(axis=1, keepdims=True) - np.eye(3)[t]) / 4
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14, atol=1e-16)


def test_bce_with_logits_gradient_is_sigmoid_minus_target():
    # seed 000 Ex1 Q2-Q3: dL/df = sigmoid(f) - y
    f = np.array([-3.0, -0.5, 0.0, 0.25, 4.0, 30.0, -30.0])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    x = cr.tensor(f, requires_grad=True)
    F.binary_cross_entropy_with_logits(x, cr.tensor(y), reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / (1 + np.exp(-f)) - y, rtol=1e-15, atol=1e-16)


def test_fused_losses_are_recorded_as_their_primitives():
    x = cr.tensor(logits(3, 4), requires_grad=True)
    assert "CrossEntropy" in F.cross_entropy(x, cr.tensor([0, 1, 2])).grad_fn.name()
    z = cr.tensor(logits(3), requires_grad=True)
    bce = F.binary_cross_entropy_with_logits(z, cr.tensor([0.0, 1.0, 1.0]), reduction="none")
    assert "BinaryCrossEntropyWithLogits" in bce.grad_fn.name()


# -- second derivatives of the fused primitives ----------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradgradcheck(reduction):
    x = cr.tensor(logits(4, 3), requires_grad=True)
    t = cr.tensor([0, 2, 1, -100])
    w = cr.tensor([0.5, 1.5, 2.0], dtype=cr.float64)
    assert cr.autograd.gradcheck(lambda x: F.cross_entropy(x, t, reduction=reduction), (x,))
    assert cr.autograd.gradgradcheck(lambda x: F.cross_entropy(x, t, reduction=reduction), (x,))
    assert cr.autograd.gradgradcheck(
        lambda x: F.cross_entropy(x, t, weight=w, reduction=reduction), (x,)
    )


def test_cross_entropy_hessian_matches_torch():
    o, t = logits(2, 3), np.array([2, 0])
    ours = cr.autograd.functional.hessian(
        lambda x: F.cross_entropy(x, cr.tensor(t), reduction="sum"), cr.tensor(o)
    )
    theirs = torch.autograd.functional.hessian(
        lambda x: TF.cross_entropy(x, torch.tensor(t), reduction="sum"), torch.tensor(o)
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_gradgradcheck(reduction):
    x = cr.tensor(logits(5), requires_grad=True)
    y = cr.tensor(rng(4).uniform(0, 1, size=5), requires_grad=True)
    fn = lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction)  # noqa: E731
    assert cr.autograd.gradcheck(fn, (x, y))
    assert cr.autograd.gradgradcheck(fn, (x, y))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_gradgradcheck(reduction):
    p = cr.tensor(rng(5).uniform(0.1, 0.9, size=5), requires_grad=True)
    y = cr.tensor(rng(6).uniform(0, 1, size=5), requires_grad=True)
    fn = lambda p, y: F.binary_cross_entropy(p, y, reduction=reduction)  # noqa: E731
    assert cr.autograd.gradcheck(fn, (p, y))
    assert cr.autograd.gradgradcheck(fn, (p, y))


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", [5, 7, -1])
@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_label_out_of_range_names_label_and_class_count(fn, label):
    x = cr.tensor(logits(3, 5))
    with pytest.raises(IndexError) as info:
        fn(x, cr.tensor([0, label, 1]))
    message = str(info.value)
    assert str(label) in message and "5 classes" in message


def test_label_out_of_range_single_sample_and_k_dim():
    with pytest.raises(IndexError, match=r"\b4\b.*\b4 classes"):
        F.cross_entropy(cr.tensor(logits(4)), cr.tensor(4))
    target = classes(3, 2, 4)
    target[1, 2] = 9
    with pytest.raises(IndexError, match=r"\b9\b.*\b3 classes"):
        F.cross_entropy(cr.tensor(logits(2, 3, 4)), cr.tensor(target))


def test_ignore_index_is_not_out_of_range():
    loss = F.cross_entropy(cr.tensor(logits(3, 5)), cr.tensor([0, 42, 1]), ignore_index=42)
    assert np.isfinite(loss.item())


@pytest.mark.parametrize(
    "call",
    [
        lambda r: F.cross_entropy(cr.tensor(logits(3, 4)), cr.tensor([0, 1, 2]), reduction=r),
        lambda r: F.cross_entropy(
            cr.tensor(logits(3, 4)), cr.tensor(probabilities(3, 4)), reduction=r
        ),
        lambda r: F.nll_loss(cr.tensor(logits(3, 4)), cr.tensor([0, 1, 2]), reduction=r),
        lambda r: F.binary_cross_entropy_with_logits(cr.zeros(3), cr.zeros(3), reduction=r),
        lambda r: F.binary_cross_entropy(cr.full((3,), 0.5), cr.zeros(3), reduction=r),
        lambda r: F.mse_loss(cr.zeros(3), cr.zeros(3), reduction=r),
        lambda r: F.l1_loss(cr.zeros(3), cr.zeros(3), reduction=r),
        lambda r: nn.CrossEntropyLoss(reduction=r),
        lambda r: nn.MSELoss(reduction=r),
    ],
)
@pytest.mark.parametrize("bad", ["avg", "elementwise_mean", None])
def test_bad_reduction_is_a_value_error(call, bad):
    with pytest.raises(ValueError, match="reduction"):
        call(bad)


@pytest.mark.parametrize(
    ("call", "shapes"),
    [
        (lambda: F.cross_entropy(cr.zeros(3, 4), cr.tensor([0, 1])), ["(3, 4)", "(2,)"]),
        (lambda: F.cross_entropy(cr.zeros(2, 3, 4), cr.tensor([[0, 1, 2]])), ["(2, 3, 4)"]),
        (lambda: F.cross_entropy(cr.zeros(3, 4), cr.zeros(3, 5)), ["(3, 4)", "(3, 5)"]),
        (lambda: F.cross_entropy(cr.zeros(4), cr.tensor([1, 2])), ["(4,)", "(2,)"]),
        (lambda: F.nll_loss(cr.zeros(3, 4), cr.tensor([0, 1, 2, 3])), ["(3, 4)", "(4,)"]),
        (
            lambda: F.binary_cross_entropy_with_logits(cr.zeros(3), cr.zeros(3, 1)),
            ["(3,)", "(3, 1)"],
        ),
        (lambda: F.binary_cross_entropy(cr.full((2,), 0.5), cr.zeros(3)), ["(2,)", "(3,)"]),
        (lambda: F.mse_loss(cr.zeros(3), cr.zeros(4)), ["(3,)", "(4,)"]),
    ],
)
def test_shape_mismatch_is_a_value_error_naming_the_shapes(call, shapes):
    with warnings.catch_warnings(), pytest.raises(ValueError) as info:
        warnings.simplefilter("ignore")  # mse_loss warns about broadcasting first, as torch
        call()
    for shape in shapes:
        assert shape in str(info.value)


def test_cross_entropy_refuses_float_class_weight_shape():
    with pytest.raises(ValueError, match=r"\(4,\)"):
        F.cross_entropy(cr.tensor(logits(3, 4)), cr.tensor([0, 1, 2]), weight=cr.ones(3))


def test_cross_entropy_refuses_bool_targets():
    with pytest.raises(TypeError, match="target"):
        F.cross_entropy(cr.tensor(logits(3, 2)), cr.tensor([True, False, True]))
