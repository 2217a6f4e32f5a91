"""A complete training job, as `chainrule train` runs it: data, model, loop, and the run folder
(config.json, model.safetensors, checkpoint.safetensors, metrics.csv, plots, summary).

With `distributed=True` (`mpiexec -n N chainrule train --distributed`) every rank runs this job
on its share of each batch, the model wrapped in DistributedDataParallel; rank 0 alone prints and
writes the run folder. See `run` for the batch-size and data-order rules.

The run's configuration and resume rules live in `run_config`, its data in `run_data`, and the
model, loss and optimizer it builds in `run_model`; their public names are re-exported here.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import errno
import io as _stdio
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from chainrule import backend, creation, io
from chainrule import distributed as dist
from chainrule.data import datasets
from chainrule.data.distributed import DistributedSampler
from chainrule.data.loader import DataLoader, TensorDataset
from chainrule.nn.module import Module
from chainrule.nn.parallel import DistributedDataParallel
from chainrule.optim.lr_scheduler import CosineAnnealingLR
from chainrule.train.callbacks import ModelCheckpoint, _refuse_non_finite
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.fit import History, evaluate, fit
from chainrule.train.metrics import confusion_matrix, predictions
from chainrule.train.run_config import (
    CHANGEABLE_ON_RESUME,
    FIXED_ON_RESUME,
    TrainConfig,
    _check_resume,
    _same_folder,
    locate_resume,
    read_config,
    resume_config,
)
from chainrule.train.run_data import MAX_CLASSES, load_labeled, load_split, resolve_data
from chainrule.train.run_model import (
    LOSSES,
    OPTIMIZERS,
    build_model,
    loss_function,
    make_optimizer,
)

__all__ = [
    "CHANGEABLE_ON_RESUME",
    "FAIL_RANK_ENV",
    "FIXED_ON_RESUME",
    "LOSSES",
    "MAX_CLASSES",
    "OPTIMIZERS",
    "TrainConfig",
    "build_model",
    "load_labeled",
    "load_run",
    "load_split",
    "locate_resume",
    "loss_function",
    "make_optimizer",
    "read_config",
    "resolve_data",
    "resume_config",
    "run",
]

# Test-only: the rank named here raises right after the first checkpoint of a distributed run,
# so the tests can check that one failing rank ends them all and leaves the checkpoint intact.
FAIL_RANK_ENV = "CHAINRULE_TEST_FAIL_RANK"


def run(
    config: TrainConfig,
    resume: str | os.PathLike | None = None,
    stream: TextIO | None = None,
    progress: bool = True,
    distributed: bool = False,
) -> dict[str, Any]:
    """Train as configured (or resume a checkpoint) and write the run folder; returns a summary.

    With ``resume`` (a run folder or its checkpoint), training continues in that folder, and
    ``config`` must keep the run's settings except epochs and lr (see resume_config).

    With ``distributed`` (the default process group must be initialized: every rank of the MPI
    job calls this with the same config) the model is wrapped in DistributedDataParallel and:

    - ``batch_size`` is the global batch: it must divide by the world size N, and each rank
      takes batch_size / N samples a step. The gradients are averaged over the ranks, so a step
      is that of one process on the whole batch (up to the order of the floating-point sums).
    - The data order is DistributedSampler's: in epoch e (1, 2, ...) the permutation
      ``np.random.default_rng(seed + e).permutation(n)`` of the n training samples, padded by
      repeating its start to a multiple of N; global batch k is its slice
      [k * batch_size, (k + 1) * batch_size), of which rank r takes every N-th sample from r.
      It depends on the seed, the epoch and N, and on N only through that padding: when N
      divides n, any number of ranks trains on the very same global batches.
    - Rank 0 alone prints, shows progress, writes config.json, metrics.csv, the checkpoints,
      model.safetensors and the plots; every rank waits at a barrier after each checkpoint.
      Every rank reads the data and, on resume, the checkpoint (one filesystem for all ranks).
    - Checkpoints are written at epoch ends only, so a resume always starts at an epoch
      boundary and works with any number of ranks (the checkpoint keeps the epoch; the
      optimizer state is the same on every rank)."""
    rank, world_size = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    lead = rank == 0
    if not lead:
        stream = None  # only rank 0 prints and shows progress
    say = (lambda line: print(line, file=stream, flush=True)) if stream else (lambda line: None)
    started = time.perf_counter()
    config = dataclasses.replace(config, data=resolve_data(config.data))
    saved, checkpoint = None, None
    if resume is not None:
        folder, checkpoint = locate_resume(resume)
        if not _same_folder(config.out, folder):
            raise ValueError(
                f"out {config.out!r} with resume: a resumed run continues in its own folder "
                f"{str(folder)!r}"
            )
        saved = read_config(folder / "config.json")
        _check_resume(saved, config, folder)
    backend.manual_seed(config.seed)
    split, classes = load_labeled(config.data, config.seed, config.test_fraction)
    config.features = int(split.x_train.shape[1])
    config.classes = classes
    if saved is not None and (saved.classes, saved.features) != (classes, config.features):
        raise ValueError(
            f"cannot resume {config.out!r}: {config.data} now has {config.features} features and "
            f"classes {classes}, the run was trained on {saved.features} and {saved.classes}"
        )
    if config.loss == "bce" and len(classes) != 2:
        raise ValueError(f"--loss bce needs 2 classes, the data has {len(classes)}")
    if config.batch_size % world_size:
        raise ValueError(
            f"--batch-size {config.batch_size} is the global batch, split evenly over the "
            f"{world_size} ranks: it must be a multiple of {world_size} (e.g. "
            f"{max(world_size, config.batch_size - config.batch_size % world_size)})"
        )
    train_set = TensorDataset(creation.tensor(split.x_train), creation.tensor(split.y_train))
    test_set = TensorDataset(creation.tensor(split.x_test), creation.tensor(split.y_test))
    if distributed:
        sampler = DistributedSampler(train_set, world_size, rank, shuffle=True, seed=config.seed)
        train_loader = DataLoader(train_set, config.batch_size // world_size, sampler=sampler)
    else:
        train_loader = DataLoader(train_set, config.batch_size, shuffle=True, seed=config.seed)
    test_loader = DataLoader(test_set, 512)
    model = build_model(config)
    optimizer = make_optimizer(config, model)
    scheduler = CosineAnnealingLR(optimizer, config.epochs) if config.schedule == "cosine" else None
    loss_fn = loss_function(config.loss, len(classes))
    out = Path(config.out)
    if lead:
        _prepare_folder(out)
    history, done = History(), 0
    if checkpoint is not None and saved is not None:
        try:
            state = load_checkpoint(checkpoint, model, optimizer, scheduler, [train_loader])
        except (KeyError, ValueError, TypeError) as error:
            detail = error.args[0] if isinstance(error, KeyError) and error.args else error
            raise ValueError(
                f"{checkpoint}: does not match the run's config.json ({detail})"
            ) from None
        done = int(state["epoch"])
        if config.epochs < done:
            raise ValueError(
                f"--epochs {config.epochs}: the run {str(out)!r} has already trained {done} "
                f"epochs; give --epochs {done} or more"
            )
        # Run folders before the split was named "test" everywhere logged it as "val_...".
        history = History(
            {
                (f"test_{k[4:]}" if k.startswith("val_") else k): v
                for k, v in state.get("history", {}).items()
            }
        )
        changed = {
            name: [getattr(saved, name), getattr(config, name)]
            for name in CHANGEABLE_ON_RESUME
            if getattr(saved, name) != getattr(config, name)
        }
        config.resumes = list(saved.resumes) + (
            [{"after_epoch": done, **changed}] if changed else []
        )
        _apply_lr(optimizer, scheduler, config)
        say(f"resumed from {checkpoint} after epoch {done}")
        for name, (old, new) in changed.items():
            say(f"  {name}: {old} -> {new}")
    say(
        f"data: {config.data} ({len(train_set)} train, {len(test_set)} test, "
        f"{config.features} features, {len(classes)} classes)"
    )
    say(f"model: {model!r}".replace("\n", "\n       "))
    if distributed:
        per_rank = config.batch_size // world_size
        say(f"distributed: {world_size} ranks, each {per_rank} of every {config.batch_size}")
    if lead:
        _write_text(out / "config.json", json.dumps(dataclasses.asdict(config), indent=2) + "\n")

    # Wrapped after the checkpoint is loaded: DDP starts every replica from rank 0's weights.
    trained: Module = DistributedDataParallel(model) if distributed else model
    saver = _RunCheckpoint(out, train_loader, model, rank if distributed else None)
    saver.saved_epoch = done
    # NumPy's overflow/invalid warnings would only repeat, less clearly, what the checks on
    # non-finite losses and weights report (as one error naming the epoch and step).
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            history = fit(
                trained,
                loss_fn,
                optimizer,
                train_loader,
                max(config.epochs - done, 0),
                val_loader=test_loader,
                callbacks=[saver],
                scheduler=scheduler,
                start_epoch=done,
                history=history,
                progress=progress and stream is not None,
                val_prefix="test",
            )
        except FloatingPointError as error:
            last = saver.saved_epoch
            kept = (
                f"{out / 'checkpoint.safetensors'} keeps epoch {last}, the last good one"
                if last
                else "no epoch finished, so there is no checkpoint"
            )
            detail = str(error).removeprefix("fit: ")
            if "lower the learning rate" not in detail:
                detail += "; lower the learning rate or check the data"
            raise FloatingPointError(
                f"training diverged: {detail} (it was --lr {config.lr:g}); {kept}"
            ) from None
        except KeyboardInterrupt:
            last = saver.saved_epoch
            if last:
                raise KeyboardInterrupt(
                    f"interrupted during epoch {last + 1}; {out / 'checkpoint.safetensors'} keeps "
                    f"epoch {last}: continue with --resume {out}"
                ) from None
            raise KeyboardInterrupt("interrupted before the first epoch finished") from None
    final = evaluate(model, loss_fn, test_loader)
    summary: dict[str, Any] = {
        "test_loss": final["loss"],
        "test_accuracy": final["accuracy"],
        "epochs": len(history.get("train_loss", [])),
        "out": str(out),
        "files": [],
        "plots": [],
        "rank": rank,
        "world_size": world_size,
    }
    if lead:
        # the bare model's weights: no "module." prefix, so they load with or without DDP
        _saving(out / "model.safetensors", lambda path: io.save(model.state_dict(), path))
        _write_metrics(history, out / "metrics.csv")
        predicted = predictions(_forward(model, split.x_test))
        counts = confusion_matrix(predicted, split.y_test, len(classes))
        summary["plots"] = _plots(config, history, model, split, counts, out, say)
        summary["files"] = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    if distributed:
        dist.barrier()  # no rank finishes (and leaves the MPI job) before the run folder is whole
    summary["seconds"] = time.perf_counter() - started
    say(
        f"test accuracy {final['accuracy']:.4f}, test loss {final['loss']:.4f} after "
        f"{summary['epochs']} epochs in {summary['seconds']:.1f}s"
    )
    say(f"wrote {out}/: " + ", ".join(summary["files"]))
    return summary


class _RunCheckpoint(ModelCheckpoint):
    """The run folder's checkpoint, each epoch: refused when metrics or weights are no longer
    finite (so the file on disk stays the last good one), written atomically with a failure
    that names the file, then metrics.csv, which follows every checkpoint. Only the training
    loader's position is saved (the test loader's is not needed to resume).

    `model` is the bare model, saved even when training runs through a DistributedDataParallel
    wrapper (whose keys would carry a "module." prefix). With a `rank` (a distributed run) only
    rank 0 writes, and then every rank waits at a barrier, so none races ahead of the file."""

    def __init__(
        self, out: Path, train_loader: DataLoader, model: Module, rank: int | None = None
    ) -> None:
        super().__init__(out / "checkpoint.safetensors", loaders=[train_loader], finite_only=True)
        self.out, self.model, self.rank = out, model, rank

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict) -> None:
        if self.rank is None or self.rank == 0:
            super().on_epoch_end(trainer, epoch, logs)
            _write_metrics(trainer.history, self.out / "metrics.csv")
        else:
            _refuse_non_finite(trainer, epoch, logs)  # as rank 0 does: the ranks stay in step
            self.saved_epoch = epoch
        if self.rank is not None:
            dist.barrier()
            if os.environ.get(FAIL_RANK_ENV) == str(self.rank):
                raise RuntimeError(
                    f"{FAIL_RANK_ENV}={self.rank}: a failure simulated for the tests after the "
                    f"checkpoint of epoch {epoch}"
                )

    def write(self, path: str | os.PathLike, *state: Any, **options: Any) -> None:
        # save_checkpoint as this module names it (the disk-full test replaces it here)
        _wrapped, *rest = state  # the trainer's model: DDP's keys would say "module."
        _saving(Path(path), lambda target: save_checkpoint(target, self.model, *rest, **options))


def _apply_lr(optimizer: Any, scheduler: Any, config: TrainConfig) -> None:
    """Make the restored optimizer (and schedule) use config.lr and config.epochs from here on:
    the checkpoint brought back the old ones. Unchanged values give the very same lr."""
    if scheduler is not None:
        scheduler.base_lrs = [config.lr for _ in optimizer.param_groups]
        scheduler.T_max = config.epochs
        for group in optimizer.param_groups:
            group["initial_lr"] = config.lr
            group["lr"] = scheduler.lr_at(config.lr, scheduler.last_epoch)
    else:
        for group in optimizer.param_groups:
            group["lr"] = config.lr


def _prepare_folder(out: Path) -> None:
    """Create the run folder, or say in one line why it cannot be (before any training)."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"run folder {str(out)!r} is an existing file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise type(error)(
            error.errno, f"cannot create the run folder {str(out)!r}: {error.strerror}"
        ) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"cannot write into the run folder {str(out)!r}")


def _saving(path: Path, write: Any) -> None:
    """Run write(path), turning a failure (disk full, ...) into an error that names the file
    and says the previous version is intact (every write here is atomic)."""
    try:
        write(path)
    except OSError as error:
        kept = "; its previous version is intact" if path.exists() else ""
        if error.errno is None:
            raise type(error)(f"could not write {path}: {error}{kept}") from None
        # os.strerror, not the error's own text, which may already name the path
        reason = os.strerror(error.errno)
        raise type(error)(error.errno, f"could not write {path}: {reason}{kept}") from None


def _write_text(path: Path, text: str) -> None:
    def write(target: Path) -> None:
        # A sibling temporary file renamed over the target: a crash or a full disk never
        # leaves a half-written file behind.
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    _saving(path, write)


def _forward(model: Module, x: np.ndarray) -> np.ndarray:
    from chainrule.modes import no_grad

    model.eval()
    with no_grad():
        return model(creation.tensor(x)).numpy()


def _write_metrics(history: History, path: Path) -> None:
    """metrics.csv from the whole history (which the checkpoint carries): a resumed run's file
    holds the earlier epochs followed by the new ones, each with the lr it really used."""
    keys = list(history.keys())
    text = _stdio.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(keys)
    for row in zip(*(history[k] for k in keys), strict=True):
        writer.writerow(row)
    _write_text(path, text.getvalue())


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
                    model,
                    split.x_test,
                    split.y_test,
                    out / "decision_boundary.png",
                    class_names=config.classes,
                )
            )
        written.append(plot_confusion_matrix(counts, out / "confusion_matrix.png", config.classes))
    except PlottingUnavailable as error:
        say(f"no plots: {error}")
        return []
    return [os.path.basename(p) for p in written]


def load_run(run_dir: str | os.PathLike) -> tuple[TrainConfig, Module]:
    """The config and trained model of a run folder written by run(); the weights of an
    interrupted run (no model.safetensors yet) come from its last checkpoint."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"run folder {str(folder)!r} does not exist (no config.json)")
    config = read_config(folder / "config.json")
    model = build_model(config)
    weights = folder / "model.safetensors"
    if weights.is_file():
        state = io.load(weights)
    elif (folder / "checkpoint.safetensors").is_file():
        state = io.load(folder / "checkpoint.safetensors")["model"]
    else:
        raise FileNotFoundError(f"{folder}: no model.safetensors or checkpoint.safetensors")
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError) as error:
        raise ValueError(f"{weights}: does not fit the model of config.json ({error})") from None
    model.eval()
    return config, model
