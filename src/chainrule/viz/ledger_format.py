"""The backward ledger written out: a terminal table, Markdown, and LaTeX (align*).

Matrices of at most `max_grid` (rows, columns) are written as grids: aligned rows in the table
(a cell, or an equation, then spans several lines), rows separated by `<br>` in Markdown table
cells and fenced blocks in its lists, `bmatrix` in LaTeX. `max_grid=None` writes them on one
line, as before grids existed."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.viz.format import DEFAULT_GRID, MaxGrid, format_value, grid, grid_lines, number
from chainrule.viz.notation import Notation, latex_name
from chainrule.viz.recording import ELEMENTWISE

if TYPE_CHECKING:
    from chainrule.viz.ledger_rows import LedgerRows, Row, Term


def headers(root: str) -> tuple[str, ...]:
    return (
        "#",
        "node",
        "value",
        f"d{root}/dnode",
        "input",
        "local partial",
        "local",
        "gradient",
        f"d{root}/dinput",
    )


def _grad(ledger: LedgerRows, name: str) -> str:
    """How the ledger writes the gradient of `name`: grad_W2 for a loss L, df/da1 otherwise."""
    return Notation(ledger.wrt, course=ledger.teaching).grad(name)


NOT_RECORDED = (
    "Forward values of intermediate results were not recorded: build the graph inside "
    "`with cr.viz.record():` to see them."
)


def _nodes(n: int) -> str:
    return "1 node" if n == 1 else f"{n} nodes"


def _is_scalar(x: Any) -> bool:
    return x is not None and np.size(x) == 1


def value_text(value: Any, m: int = 6, max_grid: MaxGrid = DEFAULT_GRID) -> str:
    """A value as the table writes it: a matrix that fits `max_grid` as aligned rows (several
    lines), anything else on one line."""
    cells = grid(value, max_grid)
    if cells is not None:
        return "\n".join(grid_lines(cells))
    return format_value(value, m, max_grid=max_grid)


def beside(*pieces: str) -> str:
    """Text blocks (some of several lines) side by side, each centred on the same middle line,
    so that `dL/dW = [grid] + [grid]` reads as one equation."""
    blocks = [piece.split("\n") for piece in pieces]
    height = max(len(b) for b in blocks)
    middle = (height - 1) // 2
    columns = []
    for block in blocks:
        width = max(len(line) for line in block)
        top = middle - (len(block) - 1) // 2
        lines = [""] * top + block + [""] * (height - top - len(block))
        columns.append([line.ljust(width) for line in lines])
    return "\n".join("".join(parts).rstrip() for parts in zip(*columns, strict=True))


def _column(v: Any) -> Any:
    return np.reshape(v, (-1, 1))


def _outer_factors(row: Row, term: Term) -> tuple[Any, Any] | None:
    """(g, v) when the gradient is the outer product g v^T of two vectors (grad_W2 = grad_o
    z^T): Linear's weight, or the matrix of a matrix-vector product."""
    other = {"Linear": ("weight", "x"), "Matmul": ("a", "b")}.get(row.op)
    if other is None or term.arg != other[0] or term.gradient is None:
        return None
    v = row.inputs.get(other[1])
    g = row.upstream
    if v is None or np.ndim(v) != 1 or np.ndim(g) != 1 or np.ndim(term.gradient) != 2:
        return None
    return g, v


def _elementwise(row: Row, term: Term) -> bool:
    """upstream ⊙ local = gradient, all three vectors of one length (the ReLU mask)."""
    if row.op not in ELEMENTWISE or term.gradient is None or term.local is None:
        return False
    shapes = {np.shape(row.upstream), np.shape(term.local), np.shape(term.gradient)}
    return len(shapes) == 1 and 1 <= np.ndim(term.gradient) <= 2


def _product(row: Row, term: Term, m: int, g: MaxGrid, times: str = " × ") -> str:
    """dL/dinput with its numbers: `upstream × local = result` for numbers, `[g] [v] = [grid]`
    for an outer product, `up ⊙ mask = result` for an elementwise rule on vectors."""
    upstream = row.upstream
    if term.gradient is None:
        return "-"
    result = value_text(term.gradient, m, g)
    if _is_scalar(upstream) and _is_scalar(term.local) and _is_scalar(term.gradient):
        return f"{number(np.ravel(upstream)[0])}{times}{number(np.ravel(term.local)[0])} = {result}"
    outer = _outer_factors(row, term)
    if outer is not None and grid(term.gradient, g) is not None:
        col, vec = outer
        row_text = value_text(np.reshape(vec, (1, -1)), m, g)
        return beside(value_text(_column(col), m, g), " ", row_text, " = ", result)
    if _elementwise(row, term) and (np.size(term.gradient) <= m or grid(term.gradient, g)):
        local = value_text(term.local, m, g)
        return beside(value_text(upstream, m, g), " ⊙ ", local, " = ", result)
    return result


def _sum(lhs: str, parts: list[tuple[str, Any]], total: Any, m: int, g: MaxGrid) -> str:
    """`lhs = part (note) + part (note) = total  (fan-out: summed)`, grids side by side."""
    pieces = [f"{lhs} = "]
    for k, (note, value) in enumerate(parts):
        pieces += [" + "] if k else []
        pieces += [value_text(value, m, g), f" ({note})"]
    pieces += [" = ", value_text(total, m, g), "  (fan-out: summed)"]
    return beside(*pieces)


def _fanout_note(ledger: LedgerRows, row: Row, m: int, g: MaxGrid) -> str:
    parts = [(f"from #{step}", grad) for step, grad in row.upstream_parts]
    return _sum(_grad(ledger, row.output), parts, row.upstream, m, g)


def _total_line(ledger: LedgerRows, total: Any, m: int, g: MaxGrid) -> str:
    name = _grad(ledger, total.name)
    if total.total is None:
        return f"{name}: no gradient reaches it"
    if len(total.parts) > 1:
        parts = [(f"#{step}", grad) for step, grad in total.parts]
        return _sum(name, parts, total.total, m, g)
    return beside(f"{name} = ", value_text(total.total, m, g))


def _local_text(row: Row, term: Term, m: int, g: MaxGrid) -> str:
    """The local derivative: in full when small or elementwise, else the Jacobian's shape."""
    if term.local is None:
        return "-"  # the rule states the gradient itself
    if np.size(term.local) <= m or row.op in ELEMENTWISE or grid(term.local, g) is not None:
        return value_text(term.local, m, g)
    return f"Jacobian {np.shape(term.local)}"


def _cells(ledger: LedgerRows, m: int, g: MaxGrid) -> list[list[str]]:
    """Rows of cells (the first row of each node carries the node's columns); a cell holding a
    grid has one line per matrix row."""
    out = []
    for row in ledger.rows:
        node = row.formula if ledger.teaching and row.formula else row.call
        head = [
            str(row.step),
            node if node.split(" = ")[0].startswith(row.output) else f"{row.output} = {node}",
            value_text(row.value, m, g),
            value_text(row.upstream, m, g),
        ]
        terms = row.terms or (None,)
        for k, term in enumerate(terms):
            left = head if k == 0 else ["", "", "", ""]
            if term is None:
                out.append([*left, "", "", "", "", ""])
            else:
                local = _local_text(row, term, m, g)
                product = _product(row, term, m, g)
                partial = term.partial if term.gradient_formula else term.formula
                out.append(
                    [*left, term.input, partial or "-", local, term.gradient_formula, product]
                )
    return out


def table(ledger: LedgerRows, m: int = 6, max_grid: MaxGrid = DEFAULT_GRID) -> str:
    g = max_grid
    cells = _cells(ledger, m, g)
    heads = headers(ledger.wrt)
    widths = [
        max(len(h), *(len(x) for c in cells for x in c[i].split("\n"))) for i, h in enumerate(heads)
    ]

    def line(values: list[str] | tuple[str, ...]) -> str:
        split = [v.split("\n") for v in values]
        height = max(len(v) for v in split)
        out = []
        for k in range(height):
            parts = (v[k] if k < len(v) else "" for v in split)
            out.append("  ".join(p.ljust(w) for p, w in zip(parts, widths, strict=True)).rstrip())
        return "\n".join(out)

    lines = [
        f"Backward ledger for {ledger.root} = {format_value(ledger.value, m, max_grid=g)} "
        f"({_nodes(len(ledger.rows))}, in the order backprop visits them)",
        "",
        line(heads),
        line(["-" * w for w in widths]),
    ]
    i = 0
    for row in ledger.rows:
        if row.upstream_parts:
            lines.append(_indent(_fanout_note(ledger, row, m, g), "    "))
        for _ in row.terms or (None,):
            lines.append(line(cells[i]))
            i += 1
    lines += ["", f"Gradients of {_of(ledger)}:"]
    lines += [_indent(_total_line(ledger, t, m, g), "  ") for t in ledger.totals]
    lines += ["", "Rules used:"]
    lines += [f"  {op}: {forward}  ({words})" for op, words, forward in ledger.rules()]
    if not ledger.recorded:
        lines += ["", NOT_RECORDED]
    return "\n".join(lines)


def _of(ledger: LedgerRows) -> str:
    if ledger.wrt == ledger.root:
        return ledger.root
    return f"{ledger.wrt} (the gradient given is d{ledger.wrt}/d{ledger.root})"


def _indent(text: str, lead: str) -> str:
    return "\n".join(lead + line if line else line for line in text.split("\n"))


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _md_item(text: str) -> str:
    """A list item: one line as it is, a grid equation as a fenced block (keeps the alignment)."""
    if "\n" not in text:
        return f"- {_md(text)}"
    return "-\n\n" + _indent("```text\n" + text + "\n```", "  ")


def markdown(ledger: LedgerRows, m: int = 6, max_grid: MaxGrid = DEFAULT_GRID) -> str:
    g = max_grid
    heads = headers(ledger.wrt)
    lines = [
        f"**Backward ledger for {ledger.root} = {format_value(ledger.value, m, max_grid=g)}** "
        f"({_nodes(len(ledger.rows))}, in the order backprop visits them)",
        "",
        "| " + " | ".join(heads) + " |",
        "|" + "---|" * len(heads),
    ]
    cells = _cells(ledger, m, g)
    i = 0
    for row in ledger.rows:
        for _ in row.terms or (None,):
            c = cells[i]
            code = [f"`{x}`" if x and x != "-" else x for x in (c[1], c[5], c[7])]
            c = [c[0], code[0], *c[2:5], code[1], c[6], code[2], c[8]]
            lines.append("| " + " | ".join(_md(x) for x in c) + " |")
            i += 1
    notes = [_fanout_note(ledger, r, m, g) for r in ledger.rows if r.upstream_parts]
    if notes:
        lines += ["", "**Fan-out** (a value used several times gets the sum):", ""]
        lines += [_md_item(n) for n in notes]
    lines += ["", f"**Gradients of {_of(ledger)}:**", ""]
    lines += [_md_item(_total_line(ledger, t, m, g)) for t in ledger.totals]
    lines += ["", "**Rules used:**", ""]
    lines += [f"- `{op}`: `{_md(fwd)}` ({_md(words)})" for op, words, fwd in ledger.rules()]
    if not ledger.recorded:
        lines += ["", NOT_RECORDED]
    return "\n".join(lines) + "\n"


# -- LaTeX ----------------------------------------------------------------------------------------
def latex_value(value: Any, m: int = 6, max_grid: MaxGrid = DEFAULT_GRID) -> str:
    """A value in LaTeX: a number, a `bmatrix` (a matrix that fits `max_grid`, or a small
    vector as one row), else a text summary with the shape."""
    if value is None:
        return r"\text{--}"
    array = np.asarray(value)
    if array.size == 1:
        return _latex_number(array.reshape(-1)[0])
    cells = grid(array, max_grid)
    if cells is not None:
        body = r" \\ ".join(" & ".join(_latex_number(v) for v in r) for r in array)
        return r"\begin{bmatrix}" + body + r"\end{bmatrix}"
    if array.size <= m and array.ndim <= 2 and not (array.ndim == 2 and max_grid is not None):
        rows = array.reshape(1, -1) if array.ndim == 1 else array
        body = r" \\ ".join(" & ".join(_latex_number(v) for v in r) for r in rows)
        return r"\begin{bmatrix}" + body + r"\end{bmatrix}"
    return r"\text{" + format_value(array, m, max_grid=max_grid).replace("_", r"\_") + "}"


def _latex_number(x: Any) -> str:
    text = number(x)
    match = re.fullmatch(r"(-?[\d.]+)e([-+]?\d+)", text)
    if match:
        return f"{match.group(1)} \\times 10^{{{int(match.group(2))}}}"
    return text


def _d(root: str, name: str) -> str:
    return rf"\frac{{\partial {latex_name(root)}}}{{\partial {latex_name(name)}}}"


def _latex_numbers(row: Row, term: Term, m: int, g: MaxGrid) -> str:
    r"""The gradient's numbers: `up \cdot local = result` for numbers, `[g][v^T] = [grid]` for
    an outer product, `up \odot mask = result` for an elementwise rule on vectors."""
    result = latex_value(term.gradient, m, g)
    up = latex_value(row.upstream, m, g)
    if _is_scalar(row.upstream) and _is_scalar(term.local) and _is_scalar(term.gradient):
        return rf"{up} \cdot {latex_value(term.local, m, g)} = {result}"
    outer = _outer_factors(row, term)
    if outer is not None:
        col, vec = outer
        left = latex_value(_column(col), m, g) + latex_value(np.reshape(vec, (1, -1)), m, g)
        return f"{left} = {result}"
    if _elementwise(row, term) and (np.size(term.gradient) <= m or grid(term.gradient, g)):
        return rf"{up} \odot {latex_value(term.local, m, g)} = {result}"
    return result


def _rhs_latex(formula: str) -> str:
    return formula.split(" = ", 1)[1] if " = " in formula else formula


def latex(ledger: LedgerRows, m: int = 6, max_grid: MaxGrid = DEFAULT_GRID) -> str:
    """An align* block: one line per (node, input): the gradient's formula with the operands'
    names, its numbers, and (after &&) the local partial it was made from."""
    notation = Notation(ledger.wrt, course=ledger.teaching, superscript=ledger.superscript)
    lines = [r"\begin{align*}"]
    body = []
    uses = Counter(t.key for r in ledger.rows for t in r.terms)  # >1: the value fans out
    for row in ledger.rows:
        up = latex_value(row.upstream, m, max_grid)
        if row.upstream_parts:  # a value used several times: its gradient is the sum
            parts = " + ".join(latex_value(g, m, max_grid) for _, g in row.upstream_parts)
            body.append(
                rf"{notation.grad_latex(row.output)} &= {parts} = {up} && \text{{fan-out: summed}}"
            )
        for term in row.terms:
            lhs = notation.grad_latex(term.input)
            if uses[term.key] > 1:
                lhs += rf"\Big|_{{\#{row.step}}}"
            if term.gradient is None:
                continue
            formula = _rhs_latex(term.gradient_latex) if term.gradient_latex else ""
            numbers = _latex_numbers(row, term, m, max_grid)
            rhs = f"{formula} = {numbers}" if formula else numbers
            local = term.partial_latex or row.formula_latex or term.latex
            body.append(rf"{lhs} &= {rhs} && \text{{{row.op}: }} {local}")
    for total in ledger.totals:
        if total.total is not None and len(total.parts) > 1:
            parts = " + ".join(latex_value(g, m, max_grid) for _, g in total.parts)
            body.append(
                rf"{notation.grad_latex(total.name)} &= {parts} = "
                rf"{latex_value(total.total, m, max_grid)} && \text{{fan-out: summed}}"
            )
    lines.append(" \\\\\n".join(body))
    lines.append(r"\end{align*}")
    return "\n".join(lines) + "\n"
