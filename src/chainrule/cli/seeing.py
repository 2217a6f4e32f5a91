"""The `chainrule derive | graph | explain | check` subcommands: seeing and checking backprop.

chainrule derive EXPR --wrt a1,a2 [--course] [--in-terms-of p=...] [--latex]   (cli.derive)
chainrule graph EXPR --at a1=0.5,x=1.5 [--shape W=2x3] [--wrt a1] [--out graph.svg]
chainrule explain EXPR --at ... [--shape ...] [--format table|markdown|latex]   the ledger
chainrule check EXPR --grad 'FORMULA' --wrt a1 [--at ...] [--verbose]   check a derivation
    (exit 0: it holds, 1: it does not, 2: bad input)

Expressions are parsed by `chainrule.expr` (a whitelist; nothing is evaluated as Python).
Variables listed in --wrt require grad; the others are constants (default: all require grad).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.cli.derive import add_derive_parser, run_derive
from chainrule.cli.seeing_args import (
    AT_HELP,
    DASH_NOTE,
    EXAMPLE,
    SHAPE_HELP,
    add_common_arguments,
    add_expression_parser,
    assignments,
    describe,
    draw_random,
    real,
    shapes_of,
    shown,
)


def add_parsers(sub: Any) -> None:
    """Add the derive, graph, explain and check subparsers to `sub` (argparse subparsers)."""
    add_derive_parser(sub)
    graph = add_expression_parser(
        sub,
        "graph",
        help="draw the computational graph of an expression",
        description=describe(
            "Draw the computational graph of EXPR at the --at values, with each node's value "
            "and gradient and each edge's local derivative.",
            "example: chainrule graph 'a3*sigmoid(a1*x)' --at a1=0.5,a3=2,x=1.5 --out graph.svg",
        ),
    )
    add_common_arguments(graph)
    graph.add_argument(
        "--out",
        help="the file to write: graph.svg, graph.png or graph.dot (default: DOT text to "
        "standard output)",
    )
    graph.add_argument("--no-local", action="store_true", help="no local derivatives on edges")

    explain = add_expression_parser(
        sub,
        "explain",
        help="print the backward ledger of an expression",
        description=describe(
            "Print the backward ledger of EXPR at the --at values: every node's local "
            "derivative times the gradient flowing into it, in the order backprop visits them.",
            "example: chainrule explain 'a3*sigmoid(a1*x)' --at a1=0.5,a3=2,x=1.5",
        ),
    )
    add_common_arguments(explain)
    explain.add_argument(
        "--format",
        choices=["table", "markdown", "latex"],
        default="table",
        help="how to print the ledger (default: table)",
    )

    check = add_expression_parser(
        sub,
        "check",
        help="check a hand-derived gradient against autodiff and finite differences",
        description=describe(
            "Check a hand-derived derivative of EXPR against autodiff and central finite "
            "differences, at the --at point, at random points and at hard cases (zeros, large "
            "values). Points where EXPR is not differentiable are reported and skipped.",
            DASH_NOTE,
            "Exit status: 0 when the derivative holds, 1 when it does not, 2 for bad input.",
            "example: chainrule check 'sigmoid(a*x)' --grad 'sigmoid(a*x)*(1-sigmoid(a*x))*x' "
            "--wrt a",
        ),
    )
    check.add_argument("expr", metavar="EXPR", help=f"the function, e.g. '{EXAMPLE}'")
    check.add_argument(
        "--grad",
        action="append",
        required=True,
        metavar="FORMULA",
        help="your formula for d EXPR / d WRT, in the same syntax as EXPR (once per --wrt "
        "variable, in the same order)",
    )
    check.add_argument("--wrt", required=True, help="the variable(s), comma-separated, e.g. a1,a2")
    check.add_argument(
        "--at",
        default="",
        help=AT_HELP + " (default: random values for the variables left out)",
    )
    check.add_argument("--shape", default="", help=SHAPE_HELP)
    check.add_argument(
        "--points",
        type=int,
        default=5,
        help="how many points to check, the --at point and random ones (default: 5)",
    )
    check.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random-number seed for the random points (default: 0)",
    )
    check.add_argument(
        "--verbose",
        action="store_true",
        help="list every differing entry of every failing point, with the hints (default: one "
        "entry per failing point)",
    )


def _parse(text: str, what: str = "") -> Any:
    """Parse with chainrule.expr; a bad expression becomes a one-line ValueError (exit 2)."""
    from chainrule.expr import ExpressionError, parse

    try:
        return parse(text)
    except ExpressionError as error:
        raise ValueError(f"{what}{error.summary}: {text}") from None


def _names(text: str | None, expr: Any) -> list[str]:
    from chainrule.expr import ExpressionError, parse_names

    if text is None:
        return list(expr.names)
    try:
        names = parse_names(text)
    except ExpressionError as error:
        raise ValueError(f"--wrt: {error.summary}: {text}") from None
    unknown = [n for n in names if n not in expr.names]
    if unknown:
        raise ValueError(
            f"--wrt: {', '.join(unknown)} not in the expression {expr.text!r} "
            f"(its variables: {', '.join(expr.names)})"
        )
    return names


def _leaves(expr: Any, at: dict[str, Any], wrt: list[str]) -> dict[str, Any]:
    """One float64 tensor per variable, named for the drawings; wrt ones require grad."""
    from chainrule.creation import tensor

    missing = [n for n in expr.names if n not in at]
    if missing:
        raise ValueError(f"--at: no value for {', '.join(missing)} (e.g. --at {missing[0]}=0.5)")
    env = {}
    for name in expr.names:
        t = tensor(at[name], dtype=np.float64, requires_grad=name in wrt)
        t.name = name
        env[name] = t
    return env


def _build(args: argparse.Namespace) -> Any:
    """Evaluate the expression with recording on, then run backward (so gradients show)."""
    from chainrule.viz import record

    expr = _parse(args.expr)
    at = assignments(args.at)
    shapes = shapes_of(args.shape, expr, at)
    drawn = [n for n in expr.names if n in shapes and n not in at]
    draw_random(at, drawn, shapes, np.random.default_rng(args.seed))
    env = _leaves(expr, at, _names(args.wrt, expr))
    with record():
        out = _evaluate(expr, env)
    if not out.requires_grad:
        raise ValueError("the expression does not depend on any --wrt variable")
    if drawn:  # on stderr, as graph's standard output may be the DOT text
        values = ", ".join(f"{n}={shown(at[n])}" for n in drawn)
        print(f"random values for {values}", file=sys.stderr)
    return out


def _evaluate(expr: Any, env: dict[str, Any], what: str = "") -> Any:
    """expr at env; an error of evaluation (shapes that do not broadcast) on one line."""
    from chainrule.expr import ExpressionError

    try:
        return expr.evaluate(env)
    except ExpressionError as error:
        raise ValueError(f"{what}{error.summary}: {expr.text}") from None


def run_graph(args: argparse.Namespace) -> int:
    from chainrule.viz import draw

    out = _build(args)
    gradient = None if out.numel() == 1 else np.ones(out.shape, dtype=out.dtype)
    out.backward(gradient, retain_graph=True)
    graph = draw(out, show_local=not args.no_local)
    if args.out is None:
        print(graph.source, end="")
        return 0
    try:
        return _write_graph(graph, args.out)
    except OSError as error:  # a folder that does not exist, no permission, ...
        raise ValueError(f"--out: cannot write {args.out}: {error.strerror or error}") from None


def _write_graph(graph: Any, out: str) -> int:
    stem, ext = os.path.splitext(out)
    fmt = ext.lstrip(".").lower() or "svg"
    if fmt in ("dot", "gv"):
        print(f"wrote {graph.render(out)}")
        return 0
    dot_path = graph.render(stem + ".dot")
    if shutil.which("dot") is None:
        print(
            f"wrote {dot_path} (DOT); Graphviz `dot` is not installed, so no {fmt.upper()}: "
            f"install Graphviz, then run: dot -T{fmt} {dot_path} -o {out}"
        )
        return 0
    graph.render(out, fmt)
    print(f"wrote {out} and {dot_path}")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    from chainrule.viz.ledger import explain

    out = _build(args)
    gradient = None if out.numel() == 1 else np.ones(out.shape, dtype=out.dtype)
    ledger = explain(out, gradient=gradient)
    render = {"table": ledger.table, "markdown": ledger.markdown, "latex": ledger.latex}
    print(render[args.format]().rstrip("\n"))
    return 0


def run_check(args: argparse.Namespace) -> int:
    from chainrule.check import derivation

    expr = _parse(args.expr)
    wrt = _names(args.wrt, expr)
    if len(args.grad) != len(wrt):
        raise ValueError(
            f"give one --grad per --wrt variable: {len(wrt)} variable(s) "
            f"({', '.join(wrt)}), {len(args.grad)} --grad"
        )
    grads = [_parse(g, "--grad: ") for g in args.grad]
    for g in grads:
        extra = [n for n in g.names if n not in expr.names]
        if extra:
            raise ValueError(
                f"--grad {g.text!r} uses {', '.join(extra)}, which the expression "
                f"does not have (its variables: {', '.join(expr.names)})"
            )
    if args.points < 1:
        raise ValueError(f"--points must be at least 1, got {args.points}")
    at = assignments(args.at)
    shapes = shapes_of(args.shape, expr, at)
    drawn = [n for n in expr.names if n not in at]
    draw_random(at, drawn, shapes, np.random.default_rng(args.seed))
    # every value is a real number here: a list like [1, 2] would otherwise stay an integer
    # array, which derivation keeps fixed (it takes integer arrays for class indices)
    inputs = {n: real(at[n]) for n in expr.names}

    def fn(**env: Any) -> Any:
        return _evaluate(expr, _float64(env))

    def my_grad(**env: Any) -> Any:
        env = _float64(env)
        values = [_evaluate(g, {n: env[n] for n in g.names}, "--grad: ") for g in grads]
        return values[0] if len(values) == 1 else tuple(values)

    report = derivation(
        fn,
        my_grad,
        inputs,
        wrt=wrt,
        points=args.points,
        seed=args.seed,
        drawn=drawn,
        verbose=args.verbose,
    )
    if drawn:  # derivation draws them again where the function is not differentiable
        used = report.points[0].values
        print("random values for " + ", ".join(f"{n}={shown(used[n])}" for n in drawn))
    # the short report points Python users to report.details(); here that is --verbose
    print(str(report).replace("(report.details() lists", "(--verbose lists"))
    return 0 if report.ok else 1


def _float64(env: dict[str, Any]) -> dict[str, Any]:
    """Numbers as float64 tensors: an expression of numbers alone would compute in float32."""
    from chainrule.tensor import Tensor

    return {
        n: v if isinstance(v, Tensor) else Tensor._make(np.asarray(v, dtype=np.float64))
        for n, v in env.items()
    }


def _quiet(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The handler under np.errstate(all="ignore"): an infinite or NaN value is shown in the
    drawing, the ledger or the report (log at 0 is -inf), so NumPy's warning only adds noise."""

    def run(args: argparse.Namespace) -> int:
        with np.errstate(all="ignore"):
            return handler(args)

    run.__name__ = run.__qualname__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "derive": run_derive,
    "graph": _quiet(run_graph),
    "explain": _quiet(run_explain),
    "check": _quiet(run_check),
}
