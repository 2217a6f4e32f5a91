"""The rules written with the names the user gave the tensors, in the course's notation.

A primitive states its rule once, with its own operand letters (`dL/da = g b^T` for a matrix
product, `d relu(x)/dx = 1[x > 0]`). Ledgers and drawings show it for one node, whose operands
have names (`o = W2 @ z`): every letter is replaced by the operand's name, `g` (the upstream
gradient) by the gradient of the node's output and dL/d(operand) by the operand's gradient, so
the Matmul rule reads `grad_W2 = grad_o z^T`. One mechanism serves every primitive, text and
LaTeX alike: `Rule.symbols` says which letter stands for which argument where the letter is not
the argument's name (Linear writes W for `weight`), and `Rule.vector` gives the course's
column-vector form for one sample.

Each input gets two formulas, shown in separate columns: the local partial (dz/dh = 1[h > 0]),
and the resulting gradient (grad_h = grad_z ⊙ 1[h > 0]), which the chain rule makes from it.
A rule that states the gradient itself (shape rules, matrix products) has no separate partial.

>>> from chainrule.primitives.base import REGISTRY
>>> n = Notation("L")
>>> t = term_text(REGISTRY["Matmul"], 0, {"a": "W2", "b": "z"}, "o", n)
>>> t.gradient
'grad_W2 = grad_o z^T'
>>> term_text(REGISTRY["Relu"], 0, {"x": "h"}, "z", n).gradient
'grad_h = grad_z ⊙ 1[h > 0]'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from chainrule.function import Node
from chainrule.primitives.base import input_names
from chainrule.primitives.rules import Rule
from chainrule.viz.recording import recorded
from chainrule.viz.rules import rule_for
from chainrule.viz.walk import GraphWalk, node_key

__all__ = [
    "Notation",
    "TermText",
    "forward_text",
    "latex_name",
    "named_term",
    "term_text",
    "top_level_sum",
]

_GREEK = {
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "theta",
    "lambda",
    "mu",
    "sigma",
    "tau",
    "phi",
    "omega",
    "eta",
    "rho",
}


Superscript = Literal["W_1", "W^{(1)}", "none"]
"""How a layer's number is written: W_2 (subscript), W^{(2)} (the seeds' superscript), or as
the name stands; module views and LaTeX ledgers take it as `superscript=`."""


def latex_name(name: str, superscript: Superscript = "W_1") -> str:
    """a1 -> a_{1}, alpha -> \\alpha, W2 -> W_{2} (W^{(2)} with superscript="W^{(1)}"),
    fc.weight -> \\mathrm{fc.weight}."""
    match = re.fullmatch(r"([A-Za-z]+)_?(\d+(?:\.\d+)?)", name)
    if match and superscript == "W^{(1)}" and "." not in match.group(2):
        return f"{latex_name(match.group(1))}^{{({match.group(2)})}}"
    if match:
        return f"{latex_name(match.group(1))}_{{{match.group(2)}}}"
    if name in _GREEK:
        return "\\" + name
    if len(name) == 1 and name.isalpha():
        return name
    if re.fullmatch(r"-?\d+(\.\d+)?(e[-+]?\d+)?", name):
        return name
    return r"\mathrm{" + re.sub(r"([_{}$&#%])", r"\\\1", name) + "}"


OUT = "out"  # Rule.symbols' word for the op's output


@dataclass(frozen=True)
class Notation:
    """How a gradient is written: `grad_W2` (the course) when the differentiated quantity is
    the loss L, `df/da1` (Leibniz) for any other root, and `\\frac{\\partial L}{\\partial W_2}`
    in LaTeX."""

    root: str = "L"
    course: bool = True
    superscript: Superscript = "W_1"

    def tex(self, name: str) -> str:
        """A name in LaTeX, layer numbers as this notation writes them."""
        return latex_name(name, self.superscript)

    def grad(self, name: str) -> str:
        if self.course and self.root == "L":
            return f"grad_{name}"
        return f"d{self.root}/d{name}"

    def grad_latex(self, name: str) -> str:
        return rf"\frac{{\partial {self.tex(self.root)}}}{{\partial {self.tex(name)}}}"


@dataclass(frozen=True)
class TermText:
    """One input's formulas: the local partial ('' when the rule states the gradient itself)
    and the resulting gradient, in text and LaTeX."""

    partial: str
    partial_latex: str
    gradient: str
    gradient_latex: str


_TEXT = re.compile(
    r"dL/d(?P<grad>[A-Za-z]+)(?![A-Za-z0-9])"  # dL/dx: a gradient (or a loss's own partial)
    r"|(?<![A-Za-z0-9])d(?P<num>[A-Za-z]+)(?=(?:_[A-Za-z0-9]+)?/)"  # dy/..., dp_j/...
    r"|(?<=/)d(?P<den>[A-Za-z]+)(?![A-Za-z0-9])"  # .../dx
    r"|(?<![A-Za-z0-9\\])(?P<tok>[A-Za-z]+)(?![A-Za-z0-9])"  # a letter or word
)
_LATEX = re.compile(
    r"\\frac\{\\partial L\}\{\\partial (?P<grad>[A-Za-z]+)\}"  # G's template
    r"|(?<=\{)d(?P<den>[A-Za-z]+)(?=\})"  # \frac{d \sin x}{dx}
    r"|(?<![A-Za-z0-9\\])(?P<tok>[A-Za-z]+)(?![A-Za-z0-9])"
)


def _symbols(rule: Rule, names: Mapping[str, str | None], fn: type) -> dict[str, str]:
    """Letter in the rule's texts -> forward argument name (or OUT)."""
    args = input_names(fn)
    table = {a: a for a in args if names.get(a)}
    if "y" not in args:
        table["y"] = OUT
    for letter, arg in rule.symbols.items():
        if arg == OUT or names.get(arg):
            table[letter] = arg
        else:  # an unnamed argument keeps the rule's letter (BCE's label y is not the output)
            table.pop(letter, None)
    return table


class _Writer:
    """Rewrites one rule's texts for one node: letters to names, g and dL/d to gradients."""

    def __init__(
        self, fn: type, names: Mapping[str, str | None], out: str, notation: Notation
    ) -> None:
        self.rule = rule_for(fn)
        self.names, self.out, self.notation = names, out, notation
        self.table = _symbols(self.rule, names, fn)
        self.local_loss = self.rule.symbols.get("L") == OUT  # a loss: L is its own output
        self.g_is_input = "g" in input_names(fn)

    def name(self, letter: str) -> str | None:
        arg = self.table.get(letter)
        if arg is None:
            return None
        return self.out if arg == OUT else self.names.get(arg)

    def text(self, text: str) -> str:
        def swap(m: re.Match[str]) -> str:
            if m["grad"] is not None:
                name = self.name(m["grad"])
                if name is None:
                    return m[0]
                if self.local_loss:
                    return f"d{self.out}/d{name}"
                return self.notation.grad(name)
            for group, lead in (("num", "d"), ("den", "d")):
                if m[group] is not None:
                    name = self.name(m[group])
                    return m[0] if name is None else lead + name
            tok = m["tok"]
            if tok == "g" and not self.g_is_input:
                return self.notation.grad(self.out)
            if tok == "L" and "L" not in self.table:
                return self.notation.root
            name = self.name(tok)
            return tok if name is None else name

        return _TEXT.sub(swap, text)

    def latex(self, text: str) -> str:
        def swap(m: re.Match[str]) -> str:
            if m["grad"] is not None:
                name = self.name(m["grad"])
                if name is None:
                    return m[0]
                if self.local_loss:
                    out = self.notation.tex(self.out)
                    return rf"\frac{{\partial {out}}}{{\partial {self.notation.tex(name)}}}"
                return self.notation.grad_latex(name)
            if m["den"] is not None:
                name = self.name(m["den"])
                return m[0] if name is None else "d" + self.notation.tex(name)
            tok = m["tok"]
            if tok == "g" and not self.g_is_input:
                return self.notation.grad_latex(self.out)
            if tok == "L" and "L" not in self.table:
                return self.notation.tex(self.notation.root)
            name = self.name(tok)
            if name is None:
                return tok
            named = self.notation.tex(name)
            after = m.string[m.end() : m.end() + 1]
            if after in ("_", "^") and after in named:
                return "{" + named + "}"  # v_{1}_j or W^{(2)}^{\top}: braces, or LaTeX refuses
            return named

        return _LATEX.sub(swap, text)


def _rhs(formula: str) -> str:
    """What a partial equals: `d exp(x)/dx = exp(x) = y` -> `exp(x)`."""
    parts = formula.split(" = ")
    return parts[1] if len(parts) > 1 else formula


def _simple(rhs: str) -> bool:
    """A factor that can be written in a product (not a case split)."""
    return not any(word in rhs for word in (" if ", ",", " where ", " at "))


def top_level_sum(rhs: str) -> bool:
    """Whether a + or - outside every bracket joins terms (so a product needs brackets)."""
    depth = 0
    for k, char in enumerate(rhs):
        depth += char in "([{"
        depth -= char in ")]}"
        if depth == 0 and k > 0 and char in "+-" and rhs[k - 1] == " ":
            return True
    return False


def _paren(rhs: str, latex: bool) -> str:
    if top_level_sum(rhs.replace(r"\left(", "(").replace(r"\right)", ")")):
        return rf"\left({rhs}\right)" if latex else f"({rhs})"
    return rhs


def _is_gradient_rule(raw: str, rule: Rule) -> bool:
    return raw.startswith("dL/d") and rule.symbols.get("L") != OUT


def term_text(
    fn: type,
    i: int,
    names: Mapping[str, str | None],
    out: str,
    notation: Notation,
    *,
    vector: bool = False,
    scalar: bool = False,
    unit_upstream: bool = False,
) -> TermText:
    """The formulas for input i of an op `fn` whose arguments are called `names` (forward's
    argument name -> the value's name) and whose output is `out`.

    vector: the first input is one sample (the course's column-vector form, where the rule has
    one); scalar: the output is a number (products are `·`, not `⊙`); unit_upstream: the output
    is the root and its gradient is 1 (the gradient is the partial itself).
    """
    args = input_names(fn)
    arg = args[min(i, len(args) - 1)] if args else f"x{i}"
    w = _Writer(fn, names, out, notation)
    rule = w.rule
    source = rule.vector if vector and arg in rule.vector else rule.partials
    if arg not in source:
        grad_in = notation.grad(names.get(arg) or arg)
        chain = f"{grad_in} = {notation.grad(out)} · d{out}/d{names.get(arg) or arg}"
        return TermText("", "", chain, _chain_latex(notation, out, names.get(arg) or arg))
    raw, raw_latex = source[arg]
    text, latex = w.text(raw), w.latex(raw_latex)
    if _is_gradient_rule(raw, rule):
        return TermText("", "", text, latex)
    in_name = names.get(arg) or arg
    grad_in, grad_in_latex = notation.grad(in_name), notation.grad_latex(in_name)
    rhs, rhs_latex = _rhs(text), _rhs(latex)
    up, up_latex = notation.grad(out), notation.grad_latex(out)
    if unit_upstream:
        gradient, gradient_latex = f"{grad_in} = {rhs}", f"{grad_in_latex} = {rhs_latex}"
    elif arg in rule.vjp:
        gradient = w.text(rule.vjp[arg])  # a Jacobian applied to g, never built
        gradient_latex = _chain_latex(notation, out, in_name)
    elif rhs in ("1", "-1"):
        sign = "-" if rhs == "-1" else ""
        gradient = f"{grad_in} = {sign}{up}"
        gradient_latex = f"{grad_in_latex} = {sign}{up_latex}"
    elif w.local_loss and _simple(rhs):  # a loss: a number, times its own partial
        gradient = f"{grad_in} = {up} · {_paren(rhs, False)}"
        gradient_latex = rf"{grad_in_latex} = {up_latex} \cdot {_paren(rhs_latex, True)}"
    elif getattr(fn, "elementwise", False) and _simple(rhs):
        times, times_latex = (" · ", r" \cdot ") if scalar else (" ⊙ ", r" \odot ")
        gradient = f"{grad_in} = {up}{times}{_paren(rhs, False)}"
        gradient_latex = f"{grad_in_latex} = {up_latex}{times_latex}{_paren(rhs_latex, True)}"
    else:
        gradient = f"{grad_in} = {up} · d{out}/d{in_name}"
        gradient_latex = _chain_latex(notation, out, in_name)
    return TermText(text, latex, gradient, gradient_latex)


def _chain_latex(notation: Notation, out: str, name: str) -> str:
    local = rf"\frac{{\partial {notation.tex(out)}}}{{\partial {notation.tex(name)}}}"
    return f"{notation.grad_latex(name)} = {notation.grad_latex(out)}\\,{local}"


def forward_text(
    fn: type,
    names: Mapping[str, str | None],
    out: str,
    *,
    vector: bool = False,
    superscript: Superscript = "W_1",
) -> tuple[str, str]:
    """The op's forward formula with the operands' names: `o = W2 z + b2` (text, LaTeX)."""
    # a forward's L is its own output
    w = _Writer(fn, names, out, Notation(out, superscript=superscript))
    rule = w.rule
    if vector and rule.vector_forward:
        text, latex = rule.vector_forward
    else:
        text, latex = rule.forward, rule.latex
    return w.text(text), w.latex(latex)


def node_names(walk: GraphWalk, node: Node) -> dict[str, str | None]:
    """Forward's argument name -> the name of the value given for it at this node."""
    args = input_names(node.fn)
    return {args[min(i, len(args) - 1)]: walk.input_label(node, i) for i in range(len(args))}


def first_is_vector(node: Node) -> bool:
    """Whether the node's first input is one sample (a vector): the course's column form."""
    rec = recorded(node)
    if rec is not None and rec.args:
        return bool(np.ndim(rec.args[0]) == 1)
    first = node.input_meta[0] if node.input_meta else None
    return first is not None and len(first[0]) == 1


def named_term(walk: GraphWalk, node: Node, i: int, notation: Notation) -> TermText:
    """`term_text` for input i of a node of `walk`, with its names and shapes."""
    key = node_key(node, 0)
    shape = walk.meta.get(key, ((),))[0]
    unit = key == walk.root_key and int(np.prod(shape)) == 1  # a drawing's root: gradient 1
    return term_text(
        node.fn,
        i,
        node_names(walk, node),
        walk.names[key],
        notation,
        vector=first_is_vector(node),
        scalar=int(np.prod(shape)) == 1,
        unit_upstream=unit,
    )
