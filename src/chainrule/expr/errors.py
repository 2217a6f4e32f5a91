"""ExpressionError and the helpers that point it at a token of the text."""

from __future__ import annotations

import ast


class ExpressionError(ValueError):
    """A rejected expression: `message` names the token, `column` (1-based) says where.

    str(error) is the one-line message followed by the text and a caret under the token.
    """

    def __init__(
        self, message: str, text: str = "", column: int | None = None, line: int = 1, hint: str = ""
    ) -> None:
        self.message, self.text, self.column, self.line = message, text, column, line
        self.hint = hint
        super().__init__(self._render())

    @property
    def summary(self) -> str:
        """The message and where, on one line."""
        hint = f" ({self.hint})" if self.hint else ""
        if self.column is None:
            return self.message + hint
        lines = self.text.splitlines() or [""]
        where = f"column {self.column}" + (f" of line {self.line}" if len(lines) > 1 else "")
        return f"{self.message} at {where}{hint}"

    def _render(self) -> str:
        if self.column is None:
            return self.summary
        lines = self.text.splitlines() or [""]
        source = lines[min(self.line, len(lines)) - 1]
        return f"{self.summary}\n  {source}\n  {' ' * (self.column - 1)}^"


def fail(
    text: str, node: ast.AST, message: str, offset: int | None = None, hint: str = ""
) -> ExpressionError:
    """An error pointing at `node` (or at byte `offset` of its line): ast counts UTF-8 bytes,
    the caret counts characters."""
    line = getattr(node, "lineno", 1)
    source = text.splitlines()[line - 1].encode()
    byte = getattr(node, "col_offset", 0) if offset is None else offset
    column = len(source[:byte].decode(errors="ignore")) + 1
    return ExpressionError(message, text, column, line, hint)


def fail_at_operator(text: str, node: ast.BinOp, symbol: str, message: str) -> ExpressionError:
    """An error pointing at a binary operator: the first `symbol` after the left operand."""
    line = node.left.end_lineno or node.lineno
    source = text.splitlines()[line - 1].encode()
    offset = source.find(symbol.encode(), node.left.end_col_offset or 0)
    if offset < 0:
        return fail(text, node, message)
    column = len(source[:offset].decode(errors="ignore")) + 1
    return ExpressionError(message, text, column, line)
