"""What a backward ledger holds: one Row per node that backprop visits, one Term per input of
it, one Total per value whose gradient is a sum. `ledger.explain` builds them, `ledger_format`
formats them; keeping them here lets the formatter read a ledger without importing the module
that builds one (which uses the formatter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chainrule.viz.notation import Superscript
from chainrule.viz.walk import Key


@dataclass
class Term:
    """One input of a ledger row: its rule, local derivative and the gradient sent to it.

    formula/latex: the primitive's rule as declared (its own letters); partial/gradient_formula
    (and their LaTeX): the same with the operands' names, the local partial and the resulting
    gradient (`chainrule.viz.notation`); arg: forward's name for this input."""

    input: str
    key: Key
    formula: str
    latex: str
    value: Any
    local: Any
    gradient: Any
    arg: str = ""
    partial: str = ""
    partial_latex: str = ""
    gradient_formula: str = ""
    gradient_latex: str = ""


@dataclass
class Row:
    """One node, as backprop visits it: output = call, with dL/doutput and one Term per input."""

    step: int
    output: str
    call: str
    op: str
    words: str
    value: Any
    upstream: Any
    forward: str = ""
    upstream_parts: list[tuple[int, Any]] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)
    formula: str = ""  # the forward with the operands' names: o = W2 z + b2
    formula_latex: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)  # forward's argument name -> value


@dataclass
class Total:
    """A value's gradient as the sum of what each use sent back (step numbers of the rows)."""

    name: str
    parts: list[tuple[int, Any]]
    total: Any
    is_leaf: bool


class LedgerRows:
    """The rows of a backward pass and the leaves' gradients, as `explain` found them (the
    data `ledger_format` formats; `ledger.Ledger` adds the renderings)."""

    def __init__(
        self,
        root: str,
        value: Any,
        rows: list[Row],
        totals: list[Total],
        gradients: dict[str, Any],
        recorded: bool,
        wrt: str | None = None,
        teaching: bool = False,
    ) -> None:
        self.root, self.value, self.rows, self.totals = root, value, rows, totals
        self.gradients = gradients
        self.recorded = recorded
        # what the gradients are of: the root, or L when dL/droot was given (gradient=)
        self.wrt = wrt or root
        self.teaching = teaching
        self.superscript: Superscript = (
            "W_1"  # how LaTeX writes layer numbers (explain's superscript=)
        )

    def row(self, output: str) -> Row:
        """The row of the node whose output is called `output`."""
        for r in self.rows:
            if r.output == output:
                return r
        raise KeyError(f"no row for {output!r}; rows: {[r.output for r in self.rows]}")

    def rules(self) -> list[tuple[str, str, str]]:
        """(op, rule in words, forward formula) of each op used, in order of first use."""
        seen: dict[str, tuple[str, str, str]] = {}
        for r in self.rows:
            seen.setdefault(r.op, (r.op, r.words, r.forward))
        return list(seen.values())
