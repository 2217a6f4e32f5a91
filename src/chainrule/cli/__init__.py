"""The `chainrule` command: thin argument parsing over the library (the parser, `main`, and
one line and an exit code for every error; the subcommands live in `cli.train` and
`cli.seeing`).

chainrule train [--data digits] [--hidden 64] ...   train an MLP, write a run folder
chainrule train --resume RUN [--epochs 60]         continue a run in its own folder
chainrule evaluate RUN_DIR                          test loss, accuracy, confusion matrix
chainrule predict RUN_DIR --values 0.5,1.2          predicted classes and probabilities
chainrule derive EXPR --wrt a1,a2 [--latex]         symbolic partial derivatives (needs SymPy)
chainrule graph | explain | check EXPR --at ...     see and check the chain rule (cli.seeing)

Errors are one line on stderr, never a traceback: exit 2 for a mistake in what was asked (bad
option, missing or malformed file), 1 when the run itself fails (diverged, disk full, no
permission), 130 when interrupted. Set CHAINRULE_DEBUG=1 to get the traceback as well.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence

from chainrule.cli import playground, seeing, train

DEBUG_ENV = "CHAINRULE_DEBUG"


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("chainrule")
    except (ImportError, PackageNotFoundError):  # running from a checkout without installing
        from chainrule.version import __version__

        return __version__


def _parser() -> argparse.ArgumentParser:
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

    train.add_parsers(sub)  # train, evaluate, predict
    seeing.add_parsers(sub)  # derive, graph, explain, check
    playground.add_parsers(sub)  # the live playground (the web extra)
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


def _distributed(command: Callable[[], int], prog: str) -> int:
    """--distributed: join the MPI job (a one-line error outside an MPI launcher), and make a
    failure on any rank end every rank (MPI_Abort) with one line naming that rank: the others
    would otherwise wait forever in a collective the failed rank never joins."""
    from chainrule import distributed

    def report(rank: int, error: BaseException) -> str:
        line = f"{prog}: error: rank {rank} failed: {_one_line(error)}"
        if os.environ.get(DEBUG_ENV):
            line += "\n" + "".join(traceback.format_exception(error))
        return line

    def code(error: BaseException) -> int:
        return 130 if isinstance(error, KeyboardInterrupt) else _exit_code(error)

    def joined() -> int:
        distributed.init_process_group("mpi")
        result = command()
        distributed.destroy_process_group()
        return result

    return distributed.run_main(joined, report, code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(_join_negative_values(parser, argv))
    commands = {**train.HANDLERS, **seeing.HANDLERS, **playground.HANDLERS}
    prog = f"chainrule {args.command}"
    try:
        if getattr(args, "distributed", False):
            return _distributed(lambda: commands[args.command](args), prog)
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
