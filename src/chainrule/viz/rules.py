"""Each primitive's local derivative in words and as a formula (text and LaTeX), for ledgers.

The rules themselves are declared by the primitives (`rule = Rule(...)` beside each forward, in
`chainrule.primitives`); this module reads them from the registry, and reads a user Function's
rule from its docstring.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from typing import Any

from chainrule.primitives.base import REGISTRY, input_names
from chainrule.primitives.rules import D, Rule, latex_escape

__all__ = ["RULES", "Rule", "attributes", "input_names", "partial_for", "rule_for"]


class _RulesView(Mapping[str, Rule]):
    """Class name -> rule of every registered primitive, read live from the registry (so a
    primitive defined later, even in a test, is here too)."""

    def __getitem__(self, name: str) -> Rule:
        return REGISTRY[name].rule

    def __iter__(self) -> Iterator[str]:
        return iter(list(REGISTRY))

    def __len__(self) -> int:
        return len(REGISTRY)

    def __repr__(self) -> str:
        return f"RULES({', '.join(REGISTRY)})"


RULES: Mapping[str, Rule] = _RulesView()


def rule_for(fn: type) -> Rule:
    """The rule of a primitive, or one read from a user Function's docstring."""
    # Looked up by class name, as the ledger always has: node.fn is the primitive's class
    primitive = REGISTRY.get(fn.__name__)
    if primitive is not None:
        return primitive.rule
    doc = (inspect.getdoc(fn) or "").strip().splitlines()
    first = doc[0] if doc else f"user-defined Function {fn.__name__}"
    return Rule(f"user-defined Function: {first}", first, latex_escape(first))


def partial_for(fn: type, i: int) -> tuple[str, str]:
    """(text, LaTeX) of dy/d(input i) for fn; generic when the table has no entry."""
    names = input_names(fn)
    rule = rule_for(fn)
    name = names[min(i, len(names) - 1)] if names else f"x{i}"
    if name in rule.partials:
        return rule.partials[name]
    if fn.__name__ in REGISTRY:  # an input the primitive does not differentiate (a dim, an index)
        return ("no gradient", r"\text{no gradient}")
    return (f"dy/d{name}: as its backward computes", D % latex_escape(name))


_SILENT = {"a", "b", "x", "xs", "g", "v", "p", "y", "logits", "target", "condition"}


_DEFAULTS: dict[str, Any] = {
    "ignore_index": -100,
    "reduction": "mean",
    "beta": 1.0,
    "keepdim": False,
    "correction": 1,
}
"""The public functions' defaults of attributes that primitives receive spelled out: the
teaching view leaves them out of a call (`CrossEntropy(o)`, not `...; ignore_index=-100`)."""


def attributes(fn: type, args: Any, hide_defaults: bool = False) -> list[str]:
    """The op's non-tensor arguments as 'name=value', e.g. ['dim=1', 'beta=2.0'] for Softmax;
    `hide_defaults` leaves out those equal to the public function's default."""
    names = input_names(fn)
    parts = []
    for i, value in enumerate(args):
        name = names[min(i, len(names) - 1)] if names else f"arg{i}"
        if value is None or hasattr(value, "shape") or name in _SILENT:
            continue
        if hide_defaults and name in _DEFAULTS and _same(value, _DEFAULTS[name]):
            continue
        if isinstance(value, (int, float, bool, str, tuple)):
            parts.append(f"{name}={value!r}")
    return parts


def _same(value: Any, default: Any) -> bool:
    return (
        type(value) in (int, float, bool, str)
        and value == default
        and (isinstance(value, str) == isinstance(default, str))
    )
