"""Callbacks for fit(): early stopping and checkpointing."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.data.loader import DataLoader
from chainrule.train.checkpoint import save_checkpoint


class Callback:
    """Hooks called by fit(); `trainer` exposes model, optimizer, history and `stop`."""

    def on_train_begin(self, trainer: Any) -> None:
        pass

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        pass

    def on_train_end(self, trainer: Any) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by min_delta for `patience` epochs; optionally put
    the best weights back at the end."""

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        mode: str = "auto",
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        self.monitor, self.patience, self.mode = monitor, patience, mode
        self.min_delta, self.restore_best = min_delta, restore_best
        self.best = math.inf if mode == "min" else -math.inf
        self.wait = 0
        self.best_epoch: int | None = None
        self._best_state: dict[str, np.ndarray] | None = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise KeyError(
                f"EarlyStopping: metric {self.monitor!r} not logged; available: {sorted(logs)}"
            )
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self._best_state = {
                    k: v.numpy().copy() for k, v in trainer.model.state_dict().items()
                }
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop = True

    def on_train_end(self, trainer: Any) -> None:
        if self.restore_best and self._best_state is not None:
            trainer.model.load_state_dict(self._best_state)


class ModelCheckpoint(Callback):
    """Save a training checkpoint each epoch (or only when `monitor` improves).

    `loaders`: the loaders whose position is saved (default: the trainer's, the training loader
    first). With `finite_only`, an epoch whose logged metrics or weights are NaN or infinite
    raises FloatingPointError instead of being saved, so the file on disk stays the last good
    checkpoint. `saved_epoch` is the epoch that file holds (None before the first save).
    `chainrule train` uses this callback for its run folder (`train/job.py`), so there is one
    way a checkpoint is written during training.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        monitor: str | None = None,
        mode: str = "min",
        *,
        loaders: Sequence[DataLoader] | None = None,
        finite_only: bool = False,
    ) -> None:
        self.path, self.monitor, self.mode = path, monitor, mode
        self.loaders, self.finite_only = loaders, finite_only
        self.best = math.inf if mode == "min" else -math.inf
        self.saved_epoch: int | None = None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        if self.finite_only:
            _refuse_non_finite(trainer, epoch, logs)
        if self.monitor is not None:
            value = logs[self.monitor]
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return
            self.best = value
        self.write(
            self.path,
            trainer.model,
            trainer.optimizer,
            epoch,
            trainer.scheduler,
            trainer.loaders if self.loaders is None else self.loaders,
            trainer.history,
        )
        self.saved_epoch = epoch

    # How the checkpoint reaches the disk (atomically); a subclass may wrap it, as the run
    # folder of `chainrule train` does to name the file when the disk is full.
    write = staticmethod(save_checkpoint)


def _refuse_non_finite(trainer: Any, epoch: int, logs: dict[str, float]) -> None:
    for key, value in logs.items():
        if not np.isfinite(value):
            raise FloatingPointError(f"the {key.replace('_', ' ')} became {value} at epoch {epoch}")
    for name, value in trainer.model.state_dict().items():
        if not np.all(np.isfinite(value.numpy())):
            raise FloatingPointError(
                f"the weights {name} became NaN or infinite during epoch {epoch}"
            )
