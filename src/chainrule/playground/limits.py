"""What the playground accepts: the caps on user input, and the error that names a bad value.

Every request is checked here before any work starts, so a malformed expression, a width of 0
or a learning rate of -1 becomes an HTTP 400 with a one-line message, never a crash or a
runaway computation.
"""

from __future__ import annotations

import math
from typing import Any

MAX_EXPRESSION = 300  # characters of an expression or a typed derivative
MAX_ELEMENTS = 64  # entries of one input value (a 8x8 matrix at most)
MAX_NODES = 120  # ops in the graph of an expression
MAX_WIDTH = 64  # units in one hidden layer
MAX_LAYERS = 6  # hidden layers
MAX_POINTS = 2000  # points of a data set
MAX_STEPS_PER_SECOND = 400  # training steps a session may run per second
MAX_SESSIONS = 32  # sessions kept; the least recently used is dropped past this


class PlaygroundError(ValueError):
    """Bad input from the page: the message names the field and the problem (HTTP 400)."""


def number(body: dict[str, Any], name: str, low: float, high: float, default: float) -> float:
    """body[name] as a finite float in [low, high] (default when absent)."""
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PlaygroundError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or not low <= value <= high:
        raise PlaygroundError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return float(value)


def integer(body: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    """body[name] as an int in [low, high] (default when absent)."""
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlaygroundError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise PlaygroundError(f"{name} must be between {low} and {high}, got {value}")
    return value


def choice(body: dict[str, Any], name: str, options: tuple[str, ...], default: str) -> str:
    """body[name], one of `options` (default when absent)."""
    value = body.get(name, default)
    if value not in options:
        raise PlaygroundError(f"{name} must be one of {', '.join(options)}, got {value!r}")
    return str(value)


def text(body: dict[str, Any], name: str, limit: int = MAX_EXPRESSION) -> str:
    """body[name] as a non-empty string of at most `limit` characters."""
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PlaygroundError(f"{name} is missing: type an expression")
    if len(value) > limit:
        raise PlaygroundError(f"{name} is {len(value)} characters long; the limit is {limit}")
    return value
