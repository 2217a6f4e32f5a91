"""A complete training job, as `chainrule train` runs it: data, model, loop, and the run folder
(config.json, model.safetensors, checkpoint.safetensors, metrics.csv, plots, summary)."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from chainrule import backend, creation, io
from chainrule.data import datasets, files
from chainrule.data.loader import DataLoader, TensorDataset
from chainrule.nn import functional as F
from chainrule.nn.layers import MLP
from chainrule.nn.module import Module
from chainrule.optim import SGD, Adam, AdamW
from chainrule.optim.lr_scheduler import CosineAnnealingLR
from chainrule.tensor import Tensor
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.fit import History, evaluate, fit
from chainrule.train.metrics import confusion_matrix, predictions

LOSSES = ("cross_entropy", "bce", "mse")
OPTIMIZERS = ("sgd", "adam", "adamw")


@dataclass
class TrainConfig:
    """Everything that defines a run; saved as config.json so evaluate/predict can rebuild it."""

    data: str = "digits"
    hidden: list[int] = field(default_factory=lambda: [64])
    activation: str = "relu"
    loss: str = "cross_entropy"
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    epochs: int = 30
    batch_size: int = 32
    seed: int = 0
    test_fraction: float = 0.2
    schedule: str = "none"
    out: str = "runs/train"
    plots: bool = True
    classes: int = 0  # filled in from the data
    features: int = 0


def load_split(spec: str, seed: int = 0, test_fraction: float = 0.2) -> datasets.Split:
    """A built-in dataset by name, a CSV file (last column = label), or an MNIST IDX folder."""
    if spec in datasets.DATASETS:
        if spec == "digits":
            return datasets.digits(test_fraction=test_fraction, seed=seed)
        return datasets.load(spec, seed=seed, test_fraction=test_fraction)
    path = Path(spec)
    if path.is_dir():
        x_train, y_train = files.load_mnist(path, "train")
        x_test, y_test = files.load_mnist(path, "test")
        return datasets.Split(x_train, y_train, x_test, y_test)
    if path.is_file():
        x, y = files.load_csv(path)
        order = np.random.default_rng(seed).permutation(len(x))
        n_test = max(1, round(len(x) * test_fraction))
        test, train = order[:n_test], order[n_test:]
        return datasets.Split(
            x[train], y[train].astype(np.int64), x[test], y[test].astype(np.int64)
        )
    raise ValueError(
        f"unknown data {spec!r}: use one of {sorted(datasets.DATASETS)}, a CSV file, or a folder "
        "of MNIST IDX files"
    )


def build_model(config: TrainConfig) -> Module:
    out = 1 if config.loss == "bce" else config.classes
    return MLP([config.features, *config.hidden, out], activation=config.activation)


def loss_function(name: str, classes: int) -> Any:
    if name == "cross_entropy":
        return F.cross_entropy
    if name == "bce":
        return lambda out, y: F.binary_cross_entropy_with_logits(
            out.reshape(-1), y.to(out.dtype).reshape(-1)
        )
    if name == "mse":  # squared error between softmax outputs and one-hot targets
        eye = np.eye(classes, dtype=np.float32)
        return lambda out, y: F.mse_loss(F.softmax(out, -1), Tensor._make(eye[y._data]))
    raise ValueError(f"unknown loss {name!r}; choose from {LOSSES}")


def make_optimizer(config: TrainConfig, model: Module) -> Any:
    params = list(model.parameters())
    if config.optimizer == "sgd":
        return SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; choose from {OPTIMIZERS}")


def run(
    config: TrainConfig,
    resume: str | None = None,
    stream: TextIO | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train as configured (or resume a checkpoint) and write the run folder; returns a summary."""
    say = (lambda line: print(line, file=stream, flush=True)) if stream else (lambda line: None)
    started = time.perf_counter()
    backend.manual_seed(config.seed)
    split = load_split(config.data, config.seed, config.test_fraction)
    config.features = int(split.x_train.shape[1])
    config.classes = int(max(split.y_train.max(), split.y_test.max())) + 1
    if config.loss == "bce" and config.classes != 2:
        raise ValueError(f"--loss bce needs 2 classes, the data has {config.classes}")
    train_set = TensorDataset(creation.tensor(split.x_train), creation.tensor(split.y_train))
    test_set = TensorDataset(creation.tensor(split.x_test), creation.tensor(split.y_test))
    train_loader = DataLoader(train_set, config.batch_size, shuffle=True, seed=config.seed)
    test_loader = DataLoader(test_set, 512)
    model = build_model(config)
    optimizer = make_optimizer(config, model)
    scheduler = CosineAnnealingLR(optimizer, config.epochs) if config.schedule == "cosine" else None
    loss_fn = loss_function(config.loss, config.classes)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    history, done = History(), 0
    if resume:
        checkpoint = Path(resume)
        if checkpoint.is_dir():
            checkpoint = checkpoint / "checkpoint.safetensors"
        state = load_checkpoint(checkpoint, model, optimizer, scheduler, [train_loader])
        done = int(state["epoch"])
        history = History(state.get("history", {}))
        say(f"resumed from {checkpoint} after epoch {done}")
    say(
        f"data: {config.data} ({len(train_set)} train, {len(test_set)} test, "
        f"{config.features} features, {config.classes} classes)"
    )
    say(f"model: {model!r}".replace("\n", "\n       "))
    (out / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2))

    class _Checkpoint:
        def on_train_begin(self, trainer: Any) -> None:
            pass

        def on_epoch_end(self, trainer: Any, epoch: int, logs: dict) -> None:
            save_checkpoint(
                out / "checkpoint.safetensors",
                model,
                optimizer,
                epoch,
                scheduler,
                [train_loader],
                trainer.history,
            )

        def on_train_end(self, trainer: Any) -> None:
            pass

    history = fit(
        model,
        loss_fn,
        optimizer,
        train_loader,
        max(config.epochs - done, 0),
        val_loader=test_loader,
        callbacks=[_Checkpoint()],
        scheduler=scheduler,
        start_epoch=done,
        history=history,
        progress=progress and stream is not None,
    )
    io.save(model.state_dict(), out / "model.safetensors")
    _write_metrics(history, out / "metrics.csv")
    final = evaluate(model, loss_fn, test_loader)
    predicted = predictions(_forward(model, split.x_test))
    counts = confusion_matrix(predicted, split.y_test, config.classes)
    written = _plots(config, history, model, split, counts, out, say)
    summary = {
        "test_loss": final["loss"],
        "test_accuracy": final["accuracy"],
        "epochs": len(history.get("train_loss", [])),
        "seconds": time.perf_counter() - started,
        "out": str(out),
        "files": sorted(p.name for p in out.iterdir()),
        "plots": written,
    }
    say(
        f"test accuracy {final['accuracy']:.4f}, test loss {final['loss']:.4f} after "
        f"{summary['epochs']} epochs in {summary['seconds']:.1f}s"
    )
    say(f"wrote {out}/: " + ", ".join(summary["files"]))
    return summary


def _forward(model: Module, x: np.ndarray) -> np.ndarray:
    from chainrule.modes import no_grad

    model.eval()
    with no_grad():
        return model(creation.tensor(x)).numpy()


def _write_metrics(history: History, path: Path) -> None:
    keys = list(history.keys())
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(keys)
        for row in zip(*(history[k] for k in keys), strict=True):
            writer.writerow(row)


def _plots(
    config: TrainConfig,
    history: History,
    model: Module,
    split: datasets.Split,
    counts: np.ndarray,
    out: Path,
    say: Any,
) -> list[str]:
    if not config.plots:
        return []
    from chainrule.viz.plots import (
        PlottingUnavailable,
        plot_confusion_matrix,
        plot_decision_boundary,
        plot_history,
    )

    try:
        written = [plot_history(history, out / "curves.png")]
        if config.features == 2:
            written.append(
                plot_decision_boundary(
                    model, split.x_test, split.y_test, out / "decision_boundary.png"
                )
            )
        written.append(plot_confusion_matrix(counts, out / "confusion_matrix.png"))
    except PlottingUnavailable as error:
        say(f"no plots: {error}")
        return []
    return [os.path.basename(p) for p in written]


def load_run(run_dir: str | os.PathLike) -> tuple[TrainConfig, Module]:
    """The config and trained model of a run folder written by run()."""
    folder = Path(run_dir)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{folder}: no config.json here; is this a `chainrule train` run?")
    config = TrainConfig(**json.loads(config_path.read_text()))
    model = build_model(config)
    model.load_state_dict(io.load(folder / "model.safetensors"))
    model.eval()
    return config, model
