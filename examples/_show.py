"""What every seed example does after solving its exercise: print the backward ledger, write the
graph drawing (DOT always, SVG when Graphviz is installed), and show a symbolic derivation when
SymPy is installed. Files go to the current folder."""

from __future__ import annotations

import shutil

import chainrule as cr


def ledger(loss: cr.Tensor, **names: cr.Tensor) -> None:
    """Print backprop node by node (the graph must have been built inside cr.viz.record())."""
    print(cr.explain(loss, names=names or None))


def drawing(result: cr.Tensor | cr.nn.Module, stem: str, **kwargs: object) -> None:
    """Write stem.dot, and stem.svg when the Graphviz `dot` program is available."""
    if isinstance(result, cr.nn.Module):
        graph = cr.viz.draw_module(result, **kwargs)
    else:
        graph = cr.viz.draw(result, **kwargs)
    written = [graph.render(f"{stem}.dot")]
    if shutil.which("dot"):
        written.append(graph.render(f"{stem}.svg"))
    print(f"drawing: {', '.join(written)} ({len(graph.nodes)} nodes, {len(graph.edges)} edges)")


def symbolic(expression: str, **kwargs: object) -> object | None:
    """cr.symbolic.derive(expression, ...), printed; None (with a note) without SymPy."""
    try:
        result = cr.symbolic.derive(expression, **kwargs)
    except ImportError as error:
        print(f"(symbolic derivation skipped: {error})")
        return None
    print(result)
    return result
