"""A complete training job, as `chainrule train` runs it: data, model, loop, and the run folder
(config.json, model.safetensors, checkpoint.safetensors, metrics.csv, plots, summary).

With `distributed=True` (`mpiexec -n N chainrule train --distributed`) every rank runs this job
on its share of each batch, the model wrapped in DistributedDataParallel; rank 0 alone prints and
writes the run folder. See `run` for the batch-size and data-order rules.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from chainrule import backend, creation, io
from chainrule import distributed as dist
from chainrule.data import datasets, files
from chainrule.data.distributed import DistributedSampler
from chainrule.data.loader import DataLoader, TensorDataset
from chainrule.nn import functional as F
from chainrule.nn.layers import MLP
from chainrule.nn.module import Module
from chainrule.nn.parallel import DistributedDataParallel
from chainrule.optim import SGD, Adam, AdamW
from chainrule.optim.lr_scheduler import CosineAnnealingLR
from chainrule.tensor import Tensor
from chainrule.train.callbacks import ModelCheckpoint, _refuse_non_finite
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.fit import History, evaluate, fit
from chainrule.train.metrics import confusion_matrix, predictions

LOSSES = ("cross_entropy", "bce", "mse")
OPTIMIZERS = ("sgd", "adam", "adamw")
# An output layer wider than this is not a classifier of anything a CSV can hold; far more
# likely a regression target or an ID column was given as the label.
MAX_CLASSES = 10_000
# Test-only: the rank named here raises right after the first checkpoint of a distributed run,
# so the tests can check that one failing rank ends them all and leaves the checkpoint intact.
FAIL_RANK_ENV = "CHAINRULE_TEST_FAIL_RANK"


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
    # The original labels, in sorted order: the model's class i is the label classes[i].
    classes: list[int] = field(default_factory=list)  # filled in from the data
    features: int = 0
    # One entry per resume that changed lr or epochs: {"after_epoch": n, "lr": [old, new], ...}.
    resumes: list[dict] = field(default_factory=list)


# Settings that define the model, the data or the optimizer's kind: a resume must keep them
# (the checkpoint's weights, optimizer state and data order only make sense with them).
FIXED_ON_RESUME = (
    "data",
    "hidden",
    "activation",
    "loss",
    "optimizer",
    "momentum",
    "weight_decay",
    "batch_size",
    "seed",
    "test_fraction",
    "schedule",
)
# Settings a resume may change: train longer, or go on with another learning rate.
CHANGEABLE_ON_RESUME = ("epochs", "lr")


def resolve_data(spec: str) -> str:
    """A built-in dataset's name as is; a file or folder as an absolute path (so a run folder
    can be evaluated from any directory). A path that does not exist is refused here."""
    if spec in datasets.DATASETS:
        return spec
    path = Path(spec).expanduser()
    if path.exists():
        return str(path.resolve())
    if path.suffix or os.sep in spec or (os.altsep and os.altsep in spec):
        raise FileNotFoundError(f"data file {str(path.absolute())!r} does not exist")
    raise ValueError(
        f"unknown data {spec!r}: not a built-in dataset ({', '.join(sorted(datasets.DATASETS))}) "
        f"and no file or folder {str(path.absolute())!r} exists"
    )


def load_labeled(
    spec: str,
    seed: int = 0,
    test_fraction: float = 0.2,
    classes: list[int] | None = None,
) -> tuple[datasets.Split, list[int]]:
    """The split with labels mapped to 0..K-1, and the original labels in sorted order.

    With ``classes`` (a trained run's), labels are mapped through that list instead, and a
    label the run never saw is refused."""
    spec = resolve_data(spec)
    where = spec
    if spec in datasets.DATASETS:
        if spec == "digits":
            split = datasets.digits(test_fraction=test_fraction, seed=seed)
        else:
            split = datasets.load(spec, seed=seed, test_fraction=test_fraction)
        where = f"dataset {spec!r}"
    elif Path(spec).is_dir():
        x_train, y_train = files.load_mnist(spec, "train")
        x_test, y_test = files.load_mnist(spec, "test")
        split = datasets.Split(x_train, y_train, x_test, y_test)
    else:
        x, y = files.load_classification_csv(spec)
        if len(x) < 2:
            raise ValueError(f"{spec}: needs at least 2 data rows (one to train, one to test)")
        if classes is None and len(np.unique(y)) < 2:
            raise ValueError(
                f"{spec}: column {x.shape[1] + 1} (the label) holds one class only "
                f"({int(y[0])}) in all {len(y)} rows; a classifier needs at least 2 classes"
            )
        order = np.random.default_rng(seed).permutation(len(x))
        n_test = min(max(1, round(len(x) * test_fraction)), len(x) - 1)
        test, train = order[:n_test], order[n_test:]
        split = datasets.Split(x[train], y[train], x[test], y[test])
    labels = np.unique(np.concatenate([split.y_train, split.y_test]))
    if classes is None:
        if len(labels) < 2:
            raise ValueError(f"{where}: one class only ({int(labels[0])}); needs at least 2")
        if len(labels) > MAX_CLASSES:
            raise ValueError(
                f"{where}: {len(labels)} distinct labels, more than {MAX_CLASSES} classes; is the "
                "last column really a class label?"
            )
        known = labels
    else:
        known = np.asarray(classes, dtype=np.int64)
        unseen = np.setdiff1d(labels, known)
        if len(unseen):
            raise ValueError(
                f"{where}: label {int(unseen[0])} is not one of the run's classes {list(classes)}"
            )
    mapped = datasets.Split(
        split.x_train,
        np.searchsorted(known, split.y_train).astype(np.int64),
        split.x_test,
        np.searchsorted(known, split.y_test).astype(np.int64),
    )
    return mapped, [int(c) for c in known]


def load_split(spec: str, seed: int = 0, test_fraction: float = 0.2) -> datasets.Split:
    """A built-in dataset by name, a CSV file (last column = label), or an MNIST IDX folder,
    with labels mapped to 0..K-1 (see load_labeled for the mapping)."""
    return load_labeled(spec, seed, test_fraction)[0]


def read_config(path: str | os.PathLike) -> TrainConfig:
    """A run's config.json, refusing (with the key and the file) what TrainConfig cannot hold."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path.parent}: no config.json here; is this a `chainrule train` run?"
        ) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(raw).__name__}")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(
            f"{path}: unknown setting {unknown[0]!r}"
            + (f" (and {', '.join(map(repr, unknown[1:]))})" if unknown[1:] else "")
            + f"; known settings: {', '.join(sorted(known))}"
        )
    if isinstance(raw.get("classes"), int):  # run folders before the label mapping: 0..K-1
        raw["classes"] = list(range(raw["classes"]))
    return TrainConfig(**raw)


def locate_resume(resume: str | os.PathLike) -> tuple[Path, Path]:
    """(run folder, checkpoint file) of --resume, which names either."""
    given = Path(resume)
    checkpoint = given / "checkpoint.safetensors" if given.is_dir() else given
    if not checkpoint.is_file():
        raise FileNotFoundError(f"--resume {str(given)!r}: no checkpoint {str(checkpoint)!r}")
    return checkpoint.parent, checkpoint


def _same_folder(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def _normalized(name: str, value: Any) -> Any:
    if name == "data":
        with contextlib.suppress(ValueError, OSError):
            return resolve_data(value)
    if name in ("lr", "momentum", "weight_decay", "test_fraction"):
        return float(value)
    return value


def resume_config(resume: str | os.PathLike, **given: Any) -> TrainConfig:
    """The config to resume a run with: the run's own config.json, with the settings ``given``
    (only those the user actually set) checked or applied. A setting in FIXED_ON_RESUME that
    differs refuses the resume, naming each such setting and both values; ``out`` must be the
    run's own folder."""
    folder, _ = locate_resume(resume)
    saved = read_config(folder / "config.json")
    out = given.pop("out", None)
    if out is not None and not _same_folder(out, folder):
        raise ValueError(
            f"--out {str(out)!r} with --resume: a resumed run continues in its own folder "
            f"{str(folder)!r}; drop --out (or copy the run folder first and resume the copy)"
        )
    unknown = sorted(set(given) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise TypeError(f"resume_config: unknown settings {unknown}")
    config = dataclasses.replace(saved, **given)
    config.out = str(folder)
    _check_resume(saved, config, folder)
    return config


def _check_resume(saved: TrainConfig, config: TrainConfig, folder: Path) -> None:
    differing = [
        f"{name} (the run has {getattr(saved, name)!r}, asked {getattr(config, name)!r})"
        for name in FIXED_ON_RESUME
        if _normalized(name, getattr(saved, name)) != _normalized(name, getattr(config, name))
    ]
    if differing:
        raise ValueError(
            f"cannot resume {str(folder)!r} with different settings: {'; '.join(differing)}. "
            f"Only {' and '.join(CHANGEABLE_ON_RESUME)} can change on resume; start a new run "
            "(another --out) for the others"
        )


def build_model(config: TrainConfig) -> Module:
    # classes is the list of labels; a count (what callers set before the label mapping, e.g.
    # benchmarks/) still means 0..K-1.
    count = config.classes if isinstance(config.classes, int) else len(config.classes)
    out = 1 if config.loss == "bce" else count
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
