"""The `chainrule` command: thin argument parsing over the library.

chainrule train [--data digits] [--hidden 64] ...   train an MLP, write a run folder
chainrule train --resume RUN [--epochs 60]         continue a run in its own folder
chainrule evaluate RUN_DIR                          test loss, accuracy, confusion matrix
chainrule predict RUN_DIR --values 0.5,1.2          predicted classes and probabilities
chainrule derive EXPR --wrt a1,a2 [--latex]         symbolic partial derivatives (needs SymPy)
chainrule graph | explain | check EXPR --at ...     see and check the chain rule (cli_seeing)

Errors are one line on stderr, never a traceback: exit 2 for a mistake in what was asked (bad
option, missing or malformed file), 1 when the run itself fails (diverged, disk full, no
permission), 130 when interrupted. Set CHAINRULE_DEBUG=1 to get the traceback as well.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

MAX_WIDTH = 100_000  # widest hidden layer accepted: wider is a typo, not a model for this CLI
DEBUG_ENV = "CHAINRULE_DEBUG"


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("chainrule")
    except (ImportError, PackageNotFoundError):  # running from a checkout without installing
        from chainrule import __version__

        return __version__


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


def _parser() -> argparse.ArgumentParser:
    from chainrule.train.job import LOSSES, OPTIMIZERS, TrainConfig

    d = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="chainrule: reverse-mode autodiff over NumPy with PyTorch's names. `train` "
        "fits a multilayer perceptron: by default a two-layer ReLU MLP (64 hidden units) with "
        "softmax cross-entropy, trained by SGD with momentum on the UCI 8x8 handwritten digits. "
        "Negative numbers work as option values in both forms: --values -0.5,0.3 or "
        "--values=-0.5,0.3.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

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
        help=_default(d.batch_size),
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
    _add_derive_parser(sub)
    from chainrule import cli_seeing  # graph, explain, check

    cli_seeing.add_parsers(sub)
    parser.set_defaults(_subparsers=sub)
    return parser


_NEGATIVE = re.compile(r"^-(\d|\.\d)")


def _join_negative_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """Write `--opt -0.5,0.3` as `--opt=-0.5,0.3` for options that take a value: argparse takes
    '-0.5,0.3' for an option of its own (it only recognises plain negative numbers)."""
    sub = parser.get_default("_subparsers")
    command = next((i for i, a in enumerate(argv) if a in sub.choices), None)
    if command is None:
        return argv
    takes_value = {
        option
        for action in sub.choices[argv[command]]._actions
        if action.nargs != 0
        for option in action.option_strings
    }
    out = argv[: command + 1]
    i = command + 1
    while i < len(argv):
        token = argv[i]
        if token == "--":  # everything after is positional
            out.extend(argv[i:])
            break
        if token in takes_value and i + 1 < len(argv) and _NEGATIVE.match(argv[i + 1]):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _train(args: argparse.Namespace) -> int:
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
    summary = run(config, resume=args.resume, stream=None if args.quiet else sys.stdout)
    if args.quiet:
        print(
            f"test accuracy {summary['test_accuracy']:.4f}  test loss "
            f"{summary['test_loss']:.4f}  ({summary['seconds']:.1f}s, {summary['out']})"
        )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
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


def _predict(args: argparse.Namespace) -> int:
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


def _add_derive_parser(sub: argparse._SubParsersAction) -> None:
    derive = sub.add_parser(
        "derive",
        help="closed-form partial derivatives of an expression, by chainrule's own rules run on "
        "SymPy symbols (needs the symbolic extra)",
    )
    derive.add_argument(
        "expression",
        help="e.g. 'a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)'; one that starts with '-' and has "
        "no space goes after '--': chainrule derive -- '-x*y'",
    )
    derive.add_argument("--wrt", help="variables to differentiate by, e.g. a1,a2 (default: all)")
    derive.add_argument("--at", help="fixed values, e.g. alpha=0.5,y=[0,1,0] (others stay symbols)")
    derive.add_argument(
        "--shape", help="vector and matrix variables, e.g. x=3,W=[2,2] (default: scalars)"
    )
    derive.add_argument(
        "--grad-output",
        metavar="NAME",
        help="for a non-scalar output: a symbolic upstream gradient dL/df named NAME, giving "
        "dL/dv instead of the Jacobian",
    )
    derive.add_argument("--latex", action="store_true", help="print LaTeX instead of text")
    derive.add_argument("--expand", action="store_true", help="write sigmoid with exponentials")
    derive.add_argument("--no-simplify", action="store_true", help="print backprop's raw formulas")


def _derive(args: argparse.Namespace) -> int:
    from chainrule.expr import ExpressionError, parse, parse_assignments, parse_names

    expression = parse(args.expression)
    shapes = parse_assignments(args.shape) if args.shape else {}
    for name, shape in shapes.items():
        dims = shape if isinstance(shape, list) else [shape]
        if not all(type(n) is int and n > 0 for n in dims):
            raise ExpressionError(f"--shape {name}: sizes must be positive integers, got {shape}")
    try:
        from chainrule.symbolic import derive
    except ImportError as error:
        print(f"chainrule derive: error: {error}", file=sys.stderr)
        return 1
    result = derive(
        expression,
        wrt=parse_names(args.wrt) if args.wrt else None,
        at=parse_assignments(args.at) if args.at else None,
        shapes=shapes,
        grad_output=args.grad_output,
        simplify=not args.no_simplify,
        expand=args.expand,
    )
    print(result.latex() if args.latex else result.text())
    return 0


def _exit_code(error: BaseException) -> int:
    """2 for a mistake in what was asked (argparse's code), 1 for a run that failed."""
    if isinstance(error, FileNotFoundError | FileExistsError | NotADirectoryError):
        return 2  # a path the user named
    if isinstance(error, ValueError | TypeError | LookupError):
        return 2  # the library refusing its input
    return 1  # OSError, FloatingPointError, RuntimeError, ... and bugs


def _one_line(error: BaseException) -> str:
    if isinstance(error, KeyError) and error.args:
        text = str(error.args[0])  # str(KeyError) would add quotes: error: 'step'
    elif isinstance(error, OSError) and error.strerror:
        text = f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    else:
        text = str(error)
    if not text:
        text = type(error).__name__
    if not isinstance(
        error, ValueError | TypeError | LookupError | OSError | ArithmeticError | RuntimeError
    ):
        text = f"{type(error).__name__}: {text}"
    # Multi-line messages are kept as they are: derive's caret under the bad token needs them.
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(_join_negative_values(parser, argv))
    commands = {"train": _train, "evaluate": _evaluate, "predict": _predict}
    commands["derive"] = _derive
    from chainrule.cli_seeing import HANDLERS

    commands.update(HANDLERS)
    prog = f"chainrule {args.command}"
    try:
        return commands[args.command](args)
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt as error:
        if os.environ.get(DEBUG_ENV):
            raise
        parser.exit(130, f"{prog}: {error or 'interrupted'}\n")
    except Exception as error:
        # Every failure is one line (set CHAINRULE_DEBUG=1 for the traceback); one that is
        # not of a kind the library raises on purpose is a bug, and says so.
        if os.environ.get(DEBUG_ENV):
            raise
        message = _one_line(error)
        if not isinstance(
            error, ValueError | TypeError | LookupError | OSError | ArithmeticError | RuntimeError
        ):
            message += f" (an internal error; {DEBUG_ENV}=1 shows the traceback)"
        parser.exit(_exit_code(error), f"{prog}: error: {message}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
