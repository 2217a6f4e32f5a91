"""LaTeX for chainrule's symbol names, as the course writes them.

The seeds write a layer's number as a superscript in parentheses and an entry's position as a
subscript (000 Ex3: W^{(2)}_{n,m}); a bare trailing number is a subscript (a1 -> a_{1}):

>>> latex_name("W2_11"), latex_name("a1"), latex_name("x_3"), latex_name("alpha"), latex_name("W2")
('W^{(2)}_{11}', 'a_{1}', 'x_{3}', '\\\\alpha', 'W_{2}')

Entries of a matrix bigger than 9 x 9 are named with underscores between the indices (W_1_12):
they print with commas, W_{1,12}.
"""

from __future__ import annotations

import re
from typing import Any

from chainrule.symbolic.namespace import sympy

__all__ = ["latex_name", "latex_symbol_names"]

_NAME = re.compile(r"^(?P<stem>[A-Za-z]+?)(?P<layer>\d*)(?:_(?P<index>\d+(?:_\d+)*))?$")
_LETTERS = """alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma
tau upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega"""
GREEK = frozenset(_LETTERS.split())


def _stem(stem: str) -> str:
    return rf"\{stem}" if stem in GREEK else stem


def latex_name(name: str) -> str:
    """`W2_11` -> `W^{(2)}_{11}`, `a1` -> `a_{1}`, `x_3` -> `x_{3}`, `beta` -> `\\beta`; a name
    of any other shape is left to SymPy (`delta_ij` -> `\\delta_{ij}`)."""
    match = _NAME.match(name)
    if match is None:
        return str(sympy.latex(sympy.Symbol(name)))
    stem, layer, index = match["stem"], match["layer"], match["index"]
    if stem in GREEK and not layer and not index:
        return _stem(stem)
    if not layer and not index:
        return str(sympy.latex(sympy.Symbol(name)))
    head = _stem(stem)
    if layer and index:
        return f"{head}^{{({layer})}}_{{{index.replace('_', ',')}}}"
    return f"{head}_{{{(layer or index).replace('_', ',')}}}"


def latex_symbol_names(expr: Any) -> dict[Any, str]:
    """`symbol_names` for `sympy.latex`: every symbol of `expr` (or of a Matrix) by `latex_name`."""
    atoms = sympy.sympify(expr).free_symbols if not _is_array(expr) else _array_symbols(expr)
    return {s: latex_name(s.name) for s in atoms if isinstance(s, sympy.Symbol)}


def _is_array(expr: Any) -> bool:
    return isinstance(expr, (sympy.MatrixBase, sympy.NDimArray))


def _array_symbols(expr: Any) -> set[Any]:
    symbols: set[Any] = set()
    for entry in expr:
        symbols |= sympy.sympify(entry).free_symbols
    return symbols
