"""cr.nn.Module and layers: registration, traversal, state dicts, modes, repr, init, Parameter.

The oracle is PyTorch: the same model built in both libraries must list the same names, in the same
order, and print the same text.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny tensors: torch's thread pool only adds overhead (10x here), so use one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Block(nn.Module):
    """Two layers and a directly owned parameter, registered in a known order."""

    def __init__(self, lib) -> None:
        super().__init__()
        self.fc1 = lib.nn.Linear(3, 4)
        self.scale = lib.nn.Parameter(lib.ones(4))
        self.act = lib.nn.Tanh()
        self.fc2 = lib.nn.Linear(4, 2, bias=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)) * self.scale)


class TorchBlock(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(3, 4)
        self.scale = torch.nn.Parameter(torch.ones(4))
        self.act = torch.nn.Tanh()
        self.fc2 = torch.nn.Linear(4, 2, bias=False)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = Block(cr)
        self.head = nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 1))
        self.temperature = nn.Parameter(cr.tensor(1.5))


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = TorchBlock()
        self.head = torch.nn.Sequential(
            torch.nn.Linear(2, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1)
        )
        self.temperature = torch.nn.Parameter(torch.tensor(1.5))


def shapes(named) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(t.shape)) for name, t in named]


# -- registration and traversal ----------------------------------------------------------------


def test_named_parameters_match_torch_names_order_and_shapes():
    assert shapes(Net().named_parameters()) == shapes(TorchNet().named_parameters())
    assert [name for name, _ in Net().named_parameters()] == [
        "temperature",
        "body.scale",
        "body.fc1.weight",
        "body.fc1.bias",
        "body.fc2.weight",
        "head.0.weight",
        "head.0.bias",
        "head.2.weight",
        "head.2.bias",
    ]


def test_parameters_are_the_registered_objects():
    net = Net()
    params = list(net.parameters())
    assert params[0] is net.temperature
    assert params[2] is net.body.fc1.weight
    assert all(isinstance(p, nn.Parameter) for p in params)
    assert len(params) == 9
    assert [name for name, _ in net.named_parameters(recurse=False)] == ["temperature"]


def test_children_and_modules_match_torch():
    net, tnet = Net(), TorchNet()
    assert [type(m).__name__ for m in net.children()] == ["Block", "Sequential"]
    assert [n for n, _ in net.named_children()] == [n for n, _ in tnet.named_children()]
    assert [n for n, _ in net.named_modules()] == [n for n, _ in tnet.named_modules()]
    names = [type(m).__name__ for m in net.modules()]
    torch_names = [type(m).__name__ for m in tnet.modules()]
    assert names == [{"TorchNet": "Net", "TorchBlock": "Block"}.get(n, n) for n in torch_names]
    assert next(iter(net.modules())) is net


def test_plain_attributes_are_not_registered():
    net = Net()
    net.note = "hello"
    net.tensor = cr.ones(3)  # a plain tensor is not a parameter
    assert net.note == "hello"
    assert len(list(net.parameters())) == 9
    assert "tensor" not in net.state_dict()


def test_reassigning_replaces_and_deleting_unregisters():
    net = Net()
    net.head = nn.Linear(2, 1)
    assert [n for n, _ in net.named_parameters()][-2:] == ["head.weight", "head.bias"]
    del net.temperature
    assert "temperature" not in dict(net.named_parameters())
    with pytest.raises(AttributeError, match="temperature"):
        _ = net.temperature
    net.temperature = 3.0  # no longer a parameter: a plain attribute
    assert net.temperature == 3.0
    assert "temperature" not in dict(net.named_parameters())


def test_reassigning_a_parameter_keeps_its_place():
    lin, tlin = nn.Linear(2, 3), torch.nn.Linear(2, 3)
    lin.weight = nn.Parameter(cr.zeros(3, 2))
    tlin.weight = torch.nn.Parameter(torch.zeros(3, 2))
    assert list(lin.state_dict()) == list(tlin.state_dict()) == ["weight", "bias"]
    assert np.all(lin.weight.detach().numpy() == 0)


def test_assigning_a_non_parameter_over_a_parameter_raises_like_torch():
    lin, tlin = nn.Linear(2, 3), torch.nn.Linear(2, 3)
    with pytest.raises(TypeError, match="weight"):
        tlin.weight = tlin.weight * 2
    with pytest.raises(TypeError, match="weight"):
        lin.weight = lin.weight * 2  # would silently drop the parameter from the model
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    net = Net()
    with pytest.raises(TypeError, match="head"):
        net.head = "not a module"
    lin.bias = None  # None is allowed and keeps the slot, as torch
    tlin.bias = None
    assert list(lin.state_dict()) == list(tlin.state_dict()) == ["weight"]
    assert lin.bias is None


def test_assigning_before_init_raises():
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="__init__"):
        Broken()


def test_shared_parameter_is_counted_once():
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Linear(4, 4)
            self.decoder = nn.Linear(4, 4)
            self.decoder.weight = self.encoder.weight

    class TorchTied(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = torch.nn.Linear(4, 4)
            self.decoder = torch.nn.Linear(4, 4)
            self.decoder.weight = self.encoder.weight

    tied, ttied = Tied(), TorchTied()
    assert [n for n, _ in tied.named_parameters()] == [n for n, _ in ttied.named_parameters()]
    assert len(list(tied.parameters())) == 3
    # the state dict lists every name, as torch's does
    assert list(tied.state_dict()) == list(ttied.state_dict())


def test_shared_module_matches_torch_in_traversal_and_state_dict():
    lin, tlin = nn.Linear(3, 3), torch.nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    tseq = torch.nn.Sequential(tlin, torch.nn.ReLU(), tlin)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == [n for n, _ in tseq.named_parameters()]
    assert [n for n, _ in seq.named_modules()] == [n for n, _ in tseq.named_modules()]
    assert list(seq.state_dict()) == list(tseq.state_dict())
    seq.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tseq.state_dict().items()})
    np.testing.assert_array_equal(lin.weight.detach().numpy(), tlin.weight.detach().numpy())


def test_deep_nesting_names():
    model = nn.Sequential(nn.Sequential(nn.Sequential(nn.Linear(1, 1))))
    assert [n for n, _ in model.named_parameters()] == ["0.0.0.weight", "0.0.0.bias"]
    assert [n for n, _ in model.named_modules()] == ["", "0", "0.0", "0.0.0"]


# -- state dicts ---------------------------------------------------------------------------------


def test_state_dict_keys_equal_torch_keys():
    assert list(Net().state_dict()) == list(TorchNet().state_dict())
    mlp = nn.MLP([4, 8, 8, 3])
    tmlp = torch.nn.Sequential(
        torch.nn.Linear(4, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 3),
    )
    assert list(mlp.state_dict()) == list(tmlp.state_dict())


def test_state_dict_values_are_detached_and_share_memory():
    lin = nn.Linear(2, 3)
    state = lin.state_dict()
    assert not state["weight"].requires_grad
    assert state["weight"].grad_fn is None
    with cr.no_grad():
        lin.weight.fill_(7.0)
    assert np.all(state["weight"].numpy() == 7.0)


def test_load_state_dict_roundtrip():
    a, b = Net(), Net()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(pa.detach().numpy(), pb.detach().numpy(), err_msg=name)
    # loading copies values: the two models do not share memory afterwards
    with cr.no_grad():
        a.body.fc1.weight.fill_(0.0)
    assert not np.all(b.body.fc1.weight.detach().numpy() == 0.0)


def snapshot(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_load_state_dict_strict_lists_every_problem_and_loads_nothing():
    model = nn.MLP([3, 4, 2])
    before = snapshot(model)
    state = {k: cr.zeros(*v.shape) for k, v in model.state_dict().items()}
    del state["2.bias"]  # missing
    state["extra.weight"] = cr.zeros(1)  # unexpected
    state["0.weight"] = cr.zeros(5, 3)  # wrong shape
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "2.bias" in message and "Missing" in message
    assert "extra.weight" in message and "Unexpected" in message
    assert "0.weight" in message and "(5, 3)" in message and "(4, 3)" in message
    # torch's order: missing, unexpected, size mismatches
    assert message.index("Missing") < message.index("Unexpected") < message.index("(5, 3)")
    # 0.bias and 2.weight were fine, yet nothing was loaded
    after = snapshot(model)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)
    assert not np.all(after["0.bias"] == 0)


def test_load_state_dict_wrong_shape_only_loads_nothing():
    model = nn.MLP([3, 4, 2])
    before = snapshot(model)
    state = {k: cr.zeros(*v.shape) for k, v in model.state_dict().items()}
    state["2.weight"] = cr.zeros(2, 5)
    with pytest.raises(RuntimeError, match=r"2\.weight"):
        model.load_state_dict(state)
    for key, value in snapshot(model).items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_load_state_dict_non_strict_returns_missing_and_unexpected():
    model = nn.MLP([3, 4, 2])
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    state = {k: cr.full(tuple(v.shape), 0.25) for k, v in model.state_dict().items()}
    del state["0.bias"]
    state["head.weight"] = cr.zeros(2)
    result = model.load_state_dict(state, strict=False)
    missing, unexpected = result  # a named tuple, as torch's
    assert missing == ["0.bias"] and unexpected == ["head.weight"]
    tstate = {k: torch.full(tuple(v.shape), 0.25) for k, v in state.items()}
    tresult = tmodel.load_state_dict(tstate, strict=False)
    assert result.missing_keys == tresult.missing_keys
    assert result.unexpected_keys == tresult.unexpected_keys
    # the matching keys were loaded
    assert np.all(model[0].weight.detach().numpy() == 0.25)
    assert np.all(model[2].bias.detach().numpy() == 0.25)
    assert not np.all(model[0].bias.detach().numpy() == 0.25)


def test_load_state_dict_non_strict_still_refuses_wrong_shapes():
    model = nn.Linear(2, 2)
    before = snapshot(model)
    with pytest.raises(RuntimeError, match="weight"):
        model.load_state_dict({"weight": cr.zeros(3, 2), "bias": cr.zeros(2)}, strict=False)
    for key, value in snapshot(model).items():
        np.testing.assert_array_equal(value, before[key])


def test_load_state_dict_accepts_numpy_arrays_and_keeps_parameter_identity():
    lin = nn.Linear(2, 3)
    weight = lin.weight
    lin.load_state_dict({"weight": np.full((3, 2), 2.0), "bias": np.arange(3.0)})
    assert lin.weight is weight
    assert lin.weight.dtype == np.float32
    assert lin.weight.requires_grad and lin.weight.is_leaf
    np.testing.assert_array_equal(lin.bias.detach().numpy(), [0.0, 1.0, 2.0])


# -- modes and gradients ------------------------------------------------------------------------


def test_train_and_eval_are_recursive():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.head.train(False)
    assert net.training and net.body.training
    assert not any(m.training for m in net.head.modules())


@pytest.mark.parametrize("set_to_none", [True, False])
def test_module_zero_grad(set_to_none):
    net = Net()
    out = net.head(net.body(cr.randn(5, 3))) * net.temperature
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    assert np.any(net.body.fc1.weight.grad.numpy() != 0)
    net.zero_grad(set_to_none=set_to_none)
    for name, p in net.named_parameters():
        if set_to_none:
            assert p.grad is None, name
        else:
            assert p.grad is not None and p.grad.shape == p.shape, name
            assert np.all(p.grad.numpy() == 0), name


def test_zero_grad_default_sets_none():
    lin = nn.Linear(2, 2)
    lin(cr.ones(1, 2)).sum().backward()
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None


def test_requires_grad_flag_freezes():
    lin = nn.Linear(2, 2)
    assert lin.requires_grad_(False) is lin
    assert not any(p.requires_grad for p in lin.parameters())
    assert not lin(cr.ones(1, 2)).requires_grad


# -- repr ----------------------------------------------------------------------------------------


def test_repr_of_linear_and_mlp_match_torch():
    assert repr(nn.Linear(3, 4)) == repr(torch.nn.Linear(3, 4))
    assert repr(nn.Linear(3, 4, bias=False)) == repr(torch.nn.Linear(3, 4, bias=False))
    mlp = nn.MLP([784, 64, 10])
    tmlp = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    assert repr(mlp) == repr(tmlp)
    deep = nn.MLP([2, 8, 8, 1], activation="tanh")
    tdeep = torch.nn.Sequential(
        torch.nn.Linear(2, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 1),
    )
    assert repr(deep) == repr(tdeep)


def test_repr_of_nested_custom_module_matches_torch():
    text = re.sub("TorchNet|TorchBlock", lambda m: m.group(0)[5:], repr(TorchNet()))
    assert repr(Net()) == text


def test_repr_of_activations_and_softmax_match_torch():
    for ours, theirs in [
        (nn.ReLU(), torch.nn.ReLU()),
        (nn.Sigmoid(), torch.nn.Sigmoid()),
        (nn.Tanh(), torch.nn.Tanh()),
        (nn.Identity(), torch.nn.Identity()),
        (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
        (nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(dim=-1)),
    ]:
        assert repr(ours) == repr(theirs)
    assert repr(nn.Softmax(dim=0, beta=2.0)) == "Softmax(dim=0, beta=2.0)"


# -- Linear and init -----------------------------------------------------------------------------


def test_linear_weight_shape_and_forward():
    lin = nn.Linear(5, 3)
    assert lin.weight.shape == (3, 5)  # (out_features, in_features)
    assert lin.bias.shape == (3,)
    assert lin.weight.dtype == np.float32
    assert nn.Linear(5, 3, bias=False).bias is None
    x = cr.randn(7, 5)
    expected = x.numpy() @ lin.weight.detach().numpy().T + lin.bias.detach().numpy()
    np.testing.assert_allclose(lin(x).detach().numpy(), expected, rtol=1e-6, atol=1e-6)
    assert lin(cr.randn(2, 4, 5)).shape == (2, 4, 3)


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_linear_refuses_bad_sizes(bad):
    with pytest.raises(ValueError, match="Linear"):
        nn.Linear(bad, 2)


def test_linear_default_init_statistics():
    cr.manual_seed(0)
    fan_in = 400
    lin = nn.Linear(fan_in, 500)
    bound = 1 / math.sqrt(fan_in)
    for name, values in [("weight", lin.weight), ("bias", nn.Linear(fan_in, 20000).bias)]:
        w = values.detach().numpy().astype(np.float64).ravel()
        assert np.abs(w).max() <= bound, name
        # the draws reach towards both ends of the interval
        assert w.min() < -0.99 * bound and w.max() > 0.99 * bound, name
        # uniform on [-b, b]: mean 0, variance b^2 / 3, flat histogram
        sigma_mean = bound / math.sqrt(3 * w.size)
        assert abs(w.mean()) < 5 * sigma_mean, name
        assert w.var() == pytest.approx(bound**2 / 3, rel=0.03), name
        counts, _ = np.histogram(w, bins=10, range=(-bound, bound))
        expected = w.size / 10
        assert np.all(np.abs(counts - expected) < 6 * math.sqrt(expected)), (name, counts)


def test_init_is_seeded():
    cr.manual_seed(123)
    a = nn.Linear(3, 3).weight.detach().numpy().copy()
    cr.manual_seed(123)
    b = nn.Linear(3, 3).weight.detach().numpy().copy()
    c = nn.Linear(3, 3).weight.detach().numpy().copy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_init_functions():
    w = nn.Parameter(cr.zeros(50, 200))
    version = w._version
    nn.init.xavier_uniform_(w)
    assert w._version > version
    bound = math.sqrt(6 / (200 + 50))
    assert np.abs(w.detach().numpy()).max() <= bound
    assert w.detach().numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert w.detach().numpy().std() == pytest.approx(math.sqrt(2 / 200), rel=0.05)
    nn.init.zeros_(w)
    assert np.all(w.detach().numpy() == 0)
    nn.init.constant_(w, 0.5)
    assert np.all(w.detach().numpy() == 0.5)
    assert nn.init.calculate_gain("tanh") == torch.nn.init.calculate_gain("tanh")
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", 0.2)
    )
    with pytest.raises(ValueError):
        nn.init.xavier_uniform_(nn.Parameter(cr.zeros(3)))


# -- MLP -----------------------------------------------------------------------------------------


def test_mlp_structure():
    mlp = nn.MLP([2, 16, 8, 3])
    kinds = [type(m).__name__ for m in mlp]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert [(m.in_features, m.out_features) for m in mlp if isinstance(m, nn.Linear)] == [
        (2, 16),
        (16, 8),
        (8, 3),
    ]
    assert mlp(cr.randn(4, 2)).shape == (4, 3)


@pytest.mark.parametrize(
    ("activation", "kind"),
    [("relu", nn.ReLU), ("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid), (nn.Tanh, nn.Tanh)],
)
def test_mlp_activation_choice(activation, kind):
    mlp = nn.MLP([3, 5, 5, 1], activation=activation)
    assert isinstance(mlp[1], kind) and isinstance(mlp[3], kind)
    assert len(mlp) == 5


def test_mlp_without_bias_and_single_layer():
    mlp = nn.MLP([1, 1, 1], activation="sigmoid", bias=False)  # seed 000 Ex1: a2 sigmoid(a1 x)
    assert [n for n, _ in mlp.named_parameters()] == ["0.weight", "2.weight"]
    with cr.no_grad():
        mlp[0].weight.fill_(2.0)
        mlp[2].weight.fill_(-3.0)
    x = 0.5
    assert mlp(cr.tensor([[x]])).item() == pytest.approx(-3.0 / (1 + math.exp(-2.0 * x)))
    single = nn.MLP([4, 2])
    assert len(single) == 1 and isinstance(single[0], nn.Linear)


@pytest.mark.parametrize("sizes", [[3], [], [3, 0, 2], [3, -1]])
def test_mlp_refuses_bad_sizes(sizes):
    with pytest.raises(ValueError, match="MLP"):
        nn.MLP(sizes)


def test_mlp_refuses_unknown_activation():
    with pytest.raises(ValueError, match="swish"):
        nn.MLP([2, 2, 2], activation="swish")


def test_sequential_indexing_and_ordered_dict():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert [n for n, _ in seq.named_parameters()] == ["fc.weight", "fc.bias"]
    assert isinstance(seq[1], nn.ReLU)
    assert len(seq) == 2
    with pytest.raises(TypeError, match="item 1"):
        nn.Sequential(nn.ReLU(), "not a module")


# -- Softmax / LogSoftmax modules with temperature beta ------------------------------------------


@pytest.mark.parametrize("beta", [1.0, 0.5, 3.0])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_modules_with_beta_match_torch(beta, dim):
    x = np.random.default_rng(1).standard_normal((3, 4))
    g = np.random.default_rng(2).standard_normal((3, 4))
    for ours, theirs in [
        (nn.Softmax(dim=dim, beta=beta), torch.nn.Softmax(dim=dim)),
        (nn.LogSoftmax(dim=dim, beta=beta), torch.nn.LogSoftmax(dim=dim)),
    ]:
        cx = cr.tensor(x, requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        y, ty = ours(cx), theirs(tx * beta)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
        y.backward(cr.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_softmax_beta_limits():
    x = cr.tensor([[1.0, 3.0, 2.0]], dtype=cr.float64)
    flat = nn.Softmax(dim=-1, beta=0.0)(x).numpy()
    np.testing.assert_allclose(flat, [[1 / 3] * 3])
    sharp = nn.Softmax(dim=-1, beta=1000.0)(x).numpy()
    np.testing.assert_allclose(sharp, [[0.0, 1.0, 0.0]], atol=1e-300)
    assert np.all(np.isfinite(nn.LogSoftmax(dim=-1, beta=1000.0)(x).numpy()))


# -- Parameter -----------------------------------------------------------------------------------


def test_parameter_is_a_leaf_that_requires_grad():
    p = nn.Parameter(cr.zeros(2, 3))
    assert isinstance(p, cr.Tensor)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    frozen = nn.Parameter(cr.zeros(2), requires_grad=False)
    assert not frozen.requires_grad and frozen.is_leaf
    y = (p * 2).sum()
    assert not isinstance(y, nn.Parameter) and not y.is_leaf
    y.backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((2, 3), 2.0))


def test_parameter_shares_memory_with_wrapped_tensor():
    t = cr.ones(3)
    p = nn.Parameter(t)
    with cr.no_grad():
        p.mul_(4.0)
    np.testing.assert_array_equal(t.numpy(), [4.0, 4.0, 4.0])
    assert p.dtype == t.dtype


def test_parameter_repr_matches_torch():
    assert repr(nn.Parameter(cr.zeros(2))) == repr(torch.nn.Parameter(torch.zeros(2)))
    assert repr(nn.Parameter(cr.ones(2, 2))) == repr(torch.nn.Parameter(torch.ones(2, 2)))
    p = nn.Parameter(cr.tensor([1.0, 2.5]))
    assert repr(p) == "Parameter containing:\n" + repr(cr.tensor([1.0, 2.5], requires_grad=True))
    assert repr(nn.Parameter(cr.zeros(2), requires_grad=False)) == repr(
        torch.nn.Parameter(torch.zeros(2), requires_grad=False)
    )
