"""The `chainrule derive` subcommand: closed-form partials by chainrule's own rules on SymPy
symbols, as SymPy gives them or in the course's form (`--course`, `--in-terms-of`).

chainrule derive EXPR --wrt a1,a2 [--latex]
chainrule derive 'softmax(beta*x)' --wrt x --shape x=3 --in-terms-of 'p=softmax(beta*x)'
    p = softmax(beta*x)
    d f_j / d x_i = beta*p_i*(delta_ij - p_j)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXAMPLE = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)"


def add_derive_parser(sub: Any) -> None:
    """Add the derive subparser to `sub` (argparse subparsers)."""
    derive = sub.add_parser(
        "derive",
        help="closed-form partial derivatives of an expression, by chainrule's own rules run on "
        "SymPy symbols (needs the symbolic extra)",
    )
    derive.add_argument(
        "expression",
        help=f"e.g. '{EXAMPLE}'; one that starts with '-' and has "
        "no space goes after '--': chainrule derive -- '-x*y'",
    )
    derive.add_argument("--wrt", help="variables to differentiate by, e.g. a1,a2 (default: all)")
    derive.add_argument("--at", help="fixed values, e.g. alpha=0.5,y=[0,1,0] (others stay symbols)")
    derive.add_argument(
        "--shape", help="vector and matrix variables, e.g. x=3,W=2x2 (default: scalars)"
    )
    derive.add_argument(
        "--grad-output",
        metavar="NAME",
        help="for a non-scalar output: a symbolic upstream gradient dL/df named NAME, giving "
        "dL/dv instead of the Jacobian",
    )
    derive.add_argument(
        "--course",
        action="store_true",
        help="print the course's form: sigmoid's argument named u, the course's signs, index "
        "formulas such as beta*p_i*(delta_ij - p_j) (default: SymPy's form)",
    )
    derive.add_argument(
        "--in-terms-of",
        action="append",
        default=[],
        metavar="NAME=EXPR",
        help="a named intermediate for the course's form (implies --course), e.g. "
        "'p=softmax(beta*x)'; repeat it or separate with commas: 'p=softmax(o),u=a*x' "
        "(default: none)",
    )
    derive.add_argument(
        "--latex", action="store_true", help="print LaTeX instead of text (default: text)"
    )
    derive.add_argument(
        "--expand",
        action="store_true",
        help="write sigmoid with exponentials (default: sigmoid kept as one function)",
    )
    derive.add_argument(
        "--no-simplify",
        action="store_true",
        help="print backprop's raw formulas (default: simplified)",
    )


def split_in_terms_of(texts: list[str]) -> dict[str, str]:
    """['p=softmax(beta*x)', 'u=a*x,s=sigmoid(u)'] -> {'p': 'softmax(beta*x)', 'u': 'a*x', ...}:
    commas inside parentheses or brackets (softmax(v, beta=2)) do not split; '=' inside one
    (beta=2) is not the name's.

    >>> split_in_terms_of(["p=softmax(x, beta=2),u=a*x"])
    {'p': 'softmax(x, beta=2)', 'u': 'a*x'}
    """
    result: dict[str, str] = {}
    for text in texts:
        for part in _top_level_parts(text):
            name, eq, definition = part.partition("=")
            name, definition = name.strip(), definition.strip()
            if not eq or not definition:
                raise ValueError(f"--in-terms-of: expected NAME=EXPR, got '{part.strip()}'")
            if not name.isidentifier():
                raise ValueError(f"--in-terms-of: '{name}' is not a name (in '{part.strip()}')")
            if name in result:
                raise ValueError(f"--in-terms-of: {name} is given twice")
            result[name] = definition
    return result


def _top_level_parts(text: str) -> list[str]:
    """Split on commas outside (), [] and {}; an unbalanced bracket is a one-line error."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                raise ValueError(f"--in-terms-of: unbalanced '{char}' in '{text}'")
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise ValueError(f"--in-terms-of: unclosed parenthesis in '{text}'")
    parts.append(text[start:])
    return parts


def run_derive(args: argparse.Namespace) -> int:
    from chainrule.expr import ExpressionError, parse, parse_assignments, parse_names, parse_shapes

    expression = parse(args.expression)
    try:
        shapes = parse_shapes(args.shape) if args.shape and args.shape.strip() else {}
    except ExpressionError as error:
        raise ValueError(f"--shape: {error.summary}: {args.shape}") from None
    in_terms_of = split_in_terms_of(args.in_terms_of)
    for name in in_terms_of:
        if name in expression.names:
            raise ValueError(
                f"--in-terms-of: {name} is already a variable of the expression "
                f"{expression.text!r}; choose another name"
            )
    for name, definition in in_terms_of.items():  # bad syntax or a name EXPR lacks, said now
        try:
            used = parse(definition).names
        except ExpressionError as error:
            raise ValueError(f"--in-terms-of: {name}: {error.summary}: {definition}") from None
        extra = [n for n in used if n not in expression.names]
        if extra:
            raise ValueError(
                f"--in-terms-of: {name}={definition} uses {', '.join(extra)}, which the "
                f"expression does not have (its variables: {', '.join(expression.names)})"
            )
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
        in_terms_of=in_terms_of,
    )
    shown: Any = result.course() if args.course or in_terms_of else result
    print(shown.latex() if args.latex else shown.text())
    return 0
