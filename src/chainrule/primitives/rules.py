"""What a primitive declares beside its forward and backward: its ledger rule and, for those a
user may call by name in an expression, how it is named there and in SymPy.

A primitive writes its derivative once, in `rule`; its one-line docstring, the ledger
(`cr.explain`, `cr.viz`), the module drawing and the expression language all read it from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# LaTeX templates for a local derivative dy/dx and for a gradient dL/dx (the input's name goes
# in the %s): shape and index rules move gradients rather than scale them, so they state dL/dx.
D = r"\frac{\partial y}{\partial %s}"
G = r"\frac{\partial L}{\partial %s}"


@dataclass(frozen=True, init=False)
class Rule:
    """words: the rule in a sentence; forward: y = ... (text and LaTeX); partials: one entry per
    differentiable input, keyed by forward's argument name, holding (text, LaTeX); vjp: for a
    rule whose partial is a Jacobian (softmax), dL/d(input) with the upstream gradient g
    applied, which is what the module drawing prints (the Jacobian does not simplify by itself);
    symbols: the letters the texts use for an argument when they are not its name (Linear writes
    W for `weight`), "out" standing for the output (`y` is the output unless an argument is
    called y; a loss writes L for its own output); vector: the partials in the course's
    column-vector notation, used when the first input is one sample (a vector), with
    vector_forward the forward formula in that notation (text, LaTeX). The ledger and the
    drawings write the texts with the names the user gave the tensors (`chainrule.viz.notation`).

    >>> r = Rule("sine's derivative is cosine", "y = sin(x)", r"y = \\sin x",
    ...          x=("d sin(x)/dx = cos(x)", r"\\frac{d \\sin x}{dx} = \\cos x"))
    >>> r.partials["x"][0]
    'd sin(x)/dx = cos(x)'
    """

    words: str
    forward: str
    latex: str
    partials: dict[str, tuple[str, str]] = field(default_factory=dict)
    vjp: dict[str, str] = field(default_factory=dict)
    symbols: dict[str, str] = field(default_factory=dict)
    vector: dict[str, tuple[str, str]] = field(default_factory=dict)
    vector_forward: tuple[str, str] | None = None

    def __init__(
        self,
        words: str,
        forward: str,
        latex: str,
        *,
        vjp: Mapping[str, str] | None = None,
        symbols: Mapping[str, str] | None = None,
        vector: Mapping[str, tuple[str, str]] | None = None,
        vector_forward: tuple[str, str] | None = None,
        **partials: tuple[str, str],
    ) -> None:
        # Keyword partials read like the derivative they state (x=..., weight=...); frozen, so
        # the fields are set through object.__setattr__.
        object.__setattr__(self, "words", words)
        object.__setattr__(self, "forward", forward)
        object.__setattr__(self, "latex", latex)
        object.__setattr__(self, "partials", dict(partials))
        object.__setattr__(self, "vjp", dict(vjp or {}))
        object.__setattr__(self, "symbols", dict(symbols or {}))
        object.__setattr__(self, "vector", dict(vector or {}))
        object.__setattr__(self, "vector_forward", vector_forward)

    def summary(self) -> str:
        """The one line a primitive's docstring opens with: the formula and its derivatives."""
        # "; " between partials: a partial's own text may hold commas ("1 if a > b, else 0")
        return f"{self.forward};  " + "; ".join(text for text, _ in self.partials.values())


@dataclass(frozen=True)
class Signature:
    """How a function may be called: (least, most) positional arguments and the keywords."""

    nargs: tuple[int, int]
    keywords: frozenset[str] = frozenset()


UNARY = Signature((1, 1))


@dataclass(frozen=True)
class ExprFunction:
    """How a primitive is called by name in an expression (`chainrule.expr`) and in SymPy.

    `name` is the expression's (and PyTorch's) name; `sympy` is the SymPy function of one
    scalar that computes the same value: the name of an attribute of the `sympy` module (or of
    the few that `chainrule.symbolic.namespace.SCALAR_FUNCTIONS` adds, as SymPy has no
    sigmoid), or a formula in x such as `"Max(x, 0)"`. It is text, read only when SymPy is
    used, because SymPy is an optional extra that sits above the rule table.
    Only elementwise primitives of one input declare one: on a Matrix the SymPy function is
    applied entry by entry, as the primitive acts on each element.
    """

    name: str
    sympy: str
    signature: Signature = UNARY


def latex_escape(text: str) -> str:
    """Text made safe inside LaTeX math (\\text{...} is not needed for names and digits)."""
    out = []
    for char in text:
        if char in "{}$&#%_":
            out.append("\\" + char)
        elif char == "\\":
            out.append(r"\backslash ")
        elif char in "^~":
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)
