"""The backward ledger written out: a terminal table, Markdown, and LaTeX (align*)."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.viz.format import format_value, number
from chainrule.viz.recording import ELEMENTWISE

if TYPE_CHECKING:
    from chainrule.viz.ledger_rows import LedgerRows, Row, Term


def headers(root: str) -> tuple[str, ...]:
    return (
        "#",
        "node",
        "value",
        f"d{root}/dvalue",
        "input",
        "local rule",
        "local",
        f"d{root}/dinput",
    )


NOT_RECORDED = (
    "Forward values of intermediate results were not recorded: build the graph inside "
    "`with cr.viz.record():` to see them."
)


def _nodes(n: int) -> str:
    return "1 node" if n == 1 else f"{n} nodes"


def _is_scalar(x: Any) -> bool:
    return x is not None and np.size(x) == 1


def _product(upstream: Any, term: Term, m: int, times: str = " × ") -> str:
    """dL/dinput, as `upstream × local = result` when all three are numbers (checkable)."""
    if term.gradient is None:
        return "-"
    result = format_value(term.gradient, m)
    if _is_scalar(upstream) and _is_scalar(term.local) and _is_scalar(term.gradient):
        return f"{number(np.ravel(upstream)[0])}{times}{number(np.ravel(term.local)[0])} = {result}"
    return result


def _fanout_note(row: Row, m: int, d: str) -> str:
    parts = " + ".join(f"{format_value(g, m)} (from #{step})" for step, g in row.upstream_parts)
    return f"{d}{row.output} = {parts} = {format_value(row.upstream, m)}  (fan-out: summed)"


def _total_line(total: Any, m: int, d: str) -> str:
    if total.total is None:
        return f"{d}{total.name}: no gradient reaches it"
    if len(total.parts) > 1:
        parts = " + ".join(f"{format_value(g, m)} (#{step})" for step, g in total.parts)
        return f"{d}{total.name} = {parts} = {format_value(total.total, m)}  (fan-out: summed)"
    return f"{d}{total.name} = {format_value(total.total, m)}"


def _local_text(row: Row, term: Term, m: int) -> str:
    """The local derivative: in full when small or elementwise, else the Jacobian's shape."""
    if term.local is None:
        return "(see rule)"
    if np.size(term.local) <= m or row.op in ELEMENTWISE:
        return format_value(term.local, m)
    return f"Jacobian {np.shape(term.local)}"


def _cells(ledger: LedgerRows, m: int) -> list[list[str]]:
    """Rows of cells (the first row of each node carries the node's columns)."""
    out = []
    for row in ledger.rows:
        head = [
            str(row.step),
            f"{row.output} = {row.call}",
            format_value(row.value, m),
            format_value(row.upstream, m),
        ]
        terms = row.terms or (None,)
        for k, term in enumerate(terms):
            left = head if k == 0 else ["", "", "", ""]
            if term is None:
                out.append([*left, "", "", "", ""])
            else:
                local = _local_text(row, term, m)
                out.append(
                    [*left, term.input, term.formula, local, _product(row.upstream, term, m)]
                )
    return out


def table(ledger: LedgerRows, m: int = 6) -> str:
    cells = _cells(ledger, m)
    heads = headers(ledger.root)
    d = f"d{ledger.root}/d"
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]

    def line(values: list[str] | tuple[str, ...]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    lines = [
        f"Backward ledger for {ledger.root} = {format_value(ledger.value, m)} "
        f"({_nodes(len(ledger.rows))}, in the order backprop visits them)",
        "",
        line(heads),
        line(["-" * w for w in widths]),
    ]
    i = 0
    for row in ledger.rows:
        if row.upstream_parts:
            lines.append("    " + _fanout_note(row, m, d))
        for _ in row.terms or (None,):
            lines.append(line(cells[i]))
            i += 1
    lines += ["", f"Gradients of {ledger.root}:"]
    lines += ["  " + _total_line(t, m, d) for t in ledger.totals]
    lines += ["", "Rules used:"]
    lines += [f"  {op}: {forward}  ({words})" for op, words, forward in ledger.rules()]
    if not ledger.recorded:
        lines += ["", NOT_RECORDED]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(ledger: LedgerRows, m: int = 6) -> str:
    heads = headers(ledger.root)
    d = f"d{ledger.root}/d"
    lines = [
        f"**Backward ledger for {ledger.root} = {format_value(ledger.value, m)}** "
        f"({_nodes(len(ledger.rows))}, in the order backprop visits them)",
        "",
        "| " + " | ".join(heads) + " |",
        "|" + "---|" * len(heads),
    ]
    cells = _cells(ledger, m)
    i = 0
    for row in ledger.rows:
        for _ in row.terms or (None,):
            c = cells[i]
            c = [c[0], f"`{c[1]}`" if c[1] else "", *c[2:5], f"`{c[5]}`" if c[5] else "", *c[6:]]
            lines.append("| " + " | ".join(_md(x) for x in c) + " |")
            i += 1
    notes = [_fanout_note(r, m, d) for r in ledger.rows if r.upstream_parts]
    if notes:
        lines += ["", "**Fan-out** (a value used several times gets the sum):", ""]
        lines += [f"- {_md(n)}" for n in notes]
    lines += ["", f"**Gradients of {ledger.root}:**", ""]
    lines += [f"- {_md(_total_line(t, m, d))}" for t in ledger.totals]
    lines += ["", "**Rules used:**", ""]
    lines += [f"- `{op}`: `{_md(fwd)}` ({_md(words)})" for op, words, fwd in ledger.rules()]
    if not ledger.recorded:
        lines += ["", NOT_RECORDED]
    return "\n".join(lines) + "\n"


# -- LaTeX ----------------------------------------------------------------------------------------
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


def latex_name(name: str) -> str:
    """a1 -> a_{1}, alpha -> \\alpha, W2 -> W_{2}, fc.weight -> \\mathrm{fc.weight}."""
    match = re.fullmatch(r"([A-Za-z]+)_?(\d+(?:\.\d+)?)", name)
    if match:
        return f"{latex_name(match.group(1))}_{{{match.group(2)}}}"
    if name in _GREEK:
        return "\\" + name
    if len(name) == 1 and name.isalpha():
        return name
    if re.fullmatch(r"-?\d+(\.\d+)?(e[-+]?\d+)?", name):
        return name
    return r"\mathrm{" + re.sub(r"([_{}$&#%])", r"\\\1", name) + "}"


def latex_value(value: Any, m: int = 6) -> str:
    if value is None:
        return r"\text{--}"
    array = np.asarray(value)
    if array.size == 1:
        return _latex_number(array.reshape(-1)[0])
    if array.size <= m and array.ndim <= 2:
        rows = array.reshape(1, -1) if array.ndim == 1 else array
        body = r" \\ ".join(" & ".join(_latex_number(v) for v in r) for r in rows)
        return r"\begin{bmatrix}" + body + r"\end{bmatrix}"
    return r"\text{" + format_value(array, m).replace("_", r"\_") + "}"


def _latex_number(x: Any) -> str:
    text = number(x)
    match = re.fullmatch(r"(-?[\d.]+)e([-+]?\d+)", text)
    if match:
        return f"{match.group(1)} \\times 10^{{{int(match.group(2))}}}"
    return text


def _d(root: str, name: str) -> str:
    return rf"\frac{{\partial {latex_name(root)}}}{{\partial {latex_name(name)}}}"


def latex(ledger: LedgerRows, m: int = 6) -> str:
    """An align* block: one line per (node, input) with the chain rule and its numbers."""
    L = ledger.root
    lines = [r"\begin{align*}"]
    body = []
    uses = Counter(t.key for r in ledger.rows for t in r.terms)  # >1: the value fans out
    for row in ledger.rows:
        up = latex_value(row.upstream, m)
        if row.upstream_parts:  # a value used several times: its gradient is the sum
            parts = " + ".join(latex_value(g, m) for _, g in row.upstream_parts)
            body.append(rf"{_d(L, row.output)} &= {parts} = {up} && \text{{fan-out: summed}}")
        for term in row.terms:
            local = latex_value(term.local, m) if term.local is not None else r"\text{(rule)}"
            lhs = _d(L, term.input)
            if uses[term.key] > 1:
                lhs += rf"\Big|_{{\#{row.step}}}"
            chain = (
                rf"{_d(L, row.output)}\,"
                rf"\frac{{\partial {latex_name(row.output)}}}{{\partial {latex_name(term.input)}}}"
            )
            numbers = rf"{up} \cdot {local} = {latex_value(term.gradient, m)}"
            body.append(rf"{lhs} &= {chain} = {numbers} && \text{{{row.op}: }} {term.latex}")
    for total in ledger.totals:
        if total.total is not None and len(total.parts) > 1:
            parts = " + ".join(latex_value(g, m) for _, g in total.parts)
            body.append(
                rf"{_d(L, total.name)} &= {parts} = {latex_value(total.total, m)}"
                r" && \text{fan-out: summed}"
            )
    lines.append(" \\\\\n".join(body))
    lines.append(r"\end{align*}")
    return "\n".join(lines) + "\n"
