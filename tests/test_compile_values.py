"""cr.compile and values made outside the primitives: recorded and recomputed on each replay,
or refused with a warning that names them; never frozen at the traced value."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.compile import compile as cr_compile
from chainrule.compile.tape import Tape


def _same(a: Any, b: Any) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    assert a.tobytes() == b.tobytes(), (a, b)


def _calls(fn: Callable[..., Any], inputs: list[tuple]) -> tuple[list[Any], list[str], Any]:
    """fn compiled and eager on each input tuple: (pairs of results, cr.compile warnings)."""
    g = cr_compile(fn)
    pairs = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for args in inputs:
            pairs.append((g(*[cr.tensor(a) for a in args]), fn(*[cr.tensor(a) for a in args])))
    messages = [str(w.message) for w in caught if str(w.message).startswith("cr.compile")]
    return pairs, messages, g


X = [np.array(v, np.float32) for v in ([1.0, -2.0, 3.0], [-1.0, 5.0, 0.5], [2.0, 2.0, -7.0])]


@pytest.mark.parametrize(
    "name",
    ["masked_fill", "max_dim", "max_dim_indices", "argmin", "where_isfinite", "constants"],
)
def test_recorded_values_replay_with_the_new_inputs(name: str) -> None:
    fns: dict[str, Callable[[cr.Tensor], cr.Tensor]] = {
        "masked_fill": lambda x: x.masked_fill(x < 0, 0.0) * 2,
        "max_dim": lambda x: x.reshape(1, 3).max(dim=1).values * 1.0,
        "max_dim_indices": lambda x: x.reshape(1, 3).min(dim=1, keepdim=True).indices,
        "argmin": lambda x: (x.argmin() == 1).float() * x,
        "where_isfinite": lambda x: cr.where(cr.isfinite(x / (x - 2.0)), x, 0.0),
        "constants": lambda x: x * cr.tensor([1.0, 2.0, 3.0]) + cr.zeros(3) + x.new_ones(3),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        pairs, messages, g = _calls(fns[name], [(x,) for x in X])
    for got, want in pairs:
        _same(got._data, want._data)
    assert not messages
    assert all(isinstance(t, Tape) for t in g.cache.values())


def test_max_along_a_dim_backpropagates_to_the_new_argmax() -> None:
    w = cr.tensor(np.zeros(3, np.float32), requires_grad=True)

    def f(x: cr.Tensor) -> None:
        ((x + w).reshape(1, 3).max(dim=1).values * 3.0).sum().backward()

    g = cr_compile(f)
    for x in X:
        w.grad = None
        g(cr.tensor(x))
        got = w.grad._data.copy()
        w.grad = None
        f(cr.tensor(x))
        _same(got, w.grad._data)  # 3 at the argmax of this call's x


@pytest.mark.parametrize(
    ("name", "fn", "reason"),
    [
        ("sort", lambda x: x.sort().values * 1.0, "sort()"),
        ("topk", lambda x: x.topk(2).values, "topk()"),
        ("index_select", lambda x: x.index_select(0, (x > 0).long().cumsum(0)), "view"),
        ("scalar_index", lambda x: x[x.argmax()], "0-d integer tensor used as an index"),
        ("clone", lambda x: x.clone() * 2, "clone()"),
    ],
)
def test_what_cannot_be_recorded_falls_back_naming_it(name: str, fn: Any, reason: str) -> None:
    pairs, messages, _ = _calls(fn, [(x,) for x in X])
    for got, want in pairs:
        _same(got._data, want._data)
    assert len(messages) == 1 and reason in messages[0], messages


def test_embedding_padding_positions_follow_each_call_and_the_row_its_training() -> None:
    def make() -> tuple[Any, Any]:
        cr.manual_seed(0)
        emb = cr.nn.Embedding(6, 3, padding_idx=2)
        head = cr.nn.Linear(3, 2)
        opt = cr.optim.AdamW([*emb.parameters(), *head.parameters()], lr=0.1, weight_decay=0.5)

        def step(ids: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(head(emb(ids).mean(1)), y)
            loss.backward()
            opt.step()
            return loss

        return step, emb

    (eager, emb_e), (compiled, emb_c) = make(), make()
    compiled = cr_compile(compiled)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="cr.compile")
        for _ in range(8):  # the padding id appears in different places, or not at all
            ids, y = rng.integers(0, 6, (4, 5)), rng.integers(0, 2, 4)
            _same(
                compiled(cr.tensor(ids), cr.tensor(y))._data,
                eager(cr.tensor(ids), cr.tensor(y))._data,
            )
    _same(emb_c.weight._data, emb_e.weight._data)  # the padding row decays, untouched by grads


def test_embedding_refuses_a_negative_index_on_a_replay_as_eager_does() -> None:
    emb = cr.nn.Embedding(4, 2)
    g = cr_compile(lambda ids: emb(ids).sum())
    g(cr.tensor([0, 1]))
    g(cr.tensor([2, 3]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        g(cr.tensor([1, -1]))


def test_attention_padding_masks_given_per_call_are_applied_per_call() -> None:
    cr.manual_seed(0)
    mha = cr.nn.MultiheadAttention(4, 2, batch_first=True)
    x = cr.tensor(np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32))

    def f(x: cr.Tensor, pad: cr.Tensor) -> cr.Tensor:
        return mha(x, x, x, key_padding_mask=pad)[0]

    masks = [
        np.array([[False, False, True], [False, True, True]]),
        np.array([[True, False, False], [False, False, False]]),
        np.array([[False, True, False], [True, False, False]]),
    ]
    g = cr_compile(f)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="cr.compile")
        for m in masks + masks:
            _same(g(x, cr.tensor(m))._data, f(x, cr.tensor(m))._data)
