"""cr.optim against torch.optim: the same MLP, data and initial weights, 20 steps, float64.

Also learning-rate schedules, zero_grad, optimizer state dicts (resume == uninterrupted), the
refusal of bad hyperparameters, and the version counter an in-place update bumps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

STEPS = 20
TOL = 1e-10  # float64: both libraries do the same arithmetic in a slightly different order


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny tensors: torch's thread pool only adds overhead (10x here), so use one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_models(seed: int = 0) -> tuple[nn.Module, torch.nn.Module]:
    """A chainrule MLP and a torch.nn.Sequential holding the same float64 weights."""
    cr.manual_seed(seed)
    model = nn.MLP([4, 8, 8, 3], activation="tanh").double()
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(4, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 3),
    ).double()
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return model, tmodel


def data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((16, 4)), rng.integers(0, 3, size=16)


def assert_same_parameters(model: nn.Module, tmodel: torch.nn.Module, tol: float = TOL) -> None:
    theirs = dict(tmodel.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(
            p.detach().numpy(), theirs[name].detach().numpy(), rtol=tol, atol=tol, err_msg=name
        )


def train_both(
    make_cr: Callable[[Any], Any],
    make_torch: Callable[[Any], Any],
    steps: int = STEPS,
    scheduler: tuple[Callable, Callable] | None = None,
) -> tuple[nn.Module, torch.nn.Module]:
    model, tmodel = make_models()
    x, y = data()
    opt, topt = make_cr(model.parameters()), make_torch(tmodel.parameters())
    if scheduler is not None:
        sched, tsched = scheduler[0](opt), scheduler[1](topt)
    for step in range(steps):
        # a different batch each step, so the moments see changing gradients
        rows = np.roll(np.arange(16), step)[:12]
        opt.zero_grad()
        topt.zero_grad()
        loss = nn.functional.cross_entropy(model(cr.tensor(x[rows])), cr.tensor(y[rows]))
        tloss = torch.nn.functional.cross_entropy(
            tmodel(torch.tensor(x[rows])), torch.tensor(y[rows])
        )
        assert loss.item() == pytest.approx(tloss.item(), rel=TOL, abs=TOL), step
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
        if scheduler is not None:
            sched.step()
            tsched.step()
            assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], 1e-12)
        assert_same_parameters(model, tmodel)
    return model, tmodel


SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, dampening=0.3),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.05),
    dict(lr=0.05, momentum=0.8, weight_decay=0.05, nesterov=True),
    dict(lr=0.05, momentum=0.5, dampening=0.5, weight_decay=0.01),
    dict(lr=0.1, maximize=True),
    dict(lr=0.1, momentum=0.9, maximize=True, weight_decay=0.01),
]
ADAM_CONFIGS = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.02, amsgrad=True, weight_decay=0.05),
    dict(lr=0.01, maximize=True),
]
ADAMW_CONFIGS = [
    dict(lr=0.01),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.02, weight_decay=0.1, amsgrad=True, betas=(0.85, 0.995)),
]


def ids(configs: list[dict]) -> list[str]:
    return [",".join(f"{k}={v}" for k, v in c.items()) for c in configs]


@pytest.mark.parametrize("config", SGD_CONFIGS, ids=ids(SGD_CONFIGS))
def test_sgd_matches_torch(config):
    model, _ = train_both(
        lambda p: cr.optim.SGD(p, **config), lambda p: torch.optim.SGD(p, **config)
    )
    # the model actually moved: 20 steps are not a no-op
    initial, _ = make_models()
    assert not np.allclose(model[0].weight.detach().numpy(), initial[0].weight.detach().numpy())


@pytest.mark.parametrize("config", ADAM_CONFIGS, ids=ids(ADAM_CONFIGS))
def test_adam_matches_torch(config):
    train_both(lambda p: cr.optim.Adam(p, **config), lambda p: torch.optim.Adam(p, **config))


@pytest.mark.parametrize("config", ADAMW_CONFIGS, ids=ids(ADAMW_CONFIGS))
def test_adamw_matches_torch(config):
    train_both(lambda p: cr.optim.AdamW(p, **config), lambda p: torch.optim.AdamW(p, **config))


def test_adamw_default_weight_decay_is_torchs():
    p = nn.Parameter(cr.zeros(2))
    assert cr.optim.AdamW([p]).param_groups[0]["weight_decay"] == 0.01
    assert cr.optim.Adam([p]).param_groups[0]["weight_decay"] == 0.0
    assert cr.optim.Adam([p]).param_groups[0]["lr"] == 1e-3


def groups_of(params) -> list[dict]:
    """The first layer with its own lr, the rest with the default."""
    params = list(params)
    return [{"params": params[:2], "lr": 0.3}, {"params": params[2:]}]


def test_parameter_groups_with_their_own_lr_match_torch():
    model, _ = make_models()
    opt = cr.optim.SGD(groups_of(model.parameters()), lr=0.05, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.3, 0.05]
    train_both(
        lambda p: cr.optim.SGD(groups_of(p), lr=0.05, momentum=0.9),
        lambda p: torch.optim.SGD(groups_of(p), lr=0.05, momentum=0.9),
    )
    train_both(
        lambda p: cr.optim.Adam(groups_of(p), lr=0.01),
        lambda p: torch.optim.Adam(groups_of(p), lr=0.01),
    )


def test_training_with_a_schedule_matches_torch():
    train_both(
        lambda p: cr.optim.Adam(p, lr=0.05),
        lambda p: torch.optim.Adam(p, lr=0.05),
        scheduler=(
            lambda o: cr.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
            lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
        ),
    )


def test_parameters_without_grad_are_left_alone():
    a, b = nn.Parameter(cr.ones(2)), nn.Parameter(cr.ones(2))
    for opt in (cr.optim.SGD([a, b], lr=0.1, momentum=0.9), cr.optim.Adam([a, b], lr=0.1)):
        (a * 3).sum().backward()
        opt.step()
        assert np.all(b.detach().numpy() == 1.0)
        assert b not in opt.state
        a.grad = None


def test_step_updates_in_place_and_keeps_leaves():
    model, _ = make_models()
    weight = model[0].weight
    data_before = weight._data
    opt = cr.optim.Adam(model.parameters(), lr=0.1)
    model(cr.tensor(data()[0])).sum().backward()
    opt.step()
    assert model[0].weight is weight and weight._data is data_before
    assert weight.is_leaf and weight.requires_grad and weight.grad_fn is None


# -- learning-rate schedules ------------------------------------------------------------------


def lr_sequence(optimizer, scheduler, epochs: int = 30) -> list[list[float]]:
    lrs = [[g["lr"] for g in optimizer.param_groups]]
    for _ in range(epochs):
        optimizer.step()
        scheduler.step()
        lrs.append([g["lr"] for g in optimizer.param_groups])
    return lrs


SCHEDULES = {
    "StepLR": dict(step_size=7, gamma=0.5),
    "StepLR-3": dict(step_size=3, gamma=0.9),
    "CosineAnnealingLR": dict(T_max=30),
    "CosineAnnealingLR-eta_min": dict(T_max=30, eta_min=0.001),
    "CosineAnnealingLR-short": dict(T_max=12, eta_min=0.01),  # runs past T_max: it rises again
    "ExponentialLR": dict(gamma=0.9),
    "LambdaLR": dict(lr_lambda=lambda epoch: 1 / (1 + epoch) ** 0.5),
    "LambdaLR-warmup": dict(lr_lambda=lambda epoch: min(1.0, (epoch + 1) / 5) * 0.95**epoch),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_lr_schedule_matches_torch(name):
    kind, kwargs = name.split("-")[0], SCHEDULES[name]
    a, b = nn.Parameter(cr.zeros(2)), nn.Parameter(cr.zeros(3))
    ta, tb = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))
    opt = cr.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.03}], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.03}], lr=0.1, momentum=0.9)
    ours = lr_sequence(opt, getattr(cr.optim.lr_scheduler, kind)(opt, **kwargs))
    theirs = lr_sequence(topt, getattr(torch.optim.lr_scheduler, kind)(topt, **kwargs))
    assert len(ours) == 31
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert len({tuple(lrs) for lrs in ours}) > 1  # the schedule changes the lr


@pytest.mark.parametrize("kind", ["StepLR", "ExponentialLR"])
def test_schedule_starts_from_the_lr_the_group_has_when_created(kind):
    kwargs = {"StepLR": dict(step_size=2), "ExponentialLR": dict(gamma=0.5)}[kind]
    p, tp = nn.Parameter(cr.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt, topt = cr.optim.SGD([p], lr=0.1), torch.optim.SGD([tp], lr=0.1)
    opt.param_groups[0]["lr"] = topt.param_groups[0]["lr"] = 0.5  # changed after construction
    ours = lr_sequence(opt, getattr(cr.optim.lr_scheduler, kind)(opt, **kwargs), epochs=5)
    theirs = lr_sequence(topt, getattr(torch.optim.lr_scheduler, kind)(topt, **kwargs), epochs=5)
    assert ours[0] == [0.5]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_get_last_lr_and_scheduler_state_dict():
    p = nn.Parameter(cr.zeros(2))
    opt = cr.optim.SGD([p], lr=1.0)
    sched = cr.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    for _ in range(3):
        opt.step()
        sched.step()
    assert sched.get_last_lr() == [pytest.approx(0.1)]
    state = sched.state_dict()
    opt2 = cr.optim.SGD([nn.Parameter(cr.zeros(2))], lr=1.0)
    sched2 = cr.optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.1)
    sched2.load_state_dict(state)
    opt2.step()
    sched2.step()
    opt.step()
    sched.step()
    assert sched2.get_last_lr() == sched.get_last_lr() == [pytest.approx(0.01)]


# -- zero_grad -------------------------------------------------------------------------------


@pytest.mark.parametrize("set_to_none", [True, False])
def test_optimizer_zero_grad(set_to_none):
    model, _ = make_models()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    model(cr.tensor(data()[0])).sum().backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert all(g is not None and np.any(g.numpy() != 0) for g in grads.values())
    opt.zero_grad(set_to_none=set_to_none)
    for name, p in model.named_parameters():
        if set_to_none:
            assert p.grad is None, name
        else:
            assert p.grad is grads[name], name  # zeroed in place, as torch
            assert np.all(p.grad.numpy() == 0), name
    # a following backward accumulates from zero in both cases
    model(cr.tensor(data()[0])).sum().backward()
    again = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    opt.zero_grad()
    model(cr.tensor(data()[0])).sum().backward()
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.grad.numpy(), again[name], err_msg=name)


def test_zero_grad_default_is_set_to_none():
    p = nn.Parameter(cr.ones(2))
    opt = cr.optim.Adam([p])
    (p * 2).sum().backward()
    opt.zero_grad()
    assert p.grad is None


# -- state dicts: resume == uninterrupted ----------------------------------------------------


def run_steps(model, opt, first: int, last: int) -> None:
    x, y = data()
    for step in range(first, last):
        rows = np.roll(np.arange(16), step)[:12]
        opt.zero_grad()
        nn.functional.cross_entropy(model(cr.tensor(x[rows])), cr.tensor(y[rows])).backward()
        opt.step()


OPTIMIZERS = {
    "SGD-momentum": lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "Adam-amsgrad": lambda p: cr.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.01),
    "AdamW": lambda p: cr.optim.AdamW(p, lr=0.01),
}


@pytest.mark.parametrize("via_file", [False, True])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_dict_resume_equals_uninterrupted(name, via_file, tmp_path):
    make = OPTIMIZERS[name]
    model, _ = make_models()
    opt = make(model.parameters())
    run_steps(model, opt, 0, STEPS)

    first, _ = make_models()
    opt1 = make(first.parameters())
    run_steps(first, opt1, 0, 8)
    state = {"model": first.state_dict(), "optimizer": opt1.state_dict()}
    if via_file:
        cr.save(state, tmp_path / "ckpt.safetensors")
        # keep training the original a little: the file is a snapshot (in memory, the model's
        # state_dict shares the parameters' memory, as torch's does)
        run_steps(first, opt1, 8, 10)
        state = cr.load(tmp_path / "ckpt.safetensors")

    resumed, _ = make_models(seed=99)  # different initial weights, overwritten by the load
    opt2 = make(resumed.parameters())
    resumed.load_state_dict(state["model"])
    opt2.load_state_dict(state["optimizer"])
    run_steps(resumed, opt2, 8, STEPS)
    for (key, p), (_, q) in zip(model.named_parameters(), resumed.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=key)


def test_state_dict_layout_matches_torch():
    model, tmodel = make_models()
    for make, tmake in [
        (
            lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9),
            lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        ),
        (
            lambda p: cr.optim.Adam(p, lr=0.1, amsgrad=True),
            lambda p: torch.optim.Adam(p, lr=0.1, amsgrad=True),
        ),
    ]:
        opt, topt = make(model.parameters()), tmake(tmodel.parameters())
        model(cr.tensor(data()[0])).sum().backward()
        tmodel(torch.tensor(data()[0])).sum().backward()
        opt.step()
        topt.step()
        state, tstate = opt.state_dict(), topt.state_dict()
        assert sorted(state) == sorted(tstate) == ["param_groups", "state"]
        assert list(state["state"]) == list(tstate["state"])
        for index, entry in state["state"].items():
            assert sorted(entry) == sorted(tstate["state"][index])
        assert [g["params"] for g in state["param_groups"]] == [
            g["params"] for g in tstate["param_groups"]
        ]
        assert state["param_groups"][0]["lr"] == tstate["param_groups"][0]["lr"]
        model.zero_grad()
        tmodel.zero_grad()


def test_state_dict_is_a_snapshot():
    p = nn.Parameter(cr.ones(3))
    opt = cr.optim.SGD([p], lr=0.1, momentum=0.9)
    (p * p).sum().backward()
    opt.step()
    saved = opt.state_dict()
    buffer = saved["state"][0]["momentum_buffer"].numpy().copy()
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"].numpy(), buffer)


def test_load_state_dict_refuses_mismatched_groups():
    a, b = nn.Parameter(cr.ones(2)), nn.Parameter(cr.ones(3))
    opt = cr.optim.SGD([a, b], lr=0.1)
    with pytest.raises(ValueError, match="parameters"):
        cr.optim.SGD([a], lr=0.1).load_state_dict(opt.state_dict())
    two_groups = cr.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="groups"):
        two_groups.load_state_dict(opt.state_dict())


# -- bad hyperparameters ----------------------------------------------------------------------


def params() -> list[nn.Parameter]:
    return [nn.Parameter(cr.ones(2)), nn.Parameter(cr.ones(3))]


@pytest.mark.parametrize("optimizer", [cr.optim.SGD, cr.optim.Adam, cr.optim.AdamW])
@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), "0.1", None])
def test_bad_learning_rate_is_refused(optimizer, lr):
    with pytest.raises(ValueError, match="learning rate"):
        optimizer(params(), lr=lr)


@pytest.mark.parametrize("optimizer", [cr.optim.SGD, cr.optim.Adam, cr.optim.AdamW])
def test_bad_learning_rate_in_a_group_is_refused(optimizer):
    with pytest.raises(ValueError, match="learning rate"):
        optimizer([{"params": params(), "lr": -1.0}], lr=0.1)


@pytest.mark.parametrize("optimizer", [cr.optim.SGD, cr.optim.Adam, cr.optim.AdamW])
def test_empty_parameter_list_is_refused(optimizer):
    with pytest.raises(ValueError, match="empty"):
        optimizer([], lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        optimizer(nn.Sequential(nn.Linear(2, 2)).parameters(recurse=False), lr=0.1)


@pytest.mark.parametrize("optimizer", [cr.optim.SGD, cr.optim.Adam, cr.optim.AdamW])
def test_duplicate_parameters_are_refused(optimizer):
    a, b = params()
    with pytest.raises(ValueError, match="more than once"):
        optimizer([a, b, a], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optimizer([{"params": [a]}, {"params": [b, a]}], lr=0.1)
    opt = optimizer([a], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [a]})


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(momentum=-0.1),
        dict(weight_decay=-1e-3),
        dict(nesterov=True),  # Nesterov needs momentum
        dict(nesterov=True, momentum=0.9, dampening=0.1),  # and zero dampening
    ],
)
def test_bad_sgd_hyperparameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1, **kwargs)
    with pytest.raises(ValueError, match="SGD"):
        cr.optim.SGD(params(), lr=0.1, **kwargs)


@pytest.mark.parametrize("optimizer", [cr.optim.Adam, cr.optim.AdamW])
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(betas=(1.0, 0.999)),
        dict(betas=(0.9, 1.0)),
        dict(betas=(-0.1, 0.999)),
        dict(betas=(0.9, 1.5)),
        dict(eps=-1e-8),
        dict(weight_decay=-0.1),
    ],
)
def test_bad_adam_hyperparameters_are_refused(optimizer, kwargs):
    torch_optimizer = getattr(torch.optim, optimizer.__name__)
    with pytest.raises(ValueError):
        torch_optimizer([torch.nn.Parameter(torch.ones(2))], lr=0.1, **kwargs)
    with pytest.raises(ValueError, match=optimizer.__name__):
        optimizer(params(), lr=0.1, **kwargs)


def test_non_tensors_and_non_leaves_are_refused():
    with pytest.raises(TypeError):
        cr.optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError):
        cr.optim.SGD(nn.Parameter(cr.ones(2)), lr=0.1)  # a bare tensor, not an iterable of them
    leaf = nn.Parameter(cr.ones(2))
    with pytest.raises(ValueError, match="leaf"):
        cr.optim.SGD([leaf * 2], lr=0.1)


# -- in-place updates and the version counter ------------------------------------------------


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "AdamW"])
def test_step_bumps_version_and_stale_graph_refuses_backward(optimizer):
    def scenario(lib):
        w = lib.nn.Parameter(lib.ones(3))
        x = lib.tensor([1.0, 2.0, 3.0])
        opt = getattr(lib.optim, optimizer)([w], lr=0.1)
        (w * x).sum().backward()
        stale = (w * w).sum()  # the product saved w for its backward
        version = w._version
        opt.step()
        assert w._version > version
        with pytest.raises(RuntimeError, match=r"modified by an inplace operation|version"):
            stale.backward()

    scenario(torch)
    scenario(cr)


def test_graph_built_after_step_is_fine():
    w = nn.Parameter(cr.ones(3))
    opt = cr.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    opt.zero_grad()
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.full(3, 0.8), rtol=1e-6)


def test_one_sgd_step_is_the_seed_formula():
    # seed 000 Ex3 Q4: W <- W - lr dL/dW
    w = nn.Parameter(cr.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=cr.float64))
    x = cr.tensor([1.0, 3.0], dtype=cr.float64)
    loss = ((w @ x) ** 2).sum()
    loss.backward()
    expected = w.detach().numpy() - 0.01 * w.grad.numpy()
    cr.optim.SGD([w], lr=0.01).step()
    np.testing.assert_array_equal(w.detach().numpy(), expected)
    assert math.isclose(float(expected[0, 0]), 0.5 - 0.01 * 2 * (0.5 - 3.0) * 1.0)
