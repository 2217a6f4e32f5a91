"""The schedules beyond the first four against torch.optim.lr_scheduler: the lr of two parameter
groups over 30 epochs (and momentum/betas for OneCycleLR), plus plateaus, sequences, fractional
epochs of warm restarts, state dicts and the arguments torch refuses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

SCHEDULES = {
    "MultiStepLR": dict(milestones=[3, 8, 8, 20], gamma=0.5),
    "ConstantLR": dict(factor=0.25, total_iters=6),
    "LinearLR": dict(start_factor=0.1, end_factor=1.0, total_iters=10),
    "LinearLR-decay": dict(start_factor=1.0, end_factor=0.05, total_iters=25),
    "PolynomialLR": dict(total_iters=20, power=2.0),
    "CosineAnnealingWarmRestarts": dict(T_0=7),
    "CosineAnnealingWarmRestarts-mult": dict(T_0=3, T_mult=2, eta_min=0.001),
    "MultiplicativeLR": dict(lr_lambda=lambda epoch: 0.95 if epoch % 2 else 0.9),
    "OneCycleLR": dict(max_lr=[0.5, 0.2], total_steps=30),
    "OneCycleLR-linear": dict(max_lr=0.4, total_steps=30, anneal_strategy="linear", pct_start=0.4),
    "OneCycleLR-three": dict(max_lr=0.3, epochs=5, steps_per_epoch=6, three_phase=True),
}


def optimizers(kind: str = "SGD") -> tuple[cr.optim.Optimizer, torch.optim.Optimizer]:
    a, b = nn.Parameter(cr.zeros(2)), nn.Parameter(cr.zeros(3))
    ta, tb = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))
    if kind == "Adam":
        return (
            cr.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.03}], lr=0.1),
            torch.optim.Adam([{"params": [ta]}, {"params": [tb], "lr": 0.03}], lr=0.1),
        )
    return (
        cr.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.03}], lr=0.1, momentum=0.9),
        torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.03}], lr=0.1, momentum=0.9),
    )


def history(optimizer, scheduler, epochs: int = 30, metric=None) -> list[list[float]]:
    def read():
        row = []
        for g in optimizer.param_groups:
            row.append(g["lr"])
            row.append(g["betas"][0] if "betas" in g else g.get("momentum", 0.0))
        return row

    rows = [read()]
    for epoch in range(epochs):
        optimizer.step()
        if metric is None:
            scheduler.step()
        else:
            scheduler.step(metric(epoch))
        rows.append(read())
    return rows


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch(name, optimizer):
    kind, kwargs = name.split("-")[0], SCHEDULES[name]
    epochs = 29 if kind == "OneCycleLR" else 30  # 1cycle refuses to run past total_steps
    opt, topt = optimizers(optimizer)
    ours = history(opt, getattr(cr.optim.lr_scheduler, kind)(opt, **kwargs), epochs)
    theirs = history(topt, getattr(torch.optim.lr_scheduler, kind)(topt, **kwargs), epochs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert len({tuple(r) for r in ours}) >= 2  # the schedule moves


def test_one_cycle_refuses_to_step_past_its_total():
    opt, _ = optimizers()
    sched = cr.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="3 steps"):
        sched.step()


def test_one_cycle_needs_momentum_or_betas_and_a_length():
    opt, _ = optimizers()
    with pytest.raises(ValueError, match="total_steps"):
        cr.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1)
    p = nn.Parameter(cr.zeros(1))
    with pytest.raises(ValueError, match="momentum or betas"):
        cr.optim.lr_scheduler.OneCycleLR(cr.optim.Adagrad([p]), max_lr=0.1, total_steps=5)
    # without momentum cycling any optimizer will do
    sched = cr.optim.lr_scheduler.OneCycleLR(
        cr.optim.Adagrad([p]), max_lr=0.1, total_steps=5, cycle_momentum=False
    )
    assert sched.get_last_lr() == [pytest.approx(0.1 / 25)]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(patience=2),
        dict(patience=0, factor=0.5, cooldown=2),
        dict(mode="max", patience=1, threshold=0.1, threshold_mode="abs"),
        dict(patience=1, min_lr=[0.02, 0.001], factor=0.2),
        dict(patience=1, threshold=0.5),
    ],
)
def test_reduce_on_plateau_matches_torch(kwargs):
    # a metric that improves, stalls, improves a little, then stalls for good
    values = [1.0, 0.8, 0.8, 0.81, 0.79, 0.79, 0.79, 0.795, 0.7] + [0.7] * 21
    opt, topt = optimizers()
    ours = history(opt, cr.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs), 30,
                   lambda e: values[e])  # fmt: skip
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    theirs = history(topt, sched, 30, lambda e: values[e])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert ours[-1] != ours[0]  # it did reduce


def test_reduce_on_plateau_takes_a_tensor_metric_and_resumes_from_its_state():
    opt, _ = optimizers()
    sched = cr.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for v in [1.0, 1.0, 1.0]:
        sched.step(cr.tensor(v))
    assert sched.get_last_lr()[0] == pytest.approx(0.01)
    state = sched.state_dict()
    opt2, _ = optimizers()
    again = cr.optim.lr_scheduler.ReduceLROnPlateau(opt2, patience=1)
    again.load_state_dict(state)
    assert again.best == 1.0 and again.num_bad_epochs == sched.num_bad_epochs


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda o: cr.optim.lr_scheduler.ReduceLROnPlateau(o, factor=1.0), "factor"),
        (lambda o: cr.optim.lr_scheduler.ReduceLROnPlateau(o, mode="up"), "mode"),
        (lambda o: cr.optim.lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]), "min_lrs"),
        (lambda o: cr.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0), "T_0"),
        (lambda o: cr.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 2, T_mult=0), "T_mult"),
        (lambda o: cr.optim.lr_scheduler.LinearLR(o, start_factor=0.0), "start_factor"),
        (lambda o: cr.optim.lr_scheduler.OneCycleLR(o, 0.1, 10, pct_start=2.0), "pct_start"),
        (lambda o: cr.optim.lr_scheduler.OneCycleLR(o, [0.1], 10), "max_lr"),
    ],
)
def test_bad_arguments_are_refused(make, match):
    opt, _ = optimizers()
    with pytest.raises(ValueError, match=match):
        make(opt)


def test_warm_restarts_accept_fractional_epochs_as_torch():
    opt, topt = optimizers()
    ours = cr.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=4, T_mult=2)
    for epoch in [0.25, 1.5, 3.75, 4.0, 6.5, 12.0, 13.2, 2.0]:
        ours.step(epoch)
        theirs.step(epoch)
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)


def test_sequential_warmup_then_cosine_matches_torch():
    def build(lib, opt):
        s = lib.optim.lr_scheduler
        warm = s.LinearLR(opt, start_factor=0.1, total_iters=5)
        cosine = s.CosineAnnealingLR(opt, T_max=20, eta_min=0.001)
        decay = s.ExponentialLR(opt, gamma=0.9)
        return s.SequentialLR(opt, [warm, cosine, decay], milestones=[5, 20])

    opt, topt = optimizers()
    ours, theirs = history(opt, build(cr, opt)), history(topt, build(torch, topt))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert ours[0][0] == pytest.approx(0.01)  # the warm-up's first lr, not the cosine's


def test_sequential_checks_its_milestones():
    opt, _ = optimizers()
    s = cr.optim.lr_scheduler
    with pytest.raises(ValueError, match="milestones"):
        s.SequentialLR(opt, [s.StepLR(opt, 2), s.StepLR(opt, 3)], milestones=[])


def test_step_with_an_epoch_jumps_there():
    opt, topt = optimizers()
    ours = cr.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4])
    theirs = torch.optim.lr_scheduler.MultiStepLR(topt, milestones=[2, 4])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates the epoch argument
        ours.step(5)
        theirs.step(5)
    np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
    assert ours.last_epoch == 5
