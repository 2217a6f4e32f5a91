"""Containers, Module methods, activation/loss modules: names, state dicts and reprs against
torch (the same model built in both libraries lists the same keys and prints the same text)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


def build(lib):
    """One nested model using every container, in either library."""

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = lib.nn.ModuleDict({"a": lib.nn.Linear(3, 2), "b": lib.nn.Linear(3, 1)})
            self.scales = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)), lib.zeros(3)])
            self.extra = lib.nn.ParameterDict({"w": lib.nn.Parameter(lib.ones(4))})
            self.body = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.GELU(), lib.nn.PReLU(3))
            self.register_buffer("steps", lib.zeros(1))
            self.register_buffer("cache", lib.zeros(2), persistent=False)

    return Net()


def test_nested_containers_give_torchs_state_dict_keys():
    ours, theirs = build(cr), build(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert "cache" not in ours.state_dict()


def test_state_dict_loads_both_ways_and_gives_the_same_outputs():
    ours, theirs = build(cr), build(torch)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})  # fmt: skip
    result = ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert (
        repr(result)
        == repr(theirs.load_state_dict(theirs.state_dict()))
        == ("<All keys matched successfully>")
    )
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_allclose(
        ours.body(cr.tensor(x, dtype=cr.float32)).detach().numpy(),
        theirs.body(torch.from_numpy(x).float()).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_load_state_dict_non_strict_reports_keys_as_torch():
    ours, theirs = build(cr), build(torch)
    state = {k: v for k, v in ours.state_dict().items() if k != "steps"}
    state["bogus"] = np.zeros(1, np.float32)
    got = ours.load_state_dict(state, strict=False)
    expected = theirs.load_state_dict(
        {k: torch.from_numpy(np.asarray(v.numpy() if hasattr(v, "numpy") else v)) for k, v in
         state.items()}, strict=False)  # fmt: skip
    assert got.missing_keys == expected.missing_keys == ["steps"]
    assert got.unexpected_keys == expected.unexpected_keys == ["bogus"]


def test_module_dict_methods():
    d = nn.ModuleDict([("x", nn.ReLU()), ("y", nn.Tanh())])
    assert list(d) == list(d.keys()) == ["x", "y"] and len(d) == 2 and "x" in d
    d["z"] = nn.Linear(2, 2)
    d.update({"w": nn.Sigmoid()})
    assert [k for k, _ in d.items()] == ["x", "y", "z", "w"]
    assert isinstance(d.pop("z"), nn.Linear) and "z" not in d
    assert list(d.parameters()) == []
    del d["x"]
    assert list(d) == ["y", "w"]
    d.clear()
    assert len(d) == 0
    with pytest.raises(TypeError, match="not a Module"):
        d["bad"] = 3
    with pytest.raises(ValueError, match="length 3"):
        d.update([("a", nn.ReLU(), 1)])


def test_parameter_list_methods():
    p = nn.ParameterList([cr.ones(2)])
    assert isinstance(p[0], nn.Parameter)  # a tensor is wrapped, as torch
    p.append(nn.Parameter(cr.zeros(3))).extend([cr.ones(1)])
    p += [cr.ones(4)]
    assert len(p) == 4 and [t.shape for t in p] == [(2,), (3,), (1,), (4,)]
    assert p[-1] is p[3] and len(p[1:3]) == 2
    assert [n for n, _ in p.named_parameters()] == ["0", "1", "2", "3"]
    with pytest.raises(IndexError):
        p[4]
    q = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2, 3)), torch.nn.Parameter(
        torch.ones(5))])  # fmt: skip
    ours = nn.ParameterList([cr.ones(2, 3), cr.ones(5)])
    assert repr(ours) == repr(q).replace("torch.", "")


def test_parameter_dict_methods():
    d = nn.ParameterDict({"a": cr.ones(2)})
    d["b"] = nn.Parameter(cr.zeros(3))
    assert isinstance(d["a"], nn.Parameter) and list(d) == ["a", "b"]
    assert d.get("c") is None and d.get("a") is d["a"]
    d.update([("c", cr.ones(1))])
    assert [k for k, _ in d.items()] == ["a", "b", "c"] and len(d.values()) == 3
    key, value = d.popitem()
    assert key == "c" and value.shape == (1,)
    assert d.setdefault("z", cr.ones(5)).shape == (5,)
    assert [n for n, _ in d.named_parameters()] == ["a", "b", "z"]
    assert d.pop("a").shape == (2,) and "a" not in d
    with pytest.raises(KeyError):
        d["missing"]
    merged = d | nn.ParameterDict({"q": cr.ones(1)})
    assert list(merged) == ["b", "z", "q"]
    d.clear()
    assert len(d) == 0 and list(d.parameters()) == []


def test_apply_visits_children_first_in_torchs_order():
    def order(lib):
        model = lib.nn.Sequential(lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh()), lib.nn.Sigmoid())
        seen = []
        assert model.apply(lambda m: seen.append(type(m).__name__)) is model
        return seen

    assert order(cr) == order(torch)


def test_registration_methods_and_their_errors():
    m = nn.Module()
    m.register_parameter("w", nn.Parameter(cr.ones(2)))
    m.register_module("child", nn.Linear(2, 2))
    m.add_module("other", None)
    m.register_buffer("b", cr.zeros(1))
    assert m.get_parameter("child.weight") is m.child.weight
    assert m.get_submodule("child") is m.child and m.get_submodule("") is m
    assert m.get_buffer("b") is m.b
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        m.get_submodule("nope")
    with pytest.raises(AttributeError, match=r"not an nn\.Parameter"):
        m.get_parameter("b")
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("w", cr.zeros(1))
    with pytest.raises(KeyError, match=r"contain \"\.\""):
        m.register_buffer("a.b", cr.zeros(1))
    with pytest.raises(TypeError, match="buffer 'x'"):
        m.register_buffer("x", 3)
    with pytest.raises(TypeError, match="parameter 'x'"):
        m.register_parameter("x", cr.ones(2))
    with pytest.raises(TypeError, match="not a Module subclass"):
        m.add_module("x", 3)


def test_buffers_cast_with_parameters_in_place():
    model = build(cr)
    weight = model.heads["a"].weight
    assert model.double() is model
    assert weight.dtype == np.float64 and model.steps.dtype == np.float64
    assert model.heads["a"].weight is weight  # the same Parameter object
    assert model.to(cr.float32) is model and weight.dtype == np.float32
    assert model.to("cpu") is model and model.cpu() is model
    assert model.to(device="cpu", dtype=cr.float64) is model and weight.dtype == np.float64
    assert model.half() is model and weight.dtype == np.float16
    assert model.to(cr.zeros(1, dtype=cr.float32)) is model and weight.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        model.to(np.int64)
    with pytest.raises(RuntimeError, match="CPU"):
        model.to("cuda")


def test_train_eval_requires_grad_and_parameters_recurse():
    model = build(cr)
    assert model.eval() is model and not model.body[2].training
    assert model.train() is model and model.body[2].training
    with pytest.raises(ValueError, match="boolean"):
        model.train(1)  # type: ignore[arg-type]
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    assert len(list(model.parameters(recurse=False))) == 0
    assert len(list(model.body.parameters(recurse=True))) == 3


def test_state_dict_prefix_and_keep_vars():
    model = nn.Linear(2, 1)
    assert list(model.state_dict(prefix="fc.")) == ["fc.weight", "fc.bias"]
    assert model.state_dict(keep_vars=True)["weight"] is model.weight


@pytest.mark.parametrize("name, args", [
    ("GELU", ()), ("GELU", ("tanh",)), ("SiLU", ()), ("SiLU", (True,)), ("Mish", ()),
    ("ELU", (0.5, True)), ("CELU", ()), ("SELU", ()), ("Softplus", ()), ("Softsign", ()),
    ("Hardtanh", (-2.0, 2.0, True)), ("Hardsigmoid", ()), ("Hardswish", ()), ("ReLU6", (True,)),
    ("PReLU", (3,)), ("LogSigmoid", ()), ("GLU", ()), ("Softmin", (1,)), ("Tanhshrink", ()),
    ("Softshrink", ()), ("Hardshrink", (0.3,)), ("Threshold", (0.1, 20.0)), ("RReLU", ()),
    ("ReLU", (True,)), ("LeakyReLU", (0.1, True)), ("HuberLoss", ()),
])  # fmt: skip
def test_activation_module_reprs_match_torch(name, args):
    assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


@pytest.mark.parametrize("name, args, inputs", [
    ("GELU", (), 1), ("Mish", (), 1), ("ELU", (0.7,), 1), ("GLU", (1,), 1),
    ("Softmin", (1,), 1), ("Threshold", (0.1, -1.0), 1), ("RReLU", (), 1),
    ("KLDivLoss", (None, None, "batchmean"), 2), ("HuberLoss", ("sum", 0.5), 2),
    ("SmoothL1Loss", (), 2), ("SoftMarginLoss", (), 2), ("MultiLabelSoftMarginLoss", (), 2),
    ("HingeEmbeddingLoss", (), 2), ("PoissonNLLLoss", (), 2), ("GaussianNLLLoss", (), 3),
    ("CosineEmbeddingLoss", (), 3), ("MarginRankingLoss", (0.2,), 3),
    ("TripletMarginLoss", (), 3), ("CosineSimilarity", (), 2), ("PairwiseDistance", (), 2),
])  # fmt: skip
def test_modules_compute_what_torchs_compute(name, args, inputs):
    rng = np.random.default_rng(1)
    arrays = [rng.uniform(0.1, 1.0, (3, 4)) for _ in range(inputs)]
    if name in ("CosineEmbeddingLoss", "MarginRankingLoss"):
        arrays[2] = np.array([1.0, -1.0, 1.0]) if name == "CosineEmbeddingLoss" else arrays[2]
    ours = getattr(nn, name)(*args).eval()
    theirs = getattr(torch.nn, name)(*args).eval()
    got = ours(*[cr.tensor(a) for a in arrays])
    expected = theirs(*[torch.from_numpy(a) for a in arrays])
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-6)


def test_prelu_weight_is_a_parameter_with_torchs_init():
    m = nn.PReLU(3, init=0.1)
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    np.testing.assert_allclose(m.weight.detach().numpy(), [0.1, 0.1, 0.1])


def test_dropout_modules_mask_channels_in_training():
    cr.manual_seed(0)
    x = cr.ones(8, 16, 5)
    y = nn.Dropout1d(0.5)(x).numpy()
    per_channel = y.reshape(8, 16, 5)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # whole channels
    assert nn.Dropout2d(0.5).eval()(cr.ones(2, 3, 4, 4)).numpy().min() == 1.0
    z = nn.AlphaDropout(0.2)(cr.tensor(np.random.default_rng(0).standard_normal(20000)))
    assert abs(float(z.mean().item())) < 0.05 and abs(float(z.std().item()) - 1) < 0.05
