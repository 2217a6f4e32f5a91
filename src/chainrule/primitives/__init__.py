"""The rule table: every primitive's forward and backward side by side, with its rule.

Importing this package defines every primitive, so `REGISTRY` (and `PRIMITIVES`, its values in
definition order) is complete.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

# every module of the rule table, imported so that each primitive registers itself
from chainrule.primitives import (
    activations,
    binary,
    conv,
    einsum,
    elementwise,
    indexing,
    linalg,
    loss,
    pool,
    reduction,
    rounding,
    scan,
    shape,
    softmax,
    special,
    structure,
    trig,
)
from chainrule.primitives.base import REGISTRY, Primitive, input_names, primitive
from chainrule.primitives.rules import ExprFunction, Rule, Signature

__all__ = [
    "PRIMITIVES",
    "REGISTRY",
    "ExprFunction",
    "Primitive",
    "Rule",
    "Signature",
    "activations",
    "binary",
    "conv",
    "einsum",
    "elementwise",
    "indexing",
    "input_names",
    "linalg",
    "loss",
    "pool",
    "primitive",
    "reduction",
    "rounding",
    "scan",
    "shape",
    "softmax",
    "special",
    "structure",
    "trig",
]


class _Registered(Sequence[type[Primitive]]):
    """The registry's primitives in definition order, read live (a primitive defined after
    import, such as a test's, is listed too, so coverage tests see it)."""

    @overload
    def __getitem__(self, index: int) -> type[Primitive]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[type[Primitive]]: ...
    def __getitem__(self, index: int | slice) -> type[Primitive] | Sequence[type[Primitive]]:
        return tuple(REGISTRY.values())[index]

    def __iter__(self) -> Iterator[type[Primitive]]:
        return iter(tuple(REGISTRY.values()))

    def __len__(self) -> int:
        return len(REGISTRY)

    def __repr__(self) -> str:
        return f"PRIMITIVES({', '.join(REGISTRY)})"


PRIMITIVES: Sequence[type[Primitive]] = _Registered()
