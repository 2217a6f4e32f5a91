"""`chainrule graph | explain | check`: outputs, files and exit codes (0 holds, 1 does not,
2 bad input)."""

from __future__ import annotations

import math
import shutil

import pytest

from chainrule.cli import main
from chainrule.cli import seeing as cli_seeing
from chainrule.viz import graph as graph_module

EXPR = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)"
AT = "a1=0.5,a2=-1,a3=2,x=1.5,alpha=0.3"
SIG = 1 / (1 + math.exp(-(0.3 * 0.5 * 1.5 + 0.7 * -1.0 * 1.5)))
DF_DA1 = 2 * SIG * (1 - SIG) * 0.3 * 1.5
GRAD_A1 = (
    "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)*(1 - sigmoid(alpha*a1*x + (1-alpha)*a2*x))*alpha*x"
)


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as done:
        return int(done.code)


def test_explain_prints_the_ledger(capsys) -> None:
    assert main(["explain", EXPR, "--at", AT, "--wrt", "a1,a2,a3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Backward ledger for L = 0.6094 (7 nodes")
    # the teaching view (a small graph): the course's formulas and grad_ names
    assert "v1 = alpha * a1" in out and f"grad_a1 = {DF_DA1:.4g}" in out
    assert "grad_x" not in out  # x and alpha are constants here


def test_explain_formats(capsys) -> None:
    assert main(["explain", EXPR, "--at", AT, "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("**Backward ledger for L") and "| # | node |" in md
    assert "- grad_alpha = " in md  # every variable requires grad without --wrt
    assert main(["explain", EXPR, "--at", AT, "--format", "latex"]) == 0
    tex = capsys.readouterr().out
    assert tex.startswith("\\begin{align*}") and tex.rstrip().endswith("\\end{align*}")


def test_graph_to_stdout_and_dot_file(capsys, tmp_path) -> None:
    assert main(["graph", EXPR, "--at", AT, "--wrt", "a1,a2,a3"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph chainrule {") and "v6 = Sigmoid(v5)" in dot
    assert f"grad {DF_DA1:.4g}" in dot  # backward ran, so gradients are drawn
    target = tmp_path / "g.dot"
    assert main(["graph", EXPR, "--at", AT, "--out", str(target), "--no-local"]) == 0
    assert target.read_text().startswith("digraph chainrule {") and "∂" not in target.read_text()


def test_graph_svg_when_dot_is_present_else_dot_and_advice(capsys, tmp_path, monkeypatch) -> None:
    svg = tmp_path / "g.svg"
    assert main(["graph", EXPR, "--at", AT, "--out", str(svg)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "g.dot").exists()
    if shutil.which("dot") is not None:
        assert "<svg" in svg.read_text() and out.startswith(f"wrote {svg}")
    else:
        assert not svg.exists() and "is not installed" in out
    monkeypatch.setattr(cli_seeing.shutil, "which", lambda name: None)
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    png = tmp_path / "h.png"
    assert main(["graph", EXPR, "--at", AT, "--out", str(png)]) == 0
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1 and f"dot -Tpng {tmp_path / 'h.dot'} -o {png}" in out
    assert (tmp_path / "h.dot").exists() and not png.exists()


def test_check_exit_codes(capsys) -> None:
    assert main(["check", EXPR, "--wrt", "a1", "--grad", GRAD_A1, "--at", AT]) == 0
    assert "verdict: HOLDS" in capsys.readouterr().out
    wrong = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)*alpha*x"  # forgot sigma' = sigma (1 - sigma)
    assert main(["check", EXPR, "--wrt", "a1", "--grad", wrong, "--at", AT]) == 1
    out = capsys.readouterr().out
    assert "verdict: DOES NOT HOLD" in out and f"autodiff {DF_DA1:.6g}" in out


def test_check_several_variables_and_random_values(capsys) -> None:
    argv = ["check", "w*x + b", "--wrt", "w,b", "--grad", "x", "--grad", "1", "--at", "x=2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("random values for w=") and "verdict: HOLDS" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "a1 +* 2", "--wrt", "a1", "--grad", "1"], "invalid syntax at column 5"),
        (["check", EXPR, "--wrt", "a1", "--grad", "__import__('os')"], "unknown function"),
        (["check", EXPR, "--wrt", "a1", "--grad", "1", "--grad", "2"], "one --grad per --wrt"),
        (["check", EXPR, "--wrt", "zz", "--grad", "1"], "zz not in the expression"),
        (["check", EXPR, "--wrt", "a1", "--grad", "q*2"], "uses q, which the expression"),
        (["explain", EXPR, "--at", "a1=0.5"], "no value for a3, alpha, x, a2"),
        (["explain", EXPR, "--at", "a1=oops"], "'oops' is not a number"),
        (["graph", "a1 ** ", "--at", "a1=1"], "invalid expression"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, message) -> None:
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err
    assert err.startswith(f"chainrule {argv[0]}: error: ")
