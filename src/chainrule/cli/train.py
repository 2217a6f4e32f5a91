"""The `chainrule train | evaluate | predict` subcommands: their options and what they run.

chainrule train [--data digits] [--hidden 64] ...   train an MLP, write a run folder
chainrule train --resume RUN [--epochs 60]         continue a run in its own folder
chainrule evaluate RUN_DIR                          test loss, accuracy, confusion matrix
chainrule predict RUN_DIR --values 0.5,1.2          predicted classes and probabilities
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_WIDTH = 100_000  # widest hidden layer accepted: wider is a typo, not a model for this CLI


def _hidden_sizes(text: str) -> list[int]:
    """--hidden: comma-separated positive layer widths; every item must be one."""
    items = text.split(",")
    values = []
    for position, item in enumerate(items, 1):
        where = f"item {position} of {text!r}"
        if not item.strip():
            raise argparse.ArgumentTypeError(f"{where} is empty (e.g. 64,64 for two layers)")
        try:
            value = int(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{where}, {item!r}, is not an integer") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"layer sizes must be positive: {where} is {value}")
        if value > MAX_WIDTH:
            raise argparse.ArgumentTypeError(
                f"{where} is {value}; layer sizes are at most {MAX_WIDTH}"
            )
        values.append(value)
    return values


def _number(kind: type, lowest: float | None = None, strict: bool = True) -> Any:
    """An argparse type: a finite `kind` above `lowest` (or at least it, when not strict)."""

    def parse(text: str) -> object:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if lowest is not None and not (value > lowest if strict else value >= lowest):
            rule = "positive" if lowest == 0 and strict else f"at least {lowest}"
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _values(text: str) -> np.ndarray:
    """--values: one sample's features, comma-separated finite numbers."""
    row = []
    for position, item in enumerate(text.split(","), 1):
        try:
            value = float(item)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"item {position} of {text!r}, {item.strip()!r}, is not a number"
            ) from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"item {position} of {text!r} is not finite")
        row.append(value)
    return np.array([row], dtype=np.float32)


def _default(value: Any) -> str:
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return f"(default: {value})"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The train, evaluate and predict subcommands."""
    from chainrule.train.job import LOSSES, OPTIMIZERS, TrainConfig
    from chainrule.train.run_model import MODELS

    d = TrainConfig()
    train = sub.add_parser(
        "train",
        help="train an MLP (default: a two-layer ReLU MLP with softmax cross-entropy on the UCI "
        "digits) and write a run folder",
        description="Train a multilayer perceptron and write a run folder: config.json, "
        "model.safetensors, checkpoint.safetensors (after every epoch), metrics.csv and plots. "
        "The held-out split is called 'test' everywhere (epoch lines, metrics.csv, plots).",
    )
    # Defaults are filled in by _train (from TrainConfig, or from the run being resumed), so
    # SUPPRESS tells which options the user actually gave.
    arg = train.add_argument
    arg(
        "--data",
        default=argparse.SUPPRESS,
        help="digits, moons, circles, spirals, xor, gaussians, a CSV file (last column is the "
        "label; a header row is fine) or a folder of MNIST IDX files. CSV labels must be whole "
        "numbers; the labels present become classes 0..K-1 in sorted order, the run keeps the "
        "list (config.json 'classes', e.g. [3, 7]) and `predict` prints the original labels "
        + _default(d.data),
    )
    arg(
        "--model",
        choices=MODELS,
        default=argparse.SUPPRESS,
        help="mlp, or cnn: two 3x3 convolutions with max pooling and a linear head, for data "
        "of square one-channel images (digits, MNIST); --hidden is then unused "
        + _default(d.model),
    )
    arg(
        "--hidden",
        type=_hidden_sizes,
        default=argparse.SUPPRESS,
        help=f"hidden layer widths, e.g. 64,64 for two; each 1..{MAX_WIDTH} {_default(d.hidden)}",
    )
    arg(
        "--activation",
        choices=["relu", "sigmoid", "tanh", "leaky_relu"],
        default=argparse.SUPPRESS,
        help=f"hidden-layer activation {_default(d.activation)}",
    )
    arg("--loss", choices=LOSSES, default=argparse.SUPPRESS, help=_default(d.loss))
    arg("--optimizer", choices=OPTIMIZERS, default=argparse.SUPPRESS, help=_default(d.optimizer))
    arg(
        "--lr",
        type=_number(float, 0),
        default=argparse.SUPPRESS,
        help=f"learning rate {_default(d.lr)}",
    )
    arg(
        "--momentum",
        type=_number(float, 0, strict=False),
        default=argparse.SUPPRESS,
        help=f"SGD momentum {_default(d.momentum)}",
    )
    arg(
        "--weight-decay",
        dest="weight_decay",
        type=_number(float, 0, strict=False),
        default=argparse.SUPPRESS,
        help=f"L2 penalty (decoupled for adamw) {_default(d.weight_decay)}",
    )
    arg(
        "--epochs",
        type=_number(int, 0),
        default=argparse.SUPPRESS,
        help=f"total epochs; with --resume, the new total {_default(d.epochs)}",
    )
    arg(
        "--batch-size",
        dest="batch_size",
        type=_number(int, 0),
        default=argparse.SUPPRESS,
        help="samples per optimizer step; with --distributed the global batch, split evenly "
        f"over the ranks (so it must divide by their number) {_default(d.batch_size)}",
    )
    arg(
        "--seed",
        type=int,
        default=argparse.SUPPRESS,
        help=f"seeds the weights, the split and the batch order {_default(d.seed)}",
    )
    arg(
        "--schedule",
        choices=["none", "cosine"],
        default=argparse.SUPPRESS,
        help=f"learning-rate schedule over the epochs {_default(d.schedule)}",
    )
    arg(
        "--out",
        default=argparse.SUPPRESS,
        help=f"run folder {_default(d.out)}; with --resume, the run's own folder",
    )
    arg(
        "--resume",
        metavar="RUN",
        help="continue the run in folder RUN (or from RUN/checkpoint.safetensors), writing into "
        "RUN itself. Settings not given are the run's own. --epochs (train longer) and --lr "
        "(used from the resumed epoch on) may change and are recorded in config.json "
        "('resumes') and metrics.csv (its lr column); any other setting given must equal the "
        "run's, or the resume is refused, naming each difference",
    )
    arg(
        "--distributed",
        action="store_true",
        help="data-parallel training over MPI: start with `mpiexec -n N chainrule train "
        "--distributed ...` (needs mpi4py). Each rank takes batch-size/N samples of every "
        "batch and the gradients are averaged, so N ranks train the same model as one process, "
        "faster. The data order of epoch e is the permutation of seed + e, padded by repeating "
        "its start to a multiple of N (it depends on seed, epoch and N, and on N only through "
        "that padding); rank r takes every N-th sample of each batch from r. Only rank 0 prints "
        "and writes the run folder. --resume works with any N (checkpoints are written at the "
        "end of each epoch)",
    )
    arg("--no-plots", action="store_true", help="skip the PNG plots")
    arg("--quiet", action="store_true", help="print only the summary")

    evaluate = sub.add_parser("evaluate", help="evaluate a trained run on its test split")
    evaluate.add_argument("run", help="a run folder written by `chainrule train`")
    evaluate.add_argument(
        "--data",
        help="evaluate on all of the test split of other data instead (same features and "
        "labels) (default: the run's own data)",
    )

    predict = sub.add_parser(
        "predict", help="predict classes with a trained run (prints the data's own labels)"
    )
    predict.add_argument("run", help="a run folder written by `chainrule train`")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--values",
        type=_values,
        help="one sample's features, comma-separated, e.g. --values 0.5,-1.2",
    )
    source.add_argument(
        "--input",
        help="a CSV file of samples, one per row, features only (a header row is fine)",
    )


def run_train(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from chainrule.train.job import TrainConfig, resume_config, run

    # Options left out are absent from args (SUPPRESS): the run's own value on resume.
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    if args.no_plots:
        given["plots"] = False
    if args.resume is not None:
        config = resume_config(args.resume, **given)
    else:
        config = TrainConfig(**given)
    summary = run(
        config,
        resume=args.resume,
        stream=None if args.quiet else sys.stdout,
        distributed=args.distributed,
    )
    if args.quiet and summary.get("rank", 0) == 0:
        print(
            f"test accuracy {summary['test_accuracy']:.4f}  test loss "
            f"{summary['test_loss']:.4f}  ({summary['seconds']:.1f}s, {summary['out']})"
        )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from chainrule import creation
    from chainrule.data.loader import DataLoader, TensorDataset
    from chainrule.modes import no_grad
    from chainrule.train import confusion_matrix, evaluate, predictions
    from chainrule.train.job import load_labeled, load_run, loss_function

    config, model = load_run(args.run)
    split, classes = load_labeled(
        args.data or config.data, config.seed, config.test_fraction, classes=config.classes
    )
    if split.x_test.shape[1] != config.features:
        raise ValueError(
            f"--data {args.data}: {split.x_test.shape[1]} features per sample, the model of "
            f"{args.run} takes {config.features}"
        )
    x, y = creation.tensor(split.x_test), creation.tensor(split.y_test)
    result = evaluate(
        model, loss_function(config.loss, len(classes)), DataLoader(TensorDataset(x, y), 512)
    )
    print(
        f"test loss {result['loss']:.4f}  test accuracy {result['accuracy']:.4f}  "
        f"({len(split.y_test)} samples)"
    )
    with no_grad():
        counts = confusion_matrix(predictions(model(x)), split.y_test, len(classes))
    width = max(4, *(len(str(c)) + 1 for c in classes))
    print("confusion matrix (rows: true class, columns: predicted):")
    print("      " + "".join(f"{c:>{width}}" for c in classes))
    for label, row in zip(classes, counts, strict=True):
        print(f"  {label:>3} " + "".join(f"{c:>{width}}" for c in row))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from chainrule import creation
    from chainrule.data.files import load_features_csv
    from chainrule.modes import no_grad
    from chainrule.ops import softmax
    from chainrule.train.job import load_run

    config, model = load_run(args.run)
    x = args.values if args.values is not None else load_features_csv(args.input)
    if x.shape[1] != config.features:
        where = "--values" if args.values is not None else args.input
        raise ValueError(
            f"{where}: the model takes {config.features} features per sample, got {x.shape[1]}"
        )
    with no_grad():
        out = model(creation.tensor(x))
        probs = softmax(out, -1).numpy() if out.shape[1] > 1 else None
    classes = config.classes
    for i, row in enumerate(out.numpy()):
        if probs is None:
            print(f"{i}: class {classes[int(row[0] > 0)]}  (logit {row[0]:.4f})")
        else:
            top = int(probs[i].argmax())
            print(f"{i}: class {classes[top]}  (p = {probs[i, top]:.4f})")
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "train": run_train,
    "evaluate": run_evaluate,
    "predict": run_predict,
}
