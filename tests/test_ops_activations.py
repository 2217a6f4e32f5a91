"""Activations of nn.functional against torch.nn.functional and finite differences.

Each F function is called by the same name and arguments on both sides (`fn("gelu", ...)`);
random points are gradchecked and gradgradchecked, kink points (where finite differences see
the average of two slopes, not torch's convention) are compared with torch only.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import Case, case

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import errors

SHAPES = [(), (5,), (3, 4), (2, 3, 4)]


def fn(name: str, *args: Any, **kwargs: Any) -> Any:
    """The F function `name` of the tensor's library, called with these arguments."""

    def call(*tensors: Any) -> Any:
        module = F if isinstance(tensors[0], cr.Tensor) else TF
        return getattr(module, name)(*tensors, *args, **kwargs)

    return call


def floats(values: object) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def shape_name(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "scalar"


# name -> (positional args, keyword args, check_op options)
SMOOTH: dict[str, tuple[tuple, dict, dict]] = {
    "gelu": ((), {}, {}),
    "gelu-tanh": ((), {"approximate": "tanh"}, {}),
    "silu": ((), {}, {}),
    "mish": ((), {}, {}),
    "elu": ((), {}, {}),
    "elu-alpha": ((), {"alpha": 0.5}, {}),
    "selu": ((), {}, {}),
    "celu": ((), {}, {}),
    "celu-alpha": ((), {"alpha": 2.5}, {}),
    "softplus": ((), {}, {}),
    "softplus-beta": ((), {"beta": 2.0}, {}),
    "softplus-beta-threshold": ((), {"beta": 3.0, "threshold": 2.0}, {"gradcheck": False}),
    "softsign": ((), {}, {}),
    "logsigmoid": ((), {}, {}),
    "tanhshrink": ((), {}, {}),
    "sigmoid": ((), {}, {}),
    "tanh": ((), {}, {}),
}
PIECEWISE: dict[str, tuple[tuple, dict, dict]] = {
    "relu": ((), {}, {}),
    "relu6": ((), {}, {}),
    "leaky_relu": ((), {}, {}),
    "leaky_relu-slope": ((0.2,), {}, {}),
    "hardtanh": ((), {}, {}),
    "hardtanh-bounds": ((), {"min_val": -0.5, "max_val": 1.5}, {}),
    "hardsigmoid": ((), {}, {}),
    "hardswish": ((), {}, {}),
    "softshrink": ((), {}, {}),
    "softshrink-lambd": ((1.0,), {}, {}),
    "hardshrink": ((), {}, {}),
    "hardshrink-lambd": ((), {"lambd": 1.0}, {}),
    "threshold": ((0.3, -2.0), {}, {}),
    "rrelu": ((), {}, {}),
    "rrelu-bounds": ((0.1, 0.4), {}, {}),
}


def _name(key: str) -> str:
    return key.split("-")[0]


def _random_cases() -> list[Case]:
    out = []
    for table in (SMOOTH, PIECEWISE):
        for key, (args, kwargs, options) in table.items():
            for shape in SHAPES:
                # x 4 on (-4, 4): the bends of hardtanh, hardswish, relu6 and shrinks are inside
                out.append(case(f"{key}-{shape_name(shape)}", [shape],
                                fn(_name(key), *args, **kwargs), low=-4.0, high=7.0,
                                float32=shape == (3, 4), **options))  # fmt: skip
    return out


# kinks, bounds and the points where a branch switches: torch's gradient there is the oracle
KINKS = floats([-7.0, -4.0, -3.0, -1.0, -0.5, -0.3, 0.0, 0.3, 0.5, 1.0, 1.5, 3.0, 6.0, 8.0])
KINK_CASES = [
    case(f"{key}-at-kinks", [KINKS], fn(_name(key), *args, **kwargs), gradcheck=False)
    for table in (SMOOTH, PIECEWISE)
    for key, (args, kwargs, _) in table.items()
]
# values where a naive formula overflows, divides by 0 or cancels (the unused branch of a
# `where` is differentiated too: inf * 0 would be nan)
EXTREMES = floats([-1000.0, -60.0, -20.0, -1e-10, 0.0, 1e-10, 20.0, 60.0, 1000.0])
EXTREME_CASES = [
    case(f"{key}-extremes", [EXTREMES], fn(_name(key), *args, **kwargs), gradcheck=False)
    for key, (args, kwargs, _) in SMOOTH.items()
    if key not in ("gelu-tanh",)  # x³ overflows to inf in torch too (tanh(inf) = 1, fine)
]

OTHER_CASES = [
    case("gelu-tanh-large", [floats([-50.0, -10.0, 10.0, 50.0])], fn("gelu", approximate="tanh"),
         gradcheck=False),
    case("gelu-tails", [floats([-40.0, -10.0, -5.0, 5.0, 10.0])], fn("gelu"), gradcheck=False),
    case("prelu-one-weight", [(3, 4), floats([0.25])], fn("prelu"), low=-1.0),
    case("prelu-channels", [(2, 3, 4), (3,)], fn("prelu")),
    case("prelu-channels-2d", [(5, 3), (3,)], fn("prelu")),
    case("prelu-vector-one-weight", [(5,), (1,)], fn("prelu")),
    case("prelu-scalar", [(), (1,)], fn("prelu")),
    case("prelu-at-0", [floats([[-1.0, 0.0, 2.0]]), floats([0.3, -0.2, 0.1])], fn("prelu"),
         gradcheck=False),
    case("glu-last", [(3, 4)], fn("glu")),
    case("glu-dim0", [(4, 3)], fn("glu", 0)),
    case("glu-3d", [(2, 6, 3)], fn("glu", dim=1)),
    case("softmin-dim1", [(3, 4)], fn("softmin", dim=1)),
    case("softmin-dim0", [(3, 4)], fn("softmin", 0)),
    case("softmin-3d", [(2, 3, 4)], fn("softmin", dim=-1)),
    case("elu-inplace-nonleaf", [(3, 4)],
         lambda x: (F if isinstance(x, cr.Tensor) else TF).elu(x * 1.0, inplace=True)),
    case("relu-inplace-nonleaf", [(3, 4)],
         lambda x: (F if isinstance(x, cr.Tensor) else TF).relu(x * 2.0, inplace=True)),
    case("hardtanh-inplace-nonleaf", [(3, 4)],
         lambda x: (F if isinstance(x, cr.Tensor) else TF).hardtanh(x + 0.0, inplace=True)),
    case("leaky_relu-inplace-nonleaf", [(3, 4)],
         lambda x: (F if isinstance(x, cr.Tensor) else TF).leaky_relu(x + 0.0, 0.1, True)),
]  # fmt: skip


# -- losses, distances, normalize (nn/functional_losses.py) -----------------------------------
def pm_ones(*shape: int, seed: int = 3) -> np.ndarray:
    """A constant target of -1s and 1s."""
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


def probabilities(*shape: int, seed: int = 4) -> np.ndarray:
    p = np.random.default_rng(seed).random(shape) + 0.05
    return p / p.sum(-1, keepdims=True)


REDUCTIONS = ["mean", "sum", "none"]
LOSS_CASES = [
    *(case(f"huber_loss-{r}", [(3, 4), (3, 4)], fn("huber_loss", reduction=r)) for r in REDUCTIONS),
    case("huber_loss-delta", [(3, 4), (3, 4)], fn("huber_loss", delta=0.4)),
    case("huber_loss-at-delta", [floats([0.0, 1.0, -1.0, 2.0]), floats([0.0, 0.0, 0.0, 0.5])],
         fn("huber_loss", reduction="none"), gradcheck=False),
    *(case(f"smooth_l1_loss-{r}", [(3, 4), (3, 4)], fn("smooth_l1_loss", reduction=r))
      for r in REDUCTIONS),
    case("smooth_l1_loss-beta", [(3, 4), (3, 4)], fn("smooth_l1_loss", beta=0.3)),
    case("smooth_l1_loss-beta0", [(3, 4), (3, 4)], fn("smooth_l1_loss", beta=0.0),
         gradgradcheck=False),
    case("l1_loss-sum", [(3, 4), (3, 4)], fn("l1_loss", reduction="sum"), gradgradcheck=False),
    *(case(f"kl_div-{r}", [(3, 4), probabilities(3, 4)], fn("kl_div", reduction=r), low=-3.0,
           high=-0.1) for r in ["batchmean", "sum", "none"]),
    case("kl_div-target-grad", [(3, 4), probabilities(3, 4)], fn("kl_div", reduction="batchmean")),
    case("kl_div-zero-target", [(2, 3), floats([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])],
         fn("kl_div", reduction="sum"), const=(1,)),
    case("kl_div-log_target", [(3, 4), np.log(probabilities(3, 4))],
         fn("kl_div", reduction="batchmean", log_target=True)),
    case("poisson_nll_loss", [(3, 4), (3, 4)], fn("poisson_nll_loss"), high=3.0, const=(1,)),
    case("poisson_nll_loss-not-log", [(3, 4), (3, 4)], fn("poisson_nll_loss", log_input=False),
         low=0.5, high=3.0),
    case("poisson_nll_loss-full", [(3, 4), floats([[0, 1, 2, 5]] * 3)],
         fn("poisson_nll_loss", full=True, reduction="none"), const=(1,)),
    case("gaussian_nll_loss", [(3, 4), (3, 4), (3, 4)], fn("gaussian_nll_loss"),
         positive=(2,)),
    case("gaussian_nll_loss-per-sample-var", [(3, 4), (3, 4), (3,)],
         fn("gaussian_nll_loss", full=True, reduction="sum"), positive=(2,)),
    case("gaussian_nll_loss-var-last-1", [(3, 4), (3, 4), (3, 1)],
         fn("gaussian_nll_loss", reduction="none"), positive=(2,)),
    case("gaussian_nll_loss-var-below-eps", [(3,), (3,), floats([1e-8, 0.0, 2.0])],
         fn("gaussian_nll_loss", reduction="none"), gradcheck=False),
    case("soft_margin_loss", [(3, 4), pm_ones(3, 4)], fn("soft_margin_loss"), const=(1,)),
    case("soft_margin_loss-extreme", [floats([-80.0, 0.0, 80.0]), floats([1.0, -1.0, -1.0])],
         fn("soft_margin_loss", reduction="none"), const=(1,)),
    case("multilabel_soft_margin_loss", [(3, 4), (np.arange(12).reshape(3, 4) % 3 == 0) * 1.0],
         fn("multilabel_soft_margin_loss")),
    case("multilabel_soft_margin_loss-weight", [(3, 4), (3, 4), (4,)],
         fn("multilabel_soft_margin_loss", reduction="none"), low=0.0, high=1.0, const=(2,)),
    case("margin_ranking_loss", [(5,), (5,), pm_ones(5)], fn("margin_ranking_loss", margin=0.3)),
    case("margin_ranking_loss-none", [(5,), (5,), pm_ones(5)],
         fn("margin_ranking_loss", reduction="none")),
    case("hinge_embedding_loss", [(3, 4), pm_ones(3, 4)], fn("hinge_embedding_loss")),
    case("hinge_embedding_loss-margin", [(3, 4), pm_ones(3, 4)],
         fn("hinge_embedding_loss", margin=0.5, reduction="none")),
    case("cosine_embedding_loss", [(4, 5), (4, 5), pm_ones(4)], fn("cosine_embedding_loss")),
    case("cosine_embedding_loss-margin", [(4, 5), (4, 5), pm_ones(4)],
         fn("cosine_embedding_loss", margin=-0.2, reduction="none")),
    case("cosine_embedding_loss-1d", [(5,), (5,), floats(1.0)], fn("cosine_embedding_loss")),
    case("multi_margin_loss", [(3, 4), np.array([1, 0, 3])], fn("multi_margin_loss")),
    case("multi_margin_loss-p2-weight", [(3, 4), np.array([1, 0, 3]), (4,)],
         lambda x, t, w: fn("multi_margin_loss", p=2, margin=0.5, weight=w)(x, t),
         low=-0.5, high=0.5, const=(2,)),
    case("multi_margin_loss-1d", [(4,), np.array(2)], fn("multi_margin_loss", reduction="none")),
    case("triplet_margin_loss", [(4, 5), (4, 5), (4, 5)], fn("triplet_margin_loss")),
    case("triplet_margin_loss-swap-p1", [(4, 5), (4, 5), (4, 5)],
         fn("triplet_margin_loss", p=1, swap=True, margin=2.0, reduction="none")),
    case("triplet_margin_loss-1d", [(5,), (5,), (5,)], fn("triplet_margin_loss", margin=3.0)),
    case("cosine_similarity", [(3, 4), (3, 4)], fn("cosine_similarity")),
    case("cosine_similarity-dim0-broadcast", [(3, 4), (1, 4)], fn("cosine_similarity", dim=0)),
    case("cosine_similarity-tiny-norms", [floats([[1e-9, 0.0], [3.0, 4.0]]),
                                          floats([[1.0, 2.0], [1e-10, 0.0]])],
         fn("cosine_similarity", dim=1), gradcheck=False),
    case("pairwise_distance", [(3, 4), (3, 4)], fn("pairwise_distance")),
    case("pairwise_distance-p1-keepdim", [(3, 4), (1, 4)], fn("pairwise_distance", 1.0,
                                                                 keepdim=True)),
    case("pairwise_distance-p3", [(2, 3, 4), (2, 3, 4)], fn("pairwise_distance", p=3.0)),
    case("pairwise_distance-1d", [(4,), (4,)], fn("pairwise_distance")),
    case("normalize", [(3, 4)], fn("normalize")),
    case("normalize-p1-dim0", [(3, 4)], fn("normalize", p=1.0, dim=0)),
    case("normalize-zero-row", [floats([[0.0, 0.0], [3.0, 4.0]])], fn("normalize", dim=1),
         gradcheck=False),
    case("dropout1d-eval", [(2, 3, 4)], fn("dropout1d", training=False)),
    case("dropout2d-eval", [(2, 3, 4, 2)], fn("dropout2d", 0.3, False)),
    case("dropout3d-eval", [(2, 3, 2, 2, 2)], fn("dropout3d", training=False)),
    case("alpha_dropout-eval", [(3, 4)], fn("alpha_dropout")),
    case("feature_alpha_dropout-eval", [(2, 3, 4)], fn("feature_alpha_dropout", 0.2)),
]  # fmt: skip


CASES: list[Case] = [*_random_cases(), *KINK_CASES, *EXTREME_CASES, *OTHER_CASES, *LOSS_CASES]
PUBLIC_CASES: dict[str, str] = {}


@pytest.mark.parametrize("c", [c.param() for c in CASES])
def test_op(c: Case) -> None:
    c.run(gradgradcheck=True)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


# -- what the table cannot say ----------------------------------------------------------------
def test_extremes_have_finite_gradients():
    """torch's values are finite here; chainrule's gradients must not be nan (inf * 0)."""
    for name in ("elu", "selu", "celu", "softplus", "mish", "logsigmoid", "silu", "gelu"):
        x = cr.tensor(EXTREMES, requires_grad=True)
        getattr(F, name)(x).sum().backward()
        assert np.isfinite(x.grad.numpy()).all(), name


def test_elu_is_exact_near_zero():
    # exp(x) - 1 would lose half the digits at 1e-10; torch's expm1 does not
    x = floats([-1e-10, -1e-300])
    got = F.elu(cr.tensor(x)).numpy()
    np.testing.assert_allclose(got, TF.elu(torch.from_numpy(x)).numpy(), rtol=1e-15, atol=0)


def test_rrelu_training_draws_slopes_in_range():
    cr.manual_seed(0)
    x = cr.tensor(-np.ones(1000), requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes)  # the drawn slope is the gradient


def test_inplace_writes_into_the_input_and_returns_it():
    x = cr.tensor([-1.0, 2.0, 7.0])
    for name in ("relu", "relu6", "elu", "selu", "celu", "leaky_relu", "hardtanh", "silu",
                 "mish", "hardsigmoid", "hardswish"):  # fmt: skip
        x = cr.tensor([-1.0, 2.0, 7.0])
        out = getattr(F, name)(x, inplace=True)
        assert out is x, name
        expected = getattr(TF, name)(torch.tensor([-1.0, 2.0, 7.0])).numpy()
        np.testing.assert_allclose(x.numpy(), expected, rtol=1e-6, err_msg=name)
    for name in ("relu_", "elu_", "leaky_relu_", "hardtanh_"):
        x = cr.tensor([-1.0, 2.0])
        assert getattr(F, name)(x) is x
    x = cr.tensor([-1.0, 2.0])
    assert F.threshold_(x, 0.0, 5.0) is x
    np.testing.assert_array_equal(x.numpy(), [5.0, 2.0])


def test_inplace_on_a_leaf_that_requires_grad_is_refused():
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        F.relu(x, inplace=True)


def test_softmin_without_dim_warns_and_picks_torchs_dim():
    x = np.random.default_rng(0).standard_normal((3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        got = F.softmin(cr.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = TF.softmin(torch.from_numpy(x))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)


def test_softmin_dtype_casts_first():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    got = F.softmin(cr.tensor(x), dim=1, dtype=cr.float64)
    assert got.dtype == np.float64


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: F.gelu(cr.randn(3), approximate="fast"), errors.ArgumentError, "none or tanh"),
        (lambda: F.gelu(cr.tensor([1, 2])), errors.UnsupportedDTypeError, "gelu.*int64"),
        (lambda: F.silu(cr.tensor([1, 2])), NotImplementedError, "silu"),
        (lambda: F.glu(cr.randn(3, 5)), errors.ShapeError, "dimension 1 is size 5"),
        (lambda: F.glu(cr.tensor(1.0)), RuntimeError, "scalars"),
        (lambda: F.glu(cr.randn(4), dim=2), IndexError, "out of range"),
        (lambda: F.hardtanh(cr.randn(3), 2.0, 1.0), ValueError, "min_val"),
        (lambda: F.softshrink(cr.randn(3), -1.0), RuntimeError, "lambda"),
        (lambda: F.celu(cr.randn(3), alpha=0.0), RuntimeError, "alpha cannot be 0"),
        (lambda: F.prelu(cr.randn(2, 3), cr.randn(2)), RuntimeError, r"2 elements.*\(2, 3\)"),
        (lambda: F.prelu(cr.randn(3), cr.randn(3)), RuntimeError, "1 channels"),
    ],
)
def test_errors_name_the_op_and_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_integer_inputs_where_torch_accepts_them():
    ints = np.array([-2, 0, 3, 9])
    for name in ("relu", "threshold"):
        args = (1, 5) if name == "threshold" else ()
        got = getattr(F, name)(cr.tensor(ints), *args)
        expected = getattr(TF, name)(torch.from_numpy(ints), *args)
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    got = F.softsign(cr.tensor(ints))
    np.testing.assert_allclose(got.numpy(), TF.softsign(torch.from_numpy(ints)).numpy())


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: F.huber_loss(cr.randn(3), cr.randn(3), delta=0.0), RuntimeError, "delta"),
        (lambda: F.smooth_l1_loss(cr.randn(3), cr.randn(3), beta=-1.0), RuntimeError, "beta"),
        (lambda: F.huber_loss(cr.randn(3), cr.randn(3), reduction="avg"), ValueError, "avg"),
        (lambda: F.gaussian_nll_loss(cr.randn(3), cr.randn(3), -cr.ones(3)), ValueError,
         "negative"),
        (lambda: F.gaussian_nll_loss(cr.randn(3, 4), cr.randn(3, 4), cr.ones(2)), ValueError,
         "incorrect size"),
        (lambda: F.margin_ranking_loss(cr.randn(3), cr.randn(3, 1), cr.ones(3)), RuntimeError,
         "dimensions"),
        (lambda: F.dropout2d(cr.randn(3, 4), 0.5), RuntimeError, "3-D or 4-D"),
        (lambda: F.dropout1d(cr.randn(3, 4), 1.5), ValueError, "between 0 and 1"),
        (lambda: F.multi_margin_loss(cr.randn(2, 3), cr.tensor([0, 3])), IndexError, "range"),
    ],
)  # fmt: skip
def test_loss_errors_name_the_op_and_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_loss_warnings_as_torch():
    with pytest.warns(UserWarning, match="different to the input size"):
        F.huber_loss(cr.randn(3, 1), cr.randn(3))
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(cr.randn(2, 3), cr.ones(2, 3) / 3)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        total = F.smooth_l1_loss(cr.ones(3), cr.zeros(3), size_average=False)
    assert total.item() == pytest.approx(1.5)


def test_soft_margin_loss_is_finite_where_torch_overflows():
    # log(1 + exp(800)) is 800; torch's formula gives inf there
    got = F.soft_margin_loss(cr.tensor([800.0]), cr.tensor([-1.0]), reduction="none")
    assert got.item() == pytest.approx(800.0)


def test_channel_dropout_masks_have_torchs_shapes():
    cr.manual_seed(0)
    y = F.dropout2d(cr.ones(4, 6, 3, 3), 0.5).numpy()
    assert (y.min((2, 3)) == y.max((2, 3))).all() and set(np.unique(y)) <= {0.0, 2.0}
    y = F.dropout3d(cr.ones(6, 2, 2, 2), 0.5).numpy()  # unbatched: one draw per channel
    assert (y.reshape(6, -1).min(1) == y.reshape(6, -1).max(1)).all()
    y = F.feature_alpha_dropout(cr.ones(4, 6, 5), 0.5, training=True).numpy()
    assert (y.min(2) == y.max(2)).all()
