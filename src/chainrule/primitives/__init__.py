"""The rule table: every primitive's forward and backward side by side.

Importing this package defines every primitive, so `REGISTRY` (and `PRIMITIVES`, its values in
definition order) is complete.
"""

from __future__ import annotations

from chainrule.primitives import (
    binary,
    elementwise,
    indexing,
    linalg,
    loss,
    reduction,
    shape,
    softmax,
)
from chainrule.primitives.base import REGISTRY, Primitive, primitive

PRIMITIVES: tuple[type[Primitive], ...] = tuple(REGISTRY.values())
