"""What every seed example does after solving its exercise: print the backward ledger, write the
graph drawing (DOT always, SVG when Graphviz is installed), and show a symbolic derivation when
SymPy is installed.

Drawings go to `--out DIR` when the script is given one (`python examples/seed000_ex2_graph.py
--out drawings`), else to a new temporary folder, so running an example leaves nothing behind in
the current folder; the script prints where they went."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

import chainrule as cr

_out: str | None = None


def output_folder() -> str:
    """The folder for this run's drawings: --out DIR (created if needed) or a temporary one."""
    global _out
    if _out is None:
        script = os.path.basename(sys.argv[0])
        parser = argparse.ArgumentParser(
            prog=f"python {script}",
            description=sys.modules["__main__"].__doc__,  # the exercise the script solves
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument(
            "--out",
            metavar="DIR",
            help="where to write the drawings (default: a new temporary folder)",
        )
        args = parser.parse_args()
        if args.out is None:
            _out = tempfile.mkdtemp(prefix="chainrule-examples-")
        else:
            os.makedirs(args.out, exist_ok=True)
            _out = args.out
    return _out


def ledger(loss: cr.Tensor, **names: cr.Tensor) -> None:
    """Print backprop node by node (the graph must have been built inside cr.viz.record())."""
    print(cr.explain(loss, names=names or None))


def drawing(result: cr.Tensor | cr.nn.Module, stem: str, **kwargs: object) -> None:
    """Write stem.dot, and stem.svg when the Graphviz `dot` program is available."""
    if isinstance(result, cr.nn.Module):
        graph = cr.viz.draw_module(result, **kwargs)
    else:
        graph = cr.viz.draw(result, **kwargs)
    path = os.path.join(output_folder(), stem)
    written = [graph.render(f"{path}.dot")]
    if shutil.which("dot"):
        written.append(graph.render(f"{path}.svg"))
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
