"""What every primitive is: a Function whose forward runs on raw arrays, and the registry that
every primitive joins by being defined.

Everything that lists primitives (the public coverage tests, the ledger, the expression
language, symbolic derivation) reads `REGISTRY`, so adding a primitive is one class in one place.
"""

from __future__ import annotations

from typing import Any

from chainrule.function import Function

# Class name -> primitive, in definition order (a registry, not a list kept by hand).
REGISTRY: dict[str, type[Primitive]] = {}


class Primitive(Function):
    """A library primitive: forward on raw arrays, backward on arrays or Tensors.

    A subclass joins `REGISTRY` when it is defined, unless it is a shared base of other
    primitives (declared `class Binary(Primitive, abstract=True)`, or named with a leading
    underscore).
    """

    _raw = True

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not abstract and not cls.__name__.startswith("_"):
            if cls.__name__ in REGISTRY:
                raise TypeError(f"primitive {cls.__name__} is defined twice")
            REGISTRY[cls.__name__] = cls


def primitive(name: str) -> type[Primitive]:
    """The registered primitive called `name` (used where a rule needs another primitive)."""
    return REGISTRY[name]
