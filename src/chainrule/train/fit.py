"""fit() and evaluate(): the training loop of seed 000 Ex3 Q4, repeated over batches and epochs.

Each step is forward, loss, backward, optimizer.step(), zero_grad: the gradient-descent update
W^{t+1} = W^t - lr dL/dW^t applied to every parameter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.data.loader import DataLoader
from chainrule.modes import no_grad
from chainrule.nn.module import Module
from chainrule.nn.parallel import DistributedDataParallel
from chainrule.optim.optimizer import Optimizer
from chainrule.tensor import Tensor
from chainrule.train.callbacks import Callback
from chainrule.train.metrics import accuracy
from chainrule.train.progress import Progress

LossFn = Callable[[Tensor, Tensor], Tensor]


class History(dict):
    """Per-epoch metrics: history['train_loss'][i] is epoch i's mean training loss, etc."""

    def append(self, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            self.setdefault(key, []).append(value)

    def last(self) -> dict[str, float]:
        return {k: v[-1] for k, v in self.items() if v}


class Trainer:
    """The state callbacks see during fit()."""

    def __init__(
        self,
        model: Module,
        optimizer: Optimizer,
        scheduler: Any,
        loaders: Sequence[DataLoader],
        history: History,
    ) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.loaders, self.history = list(loaders), history
        self.stop = False


def evaluate(
    model: Module, loss_fn: LossFn, loader: DataLoader, classification: bool = True
) -> dict[str, float]:
    """Mean loss (and accuracy) over a loader, with the model in eval mode and no graph."""
    was_training = model.training
    model.eval()
    total_loss, total_correct, count = 0.0, 0.0, 0
    with no_grad():
        for x, y in loader:
            out = model(x)
            n = x.shape[0]
            total_loss += float(loss_fn(out, y).item()) * n
            if classification:
                total_correct += accuracy(out, y) * n
            count += n
    model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the loader produced no samples")
    result = {"loss": total_loss / count}
    if classification:
        result["accuracy"] = total_correct / count
    return result


def fit(
    model: Module,
    loss_fn: LossFn,
    optimizer: Optimizer,
    train_loader: DataLoader,
    epochs: int,
    val_loader: DataLoader | None = None,
    callbacks: Sequence[Callback] = (),
    scheduler: Any = None,
    classification: bool = True,
    start_epoch: int = 0,
    history: History | dict | None = None,
    progress: bool | Progress = True,
    val_prefix: str = "val",
) -> History:
    """Train for `epochs` epochs and return the History of per-epoch metrics.

    Metrics on `val_loader` are logged as `{val_prefix}_loss` etc. (`chainrule train` evaluates
    its test split there and calls it "test"). A loss that is NaN or infinite stops training
    with FloatingPointError before that step touches the weights.

    Data-parallel training: with a DistributedDataParallel `model`, the epoch's training loss and
    accuracy are summed over the ranks (sums and sample counts) before they are logged, so every
    rank logs the same numbers, those of the whole epoch; `val_loader` is evaluated with the
    wrapped module on each rank (the replicas are identical, so each gets the same result without
    any communication). A loader whose sampler has `set_epoch` (DistributedSampler) gets
    `sampler.set_epoch(epoch)` before each epoch, as torch's training loops do, so each epoch has
    its own order.

    >>> import chainrule as cr
    >>> _ = cr.manual_seed(0)  # returns the generator, as torch.manual_seed does
    >>> s = cr.data.moons(200, seed=0)
    >>> ds = cr.data.TensorDataset(cr.tensor(s.x_train), cr.tensor(s.y_train))
    >>> model = cr.nn.MLP([2, 16, 2])
    >>> opt = cr.optim.Adam(model.parameters(), lr=0.01)
    >>> h = cr.train.fit(model, cr.nn.CrossEntropyLoss(), opt,
    ...                  cr.data.DataLoader(ds, 32, shuffle=True, seed=0), 5, progress=False)
    >>> len(h["train_loss"])
    5
    """
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
    bar = progress if isinstance(progress, Progress) else Progress(enabled=bool(progress))
    hist = history if isinstance(history, History) else History(history or {})
    loaders = [train_loader] + ([val_loader] if val_loader is not None else [])
    trainer = Trainer(model, optimizer, scheduler, loaders, hist)
    for cb in callbacks:
        cb.on_train_begin(trainer)
    # Evaluation runs the bare replica: the wrapper's forward would set up a reduction.
    evaluated = model.module if isinstance(model, DistributedDataParallel) else model
    set_epoch = getattr(train_loader.sampler, "set_epoch", None)
    for epoch in range(start_epoch + 1, start_epoch + epochs + 1):
        started = time.perf_counter()
        if set_epoch is not None:
            set_epoch(epoch)
        model.train()
        bar.start_epoch(epoch, start_epoch + epochs, len(train_loader))
        total_loss, total_correct, count = 0.0, 0.0, 0
        for step, (x, y) in enumerate(train_loader, 1):
            optimizer.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            value = float(loss.item())
            if not np.isfinite(value):
                # Checked before backward and step, so the weights stay those of the last
                # finite step.
                bar.end_epoch()
                raise FloatingPointError(
                    f"fit: the training loss became {value} at epoch {epoch}, step {step} of "
                    f"{len(train_loader)}; lower the learning rate or check the data"
                )
            loss.backward()
            optimizer.step()
            n = x.shape[0]
            total_loss += value * n
            if classification:
                total_correct += accuracy(out, y) * n
            count += n
            bar.advance(value)
        bar.end_epoch()
        if isinstance(model, DistributedDataParallel):
            total_loss, total_correct, count = _summed_over_ranks(total_loss, total_correct, count)
        logs = {"epoch": epoch, "train_loss": total_loss / max(count, 1)}
        if classification:
            logs["train_accuracy"] = total_correct / max(count, 1)
        if val_loader is not None:
            for key, value in evaluate(evaluated, loss_fn, val_loader, classification).items():
                logs[f"{val_prefix}_{key}"] = value
        logs["lr"] = optimizer.param_groups[0]["lr"]
        logs["seconds"] = time.perf_counter() - started
        if scheduler is not None:
            scheduler.step()
        hist.append(logs)
        bar.write(_format(logs, start_epoch + epochs))
        for cb in callbacks:
            cb.on_epoch_end(trainer, epoch, logs)
        if trainer.stop:
            bar.write(f"stopping early after epoch {epoch}")
            break
    for cb in callbacks:
        cb.on_train_end(trainer)
    return hist


def _summed_over_ranks(loss: float, correct: float, count: int) -> tuple[float, float, int]:
    """The epoch's sums over all ranks (a SUM of sums and counts, not an average of means: the
    ranks' shares may differ in size)."""
    from chainrule import distributed
    from chainrule.creation import tensor

    sums = tensor([loss, correct, float(count)], dtype=np.float64)
    distributed.all_reduce(sums, distributed.ReduceOp.SUM)
    loss, correct, total = (float(v) for v in sums.numpy())
    return loss, correct, round(total)


def _format(logs: dict[str, float], epochs: int) -> str:
    parts = [f"epoch {int(logs['epoch'])}/{epochs}"]
    for key, value in logs.items():
        if key in ("epoch", "seconds", "lr"):
            continue
        parts.append(f"{key} {value:.4f}")
    parts.append(f"{logs['seconds']:.2f}s")
    return "  ".join(parts)
