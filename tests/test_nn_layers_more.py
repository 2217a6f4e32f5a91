"""Normalization, embedding, attention and transformer modules against their torch twins.

Each test builds the chainrule module, loads its state_dict into the torch module of the same
configuration (strictly, so the keys are torch's), and compares outputs, input gradients and
parameter gradients for one random upstream gradient (float64; dropout off or eval mode).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import errors

F64 = cr.float64
RTOL, ATOL = 1e-10, 1e-12


def load_into_torch(module: cr.nn.Module, twin: torch.nn.Module) -> None:
    """chainrule's state_dict into torch's module: same keys in the same order, strictly."""
    state = module.state_dict()
    assert list(state) == list(twin.state_dict()), (list(state), list(twin.state_dict()))
    twin.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in state.items()})


def as_inputs(arrays: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    ours, theirs = [], []
    for a in arrays:
        if a is None:
            ours.append(None)
            theirs.append(None)
            continue
        grad = a.dtype.kind == "f"
        ours.append(cr.tensor(a, requires_grad=grad))
        theirs.append(torch.from_numpy(a.copy()).requires_grad_(grad))
    return ours, theirs


def first(out: Any) -> Any:
    return out[0] if isinstance(out, tuple) else out


def check_twin(
    module: cr.nn.Module,
    twin: torch.nn.Module,
    arrays: Sequence[Any],
    call: Callable[..., Any] | None = None,
    outputs: Callable[[Any], list[Any]] | None = None,
    seed: int = 0,
) -> None:
    """Same outputs and gradients (inputs and parameters) as the torch twin."""
    load_into_torch(module, twin)
    call = call or (lambda m, *xs: m(*xs))
    outputs = outputs or (lambda out: [first(out)])
    ours, theirs = as_inputs(arrays)
    c_out, t_out = outputs(call(module, *ours)), outputs(call(twin, *theirs))
    rng = np.random.default_rng(seed)
    c_total, t_total = None, None
    for c, t in zip(c_out, t_out, strict=True):
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), RTOL, ATOL)
        g = rng.standard_normal(t.shape)
        c_term, t_term = (c * cr.tensor(g)).sum(), (t * torch.from_numpy(g)).sum()
        c_total = c_term if c_total is None else c_total + c_term
        t_total = t_term if t_total is None else t_total + t_term
    assert c_total is not None and t_total is not None
    c_total.backward()
    t_total.backward()
    for c, t in zip(ours, theirs, strict=True):
        if c is not None and c.requires_grad:
            np.testing.assert_allclose(c.grad.detach().numpy(), t.grad.detach().numpy(), RTOL, ATOL)
    torch_params = dict(twin.named_parameters())
    for name, p in module.named_parameters():
        expected = torch_params[name].grad
        if expected is None:
            assert p.grad is None or not p.grad.detach().numpy().any(), name
        else:
            np.testing.assert_allclose(
                p.grad.detach().numpy(), expected.detach().numpy(), RTOL, ATOL, err_msg=name
            )
    for (name, b), (t_name, tb) in zip(module.named_buffers(), twin.named_buffers(), strict=True):
        assert name == t_name
        np.testing.assert_allclose(
            b.detach().numpy(), tb.detach().numpy(), RTOL, ATOL, err_msg=name
        )


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def perturb(module: cr.nn.Module, seed: int = 5) -> cr.nn.Module:
    """Move weights off their init (ones and zeros hide mistakes in scale and shift)."""
    rng = np.random.default_rng(seed)
    with cr.no_grad():
        for p in module.parameters():
            p._data[...] = p._data + rng.standard_normal(p.shape) * 0.3
    return module


# -- normalization ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"eps": 1e-3}, {"elementwise_affine": False}, {"bias": False}],
    ids=["default", "eps", "no-affine", "no-bias"],
)
def test_layer_norm_module(kwargs: dict) -> None:
    ours = perturb(cr.nn.LayerNorm((3, 4), dtype=F64, **kwargs))
    check_twin(ours, torch.nn.LayerNorm((3, 4), dtype=torch.float64, **kwargs), [randn(2, 3, 4)])


def test_layer_norm_init_and_repr() -> None:
    m = cr.nn.LayerNorm(4)
    assert m.weight.dtype == np.float32 and m.weight.detach().numpy().tolist() == [1.0] * 4
    assert m.bias.detach().numpy().tolist() == [0.0] * 4
    assert repr(m) == repr(torch.nn.LayerNorm(4))
    assert cr.nn.LayerNorm(4, bias=False).bias is None


@pytest.mark.parametrize("kwargs", [{}, {"eps": 1e-3}, {"elementwise_affine": False}])
def test_rms_norm_module(kwargs: dict) -> None:
    ours = perturb(cr.nn.RMSNorm(4, dtype=F64, **kwargs))
    check_twin(ours, torch.nn.RMSNorm(4, dtype=torch.float64, **kwargs), [randn(3, 5, 4)])


@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_module(affine: bool) -> None:
    ours = perturb(cr.nn.GroupNorm(2, 6, affine=affine, dtype=F64))
    twin = torch.nn.GroupNorm(2, 6, affine=affine, dtype=torch.float64)
    check_twin(ours, twin, [randn(3, 6, 5)])


BATCH_NORMS = [
    ("1d-2d-input", cr.nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 3), {}),
    ("1d-3d-input", cr.nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, 3, 5), {}),
    ("2d", cr.nn.BatchNorm2d, torch.nn.BatchNorm2d, (2, 3, 4, 4), {}),
    ("cumulative", cr.nn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 3), {"momentum": None}),
    ("momentum", cr.nn.BatchNorm2d, torch.nn.BatchNorm2d, (2, 3, 2, 3), {"momentum": 0.5}),
    ("no-affine", cr.nn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 3), {"affine": False}),
    ("untracked", cr.nn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 3), {"track_running_stats": False}),
]  # fmt: skip


@pytest.mark.parametrize("label, ours_cls, torch_cls, shape, kwargs", BATCH_NORMS,
                         ids=[b[0] for b in BATCH_NORMS])  # fmt: skip
def test_batch_norm_module_train_then_eval(label, ours_cls, torch_cls, shape, kwargs) -> None:
    ours = perturb(ours_cls(3, dtype=F64, **kwargs))
    twin = torch_cls(3, dtype=torch.float64, **kwargs)
    load_into_torch(ours, twin)
    for step in range(3):  # the running statistics move as torch's, batch after batch
        x = randn(*shape, seed=step) * (step + 1) + step
        check_twin(ours, twin, [x], seed=step)
        ours.zero_grad()
        twin.zero_grad()
    if kwargs.get("track_running_stats", True):
        assert int(ours.num_batches_tracked.item()) == 3
    ours.eval()
    twin.eval()
    check_twin(ours, twin, [randn(*shape, seed=9)])


def test_batch_norm_state_dict_keys_and_buffers() -> None:
    m = cr.nn.BatchNorm2d(4)
    assert list(m.state_dict()) == list(torch.nn.BatchNorm2d(4).state_dict())
    assert m.num_batches_tracked.dtype == np.int64 and m.num_batches_tracked.shape == ()
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    untracked = cr.nn.BatchNorm1d(4, track_running_stats=False)
    assert list(untracked.state_dict()) == ["weight", "bias"]
    m.train()
    m(cr.randn(2, 4, 3, 3))
    m.reset_running_stats()
    assert (
        m.num_batches_tracked.item() == 0 and m.running_var.detach().numpy().tolist() == [1.0] * 4
    )


def test_batch_norm_eval_does_not_touch_running_stats() -> None:
    m = cr.nn.BatchNorm1d(3).eval()
    m(cr.randn(5, 3))
    assert (
        m.running_mean.detach().numpy().tolist() == [0.0] * 3 and m.num_batches_tracked.item() == 0
    )


# -- embedding ----------------------------------------------------------------------------
def test_embedding_module() -> None:
    ours = cr.nn.Embedding(10, 4, padding_idx=0, dtype=F64)
    assert ours.weight.detach().numpy()[0].tolist() == [0.0] * 4  # the padding row starts at zero
    twin = torch.nn.Embedding(10, 4, padding_idx=0, dtype=torch.float64)
    idx = np.array([[0, 3, 3], [9, 0, 1]])
    check_twin(ours, twin, [idx])
    assert not ours.weight.grad.detach().numpy()[0].any()  # and gets no gradient


def test_embedding_init_is_standard_normal() -> None:
    cr.manual_seed(0)
    w = cr.nn.Embedding(400, 50).weight.detach().numpy()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02


def test_embedding_from_pretrained() -> None:
    w = cr.tensor(randn(5, 3))
    frozen = cr.nn.Embedding.from_pretrained(w)
    assert not frozen.weight.requires_grad and frozen.padding_idx is None
    trained = cr.nn.Embedding.from_pretrained(w, freeze=False, padding_idx=-1)
    assert trained.weight.requires_grad and trained.padding_idx == 4
    np.testing.assert_array_equal(frozen(cr.tensor([2])).detach().numpy(), w.detach().numpy()[[2]])


def test_embedding_errors() -> None:
    with pytest.raises(errors.IndexOutOfRangeError, match=r"index 10 is out of range .*\(10, 4\)"):
        cr.nn.Embedding(10, 4)(cr.tensor([[1, 10]]))
    with pytest.raises(errors.ArgumentError, match="padding_idx 10 must be within"):
        cr.nn.Embedding(10, 4, padding_idx=10)


# -- attention ------------------------------------------------------------------------------
def mha_pair(**kwargs: Any) -> tuple[cr.nn.MultiheadAttention, torch.nn.MultiheadAttention]:
    ours = perturb(cr.nn.MultiheadAttention(8, 2, dtype=F64, **kwargs))
    return ours, torch.nn.MultiheadAttention(8, 2, dtype=torch.float64, **kwargs)


def both_outputs(out: Any) -> list[Any]:
    return [out[0]] if out[1] is None else [out[0], out[1]]


CAUSAL = ~np.tril(np.ones((4, 4), dtype=bool))  # torch's MHA convention: True = masked out
PADDING = np.array([[False, False, False, True], [False, True, True, True], [False] * 4])

MHA_CASES = [
    ("self-batch-first", {"batch_first": True}, [randn(3, 4, 8)], {}, True),
    ("self-seq-first", {}, [randn(4, 3, 8)], {}, True),
    ("cross", {"batch_first": True}, [randn(3, 4, 8), randn(3, 6, 8, seed=1),
                                     randn(3, 6, 8, seed=2)], {}, False),
    ("kdim-vdim", {"batch_first": True, "kdim": 5, "vdim": 3},
     [randn(3, 4, 8), randn(3, 6, 5, seed=1), randn(3, 6, 3, seed=2)], {}, False),
    ("no-bias", {"bias": False, "batch_first": True}, [randn(3, 4, 8)], {}, True),
    ("causal-bool", {"batch_first": True}, [randn(3, 4, 8)], {"attn_mask": CAUSAL}, True),
    ("causal-hint", {"batch_first": True}, [randn(3, 4, 8)],
     {"attn_mask": CAUSAL, "is_causal": True, "need_weights": False}, True),
    ("float-mask", {"batch_first": True}, [randn(3, 4, 8)], {"attn_mask": randn(4, 4)}, True),
    ("mask-per-head", {"batch_first": True}, [randn(3, 4, 8)],
     {"attn_mask": randn(6, 4, 4)}, True),
    ("padding", {"batch_first": True}, [randn(3, 4, 8)], {"key_padding_mask": PADDING}, True),
    ("padding-and-causal", {"batch_first": True}, [randn(3, 4, 8)],
     {"key_padding_mask": PADDING, "attn_mask": CAUSAL}, True),
    ("no-weights", {"batch_first": True}, [randn(3, 4, 8)], {"need_weights": False}, True),
    ("per-head-weights", {}, [randn(4, 3, 8)], {"average_attn_weights": False}, True),
    ("unbatched", {}, [randn(4, 8)], {"attn_mask": CAUSAL}, True),
]  # fmt: skip


@pytest.mark.parametrize("label, kwargs, arrays, call_kwargs, self_attention", MHA_CASES,
                         ids=[c[0] for c in MHA_CASES])  # fmt: skip
def test_multihead_attention(label, kwargs, arrays, call_kwargs, self_attention) -> None:
    ours, twin = mha_pair(**kwargs)

    def call(module: Any, *xs: Any) -> Any:
        lib_tensor = torch.from_numpy if isinstance(module, torch.nn.Module) else cr.tensor
        extra = {k: lib_tensor(np.array(v)) for k, v in call_kwargs.items() if k.endswith("mask")}
        flags = {k: v for k, v in call_kwargs.items() if not k.endswith("mask")}
        q, k, v = (xs[0], xs[0], xs[0]) if self_attention else xs
        return module(q, k, v, **extra, **flags)

    check_twin(ours, twin, arrays, call, both_outputs)


def test_multihead_attention_parameters_and_init() -> None:
    m = cr.nn.MultiheadAttention(8, 2)
    assert list(m.state_dict()) == list(torch.nn.MultiheadAttention(8, 2).state_dict())
    assert m.in_proj_weight.shape == (24, 8) and not m.in_proj_bias.detach().numpy().any()
    assert not m.out_proj.bias.detach().numpy().any()
    bound = np.sqrt(6 / (24 + 8))  # Xavier-uniform over the packed (3E, E) weight, as torch
    assert np.abs(m.in_proj_weight.detach().numpy()).max() <= bound
    odd = cr.nn.MultiheadAttention(8, 2, kdim=5, vdim=3)
    assert list(odd.state_dict()) == list(torch.nn.MultiheadAttention(8, 2, kdim=5, vdim=3)
                                          .state_dict())  # fmt: skip


def test_fully_masked_query_row_is_nan_with_weights_and_zero_without() -> None:
    """torch's two paths: the explicit softmax gives nan, scaled_dot_product_attention 0."""
    ours, twin = mha_pair(batch_first=True)
    load_into_torch(ours, twin)
    x = randn(2, 3, 8)
    pad = np.array([[True] * 3, [False] * 3])
    for need in (True, False):
        c = ours(*[cr.tensor(x)] * 3, key_padding_mask=cr.tensor(pad), need_weights=need)[0]
        t = twin(*[torch.from_numpy(x)] * 3, key_padding_mask=torch.from_numpy(pad),
                 need_weights=need)[0]  # fmt: skip
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), RTOL, ATOL)
        assert np.isnan(c.detach().numpy()[0]).all() == need


def test_multihead_attention_errors() -> None:
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\)"):
        cr.nn.MultiheadAttention(10, 3)
    m = cr.nn.MultiheadAttention(8, 2, batch_first=True)
    x = cr.randn(3, 4, 8)
    with pytest.raises(
        errors.ShapeError, match=r"attn_mask of shape \(4, 5\) should be .*\(4, 4\)"
    ):
        m(x, x, x, attn_mask=cr.zeros(4, 5))
    with pytest.raises(errors.ShapeError, match=r"key_padding_mask of shape \(3, 5\) .*\(3, 4\)"):
        m(x, x, x, key_padding_mask=cr.zeros(3, 5, dtype=cr.bool))
    with pytest.raises(
        errors.ShapeError, match=r"expected query of 3 dims ending in 8 .*\(3, 4, 6\)"
    ):
        m(cr.randn(3, 4, 6), x, x)
    with pytest.raises(errors.ArgumentError, match="need attn_mask if specifying the is_causal"):
        m(x, x, x, is_causal=True)


# -- transformer ----------------------------------------------------------------------------
LAYER_CASES = [
    ("post-norm-relu", {"batch_first": True}),
    ("pre-norm-gelu", {"batch_first": True, "norm_first": True, "activation": "gelu"}),
    ("seq-first", {}),
    ("no-bias", {"batch_first": True, "bias": False, "layer_norm_eps": 1e-3}),
]


@pytest.mark.parametrize("label, kwargs", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_transformer_encoder_layer(label: str, kwargs: dict) -> None:
    ours = perturb(cr.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, dtype=F64, **kwargs))
    twin = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, dtype=torch.float64, **kwargs)
    ours.eval()  # dropout off in both
    twin.eval()
    mask = ~np.tril(np.ones((4, 4), dtype=bool))
    shape = (3, 4, 8) if kwargs.get("batch_first") else (4, 3, 8)

    def call(module: Any, x: Any) -> Any:
        wrap = torch.from_numpy if isinstance(module, torch.nn.Module) else cr.tensor
        return module(x, src_mask=wrap(mask), is_causal=True)

    check_twin(ours, twin, [randn(*shape)], call)


def test_transformer_encoder_with_norm_and_padding() -> None:
    layer = cr.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, dtype=F64)
    ours = perturb(cr.nn.TransformerEncoder(layer, 2, norm=cr.nn.LayerNorm(8, dtype=F64)))
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight  # copies
    t_layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                               dtype=torch.float64)  # fmt: skip
    twin = torch.nn.TransformerEncoder(t_layer, 2, norm=torch.nn.LayerNorm(8, dtype=torch.float64),
                                       enable_nested_tensor=False)  # fmt: skip
    padding = np.array([[False] * 4, [False, False, True, True], [False, False, False, True]])

    def call(module: Any, x: Any) -> Any:
        wrap = torch.from_numpy if isinstance(module, torch.nn.Module) else cr.tensor
        return module(x, src_key_padding_mask=wrap(padding))

    check_twin(ours, twin, [randn(3, 4, 8)], call)


def test_transformer_activation_errors_and_callables() -> None:
    with pytest.raises(errors.ArgumentError, match="activation should be relu/gelu, not 'tanh'"):
        cr.nn.TransformerEncoderLayer(8, 2, activation="tanh")
    layer = cr.nn.TransformerEncoderLayer(8, 2, 16, activation=cr.tanh, batch_first=True)
    assert layer(cr.randn(2, 3, 8)).shape == (2, 3, 8)


def test_reprs_match_torch() -> None:
    pairs = [
        (cr.nn.LayerNorm(4, bias=False), torch.nn.LayerNorm(4, bias=False)),
        (cr.nn.RMSNorm((2, 3)), torch.nn.RMSNorm((2, 3))),
        (cr.nn.GroupNorm(2, 4, bias=False), torch.nn.GroupNorm(2, 4, bias=False)),
        (cr.nn.BatchNorm1d(3, momentum=None), torch.nn.BatchNorm1d(3, momentum=None)),
        (cr.nn.Embedding(5, 3, padding_idx=0), torch.nn.Embedding(5, 3, padding_idx=0)),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


def test_bias_false_drops_the_bias_as_torch() -> None:
    for ours, theirs in [
        (cr.nn.BatchNorm2d(3, bias=False), torch.nn.BatchNorm2d(3, bias=False)),
        (cr.nn.GroupNorm(1, 3, bias=False), torch.nn.GroupNorm(1, 3, bias=False)),
        (cr.nn.TransformerEncoderLayer(4, 2, 8, bias=False),
         torch.nn.TransformerEncoderLayer(4, 2, 8, bias=False)),
    ]:  # fmt: skip
        assert list(ours.state_dict()) == list(theirs.state_dict())


def test_attention_dropout_only_in_training() -> None:
    m = cr.nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = cr.randn(2, 4, 8)
    m.eval()
    first, weights = m(x, x, x)
    again, _ = m(x, x, x)
    np.testing.assert_array_equal(first.detach().numpy(), again.detach().numpy())
    np.testing.assert_allclose(weights.detach().numpy().sum(-1), 1.0, rtol=1e-6)
    m.train()
    dropped, dropped_weights = m(x, x, x)
    assert not np.allclose(dropped.detach().numpy(), first.detach().numpy())
    assert np.isclose(dropped_weights.detach().numpy(), 0).any()  # as torch: after dropout
