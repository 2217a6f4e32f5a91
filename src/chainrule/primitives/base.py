"""What every primitive is: a Function whose forward runs on raw arrays and which declares its
rule, and the registry that every primitive joins by being defined.

Everything that lists primitives (the public coverage tests, the ledger, the expression
language, symbolic derivation) reads `REGISTRY`, so adding a primitive is one class in one place.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from chainrule.function import Function
from chainrule.primitives.rules import ExprFunction, Rule

# Class name -> primitive, in definition order (a registry, not a list kept by hand).
REGISTRY: dict[str, type[Primitive]] = {}


class Primitive(Function):
    """A library primitive: forward on raw arrays, backward on arrays or Tensors.

    A subclass declares, right above its forward:

    - `rule = Rule(words, forward text, forward LaTeX, <input>=(text, LaTeX), ...)`: its local
      derivative, written once; the class docstring's first line is made from it, and the
      ledger prints it.
    - `elementwise = True` when each output element depends on the same-placed input element
      only (the ledger then shows a local derivative as one value per element).
    - `expr = ExprFunction(name, sympy)` when users may call it by name in an expression.

    A subclass joins `REGISTRY` when it is defined, unless it is a shared base of other
    primitives (declared `class Binary(Primitive, abstract=True)`, or named with a leading
    underscore). A declaration that does not fit forward raises a TypeError naming the class.
    """

    _raw = True
    rule: ClassVar[Rule]
    elementwise: ClassVar[bool] = False
    expr: ClassVar[ExprFunction | None] = None

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract or cls.__name__.startswith("_"):
            return
        if cls.__name__ in REGISTRY:
            raise TypeError(f"primitive {cls.__name__} is defined twice")
        _check_declaration(cls)
        notes = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
        cls.__doc__ = cls.rule.summary() + (f"\n\n{notes}" if notes else "")
        REGISTRY[cls.__name__] = cls


def input_names(fn: type) -> list[str]:
    """forward's argument names after ctx (a *args name stands for all remaining inputs)."""
    try:
        params = list(inspect.signature(fn.forward).parameters.values())[1:]  # type: ignore[attr-defined]
    except (TypeError, ValueError, AttributeError):
        return []
    return [p.name for p in params]


def _check_declaration(cls: type[Primitive]) -> None:
    """Refuse, naming the class, a rule or expression name that does not fit forward."""
    name = cls.__name__
    rule = cls.__dict__.get("rule")  # its own: a rule inherited from a sibling would be wrong
    if not isinstance(rule, Rule):
        raise TypeError(
            f"primitive {name}: declare its derivative as `rule = Rule(words, forward, latex, "
            f"<input>=(text, latex), ...)` in the class body"
        )
    params = input_names(cls)
    if not rule.partials:
        raise TypeError(f"primitive {name}: its rule states no partial derivative")
    for input_name in rule.partials:
        if input_name not in params:
            raise TypeError(
                f"primitive {name}: the rule has a partial for {input_name!r}, but forward "
                f"takes {params}"
            )
    if not isinstance(cls.elementwise, bool):
        raise TypeError(f"primitive {name}: elementwise must be True or False")
    spec = cls.expr
    if spec is None:
        return
    if not isinstance(spec, ExprFunction):
        raise TypeError(f"primitive {name}: expr must be an ExprFunction(name, sympy)")
    if not cls.elementwise or len(params) != 1:
        raise TypeError(
            f"primitive {name}: only an elementwise primitive of one input can be called by "
            f"name in an expression (forward takes {params})"
        )
    for other in REGISTRY.values():
        if other.expr is not None and other.expr.name == spec.name:
            raise TypeError(
                f"primitive {name}: the expression name {spec.name!r} is taken by {other.__name__}"
            )


def primitive(name: str) -> type[Primitive]:
    """The registered primitive called `name` (used where a rule needs another primitive)."""
    return REGISTRY[name]
