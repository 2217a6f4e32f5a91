"""Safe expressions: parse a formula string once, evaluate it with chainrule ops or as SymPy.

>>> import chainrule as cr
>>> from chainrule.expr import parse
>>> e = parse("a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)")
>>> e.names
('a3', 'alpha', 'a1', 'x', 'a2')
>>> a1 = cr.tensor(0.5, requires_grad=True)
>>> f = e.evaluate({"a1": a1, "a2": -1.0, "a3": 2.0, "alpha": 0.25, "x": 1.5})
>>> f.backward(); round(a1.grad.item(), 4)
0.1517

Python's `ast` parses the text; only a whitelist is accepted (numbers, names, + - * / ** @, unary
minus and plus, parentheses, the transpose `A.T`, indexing with integer literals `x[0]`,
`W[1, 2]`, calls of the functions in `FUNCTIONS` with the keywords they list),
and nothing is ever passed to `eval`. A rejected expression raises `ExpressionError`, whose first
line names the offending token and its column, followed by the text and a caret under the token.
"""

from __future__ import annotations

from chainrule.expr.arguments import parse_assignments, parse_names, parse_shapes
from chainrule.expr.errors import ExpressionError
from chainrule.expr.functions import FUNCTIONS
from chainrule.expr.parser import Expression, parse

__all__ = [
    "FUNCTIONS",
    "Expression",
    "ExpressionError",
    "parse",
    "parse_assignments",
    "parse_names",
    "parse_shapes",
]
