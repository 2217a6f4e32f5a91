"""Normalization, embedding and attention functions against PyTorch and finite differences.

One line per case (helpers.case): forward, the gradients of a random upstream gradient,
gradcheck and gradgradcheck. The error cases below check that each mistake is refused where it
is made, with a message naming the op, the argument and the shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import Case, case

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import errors


def fn(name: str):
    """The function of that name in chainrule's F or torch's, picked by the first argument."""
    return lambda x, *rest, **kw: getattr(TF if isinstance(x, torch.Tensor) else F, name)(
        x, *rest, **kw
    )


def ints(*shape: int, high: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, size=shape).astype(np.int64)


def bools(*shape: int, seed: int = 0) -> np.ndarray:
    mask = np.random.default_rng(seed).random(shape) < 0.7
    mask[..., 0] = True  # every query may attend somewhere
    return mask


DEAD_ROW = np.ones((3, 5), dtype=bool)
DEAD_ROW[1] = False  # query 1 may attend to nothing: torch gives it 0, not nan
NEG_INF_ROW = np.zeros((3, 5))
NEG_INF_ROW[2] = -np.inf
NEG_INF_ROW[0, 1] = -np.inf

layer_norm, rms_norm, group_norm = fn("layer_norm"), fn("rms_norm"), fn("group_norm")
batch_norm, instance_norm, embedding = fn("batch_norm"), fn("instance_norm"), fn("embedding")
sdpa = fn("scaled_dot_product_attention")

NORM_CASES = [
    case("layer_norm-last", [(3, 5)], lambda x: layer_norm(x, (5,)), float32=True),
    case("layer_norm-3d", [(2, 3, 4)], lambda x: layer_norm(x, [4])),
    case("layer_norm-two-dims-affine", [(2, 3, 4), (3, 4), (3, 4)],
         lambda x, w, b: layer_norm(x, (3, 4), w, b, 1e-3)),
    case("layer_norm-weight-only", [(4, 6), (6,)], lambda x, w: layer_norm(x, [6], w)),
    case("layer_norm-constant-row", [np.ones((2, 4)), (4,)],
         lambda x, w: layer_norm(x, (4,), w)),
    case("rms_norm-default-eps", [(3, 5), (5,)], lambda x, w: rms_norm(x, (5,), w),
         float32=True),
    case("rms_norm-eps-two-dims", [(2, 3, 4)], lambda x: rms_norm(x, (3, 4), eps=1e-4)),
    case("group_norm-affine", [(2, 6, 3), (6,), (6,)], lambda x, w, b: group_norm(x, 3, w, b)),
    case("group_norm-4d", [(2, 4, 2, 3)], lambda x: group_norm(x, 2, eps=1e-3)),
    case("group_norm-one-group", [(3, 4)], lambda x: group_norm(x, 1)),
    case("batch_norm-train-2d", [(6, 3), (3,), (3,)],
         lambda x, w, b: batch_norm(x, None, None, w, b, True)),
    case("batch_norm-train-4d", [(2, 3, 2, 2), (3,), (3,)],
         lambda x, w, b: batch_norm(x, None, None, w, b, training=True, eps=1e-3)),
    case("batch_norm-eval", [(4, 3, 2), (3,), (3,), (3,), (3,)],
         lambda x, m, v, w, b: batch_norm(x, m, v, w, b, False), const=(1, 2), positive=(2,)),
    case("instance_norm-3d", [(2, 3, 5), (3,), (3,)],
         lambda x, w, b: instance_norm(x, weight=w, bias=b)),
    case("instance_norm-4d", [(2, 2, 3, 3)], lambda x: instance_norm(x, eps=1e-3)),
]  # fmt: skip

EMBEDDING_CASES = [
    case("embedding-2d-indices", [ints(2, 3, high=5), (5, 4)], lambda i, w: embedding(i, w)),
    case("embedding-repeated", [np.array([1, 1, 4, 1]), (5, 3)], lambda i, w: embedding(i, w)),
    case("embedding-padding", [np.array([[0, 2], [2, 3]]), (4, 3)],
         lambda i, w: embedding(i, w, padding_idx=2), gradcheck=False),  # torch's 0, not d/dw
    case("embedding-padding-negative", [np.array([0, 3, 1]), (4, 3)],
         lambda i, w: embedding(i, w, padding_idx=-1), gradcheck=False),
    case("embedding-scalar-index", [np.array(2), (4, 3)], lambda i, w: embedding(i, w)),
]  # fmt: skip

ATTENTION_CASES = [
    case("sdpa-3d", [(2, 3, 4), (2, 5, 4), (2, 5, 6)], sdpa, float32=True),
    case("sdpa-heads-causal", [(2, 2, 4, 3), (2, 2, 4, 3), (2, 2, 4, 3)],
         lambda q, k, v: sdpa(q, k, v, is_causal=True)),
    case("sdpa-causal-rectangular", [(1, 3, 4), (1, 5, 4), (1, 5, 2)],
         lambda q, k, v: sdpa(q, k, v, is_causal=True)),
    case("sdpa-bool-mask", [(2, 3, 4), (2, 5, 4), (2, 5, 4), bools(3, 5)],
         lambda q, k, v, m: sdpa(q, k, v, attn_mask=m)),
    case("sdpa-bool-mask-dead-row", [(2, 3, 4), (2, 5, 4), (2, 5, 4), DEAD_ROW],
         lambda q, k, v, m: sdpa(q, k, v, attn_mask=m)),
    case("sdpa-float-mask", [(2, 3, 4), (2, 5, 4), (2, 5, 4), (3, 5)],
         lambda q, k, v, m: sdpa(q, k, v, m)),
    case("sdpa-float-mask-inf", [(2, 3, 4), (2, 5, 4), (2, 5, 4), NEG_INF_ROW],
         lambda q, k, v, m: sdpa(q, k, v, m), const=(3,)),
    case("sdpa-scale", [(3, 4), (5, 4), (5, 2)], lambda q, k, v: sdpa(q, k, v, scale=0.3)),
    case("sdpa-gqa", [(1, 4, 3, 2), (1, 2, 3, 2), (1, 2, 3, 2)],
         lambda q, k, v: sdpa(q, k, v, enable_gqa=True)),
]  # fmt: skip

CASES: list[Case] = [*NORM_CASES, *EMBEDDING_CASES, *ATTENTION_CASES]
# F functions are not in chainrule.ops: no public ops of this area to record
PUBLIC_CASES: dict[str, str] = {}


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("c", [c.param() for c in CASES])
def test_op(c: Case) -> None:
    c.run(gradgradcheck=True)


# -- running statistics ------------------------------------------------------------------------
def test_batch_norm_updates_running_stats_as_torch():
    x = np.random.default_rng(1).normal(size=(5, 3, 4))
    mean, var = cr.zeros(3, dtype=cr.float64), cr.ones(3, dtype=cr.float64)
    t_mean, t_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for momentum in (0.1, 0.5):
        F.batch_norm(cr.tensor(x), mean, var, training=True, momentum=momentum)
        TF.batch_norm(torch.from_numpy(x), t_mean, t_var, training=True, momentum=momentum)
    np.testing.assert_allclose(mean.numpy(), t_mean.numpy(), rtol=1e-12)
    # unbiased in the running estimate (biased would differ by the factor 20/19)
    np.testing.assert_allclose(var.numpy(), t_var.numpy(), rtol=1e-12)


def test_instance_norm_running_stats_as_torch():
    x = np.random.default_rng(2).normal(size=(4, 3, 5))
    mean, var = cr.zeros(3, dtype=cr.float64), cr.ones(3, dtype=cr.float64)
    t_mean, t_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    y = F.instance_norm(cr.tensor(x), mean, var, use_input_stats=True)
    ty = TF.instance_norm(torch.from_numpy(x), t_mean, t_var, use_input_stats=True)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mean.numpy(), t_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(var.numpy(), t_var.numpy(), rtol=1e-12)


def test_embedding_max_norm_renormalises_the_picked_rows_in_place():
    w = np.random.default_rng(3).normal(size=(5, 3)) * 3
    idx = np.array([[0, 2], [2, 4]])
    cw, tw = cr.tensor(w), torch.from_numpy(w.copy())
    y = F.embedding(cr.tensor(idx), cw, max_norm=1.5)
    ty = TF.embedding(torch.from_numpy(idx), tw, max_norm=1.5)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-12)
    np.testing.assert_allclose(cw.numpy(), tw.numpy(), rtol=1e-12)  # rows 1 and 3 untouched
    assert np.allclose(cw.numpy()[1], w[1]) and not np.allclose(cw.numpy()[0], w[0])


def test_embedding_padding_row_gets_no_gradient():
    w = cr.randn(4, 3, dtype=cr.float64, requires_grad=True)
    F.embedding(cr.tensor([[1, 1], [1, 2]]), w, padding_idx=1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[0] * 3, [0] * 3, [1] * 3, [0] * 3])


# -- errors where the mistake is made ------------------------------------------------------------
def test_layer_norm_shape_mismatch_names_both_shapes():
    with pytest.raises(errors.ShapeError, match=r"layer_norm.*normalized_shape=\[4\].*\[3, 5\]"):
        F.layer_norm(cr.zeros(3, 5), (4,))
    with pytest.raises(RuntimeError, match=r"rms_norm.*\[2, 3\]"):
        F.rms_norm(cr.zeros(3), (2, 3))
    with pytest.raises(errors.ShapeError, match=r"layer_norm: expected weight of shape \(5,\)"):
        F.layer_norm(cr.zeros(3, 5), 5, cr.ones(4))


def test_embedding_errors():
    w = cr.zeros(4, 3)
    with pytest.raises(errors.IndexOutOfRangeError, match=r"embedding: index 4 .* \(4, 3\)"):
        F.embedding(cr.tensor([0, 4]), w)
    with pytest.raises(IndexError, match=r"index -1"):
        F.embedding(cr.tensor([-1]), w)
    with pytest.raises(errors.DTypeError, match=r"embedding: expected indices of an integer"):
        F.embedding(cr.tensor([0.0, 1.0]), w)
    with pytest.raises(errors.ArgumentError, match=r"padding_idx 4 must be within"):
        F.embedding(cr.tensor([0]), w, padding_idx=4)


def test_batch_and_group_norm_errors():
    with pytest.raises(
        errors.ShapeError, match=r"running_mean should contain 4 elements.*\(2, 4\)"
    ):
        F.batch_norm(cr.zeros(2, 4), cr.zeros(3), cr.ones(3), training=True)
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\[1, 3\]"):
        F.batch_norm(cr.zeros(1, 3), None, None, training=True)
    with pytest.raises(errors.ShapeError, match=r"group_norm: .*channels 6 .*num_groups=4"):
        F.group_norm(cr.zeros(2, 6), 4)


def test_attention_errors():
    q, k, v = cr.zeros(2, 3, 4), cr.zeros(2, 5, 4), cr.zeros(2, 5, 4)
    with pytest.raises(errors.ShapeError, match=r"attn_mask of shape \(3, 4\).*\(2, 3, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=cr.ones(3, 4))
    with pytest.raises(errors.ShapeError, match=r"query .*\(2, 3, 4\).*key .*\(2, 5, 3\)"):
        F.scaled_dot_product_attention(q, cr.zeros(2, 5, 3), v)
    with pytest.raises(errors.ArgumentError, match=r"attn_mask must not be set with is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=cr.ones(3, 5), is_causal=True)


def test_attention_dropout_drops_weights_and_keeps_the_mean() -> None:
    """Dropout has no torch oracle (its own generator): dropped weights are 0, kept ones are
    scaled by 1/(1-p), so the mean over many draws is the output without dropout."""
    rng = np.random.default_rng(4)
    q, k = cr.tensor(rng.normal(size=(1, 3, 4))), cr.tensor(rng.normal(size=(1, 5, 4)))
    v = cr.tensor(np.eye(5)[None])  # the output rows are the attention weights themselves
    plain = F.scaled_dot_product_attention(q, k, v).numpy()
    cr.manual_seed(0)
    draws = np.stack([F.scaled_dot_product_attention(q, k, v, dropout_p=0.4).numpy()
                      for _ in range(2000)])  # fmt: skip
    assert np.isclose(draws, 0).mean() > 0.3  # some weights dropped
    kept = ~np.isclose(draws, 0)
    np.testing.assert_allclose(draws[kept], np.broadcast_to(plain / 0.6, draws.shape)[kept])
    np.testing.assert_allclose(draws.mean(0), plain, atol=0.02)
    assert not F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy().any()
