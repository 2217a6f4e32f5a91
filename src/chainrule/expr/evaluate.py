"""Evaluating a checked expression tree: with chainrule ops (Tensors) or with SymPy."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from chainrule.expr.errors import ExpressionError, fail, fail_at_operator
from chainrule.tensor import Tensor

OPERATORS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.MatMult: "@",
}
FLOAT_OPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
    ast.MatMult: lambda a, b: math.nan,
}


def int_literal(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = int_literal(node.operand)
        return None if inner is None else -inner
    return None


def index_literals(node: ast.expr) -> tuple[int, ...] | None:
    """The integer literals of an index, `x[0]` -> (0,), `W[1, -1]` -> (1, -1); else None."""
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    values = [int_literal(item) for item in items]
    if not values or any(v is None for v in values):
        return None
    return tuple(v for v in values if v is not None)


class Interpreter:
    """Evaluates a checked tree with one algebra (chainrule Tensors or SymPy)."""

    def __init__(
        self,
        expression: Any,
        env: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]],
        constant: Callable[[Any], Any] | None,
        algebra: Callable[[type, Any, Any], Any],
    ) -> None:
        self.expression, self.env, self.functions = expression, env, functions
        self.constant, self.algebra = constant, algebra

    def run(self) -> Any:
        try:
            return self.visit(self.expression.tree)
        except RecursionError:
            raise ExpressionError("expression is nested too deeply") from None

    def fail(self, node: ast.AST, message: str) -> ExpressionError:
        return fail(self.expression.text, node, message)

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value if self.constant is None else self.constant(node.value)
        if isinstance(node, ast.Name):
            if node.id not in self.env:
                raise self.fail(node, f"no value given for '{node.id}'")
            return self.env[node.id]
        if isinstance(node, ast.UnaryOp):
            value = self.visit(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Attribute):  # the checker let `.T` alone through
            return self._call(node, "transpose", [self.visit(node.value)], {})
        if isinstance(node, ast.Subscript):  # with integer literals only (the checker saw to it)
            value, index = self.visit(node.value), index_literals(node.slice)
            return self._call(node, "[]", [value, index], {})
        if isinstance(node, ast.BinOp):
            left, right = self.visit(node.left), self.visit(node.right)
            try:
                return self.algebra(type(node.op), left, right)
            except ExpressionError:
                raise
            except (ValueError, TypeError, IndexError, RuntimeError) as error:
                symbol = OPERATORS[type(node.op)]
                text = self.expression.text
                raise fail_at_operator(text, node, symbol, f"'{symbol}': {error}") from None
        # the checker let nothing else through: a call of a named function, keywords by name
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        name = node.func.id
        args = [self.visit(a) for a in node.args]
        kwargs = {
            k.arg: int_literal(k.value) if k.arg == "dim" else self.visit(k.value)
            for k in node.keywords
            if k.arg is not None  # always (the checker refused `**kwargs`); says so to mypy
        }
        return self._call(node.func, name, args, kwargs)

    def _call(self, node: ast.AST, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """functions[name](*args, **kwargs); a failure is an error pointing at `node`."""
        try:
            if name == "[]":  # Tensors and SymPy matrices index alike
                return _index(*args)
            return self.functions[name](*args, **kwargs)
        except ExpressionError:
            raise
        except (ValueError, TypeError, IndexError, RuntimeError) as error:
            shown = {"[]": "indexing", "transpose": "transpose"}.get(name, name)
            raise self.fail(node, f"{shown}: {error}") from None


def _index(value: Any, index: tuple[int, ...]) -> Any:
    """value[index] for a Tensor or a SymPy Matrix, with an error that gives the shape."""
    if isinstance(value, Tensor):
        sizes = tuple(value.shape)
        if len(index) > len(sizes):
            raise IndexError(f"{len(index)} indices for a value of shape {sizes}")
    elif getattr(value, "is_Matrix", False):  # a SymPy Matrix; a vector is one column
        vector = len(index) == 1 and 1 in value.shape
        sizes = (len(value),) if vector else tuple(value.shape)
        if len(index) != len(sizes):
            raise IndexError(f"{len(index)} indices for a matrix of shape {sizes}")
    else:
        raise TypeError("a number has no entries to index")
    for i, n in zip(index, sizes, strict=False):
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for a size of {n}")
    return value[index[0] if len(index) == 1 else index]


def as_float_tensor(value: Any) -> Tensor:
    from chainrule import backend, creation

    if isinstance(value, (int, float)):
        return creation.tensor(float(value), dtype=backend.get_default_dtype())
    return creation.as_tensor(value)


def tensor_algebra(op: type, a: Any, b: Any) -> Any:
    if op is not ast.MatMult and _is_number(a) and _is_number(b):
        # two numbers: fold in double precision with IEEE semantics (1/0 = inf, not an error),
        # and keep the result a Python float, which does not change the dtype of the tensors
        with np.errstate(all="ignore"):
            return float(FLOAT_OPS[op](np.float64(a), np.float64(b)))
    if op is ast.Add:
        return a + b
    if op is ast.Sub:
        return a - b
    if op is ast.Mult:
        return a * b
    if op is ast.Div:
        return a / b
    if op is ast.Pow:
        return a**b
    from chainrule import ops

    return ops.matmul(a, b)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def sympy_algebra(op: type, a: Any, b: Any) -> Any:
    from chainrule.expr.sympy_terms import sympy

    if op is ast.MatMult:
        return a * b
    fn = FLOAT_OPS[op]
    a_matrix, b_matrix = isinstance(a, sympy.MatrixBase), isinstance(b, sympy.MatrixBase)
    if a_matrix and b_matrix:
        if a.shape != b.shape:
            raise ValueError(f"shapes {a.shape} and {b.shape} differ")
        return sympy.Matrix(a.rows, a.cols, [fn(x, y) for x, y in zip(a, b, strict=True)])
    if a_matrix:
        return a.applyfunc(lambda x: fn(x, b))
    if b_matrix:
        return b.applyfunc(lambda y: fn(a, y))
    return fn(a, b)
