"""torch.utils.data's other pieces: Generator, Subset, ConcatDataset, random_split, the
samplers, BatchSampler and the rest of DataLoader's signature, each checked against torch where
the answer does not depend on the random stream (lengths, coverage, errors), and against itself
where it does (same generator seed, same order)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import chainrule as cr
from chainrule.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)


def numbers(n: int = 10) -> TensorDataset:
    return TensorDataset(cr.arange(n), cr.arange(n) * 10)


def test_generator_streams_are_reproducible_and_independent_of_the_global_seed():
    a = cr.randn(4, generator=cr.Generator().manual_seed(3))
    cr.manual_seed(99)
    b = cr.randn(4, generator=cr.Generator().manual_seed(3))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    g = cr.Generator().manual_seed(3)
    first, second = cr.rand(3, generator=g), cr.rand(3, generator=g)
    assert not np.array_equal(first.numpy(), second.numpy())  # the stream moves on
    assert g.initial_seed() == 3
    state = g.get_state()
    again = cr.randperm(8, generator=g)
    g.set_state(state)
    np.testing.assert_array_equal(cr.randperm(8, generator=g).numpy(), again.numpy())


def test_generator_is_refused_where_it_is_not_one():
    with pytest.raises(TypeError, match="Generator"):
        cr.randn(2, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="CPU"):
        cr.Generator(device="cuda")


def test_randint_takes_torchs_two_call_forms():
    x = cr.randint(5, (200,))
    assert x.shape == (200,) and x.dtype == cr.int64
    assert int(x.min()) >= 0 and int(x.max()) <= 4
    y = cr.randint(3, 6, (100,), generator=cr.Generator().manual_seed(0))
    assert set(y.tolist()) == {3, 4, 5}
    with pytest.raises(ValueError, match="low < high"):
        cr.randint(4, 4, (2,))


def test_subset_and_concat_index_as_torch():
    ds = numbers()
    sub, tsub = Subset(ds, [7, 2, 5]), tud.Subset(list(range(10)), [7, 2, 5])
    assert len(sub) == len(tsub) == 3
    assert [sub[i][0].item() for i in range(3)] == [tsub[i] for i in range(3)]
    cat = ConcatDataset([numbers(3), numbers(4)])
    tcat = tud.ConcatDataset([list(range(3)), list(range(4))])
    assert len(cat) == len(tcat) == 7
    assert [cat[i][0].item() for i in range(-7, 7)] == [tcat[i] for i in range(-7, 7)]
    assert cat.cumulative_sizes == tcat.cumulative_sizes
    with pytest.raises(IndexError, match="out of range"):
        cat[7]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])


@pytest.mark.parametrize(
    "lengths", [[3, 7], [0.3, 0.7], [0.5, 0.25, 0.25], [0.34, 0.33, 0.33], [1.0], [10, 0]]
)
def test_random_split_lengths_match_torch_and_cover_every_index_once(lengths):
    ds = numbers()
    ours = random_split(ds, lengths, generator=cr.Generator().manual_seed(0))
    theirs = tud.random_split(range(10), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    seen = sorted(i for s in ours for i in s.indices)
    assert seen == list(range(10))
    again = random_split(ds, lengths, generator=cr.Generator().manual_seed(0))
    assert [s.indices for s in ours] == [s.indices for s in again]


@pytest.mark.parametrize("lengths", [[3, 3], [0.5, 0.6], [2.5, 7.5]])
def test_random_split_refuses_what_torch_refuses(lengths):
    with pytest.raises((ValueError, TypeError)):  # torch: TypeError for [2.5, 7.5]
        tud.random_split(range(10), lengths)
    with pytest.raises(ValueError):
        random_split(numbers(), lengths)


def test_random_split_refuses_a_negative_length():
    # torch takes [-1, 11] (it adds up) and returns a subset of negative length; refuse it
    with pytest.raises(ValueError, match="non-negative"):
        random_split(numbers(), [-1, 11])


def test_samplers_lengths_and_coverage():
    ds = numbers(6)
    assert list(SequentialSampler(ds)) == list(tud.SequentialSampler(range(6)))
    order = list(RandomSampler(ds, generator=cr.Generator().manual_seed(1)))
    assert sorted(order) == list(range(6))
    long = RandomSampler(ds, num_samples=14)
    assert len(long) == 14 and sorted(set(long)) == list(range(6))
    drawn = list(RandomSampler(ds, replacement=True, num_samples=50))
    assert len(drawn) == 50 and set(drawn) <= set(range(6))
    sub = list(SubsetRandomSampler([4, 1, 3]))
    assert sorted(sub) == [1, 3, 4]
    weighted = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200))
    assert set(weighted) == {1, 3} and weighted.count(3) > weighted.count(1)
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler([0.0, 1.0], 2, replacement=False)


@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(drop_last):
    ours = list(BatchSampler(SequentialSampler(range(10)), 3, drop_last))
    theirs = list(tud.BatchSampler(tud.SequentialSampler(range(10)), 3, drop_last))
    assert ours == theirs
    assert len(BatchSampler(range(10), 3, drop_last)) == len(theirs)


def test_dataloader_takes_torchs_signature():
    ds = numbers()
    loader = DataLoader(ds, 4, False, None, None, 2, None, True, False, 0, None, None, None,
                        persistent_workers=False)  # fmt: skip
    assert [b[0].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    batches = DataLoader(ds, batch_sampler=BatchSampler(range(10), 5, False))
    assert [b[0].tolist() for b in batches] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert len(batches) == 2
    single = list(DataLoader(ds, batch_size=None))
    assert len(single) == 10 and single[3][0].item() == 3  # no batch dimension


def test_dataloader_generator_gives_the_same_orders():
    def orders(seed: int) -> list[list[int]]:
        loader = DataLoader(numbers(), 4, shuffle=True, generator=cr.Generator().manual_seed(seed))
        return [b[0].tolist() for _ in range(2) for b in loader]

    assert orders(5) == orders(5)
    assert orders(5) != orders(6)
    assert sorted(i for batch in orders(5)[:3] for i in batch) == list(range(10))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(batch_sampler=[[0, 1]], batch_size=2), "mutually exclusive"),
        (dict(batch_sampler=[[0, 1]], shuffle=True), "mutually exclusive"),
        (dict(batch_size=None, drop_last=True), "drop_last"),
        (dict(num_workers=-1), "num_workers"),
        (dict(shuffle=True, sampler=[0, 1]), "mutually exclusive"),
    ],
)
def test_dataloader_refuses_what_torch_refuses(kwargs, match):
    with pytest.raises(ValueError):
        tud.DataLoader(list(range(4)), **kwargs)
    with pytest.raises(ValueError, match=match):
        DataLoader(numbers(4), **kwargs)


def test_subset_of_a_split_trains_through_a_loader():
    train, test = random_split(numbers(), [0.8, 0.2], generator=cr.Generator().manual_seed(0))
    got = [x for b in DataLoader(train, 3) for x in b[0].tolist()]
    assert sorted(got + [test[i][0].item() for i in range(len(test))]) == list(range(10))


# -- torch.load's and torch.inference_mode's arguments ----------------------------------------
def test_load_accepts_torch_load_arguments(tmp_path):
    model = cr.nn.Linear(3, 2)
    path = tmp_path / "m.safetensors"
    cr.save(model.state_dict(), path)
    for kwargs in [dict(map_location="cpu"), dict(map_location="cpu:0"), dict(weights_only=True),
                   dict(map_location=lambda storage, loc: storage), dict(map_location={}),
                   dict(weights_only=False, mmap=False)]:  # fmt: skip
        state = cr.load(path, **kwargs)
        np.testing.assert_array_equal(state["weight"].numpy(), model.weight.detach().numpy())
    with pytest.raises(ValueError, match="CPU"):
        cr.load(path, map_location="cuda:0")


def test_inference_mode_records_nothing_and_nests():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.inference_mode():
        y = x * 2
        assert cr.is_inference_mode_enabled() and not cr.is_grad_enabled()
        with cr.inference_mode(False):  # torch: a no-op inside, grad stays off
            assert not cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert cr.is_grad_enabled() and not cr.is_inference_mode_enabled()
    with cr.inference_mode(False):
        assert (x * 2).requires_grad

    @cr.inference_mode()
    def predict(t):
        return t * 3

    assert not predict(x).requires_grad and cr.is_grad_enabled()
