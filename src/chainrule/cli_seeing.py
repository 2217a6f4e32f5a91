"""The `chainrule graph | explain | check` subcommands: seeing and checking the chain rule.

chainrule graph EXPR --at a1=0.5,x=1.5 [--wrt a1] [--out graph.svg]   draw the graph
chainrule explain EXPR --at ... [--wrt ...] [--format table|markdown|latex]   the backward ledger
chainrule check EXPR --grad 'FORMULA' --wrt a1 [--at ...]   check a hand derivation
    (exit 0: it holds, 1: it does not, 2: bad input)

Expressions are parsed by `chainrule.expr` (a whitelist; nothing is evaluated as Python).
Variables listed in --wrt require grad; the others are constants (default: all require grad).
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Callable
from typing import Any

import numpy as np

EXAMPLE = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)"


def add_parsers(sub: Any) -> None:
    """Add the graph, explain and check subparsers to `sub` (argparse subparsers)."""
    graph = sub.add_parser("graph", help="draw the computational graph of an expression")
    _common(graph)
    graph.add_argument("--out", help="graph.svg, graph.png or graph.dot (default: DOT to stdout)")
    graph.add_argument("--no-local", action="store_true", help="no local derivatives on edges")

    explain = sub.add_parser("explain", help="print the backward ledger of an expression")
    _common(explain)
    explain.add_argument("--format", choices=["table", "markdown", "latex"], default="table")

    check = sub.add_parser(
        "check",
        help="check a hand-derived gradient against autodiff and finite differences",
        description="Exit status: 0 when the gradient holds, 1 when it does not, 2 for bad input.",
    )
    check.add_argument("expr", help=f"the function, e.g. '{EXAMPLE}'")
    check.add_argument(
        "--grad",
        action="append",
        required=True,
        help="your formula for d EXPR / d WRT (once per --wrt name)",
    )
    check.add_argument("--wrt", required=True, help="the variable(s), comma-separated")
    check.add_argument("--at", default="", help="the point, e.g. a1=0.5,x=1.5 (missing: random)")
    check.add_argument("--points", type=int, default=5, help="points to try (default 5)")
    check.add_argument("--seed", type=int, default=0)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("expr", help=f"the expression, e.g. '{EXAMPLE}'")
    parser.add_argument("--at", required=True, help="values, e.g. a1=0.5,a2=-1,x=[1,2]")
    parser.add_argument("--wrt", help="the variables that require grad (default: all)")


def _parse(text: str, what: str = "") -> Any:
    """Parse with chainrule.expr; a bad expression becomes a one-line ValueError (exit 2)."""
    from chainrule.expr import ExpressionError, parse

    try:
        return parse(text)
    except ExpressionError as error:
        raise ValueError(f"{what}{error.summary}: {text}") from None


def _assignments(text: str) -> dict[str, Any]:
    from chainrule.expr import ExpressionError, parse_assignments

    if not text.strip():
        return {}
    try:
        return parse_assignments(text)
    except ExpressionError as error:
        raise ValueError(f"--at: {error.summary}: {text}") from None


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
    env = _leaves(expr, _assignments(args.at), _names(args.wrt, expr))
    with record():
        out = expr.evaluate(env)
    if not out.requires_grad:
        raise ValueError("the expression does not depend on any --wrt variable")
    return out


def run_graph(args: argparse.Namespace) -> int:
    from chainrule.viz import draw

    out = _build(args)
    seed = None if out.numel() == 1 else np.ones(out.shape, dtype=out.dtype)
    out.backward(seed, retain_graph=True)
    graph = draw(out, show_local=not args.no_local)
    if args.out is None:
        print(graph.source, end="")
        return 0
    stem, ext = os.path.splitext(args.out)
    fmt = ext.lstrip(".").lower() or "svg"
    if fmt in ("dot", "gv"):
        print(f"wrote {graph.render(args.out)}")
        return 0
    dot_path = graph.render(stem + ".dot")
    if shutil.which("dot") is None:
        print(
            f"wrote {dot_path} (DOT); Graphviz `dot` is not installed, so no {fmt.upper()}: "
            f"install Graphviz, then run: dot -T{fmt} {dot_path} -o {args.out}"
        )
        return 0
    graph.render(args.out, fmt)
    print(f"wrote {args.out} and {dot_path}")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    from chainrule.explain import explain

    out = _build(args)
    seed = None if out.numel() == 1 else np.ones(out.shape, dtype=out.dtype)
    ledger = explain(out, gradient=seed)
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
    at = _assignments(args.at)
    rng = np.random.default_rng(args.seed)
    drawn = [n for n in expr.names if n not in at]
    for n in drawn:
        at[n] = float(np.round(rng.uniform(-2, 2), 3))
    if drawn:
        print("random values for " + ", ".join(f"{n}={at[n]}" for n in drawn))
    inputs = {n: at[n] for n in expr.names}

    def fn(**env: Any) -> Any:
        return expr.evaluate(_float64(env))

    def my_grad(**env: Any) -> Any:
        env = _float64(env)
        values = [g.evaluate({n: env[n] for n in g.names}) for g in grads]
        return values[0] if len(values) == 1 else tuple(values)

    report = derivation(fn, my_grad, inputs, wrt=wrt, points=args.points, seed=args.seed)
    print(report)
    return 0 if report.ok else 1


def _float64(env: dict[str, Any]) -> dict[str, Any]:
    """Numbers as float64 tensors: an expression of numbers alone would compute in float32."""
    from chainrule.tensor import Tensor

    return {
        n: v if isinstance(v, Tensor) else Tensor._make(np.asarray(v, dtype=np.float64))
        for n, v in env.items()
    }


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "graph": run_graph,
    "explain": run_explain,
    "check": run_check,
}
