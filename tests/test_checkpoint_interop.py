"""Checkpoints: cr.save / cr.load round trips, interop with torch through safetensors files,
refusal of pickles, and load_state_dict's all-or-nothing checks on a checkpoint."""

from __future__ import annotations

import itertools
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

import chainrule as cr
from chainrule import nn


def torch_mlp(sizes: list[int]) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def inputs(n: int = 32, features: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, features)).astype(np.float32)


SIZES = [8, 32, 16, 4]


@pytest.fixture
def trained(tmp_path: Path) -> tuple[nn.Module, Path]:
    """A chainrule MLP after a few SGD steps (so no value is an untouched init), saved."""
    cr.manual_seed(0)
    model = nn.MLP(SIZES)
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = cr.tensor(inputs()), cr.tensor(np.arange(32) % 4)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    path = tmp_path / "model.safetensors"
    cr.save(model.state_dict(), path)
    return model, path


# -- chainrule -> chainrule ------------------------------------------------------------------


def test_save_load_round_trip(trained):
    model, path = trained
    state = cr.load(path)
    assert list(state) == list(model.state_dict())
    for key, value in model.state_dict().items():
        assert isinstance(state[key], cr.Tensor), key
        assert state[key].dtype == value.dtype == np.float32, key
        assert state[key].shape == value.shape, key
        np.testing.assert_array_equal(state[key].numpy(), value.numpy(), err_msg=key)


def test_loaded_checkpoint_reproduces_the_model(trained):
    model, path = trained
    cr.manual_seed(123)
    fresh = nn.MLP(SIZES)
    x = cr.tensor(inputs(seed=5))
    assert not np.allclose(fresh(x).detach().numpy(), model(x).detach().numpy())
    result = fresh.load_state_dict(cr.load(path))
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())


def test_float64_checkpoint_round_trip(tmp_path):
    model = nn.MLP([3, 5, 2]).double()
    cr.save(model.state_dict(), tmp_path / "m64.safetensors")
    state = cr.load(tmp_path / "m64.safetensors")
    assert all(v.dtype == np.float64 for v in state.values())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(state[key].numpy(), value.numpy())


def test_save_is_atomic_and_overwrites(tmp_path, trained):
    model, path = trained
    with cr.no_grad():
        model[0].bias.fill_(3.0)
    cr.save(model.state_dict(), path)  # overwrite the existing file
    assert np.all(cr.load(path)["0.bias"].numpy() == 3.0)
    assert sorted(os.listdir(path.parent)) == ["model.safetensors"]  # no temporary files left


# -- chainrule <-> torch ---------------------------------------------------------------------


def test_chainrule_checkpoint_loads_into_torch_via_safetensors(trained):
    model, path = trained
    tmodel = torch_mlp(SIZES)
    state = safetensors.torch.load_file(path)
    assert all(v.dtype == torch.float32 for v in state.values())
    result = tmodel.load_state_dict(state, strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = inputs(seed=7)
    with torch.no_grad():
        theirs = tmodel(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(), theirs, rtol=0, atol=1e-6)


def test_chainrule_checkpoint_loads_into_torch_via_cr_load(trained):
    model, path = trained
    tmodel = torch_mlp(SIZES)
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in cr.load(path).items()})
    x = inputs(seed=8)
    with torch.no_grad():
        theirs = tmodel(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(), theirs, rtol=0, atol=1e-6)


def test_torch_checkpoint_loads_into_chainrule(tmp_path):
    torch.manual_seed(0)
    tmodel = torch_mlp(SIZES)
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(tmodel.state_dict(), path)
    model = nn.MLP(SIZES)
    model.load_state_dict(cr.load(path))
    x = inputs(seed=9)
    with torch.no_grad():
        theirs = tmodel(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(), theirs, rtol=0, atol=1e-6)


def test_checkpoint_metadata_round_trip(tmp_path):
    model = nn.MLP([2, 3, 1])
    path = tmp_path / "m.safetensors"
    cr.save(model.state_dict(), path, metadata={"format": "pt", "note": "seed 000 Ex3"})
    with safetensors.safe_open(path, framework="pt") as f:
        assert f.metadata() == {"format": "pt", "note": "seed 000 Ex3"}
        assert list(f.keys()) == sorted(model.state_dict())


# -- pickles are refused -------------------------------------------------------------------------


class Payload:
    """Unpickling this creates a file: the proof that a loader ran the pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_torch_save_file_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torch_mlp([2, 3, 1]).state_dict(), path)
    with pytest.raises(ValueError, match="pickle"):
        cr.load(path)


@pytest.mark.parametrize("zipped", [True, False])
def test_pickle_payload_is_refused_without_running_it(tmp_path, zipped):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    torch.save({"w": Payload(marker)}, path, _use_new_zipfile_serialization=zipped)
    with pytest.raises(ValueError, match="pickle"):
        cr.load(path)
    assert not marker.exists()
    path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(ValueError, match="pickle"):
        cr.load(path)
    assert not marker.exists()
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match="pickle"):
        model.load_state_dict(cr.load(path))


# -- wrong checkpoints ---------------------------------------------------------------------------


def test_wrong_shape_checkpoint_lists_the_keys_and_loads_nothing(trained):
    _, path = trained
    other = nn.MLP([8, 32, 10, 4])  # the middle layer differs
    before = {k: v.numpy().copy() for k, v in other.state_dict().items()}
    with pytest.raises(RuntimeError) as info:
        other.load_state_dict(cr.load(path))
    message = str(info.value)
    for key in ("2.weight", "2.bias", "4.weight"):
        assert key in message
    assert "0.weight" not in message and "0.bias" not in message and "4.bias" not in message
    assert "(16, 32)" in message and "(10, 32)" in message
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key], err_msg=key)


def test_architecture_mismatch_lists_missing_unexpected_and_wrong_shapes(trained):
    _, path = trained
    deeper = nn.MLP([8, 32, 16, 16, 4])
    before = {k: v.numpy().copy() for k, v in deeper.state_dict().items()}
    with pytest.raises(RuntimeError) as info:
        deeper.load_state_dict(cr.load(path))
    message = str(info.value)
    assert "Missing" in message and "6.weight" in message and "6.bias" in message
    assert "4.weight" in message and "(4, 16)" in message and "(16, 16)" in message
    for key, value in deeper.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key], err_msg=key)
    shallower = nn.MLP([8, 32, 4])
    with pytest.raises(RuntimeError) as info:
        shallower.load_state_dict(cr.load(path))
    assert "Unexpected" in str(info.value) and "4.weight" in str(info.value)


def test_torch_refuses_the_same_wrong_checkpoint(trained):
    # the oracle agrees that these checkpoints are wrong
    _, path = trained
    with pytest.raises(RuntimeError, match=r"2\.weight"):
        torch_mlp([8, 32, 10, 4]).load_state_dict(safetensors.torch.load_file(path))
