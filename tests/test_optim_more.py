"""RMSprop, Adagrad, Adadelta, NAdam, RAdam and Adamax against torch.optim: the same MLP, data
and initial weights, 20 steps in float64 (the harness of test_optim), plus state dicts that
resume bit for bit and the hyperparameters torch refuses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_optim import assert_same_parameters, data, make_models, train_both

import chainrule as cr
from chainrule import nn

CONFIGS = {
    "RMSprop": [
        dict(lr=0.01),
        dict(lr=0.01, alpha=0.9, eps=1e-6),
        dict(lr=0.01, momentum=0.9),
        dict(lr=0.01, centered=True),
        dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1),
        dict(lr=0.01, maximize=True),
    ],
    "Adagrad": [
        dict(lr=0.1),
        dict(lr=0.1, lr_decay=0.01),
        dict(lr=0.1, initial_accumulator_value=0.5, weight_decay=0.05),
        dict(lr=0.1, eps=1e-6, maximize=True),
    ],
    "Adadelta": [
        dict(),
        dict(lr=0.5, rho=0.8),
        dict(lr=1.0, eps=1e-4, weight_decay=0.1),
        dict(maximize=True),
    ],
    "NAdam": [
        dict(lr=0.01),
        dict(lr=0.01, momentum_decay=1e-2, betas=(0.8, 0.99)),
        dict(lr=0.01, weight_decay=0.1),
        dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
        dict(lr=0.01, maximize=True),
    ],
    "RAdam": [
        dict(lr=0.01),
        # b2 = 0.9: rho_t passes 5 after a few steps, so both branches of the rule run
        dict(lr=0.01, betas=(0.9, 0.9)),
        dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1),
        dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1, decoupled_weight_decay=True),
        dict(lr=0.01, maximize=True, betas=(0.9, 0.9)),
    ],
    "Adamax": [
        dict(lr=0.01),
        dict(lr=0.01, betas=(0.8, 0.9), eps=1e-4),
        dict(lr=0.01, weight_decay=0.1),
        dict(lr=0.01, maximize=True),
    ],
}
PARAMS = [
    pytest.param(name, config, id=f"{name}-" + ",".join(f"{k}={v}" for k, v in config.items()))
    for name, configs in CONFIGS.items()
    for config in configs
]


@pytest.fixture(autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name, config", PARAMS)
def test_matches_torch_for_20_steps(name, config):
    model, _ = train_both(
        lambda p: getattr(cr.optim, name)(p, **config),
        lambda p: getattr(torch.optim, name)(p, **config),
    )
    initial, _ = make_models()
    assert not np.allclose(model[0].weight.detach().numpy(), initial[0].weight.detach().numpy())


def test_radam_takes_both_branches_of_its_rectification():
    # with b2 = 0.9, rho_inf = 19 and rho_t crosses 5 at the fourth step: the first steps are
    # plain momentum (a step of exactly lr * m_hat), the later ones are rectified
    b2 = 0.9
    rho_inf = 2 / (1 - b2) - 1
    rho = [rho_inf - 2 * t * b2**t / (1 - b2**t) for t in range(1, 8)]
    assert rho[0] <= 5 < rho[-1]
    p = nn.Parameter(cr.tensor([1.0], dtype=cr.float64))
    opt = cr.optim.RAdam([p], lr=0.1, betas=(0.9, b2))
    p.grad = cr.tensor([2.0], dtype=cr.float64)
    opt.step()
    assert p.item() == pytest.approx(1.0 - 0.1 * 2.0)  # m_hat = g on the first step


@pytest.mark.parametrize("name", list(CONFIGS))
def test_state_dict_resumes_exactly(name):
    x, y = data()

    def run(opt, model, steps):
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.cross_entropy(model(cr.tensor(x)), cr.tensor(y)).backward()
            opt.step()

    model, _ = make_models()
    opt = getattr(cr.optim, name)(model.parameters(), **CONFIGS[name][-2])
    run(opt, model, 6)
    resumed, _ = make_models()
    resumed.load_state_dict(model.state_dict())
    opt2 = getattr(cr.optim, name)(resumed.parameters(), **CONFIGS[name][-2])
    opt2.load_state_dict(opt.state_dict())
    run(opt, model, 4)
    run(opt2, resumed, 4)
    for (n, a), b in zip(model.named_parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=n)


def test_state_dict_keys_are_torchs():
    model, tmodel = make_models()
    x, y = data()
    for name, config in [(n, c[0]) for n, c in CONFIGS.items()]:
        opt = getattr(cr.optim, name)(model.parameters(), **config)
        topt = getattr(torch.optim, name)(tmodel.parameters(), **config)
        nn.functional.cross_entropy(model(cr.tensor(x)), cr.tensor(y)).backward()
        torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y)).backward()
        opt.step()
        topt.step()
        ours, theirs = opt.state_dict(), topt.state_dict()
        assert set(ours["state"][0]) == set(theirs["state"][0]), name
        their_group = {k for k in theirs["param_groups"][0] if k not in _TORCH_ONLY}
        assert their_group <= set(ours["param_groups"][0]), name


# torch's groups also carry its implementation switches, which have no meaning here
_TORCH_ONLY = {"foreach", "differentiable", "capturable", "fused"}


def test_adagrad_has_its_accumulator_before_the_first_step():
    p = nn.Parameter(cr.zeros(3))
    opt = cr.optim.Adagrad([p], initial_accumulator_value=0.25)
    np.testing.assert_array_equal(opt.state_dict()["state"][0]["sum"].numpy(), [0.25] * 3)


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("RMSprop", dict(eps=-1.0), "eps"),
        ("RMSprop", dict(momentum=-0.5), "momentum"),
        ("RMSprop", dict(alpha=-0.1), "alpha"),
        ("Adagrad", dict(lr_decay=-1.0), "lr_decay"),
        ("Adagrad", dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
        ("Adadelta", dict(rho=1.5), "rho"),
        ("NAdam", dict(betas=(1.0, 0.9)), "beta parameter at index 0"),
        ("NAdam", dict(momentum_decay=-1.0), "momentum_decay"),
        ("RAdam", dict(betas=(0.9, -0.1)), "beta parameter at index 1"),
        ("Adamax", dict(eps=float("nan")), "eps"),
        ("RMSprop", dict(lr=-1.0), "learning rate"),
    ],
)
def test_bad_hyperparameters_are_refused_as_torch_refuses_them(name, kwargs, match):
    p = nn.Parameter(cr.zeros(2))
    with pytest.raises(ValueError, match=match):
        getattr(cr.optim, name)([p], **kwargs)
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))], **kwargs)


def test_a_parameter_without_gradient_is_left_alone():
    a, b = nn.Parameter(cr.ones(2)), nn.Parameter(cr.ones(2))
    for name in CONFIGS:
        opt = getattr(cr.optim, name)([a, b], lr=0.1)
        a.grad = cr.ones(2)
        b.grad = None
        opt.step()
        np.testing.assert_array_equal(b.detach().numpy(), [1.0, 1.0], err_msg=name)
        assert not np.array_equal(a.detach().numpy(), [1.0, 1.0]), name
        a.data = cr.ones(2)


def test_after_training_same_parameters_as_torch_with_groups():
    # two parameter groups with their own lr, one optimizer of the new family
    model, tmodel = make_models()
    x, y = data()

    def groups(params):
        params = list(params)
        return [{"params": params[:2], "lr": 0.02}, {"params": params[2:]}]

    opt = cr.optim.RMSprop(groups(model.parameters()), lr=0.01, momentum=0.5)
    topt = torch.optim.RMSprop(groups(tmodel.parameters()), lr=0.01, momentum=0.5)
    for _ in range(10):
        opt.zero_grad()
        topt.zero_grad()
        nn.functional.cross_entropy(model(cr.tensor(x)), cr.tensor(y)).backward()
        torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y)).backward()
        opt.step()
        topt.step()
    assert_same_parameters(model, tmodel)
