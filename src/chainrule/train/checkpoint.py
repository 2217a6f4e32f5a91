"""Training checkpoints: model, optimizer, scheduler, RNG and loader states and the epoch, in one
safetensors file, so a resumed run continues bit for bit like an uninterrupted one."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from chainrule import backend, io
from chainrule.data.loader import DataLoader
from chainrule.nn.module import Module
from chainrule.optim.optimizer import Optimizer


def save_checkpoint(
    path: str | os.PathLike,
    model: Module,
    optimizer: Optimizer | None = None,
    epoch: int = 0,
    scheduler: Any = None,
    loaders: Sequence[DataLoader] = (),
    history: dict[str, list] | None = None,
) -> None:
    """Write everything needed to resume training after `epoch` (atomically)."""
    state: dict[str, Any] = {
        "model": dict(model.state_dict()),
        "epoch": int(epoch),
        "rng": backend.get_rng_state(),
        "loaders": [loader.get_state() for loader in loaders],
    }
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    if history is not None:
        state["history"] = {k: list(v) for k, v in history.items()}
    io.save(state, path)


def load_checkpoint(
    path: str | os.PathLike,
    model: Module,
    optimizer: Optimizer | None = None,
    scheduler: Any = None,
    loaders: Sequence[DataLoader] = (),
) -> dict[str, Any]:
    """Restore a checkpoint written by save_checkpoint into the given objects; returns the raw
    state (with 'epoch' and 'history')."""
    state = io.load(path)
    if not isinstance(state, dict) or "model" not in state:
        raise io.CheckpointError(f"{path}: not a chainrule training checkpoint (no 'model' entry)")
    model.load_state_dict(state["model"])
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and "scheduler" in state:
        scheduler.load_state_dict(state["scheduler"])
    if "rng" in state:
        backend.set_rng_state(state["rng"])
    for loader, loader_state in zip(loaders, state.get("loaders", []), strict=False):
        loader.set_state(loader_state)
    return state
