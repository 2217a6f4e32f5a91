"""What the seeing commands (`chainrule graph | explain | check`, in `cli.seeing`) share.

* the parser: `ExpressionArguments`, mixed into argparse's parser class by
  `add_expression_parser`, so that a formula may start with '-'; the help texts and the
  arguments every expression command takes (`add_common_arguments`);
* reading the values: `--at` (`assignments`) and `--shape` (`shapes_of`);
* random values for the variables left out (`draw_random`), written back as --at would take
  them (`shown`), and `real` for the numbers `chainrule.check` is given.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    # a mixin's base for the type checker: the methods below override ArgumentParser's
    _ParserBase = argparse.ArgumentParser
else:
    _ParserBase = object  # at run time the parser class it is mixed into comes after it

EXAMPLE = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)"


class ExpressionArguments(_ParserBase):
    """Parser behaviour for commands whose values are formulas (mixed into argparse's class).

    A formula may start with '-' (`--grad -1/x**2`, `EXPR = -x*y`): argparse would take it for
    an unknown option. Here a word with a single leading '-' is an option only when it is one of
    this command's own (-h); `--grad=-x` and `--grad ' -x'` work as well. Usage errors are one
    line, like every other error of these commands.
    """

    def _parse_optional(self, arg_string: str) -> Any:
        if (
            arg_string.startswith("-")
            and not arg_string.startswith("--")
            and len(arg_string) > 1
            and arg_string.split("=", 1)[0] not in self._option_string_actions
        ):
            return None  # a value (a formula), not an option
        return super()._parse_optional(arg_string)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:  # said here, by the command that got them, rather than by `chainrule`
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_expression_parser(sub: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    base = sub._parser_class  # argparse's subparsers build each parser with this class
    sub._parser_class = type("ExpressionParser", (ExpressionArguments, base), {})
    try:
        return sub.add_parser(name, formatter_class=Formatter, **kwargs)
    finally:
        sub._parser_class = base


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the descriptions' line breaks (they hold examples)."""


def describe(*paragraphs: str) -> str:
    """Paragraphs filled to 79 columns, for a RawDescriptionHelpFormatter description."""
    return "\n\n".join(textwrap.fill(p, 79, break_on_hyphens=False) for p in paragraphs)


AT_HELP = (
    "the variables' values, e.g. a1=0.5,a2=-1,x=[1,2],W=[[1,2],[3,4]] (a value may be "
    "negative: x=-1)"
)
SHAPE_HELP = (
    "vector and matrix variables drawn at random, e.g. W=3x4,x=4 (the others left out of --at "
    "are random numbers)"
)
DASH_NOTE = (
    "A formula that starts with '-' can follow its option directly (--grad -1/x**2) or with "
    "'=' (--grad=-1/x**2)."
)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "expr", metavar="EXPR", help=f"the expression, e.g. '{EXAMPLE}' (may start with '-')"
    )
    parser.add_argument(
        "--at",
        default="",
        help=AT_HELP + " (required for every variable without a --shape; default: none)",
    )
    parser.add_argument(
        "--wrt", help="the variables that require grad, comma-separated (default: all)"
    )
    parser.add_argument(
        "--shape",
        default="",
        help="vector and matrix variables drawn at random, e.g. W=3x4,x=4 (default: none; "
        "a variable in --at takes its value from there)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random-number seed for the --shape values (default: 0)",
    )


def assignments(text: str) -> dict[str, Any]:
    from chainrule.expr import ExpressionError, parse_assignments

    if not text.strip():
        return {}
    try:
        return parse_assignments(text)
    except ExpressionError as error:
        raise ValueError(f"--at: {error.summary}: {text}") from None


def draw_random(
    at: dict[str, Any], names: list[str], shapes: dict[str, Any], rng: np.random.Generator
) -> None:
    """Random values in [-2, 2] (3 decimals) into `at` for `names`: arrays of their --shape."""
    for n in names:
        value = np.round(rng.uniform(-2, 2, size=shapes.get(n, ())), 3)
        at[n] = value if n in shapes else float(value)


def shown(value: Any) -> str:
    """A drawn value as --at would take it: 0.5, [0.5, -1.2] or [[...], [...]]."""
    from chainrule.viz.format import number

    array = np.asarray(value)
    if array.ndim == 0:
        return number(array.item(), 6)
    return "[" + ", ".join(shown(row) for row in array) + "]"


def shapes_of(
    text: str | None, expr: Any = None, at: dict[str, Any] | None = None
) -> dict[str, Any]:
    """--shape W=3x4,x=4 as {'W': (3, 4), 'x': (4,)}; names are the expression's, and a name
    given in --at too must have the shape its value has."""
    from chainrule.expr import ExpressionError, parse_shapes

    if text is None or not text.strip():
        return {}
    try:
        shapes = parse_shapes(text)
    except ExpressionError as error:
        raise ValueError(f"--shape: {error.summary}: {text}") from None
    for name, shape in shapes.items():
        if expr is not None and name not in expr.names:
            raise ValueError(
                f"--shape: {name} is not in the expression {expr.text!r} "
                f"(its variables: {', '.join(expr.names)})"
            )
        given = np.shape(at[name]) if at and name in at else shape
        if given != shape:
            raise ValueError(f"--shape: {name} has shape {shape}, but its --at value {given}")
    return shapes


def real(value: Any) -> Any:
    return float(value) if isinstance(value, (int, float)) else np.asarray(value, np.float64)
