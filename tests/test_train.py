"""Training: fit/evaluate, callbacks, resumable checkpoints, and parity with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn import functional as F


def _loaders(seed: int = 0, n: int = 200, batch: int = 16):
    s = cr.data.moons(n, seed=seed)
    train = cr.data.TensorDataset(cr.tensor(s.x_train), cr.tensor(s.y_train))
    test = cr.data.TensorDataset(cr.tensor(s.x_test), cr.tensor(s.y_test))
    return (
        cr.data.DataLoader(train, batch, shuffle=True, seed=seed),
        cr.data.DataLoader(test, 64),
    )


def test_fit_history_and_learning():
    cr.manual_seed(0)
    train, test = _loaders()
    model = cr.nn.MLP([2, 32, 2])
    opt = cr.optim.Adam(model.parameters(), lr=0.02)
    history = cr.train.fit(model, F.cross_entropy, opt, train, 15, val_loader=test, progress=False)
    assert history["epoch"] == list(range(1, 16))
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"):
        assert len(history[key]) == 15
    assert history["train_loss"][-1] < history["train_loss"][0] / 2
    assert history["val_accuracy"][-1] > 0.9
    result = cr.train.evaluate(model, F.cross_entropy, test)
    assert result["loss"] == pytest.approx(history["val_loss"][-1])
    assert model.training  # evaluate restores the mode


@pytest.mark.filterwarnings("ignore:overflow", "ignore:invalid value")
def test_fit_rejects_diverging_loss():
    cr.manual_seed(0)
    train, _ = _loaders()
    model = cr.nn.MLP([2, 8, 2])
    opt = cr.optim.SGD(model.parameters(), lr=1e30)
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        cr.train.fit(model, F.cross_entropy, opt, train, 3, progress=False)


def test_early_stopping_restores_best_weights():
    cr.manual_seed(0)
    train, test = _loaders()
    model = cr.nn.MLP([2, 16, 2])
    opt = cr.optim.SGD(model.parameters(), lr=0.5)
    stopper = cr.train.EarlyStopping(monitor="val_loss", patience=2, min_delta=10.0)
    history = cr.train.fit(
        model,
        F.cross_entropy,
        opt,
        train,
        20,
        val_loader=test,
        callbacks=[stopper],
        progress=False,
    )
    # min_delta=10 means no epoch after the first counts as an improvement: stop after 3 epochs
    assert len(history["train_loss"]) == 3
    assert stopper.best_epoch == 1
    restored = cr.train.evaluate(model, F.cross_entropy, test)["loss"]
    assert restored == pytest.approx(history["val_loss"][0])


def _run(epochs: int, resume_from=None, path=None, stop_after=None):
    cr.manual_seed(123)
    train, _ = _loaders(seed=7)
    model = cr.nn.MLP([2, 16, 16, 2])
    opt = cr.optim.Adam(model.parameters(), lr=0.01)
    start = 0
    if resume_from is not None:
        state = cr.train.load_checkpoint(resume_from, model, opt, loaders=[train])
        start = state["epoch"]
    callbacks = [cr.train.ModelCheckpoint(path)] if path is not None else []
    todo = (stop_after or epochs) - start
    cr.train.fit(
        model,
        F.cross_entropy,
        opt,
        train,
        todo,
        callbacks=callbacks,
        start_epoch=start,
        progress=False,
    )
    return model


def test_resume_is_bit_identical(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    straight = _run(6)
    _run(6, path=path, stop_after=3)  # "interrupted" after epoch 3
    cr.manual_seed(999)  # the RNG state must come from the checkpoint, not from here
    resumed = _run(6, resume_from=path)
    for (name, a), (_, b) in zip(
        straight.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        assert np.array_equal(a.numpy(), b.numpy()), name


def test_checkpoint_holds_optimizer_rng_and_epoch(tmp_path):
    cr.manual_seed(0)
    model = cr.nn.MLP([2, 4, 2])
    opt = cr.optim.Adam(model.parameters(), lr=0.01)
    model(cr.randn(3, 2)).sum().backward()
    opt.step()
    cr.train.save_checkpoint(tmp_path / "c.safetensors", model, opt, epoch=4)
    state = cr.io.load(tmp_path / "c.safetensors")
    assert state["epoch"] == 4
    assert set(state["optimizer"]["state"]) == {0, 1, 2, 3}
    assert state["optimizer"]["state"][0]["step"] == 1
    assert state["rng"] == cr.get_rng_state()


def test_loss_curve_matches_pytorch_float64():
    """Same model, data, seed and optimizer: the same loss curve within 1e-4 relative over 100
    steps in float64."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 10))
    y = rng.integers(0, 4, 64)
    cr.manual_seed(0)
    model = cr.nn.MLP([10, 32, 32, 4]).double()
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(10, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 4),
    ).double()
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)
    ours, theirs = [], []
    for step in range(100):
        batch = slice((step * 16) % 64, (step * 16) % 64 + 16)
        opt.zero_grad()
        loss = F.cross_entropy(model(cr.tensor(x[batch])), cr.tensor(y[batch]))
        loss.backward()
        opt.step()
        ours.append(loss.item())
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(
            tmodel(torch.tensor(x[batch])), torch.tensor(y[batch])
        )
        tloss.backward()
        topt.step()
        theirs.append(tloss.item())
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    assert ours[-1] < ours[0] / 5  # and it actually trained


def test_metrics():
    logits = cr.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.5]])
    assert cr.train.accuracy(logits, cr.tensor([0, 1, 1])) == pytest.approx(2 / 3)
    counts = cr.train.confusion_matrix(np.array([0, 1, 0]), np.array([0, 1, 1]), 2)
    assert counts.tolist() == [[1, 0], [1, 1]]
    assert cr.train.predictions(cr.tensor([[-1.0], [2.0]])).tolist() == [0, 1]
