"""ModelCheckpoint, the one way a checkpoint is written during training (`chainrule train`'s run
folder uses it too): which loaders it saves, and its refusal of non-finite epochs."""

from __future__ import annotations

import math

import pytest

import chainrule as cr
from chainrule.train.fit import History, Trainer


def _trainer() -> Trainer:
    model = cr.nn.Linear(2, 1)
    x = cr.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    loader = cr.data.DataLoader(cr.data.TensorDataset(x, x[:, :1]), 2, shuffle=True, seed=0)
    val = cr.data.DataLoader(cr.data.TensorDataset(x, x[:, :1]), 3)
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    return Trainer(model, optimizer, None, [loader, val], History({"train_loss": [0.5]}))


def test_saves_each_epoch_with_the_trainers_loaders_or_the_given_ones(tmp_path) -> None:
    trainer = _trainer()
    every = cr.train.ModelCheckpoint(tmp_path / "all.safetensors")
    only_train = cr.train.ModelCheckpoint(
        tmp_path / "train.safetensors", loaders=trainer.loaders[:1]
    )
    assert every.saved_epoch is None
    for callback in (every, only_train):
        callback.on_epoch_end(trainer, 3, {"train_loss": 0.5})
        assert callback.saved_epoch == 3
    assert len(cr.io.load(tmp_path / "all.safetensors")["loaders"]) == 2
    state = cr.io.load(tmp_path / "train.safetensors")
    assert len(state["loaders"]) == 1 and state["epoch"] == 3


@pytest.mark.parametrize("bad", ["loss", "weights"])
def test_finite_only_refuses_an_epoch_and_keeps_the_last_good_file(tmp_path, bad) -> None:
    trainer = _trainer()
    path = tmp_path / "checkpoint.safetensors"
    callback = cr.train.ModelCheckpoint(path, finite_only=True)
    callback.on_epoch_end(trainer, 1, {"train_loss": 0.5})
    logs = {"train_loss": 0.25}
    if bad == "loss":
        logs["train_loss"] = math.nan
        match = "the train loss became nan at epoch 2"
    else:
        with cr.no_grad():
            trainer.model.weight.fill_(math.inf)
        match = "the weights weight became NaN or infinite during epoch 2"
    with pytest.raises(FloatingPointError, match=match):
        callback.on_epoch_end(trainer, 2, logs)
    assert callback.saved_epoch == 1 and cr.io.load(path)["epoch"] == 1
    # without finite_only the same epoch is written
    cr.train.ModelCheckpoint(path).on_epoch_end(trainer, 2, logs)
    assert cr.io.load(path)["epoch"] == 2
