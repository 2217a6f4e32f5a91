"""Optimizer base: parameter groups, per-parameter state, zero_grad, state_dict (PyTorch layout).

Updates write into each parameter's array in place and bump its version counter, so a graph that
saved a parameter before the step refuses to run backward with the changed value.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.tensor import Tensor


def check_nonnegative(name: str, **values: float) -> None:
    """Hyperparameters that torch rejects when negative (or nan), checked where they are given."""
    for arg, v in values.items():
        if not isinstance(v, (int, float)) or math.isnan(v) or v < 0:
            raise ValueError(f"{name}: invalid {arg} value {v!r} (must be >= 0)")


def check_betas(name: str, betas: Any) -> None:
    """Each beta in [0, 1), as torch requires of Adam's family."""
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{name}: invalid beta parameter at index {i}: {beta}")


class Optimizer:
    """Holds `param_groups` (dicts of 'params' plus hyperparameters) and `state` per parameter."""

    defaults: dict[str, Any]

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        lr = defaults.get("lr")
        if lr is None or not isinstance(lr, (int, float)) or math.isnan(lr) or lr <= 0:
            raise ValueError(f"{name}: invalid learning rate {lr!r} (must be a positive number)")
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors or dicts, got a Tensor")
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        seen: set[int] = set()
        for group in groups:
            self.add_param_group(group, seen)

    def add_param_group(self, group: dict[str, Any], seen: set[int] | None = None) -> None:
        name = type(self).__name__
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if seen is None:
            seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor")
            if id(p) in seen:
                raise ValueError(
                    f"{name}: some parameters appear more than once (shape {tuple(p.shape)}); "
                    "each parameter may be given once"
                )
            seen.add(id(p))
        full = {**self.defaults, **group, "params": params}
        lr = full["lr"]
        if not isinstance(lr, (int, float)) or math.isnan(lr) or lr <= 0:
            raise ValueError(f"{name}: invalid learning rate {lr!r} in a parameter group")
        # no 'initial_lr' here: a scheduler records it when it is created, so it starts from the
        # lr the group has then (which the user may have changed), as in torch
        self.param_groups.append(full)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear gradients before the next backward (None by default, as PyTorch 2)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def step(self) -> None:
        raise NotImplementedError

    @staticmethod
    def _touch(p: Tensor) -> None:
        p._vc[0] += 1

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {name: value}}, 'param_groups': [{..., 'params': [indices]}]}."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {
                        k: (Tensor._make(v.copy()) if isinstance(v, np.ndarray) else v)
                        for k, v in self.state[p].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the checkpoint has {len(groups)} "
                f"parameter groups, this optimizer has {len(self.param_groups)}"
            )
        params = [p for g in self.param_groups for p in g["params"]]
        for saved, own in zip(groups, self.param_groups, strict=True):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: a group has {len(saved['params'])} "
                    f"parameters in the checkpoint but {len(own['params'])} here"
                )
        self.state = {}
        for key, values in state_dict["state"].items():
            p = params[int(key)]
            entry = {}
            for k, v in values.items():
                array = v._data if isinstance(v, Tensor) else v
                if isinstance(array, np.ndarray):
                    if array.shape != p.shape and array.ndim > 0:
                        raise ValueError(
                            f"{type(self).__name__}.load_state_dict: state {k!r} of parameter "
                            f"{key} has shape {array.shape}, the parameter has {tuple(p.shape)}"
                        )
                    array = array.astype(p.dtype) if array.ndim > 0 else array.copy()
                entry[k] = copy.deepcopy(array) if not isinstance(array, np.ndarray) else array
            self.state[p] = entry
        for saved, own in zip(groups, self.param_groups, strict=True):
            for k, v in saved.items():
                if k != "params":
                    own[k] = v

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        return "\n".join([*lines, ")"])
