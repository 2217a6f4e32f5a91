"""cr.data: Dataset, TensorDataset, DataLoader and default_collate."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset, TensorDataset, default_collate


def dataset(n: int = 10) -> TensorDataset:
    """Features whose first column is the sample's index, and labels 100 + index."""
    x = np.stack([np.arange(n), np.arange(n) * 2.0], axis=1).astype(np.float32)
    return TensorDataset(cr.tensor(x), cr.tensor(np.arange(n) + 100))


def epoch(loader: DataLoader) -> list[int]:
    """The sample indices of one epoch, in the order the loader gave them."""
    order = []
    for x, y in loader:
        idx = x.numpy()[:, 0].astype(int)
        np.testing.assert_array_equal(y.numpy(), idx + 100)  # rows stay paired
        order.extend(idx.tolist())
    return order


# -- TensorDataset ---------------------------------------------------------------------------


def test_tensor_dataset_indexing_and_len():
    ds = dataset(5)
    assert len(ds) == 5
    x, y = ds[3]
    np.testing.assert_array_equal(x.numpy(), [3.0, 6.0])
    assert y.item() == 103
    assert isinstance(ds, Dataset)


def test_tensor_dataset_accepts_arrays_and_lists():
    ds = TensorDataset(np.zeros((4, 2)), [1, 2, 3, 4])
    assert len(ds) == 4 and ds[2][1].item() == 3


@pytest.mark.parametrize(
    "tensors",
    [
        (cr.zeros(4, 2), cr.zeros(5)),
        (cr.zeros(3), cr.zeros(3), cr.zeros(2, 3)),
        (cr.zeros(4), cr.tensor(1.0)),
    ],
)
def test_tensor_dataset_refuses_mismatched_lengths(tensors):
    with pytest.raises(ValueError, match="first dimension") as info:
        TensorDataset(*tensors)
    assert "shape" in str(info.value)


def test_tensor_dataset_needs_a_tensor():
    with pytest.raises(ValueError):
        TensorDataset()


# -- batching --------------------------------------------------------------------------------


def test_batches_in_order_without_shuffle():
    batches = list(DataLoader(dataset(10), batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert [b[1].tolist() for b in batches] == [
        [100, 101, 102, 103],
        [104, 105, 106, 107],
        [108, 109],
    ]
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "expected"),
    [
        (10, 4, False, 3),
        (10, 4, True, 2),
        (12, 4, False, 3),
        (12, 4, True, 3),
        (3, 5, False, 1),
        (3, 5, True, 0),
        (10, 1, False, 10),
    ],
)
def test_len_and_drop_last(n, batch_size, drop_last, expected):
    for shuffle in (False, True):
        loader = DataLoader(dataset(n), batch_size, shuffle=shuffle, seed=0, drop_last=drop_last)
        assert len(loader) == expected
        batches = list(loader)
        assert len(batches) == expected
        sizes = [len(b[1].tolist()) for b in batches]
        if drop_last:
            assert all(size == batch_size for size in sizes)
        assert sum(sizes) == (n // batch_size * batch_size if drop_last else n)


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, True])
def test_bad_batch_size_is_refused(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(dataset(), batch_size=batch_size)


# -- shuffling -------------------------------------------------------------------------------


def test_every_sample_once_per_epoch():
    loader = DataLoader(dataset(23), batch_size=5, shuffle=True, seed=3)
    for _ in range(4):
        assert sorted(epoch(loader)) == list(range(23))


def test_shuffle_is_deterministic_given_the_seed():
    a = DataLoader(dataset(20), batch_size=6, shuffle=True, seed=7)
    b = DataLoader(dataset(20), batch_size=6, shuffle=True, seed=7)
    orders_a = [epoch(a) for _ in range(3)]
    orders_b = [epoch(b) for _ in range(3)]
    assert orders_a == orders_b


def test_shuffle_differs_across_epochs_and_from_sorted():
    loader = DataLoader(dataset(20), batch_size=6, shuffle=True, seed=7)
    orders = [epoch(loader) for _ in range(3)]
    assert orders[0] != orders[1] != orders[2] and orders[0] != orders[2]
    assert all(order != list(range(20)) for order in orders)


def test_different_seeds_give_different_orders():
    orders = {
        tuple(epoch(DataLoader(dataset(20), batch_size=4, shuffle=True, seed=seed)))
        for seed in range(5)
    }
    assert len(orders) == 5


def test_shuffle_without_seed_follows_manual_seed():
    cr.manual_seed(11)
    first = epoch(DataLoader(dataset(20), batch_size=4, shuffle=True))
    cr.manual_seed(11)
    again = epoch(DataLoader(dataset(20), batch_size=4, shuffle=True))
    cr.manual_seed(12)
    other = epoch(DataLoader(dataset(20), batch_size=4, shuffle=True))
    assert first == again != other


def test_no_shuffle_ignores_seed_and_repeats():
    loader = DataLoader(dataset(9), batch_size=4, seed=5)
    assert epoch(loader) == epoch(loader) == list(range(9))


def test_generator_state_resumes_the_same_orders():
    loader = DataLoader(dataset(15), batch_size=4, shuffle=True, seed=1)
    epoch(loader)
    state = loader.get_state()
    expected = [epoch(loader) for _ in range(2)]
    resumed = DataLoader(dataset(15), batch_size=4, shuffle=True, seed=999)
    resumed.set_state(state)
    assert [epoch(resumed) for _ in range(2)] == expected


# -- custom datasets and collation -----------------------------------------------------------


class Squares(Dataset):
    """A map-style dataset of (feature vector, label) pairs built on the fly."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return cr.tensor([float(i), float(i * i)]), i % 3


class Records(Dataset):
    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int):
        return {"x": np.full(3, float(i)), "label": i, "weight": 0.5 * i}


def test_custom_dataset_with_default_collate():
    batches = list(DataLoader(Squares(7), batch_size=3))
    assert len(batches) == 3
    x, y = batches[1]
    assert isinstance(x, cr.Tensor) and isinstance(y, cr.Tensor)
    np.testing.assert_array_equal(x.numpy(), [[3.0, 9.0], [4.0, 16.0], [5.0, 25.0]])
    assert y.tolist() == [0, 1, 2] and y.dtype == np.int64
    assert batches[2][0].shape == (1, 2)


def test_custom_dataset_shuffled_sees_every_sample():
    loader = DataLoader(Squares(10), batch_size=4, shuffle=True, seed=0, drop_last=False)
    seen = []
    for x, y in loader:
        i = x.numpy()[:, 0].astype(int)
        np.testing.assert_array_equal(x.numpy()[:, 1], i * i)
        np.testing.assert_array_equal(y.numpy(), i % 3)
        seen.extend(i.tolist())
    assert sorted(seen) == list(range(10)) and seen != list(range(10))


def test_default_collate_of_dicts_numbers_and_arrays():
    batch = next(iter(DataLoader(Records(), batch_size=4)))
    assert sorted(batch) == ["label", "weight", "x"]
    assert batch["x"].shape == (4, 3)
    np.testing.assert_array_equal(batch["x"].numpy()[:, 0], [0.0, 1.0, 2.0, 3.0])
    assert batch["label"].tolist() == [0, 1, 2, 3] and batch["label"].dtype == np.int64
    assert batch["weight"].tolist() == [0.0, 0.5, 1.0, 1.5]
    assert batch["weight"].dtype == np.float64  # Python floats collate to float64, as torch


def test_default_collate_directly():
    x, y = default_collate([(cr.ones(2), 1), (cr.zeros(2), 0)])
    np.testing.assert_array_equal(x.numpy(), [[1.0, 1.0], [0.0, 0.0]])
    assert y.tolist() == [1, 0]


def test_custom_collate_fn_and_fast_path_agree():
    ds = dataset(10)
    fast = list(DataLoader(ds, batch_size=3, shuffle=True, seed=4))
    slow = list(DataLoader(ds, batch_size=3, shuffle=True, seed=4, collate_fn=default_collate))
    assert len(fast) == len(slow)
    for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())
    sizes = list(DataLoader(ds, batch_size=4, collate_fn=len))
    assert sizes == [4, 4, 2]


def test_batches_do_not_require_grad_and_train_a_model():
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, seed=0)
    model = cr.nn.MLP([2, 8, 2])
    opt = cr.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(15):
        for xb, yb in loader:
            assert not xb.requires_grad
            opt.zero_grad()
            loss = cr.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4])
