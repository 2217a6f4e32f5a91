"""The command line's variable lists: --wrt a1,a2 and --at a1=0.5,y=[0,1,0]."""

from __future__ import annotations

import ast
from typing import Any

from chainrule.expr.errors import ExpressionError


def parse_names(text: str) -> list[str]:
    """'a1,a2' -> ['a1', 'a2'] (the --wrt argument); refuses anything but identifiers."""
    names, column = [], 1
    for part in text.split(","):
        name = part.strip()
        start = column + (len(part) - len(part.lstrip()))
        if not name.isidentifier():
            raise ExpressionError(f"'{name}' is not a variable name", text, start)
        names.append(name)
        column += len(part) + 1
    return names


def parse_assignments(text: str) -> dict[str, Any]:
    """'a1=0.5,x=1.5,y=[0,1,0]' -> {'a1': 0.5, 'x': 1.5, 'y': [0, 1, 0]} (the --at argument).

    Values are numbers or bracketed lists of numbers; commas inside brackets do not split."""
    result: dict[str, Any] = {}
    for start, part in _split_top_level(text):
        name, eq, value = part.partition("=")
        if not eq:
            raise ExpressionError(f"expected NAME=VALUE, got '{part.strip()}'", text, start)
        if not name.strip().isidentifier():
            raise ExpressionError(f"'{name.strip()}' is not a variable name", text, start)
        value_column = start + len(name) + 1
        try:
            parsed = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            parsed = None
        if not _numbers(parsed):
            message = f"'{value.strip()}' is not a number or a [list] of numbers"
            raise ExpressionError(message, text, value_column)
        result[name.strip()] = parsed
    return result


def _numbers(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_numbers(v) for v in value)
    return type(value) in (int, float)


def _split_top_level(text: str) -> list[tuple[int, str]]:
    """Split on commas outside brackets: [(1-based column, part), ...]."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append((start + 1, text[start:i]))
            start = i + 1
    parts.append((start + 1, text[start:]))
    return parts
