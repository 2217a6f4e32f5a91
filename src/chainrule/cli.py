"""The `chainrule` command: thin argument parsing over the library.

chainrule train [--data digits] [--hidden 64] ...   train an MLP, write a run folder
chainrule evaluate RUN_DIR                          test loss, accuracy, confusion matrix
chainrule predict RUN_DIR --values 0.5,1.2          predicted classes and probabilities
chainrule derive EXPR --wrt a1,a2 [--latex]         symbolic partial derivatives (needs SymPy)
chainrule graph | explain | check EXPR --at ...       see and check the chain rule (cli_seeing)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}") from None
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return values


def _positive(kind: type) -> object:
    def parse(text: str) -> object:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _parser() -> argparse.ArgumentParser:
    from chainrule.train.job import LOSSES, OPTIMIZERS, TrainConfig

    d = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="chainrule", description="Backpropagation made real: train and inspect models."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser(
        "train",
        help="train an MLP (default: the seed's two-layer ReLU MLP with softmax cross-entropy "
        "on the UCI digits)",
    )
    train.add_argument(
        "--data",
        default=d.data,
        help="digits, moons, circles, spirals, xor, gaussians, a CSV file (last "
        "column is the label) or a folder of MNIST IDX files (default: digits)",
    )
    train.add_argument(
        "--hidden",
        type=_int_list,
        default=d.hidden,
        help="hidden layer sizes, e.g. 64,64 (default: 64)",
    )
    train.add_argument(
        "--activation", default=d.activation, choices=["relu", "sigmoid", "tanh", "leaky_relu"]
    )
    train.add_argument("--loss", default=d.loss, choices=LOSSES)
    train.add_argument("--optimizer", default=d.optimizer, choices=OPTIMIZERS)
    train.add_argument("--lr", type=_positive(float), default=d.lr)
    train.add_argument("--momentum", type=float, default=d.momentum, help="SGD momentum")
    train.add_argument("--weight-decay", type=float, default=d.weight_decay)
    train.add_argument("--epochs", type=_positive(int), default=d.epochs)
    train.add_argument("--batch-size", type=_positive(int), default=d.batch_size)
    train.add_argument("--seed", type=int, default=d.seed)
    train.add_argument("--schedule", choices=["none", "cosine"], default=d.schedule)
    train.add_argument("--out", default=d.out, help="run folder (default: runs/train)")
    train.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue a run from its checkpoint.safetensors (or run folder)",
    )
    train.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    train.add_argument("--quiet", action="store_true", help="print only the summary")

    evaluate = sub.add_parser("evaluate", help="evaluate a trained run on its test split")
    evaluate.add_argument("run", help="a run folder written by `chainrule train`")
    evaluate.add_argument("--data", help="evaluate on other data instead (same features)")

    predict = sub.add_parser("predict", help="predict classes with a trained run")
    predict.add_argument("run", help="a run folder written by `chainrule train`")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--values", help="one sample's features, comma-separated")
    source.add_argument("--input", help="a CSV file of samples (one per row, features only)")
    _add_derive_parser(sub)
    from chainrule import cli_seeing  # graph, explain, check

    cli_seeing.add_parsers(sub)
    return parser


def _train(args: argparse.Namespace) -> int:
    from chainrule.train.job import TrainConfig, run

    config = TrainConfig(
        data=args.data,
        hidden=args.hidden,
        activation=args.activation,
        loss=args.loss,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        schedule=args.schedule,
        out=args.out,
        plots=not args.no_plots,
    )
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
    from chainrule.train import confusion_matrix, evaluate, predictions
    from chainrule.train.job import load_run, load_split, loss_function

    config, model = load_run(args.run)
    split = load_split(args.data or config.data, config.seed, config.test_fraction)
    x, y = creation.tensor(split.x_test), creation.tensor(split.y_test)
    result = evaluate(
        model, loss_function(config.loss, config.classes), DataLoader(TensorDataset(x, y), 512)
    )
    print(
        f"test loss {result['loss']:.4f}  test accuracy {result['accuracy']:.4f}  "
        f"({len(split.y_test)} samples)"
    )
    from chainrule.modes import no_grad

    with no_grad():
        counts = confusion_matrix(predictions(model(x)), split.y_test, config.classes)
    print("confusion matrix (rows: true class, columns: predicted):")
    for i, row in enumerate(counts):
        print(f"  {i:>3} " + " ".join(f"{c:>4}" for c in row))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from chainrule import creation
    from chainrule.modes import no_grad
    from chainrule.ops import softmax
    from chainrule.train.job import load_run

    config, model = load_run(args.run)
    if args.values is not None:
        try:
            x = np.array([[float(v) for v in args.values.split(",")]], dtype=np.float32)
        except ValueError:
            raise ValueError(
                f"--values: expected comma-separated numbers, got {args.values!r}"
            ) from None
    else:
        x = np.loadtxt(args.input, delimiter=",", dtype=np.float32, ndmin=2)
    if x.shape[1] != config.features:
        raise ValueError(f"the model takes {config.features} features per sample, got {x.shape[1]}")
    with no_grad():
        out = model(creation.tensor(x))
        probs = softmax(out, -1).numpy() if out.shape[1] > 1 else None
    for i, row in enumerate(out.numpy()):
        if probs is None:
            print(f"{i}: class {int(row[0] > 0)}  (logit {row[0]:.4f})")
        else:
            top = int(probs[i].argmax())
            print(f"{i}: class {top}  (p = {probs[i, top]:.4f})")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    commands = {"train": _train, "evaluate": _evaluate, "predict": _predict}
    commands["derive"] = _derive
    from chainrule.cli_seeing import HANDLERS

    commands.update(HANDLERS)
    try:
        return commands[args.command](args)
    except (ValueError, FileNotFoundError, KeyError) as error:
        # a mistake in what the user asked for: one line, argparse's exit code
        parser.exit(2, f"chainrule {args.command}: error: {error}\n")
    except KeyboardInterrupt:
        parser.exit(130, "interrupted\n")
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early: not an error
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
