"""Parsing and checking: the whitelist, and the `Expression` it produces."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chainrule.creation import as_tensor
from chainrule.expr.errors import ExpressionError, fail, fail_at_operator
from chainrule.expr.evaluate import (
    FLOAT_OPS,
    OPERATORS,
    Interpreter,
    as_float_tensor,
    index_literals,
    int_literal,
    sympy_algebra,
    tensor_algebra,
)
from chainrule.expr.functions import FUNCTIONS, chainrule_functions, sympy_functions
from chainrule.tensor import Tensor

MAX_LENGTH = 10_000  # longer texts are refused: the tree walk is recursive

_FORBIDDEN = {  # how a rejected node is named in the message
    ast.Attribute: "attribute access is",
    ast.Subscript: "subscripts ('[...]') are",
    ast.Lambda: "lambda is",
    ast.ListComp: "list comprehensions are",
    ast.SetComp: "set comprehensions are",
    ast.DictComp: "dict comprehensions are",
    ast.GeneratorExp: "generator expressions are",
    ast.Compare: "comparisons are",
    ast.BoolOp: "'and' and 'or' are",
    ast.IfExp: "conditional expressions are",
    ast.List: "lists are",
    ast.Tuple: "tuples are",
    ast.Dict: "dicts are",
    ast.Set: "sets are",
    ast.NamedExpr: "assignments (:=) are",
    ast.Starred: "starred arguments are",
    ast.JoinedStr: "f-strings are",
    ast.Await: "await is",
    ast.Yield: "yield is",
    ast.YieldFrom: "yield is",
    ast.Slice: "slices are",
}
_BADOPERATORS = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Not: "not",
    ast.Invert: "~",
}


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression. `names` are its free variables, in order of appearance."""

    text: str
    names: tuple[str, ...]
    tree: ast.expr = field(repr=False)

    def evaluate(
        self,
        env: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]] | None = None,
        constant: Callable[[int | float], Any] | None = None,
    ) -> Tensor:
        """The value as a chainrule Tensor built from chainrule ops (so autodiff works).

        `env` maps every name to a Tensor, a number or an array; `functions` replaces entries of
        the function table; `constant` turns each number literal into an operand (the symbolic
        backend makes them exact SymPy numbers).
        """
        table = dict(chainrule_functions())
        table.update(functions or {})
        operands = {
            k: v if isinstance(v, (Tensor, int, float)) else as_tensor(v) for k, v in env.items()
        }
        value = Interpreter(self, operands, table, constant, tensor_algebra).run()
        if isinstance(value, Tensor):
            return value
        return as_float_tensor(value)

    def to_sympy(self, symbols: Mapping[str, Any] | None = None) -> Any:
        """The expression as SymPy (an optional extra). `symbols` maps names to SymPy objects
        (Matrix for vectors); unnamed variables become real symbols. Reductions and softmax act
        on all entries of a Matrix; `*` is elementwise, `@` the matrix product, as for Tensors."""
        from chainrule.expr.sympy_terms import exact_number, sympy

        env = {name: sympy.Symbol(name, real=True) for name in self.names}
        env.update(symbols or {})
        interpreter = Interpreter(self, env, sympy_functions(), exact_number, sympy_algebra)
        return interpreter.run()

    def __str__(self) -> str:
        return self.text


def parse(text: str) -> Expression:
    """Parse and check `text`; raises ExpressionError pointing at the first offending token."""
    if not isinstance(text, str):
        raise TypeError(f"parse: expected a string, got {type(text).__name__}")
    source = text.strip()  # columns count from the first non-blank character
    if not source:
        raise ExpressionError("empty expression")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            f"expression too long ({len(source)} characters, at most {MAX_LENGTH})"
        )
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as error:
        message = f"invalid expression: {error.msg}"
        raise ExpressionError(
            message, source, max(error.offset or 1, 1), error.lineno or 1
        ) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is nested too deeply") from None
    names: dict[str, tuple[int, int]] = {}
    try:
        _Checker(source, names).check(tree)
    except RecursionError:
        raise ExpressionError("expression is nested too deeply") from None
    return Expression(source, tuple(sorted(names, key=names.__getitem__)), tree)


class _Checker:
    """Walks the tree once: accepts the whitelist, collects names, rejects everything else."""

    def __init__(self, text: str, names: dict[str, tuple[int, int]]) -> None:
        self.text, self.names = text, names

    def check(self, node: ast.AST) -> float | None:
        """Check `node`; return its value when it is a constant (to refuse huge powers)."""
        text = self.text
        if isinstance(node, ast.Constant):
            value = node.value
            # bool is an int to isinstance, but True is not a number here
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                kind = {str: "string", bytes: "bytes", complex: "complex number"}.get(
                    type(value), "constant"
                )
                raise fail(text, node, f"{kind} {value!r} is not allowed (only numbers)")
            return float(value)
        if isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise fail(text, node, f"'{node.id}' is a function: call it as {node.id}(...)")
            if node.id.startswith("__"):
                raise fail(text, node, f"name '{node.id}' is not allowed")
            self.names.setdefault(node.id, (node.lineno, node.col_offset))
            return None
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                symbol = _BADOPERATORS.get(type(node.op), "?")
                raise fail(text, node, f"operator '{symbol}' is not allowed")
            value = self.check(node.operand)
            return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, ast.Call):
            self._call(node)
            return None
        if isinstance(node, ast.Attribute) and node.attr == "T":
            self.check(node.value)  # the transpose, the one attribute a formula may use
            return None
        if isinstance(node, ast.Subscript) and index_literals(node.slice) is not None:
            self.check(node.value)
            return None
        if isinstance(node, ast.Attribute):
            assert node.end_col_offset is not None  # ast.parse places every node
            offset = node.end_col_offset - len(node.attr.encode()) - 1  # the '.'
            raise fail(text, node, f"attribute access '.{node.attr}' is not allowed", offset)
        if isinstance(node, ast.Subscript):
            raise fail(
                text,
                node,
                "subscripts ('[...]') are not allowed",
                node.value.end_col_offset,
                hint="only integer indices, like x[0] or W[1, 2]",
            )
        what = _FORBIDDEN.get(type(node), f"{type(node).__name__} is")
        raise fail(text, node, f"{what} not allowed")

    def _binary(self, node: ast.BinOp) -> float | None:
        left, right = self.check(node.left), self.check(node.right)
        if type(node.op) not in OPERATORS:
            symbol = _BADOPERATORS.get(type(node.op), "?")
            raise fail_at_operator(self.text, node, symbol, f"operator '{symbol}' is not allowed")
        if left is None or right is None:
            return None
        value: float | None
        try:
            value = FLOAT_OPS[type(node.op)](left, right)
        except (OverflowError, ZeroDivisionError, ValueError):
            value = math.inf if isinstance(node.op, ast.Pow) else None
        if isinstance(node.op, ast.Pow) and (value is None or abs(value) > 1e300):
            raise fail_at_operator(self.text, node, "**", "number too large")
        return value

    def _call(self, node: ast.Call) -> None:
        text = self.text
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                self.check(node.func)  # reports the attribute
            raise fail(text, node, "only named functions can be called")
        name = node.func.id
        if name not in FUNCTIONS:
            allowed = "allowed: " + ", ".join(sorted(FUNCTIONS))
            raise fail(text, node.func, f"unknown function '{name}'", hint=allowed)
        spec = FUNCTIONS[name]
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise fail(text, arg, "starred arguments are not allowed")
        low, high = spec.nargs
        if not low <= len(node.args) <= high:
            count = str(low) if low == high else f"{low} or {high}"
            plural = "" if count == "1" else "s"
            message = f"{name} takes {count} argument{plural}, got {len(node.args)}"
            raise fail(text, node.func, message)
        for keyword in node.keywords:
            if keyword.arg is None or keyword.arg not in spec.keywords:
                shown = "**" if keyword.arg is None else keyword.arg
                allowed = "allowed: " + (", ".join(sorted(spec.keywords)) or "none")
                raise fail(text, keyword, f"unknown keyword '{shown}' for {name}", hint=allowed)
            if keyword.arg == "dim" and int_literal(keyword.value) is None:
                raise fail(text, keyword.value, f"{name}: dim must be an integer, like dim=-1")
            if keyword.arg != "dim":
                self.check(keyword.value)
        for arg in node.args:
            self.check(arg)
