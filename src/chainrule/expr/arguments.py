"""The command line's variable lists: --wrt a1,a2, --at a1=0.5,W=[[1,2],[3,4]] and
--shape W=3x4,x=4."""

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

    Values are numbers or bracketed lists of numbers (nested for a matrix, every row as long as
    the others); commas inside brackets do not split."""
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
        ragged = _ragged(parsed)
        if ragged:
            raise ExpressionError(f"{name.strip()}: ragged list ({ragged})", text, value_column)
        result[name.strip()] = parsed
    return result


def parse_shapes(text: str) -> dict[str, tuple[int, ...]]:
    """'W=3x4,x=4' -> {'W': (3, 4), 'x': (4,)} (the --shape argument); `W=[3,4]` means 3x4 too.

    >>> parse_shapes("W=2x3,x=3,b=[2]")
    {'W': (2, 3), 'x': (3,), 'b': (2,)}
    """
    result: dict[str, tuple[int, ...]] = {}
    for start, part in _split_top_level(text):
        name, eq, value = part.partition("=")
        if not eq:
            raise ExpressionError(f"expected NAME=SHAPE, got '{part.strip()}'", text, start)
        if not name.strip().isidentifier():
            raise ExpressionError(f"'{name.strip()}' is not a variable name", text, start)
        shape = _shape(value.strip())
        if shape is None:
            message = (
                f"{name.strip()}: '{value.strip()}' is not a shape: sizes must be positive "
                "integers, like 3x4 (or 4 for a vector)"
            )
            raise ExpressionError(message, text, start + len(name) + 1)
        result[name.strip()] = shape
    return result


def _shape(text: str) -> tuple[int, ...] | None:
    """'3x4' or '[3, 4]' -> (3, 4), '4' -> (4,); None for anything else."""
    if text.startswith("[") and text.endswith("]"):
        parts = [p.strip() for p in text[1:-1].split(",")]
    else:
        parts = [p.strip() for p in text.lower().split("x")]
    if not all(p.isdigit() and p.isascii() for p in parts):
        return None
    sizes = tuple(int(p) for p in parts)
    return sizes if all(n > 0 for n in sizes) else None


def _ragged(value: Any) -> str:
    """Why a nested list is not a rectangular array ('' when it is one)."""
    rows = [value]
    while rows and isinstance(rows[0], list):
        lengths = {len(r) if isinstance(r, list) else 0 for r in rows}
        kinds = {isinstance(r, list) for r in rows}
        if len(kinds) > 1:
            return "numbers and lists mixed at the same depth"
        if len(lengths) > 1:
            shown = ", ".join(str(n) for n in sorted(lengths))
            return f"rows of different lengths: {shown}"
        rows = [item for r in rows for item in r]
    if any(isinstance(r, list) for r in rows):
        return "numbers and lists mixed at the same depth"
    return ""


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
