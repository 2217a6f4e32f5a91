"""cr.viz.steps: the step-through of backpropagation, held against cr.explain, PyTorch and the
seed's closed form (seed 000, Ex2), and its notebook page with and without Graphviz."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.viz import steps_html
from chainrule.viz.format import format_value

EX2 = dict(a1=0.5, a2=-1.0, a3=2.0, alpha=0.25, x=1.5)


def ex2() -> tuple[cr.viz.Steps, dict[str, cr.Tensor]]:
    env = {}
    for name, v in EX2.items():
        env[name] = cr.tensor(v, dtype=cr.float64, requires_grad=True)
        env[name].name = name
    e = env
    s = cr.viz.steps(
        lambda: (
            e["a3"]
            * cr.sigmoid(e["alpha"] * e["a1"] * e["x"] + (1 - e["alpha"]) * e["a2"] * e["x"])
        )
    )
    return s, env


def test_phases_follow_the_graph_and_the_ledger() -> None:
    s, _ = ex2()
    phases = [st.phase for st in s.steps]
    ops = [b for b in s.boxes if b.kind == "op"]
    assert phases == ["start"] + ["forward"] * len(ops) + ["backward"] * len(s.ledger.rows)
    # forward: the ops in the order the code ran them, each revealing its own value
    assert [st.name for st in s.steps if st.phase == "forward"] == [b.name for b in ops]
    assert s.steps[0].values == {b.id for b in s.boxes if b.kind != "op"}
    # backward: one ledger row per step, in the engine's order, each row's numbers unchanged
    backward = [st for st in s.steps if st.phase == "backward"]
    assert [st.name for st in backward] == [r.output for r in s.ledger.rows]
    for st, row in zip(backward, s.ledger.rows, strict=True):
        assert st.ledger is not None
        assert st.ledger["upstream_raw"] == pytest.approx(float(row.upstream))
        got = [(t["input"], t["gradient_raw"]) for t in st.ledger["terms"]]
        want = [(t.input, pytest.approx(float(t.gradient))) for t in row.terms]
        assert got == want


def test_gradients_match_torch_and_the_seed_closed_form() -> None:
    s, _ = ex2()
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in EX2.items()}
    u = t["alpha"] * t["a1"] * t["x"] + (1 - t["alpha"]) * t["a2"] * t["x"]
    (t["a3"] * torch.sigmoid(u)).backward()
    for name in EX2:
        assert s.to_dict()["gradients"][name] == pytest.approx(t[name].grad.item(), rel=1e-12)
    # seed 000 Ex2: df/da1 = a3 σ(u)(1 - σ(u)) α x
    su = 1 / (1 + np.exp(-(0.25 * 0.5 * 1.5 + 0.75 * -1.0 * 1.5)))
    assert s.to_dict()["gradients"]["a1"] == pytest.approx(2 * su * (1 - su) * 0.25 * 1.5)


def test_fan_out_sums_appear_when_every_part_has_arrived() -> None:
    s, _ = ex2()
    box = {b.name: b for b in s.boxes}
    alpha, x = box["alpha"], box["x"]
    assert alpha.fanout == 2 and x.fanout == 2
    backward = [st for st in s.steps if st.phase == "backward"]
    arrivals = [st.index for st in backward if any(t["input"] == "x" for t in st.ledger["terms"])]
    first, second = arrivals
    assert s.steps[first].grads[x.id] == "grad: 1 of 2 parts arrived"
    assert "1 of 2 parts" in s.dot(first)
    summed = [d for d in s.steps[second].ledger["sums"] if d["name"] == "x"]
    total = s.ledger.gradients["x"]
    assert summed and summed[0]["total_raw"] == pytest.approx(float(total))
    assert s.steps[second].grads[x.id].endswith(f"= {format_value(np.asarray(total), 6)}")
    assert x.id not in s.steps[first - 1].grads  # nothing before the first part


def test_dot_highlights_one_node_and_hides_what_is_not_known_yet() -> None:
    s, _ = ex2()
    first_forward = s.dot(1)
    assert first_forward.count("highlight") == 1
    assert f'id="box-{s.steps[1].node}"' in first_forward
    root = next(b for b in s.boxes if b.is_root)
    assert re.search(rf"{root.id} \[label=\"[^\"]*value", s.dot(0)) is None
    assert re.search(rf"{root.id} \[label=\"[^\"]*value", s.dot(len(s.steps) - 1))
    assert "\\ngrad" not in s.dot(len(s.steps) - len(s.ledger.rows) - 1)  # forward done
    assert "\\ngrad 1" in s.dot(len(s.steps) - len(s.ledger.rows))  # dL/dL = 1 arrives
    assert s.dot(-1) == s.dot(len(s.steps) - 1)
    with pytest.raises(IndexError, match="frame 99 out of range"):
        s.dot(99)


def test_a_tensor_works_as_well_as_a_function() -> None:
    a = cr.tensor([1.0, -2.0], requires_grad=True)
    a.name = "a"
    with cr.viz.record():
        y = (a * a).sum()
    s = cr.viz.steps(y)
    assert [st.name for st in s.steps if st.phase == "backward"] == ["L", "v1"]
    assert "value [1, 4]" in s.dot(2)  # a non-scalar value, recorded


def test_bad_arguments_say_what_is_wrong() -> None:
    with pytest.raises(TypeError, match="expected a Tensor or a function, got int"):
        cr.viz.steps(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="has no graph"):
        cr.viz.steps(cr.tensor(1.0))


def test_html_page_with_graphviz_prerenders_every_frame(tmp_path) -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed (the page then uses viz.js, tested below)")
    s, _ = ex2()
    frames = s.frames()
    assert len(frames) == len(s.steps) and all(f.startswith("<svg") for f in frames)
    assert "highlight" in frames[1]
    page = s._repr_html_()
    assert page.count("<svg") == len(s.steps)  # JSON-escaped SVG, one per frame
    assert 'type="range"' in page and f'max="{len(s.steps) - 1}"' in page
    assert "Viz.instance" in page and "viz-global" not in page
    out = s.save(str(tmp_path / "backprop.html"))

    def same_ids(text: str) -> str:  # each page gets its own element id
        return re.sub(r"crsteps\d+", "crsteps", text)

    with open(out, encoding="utf-8") as f:
        assert same_ids(f.read()) == same_ids(page)


def test_html_page_without_graphviz_carries_viz_js(monkeypatch) -> None:
    s, _ = ex2()
    monkeypatch.setattr(steps_html.shutil, "which", lambda name: None)
    page = s.html()
    assert "digraph steps" in page  # DOT text, rendered in the browser
    assert "Viz.instance" in page and "Graphviz https://www.graphviz.org" in page
    assert page.count("</script>") == 2  # viz.js and the page's script, neither cut short
    with pytest.raises(RuntimeError, match="needs the Graphviz `dot` program"):
        s.frames()


def test_matrices_are_drawn_as_grids_of_their_entries() -> None:
    # 001 §1.1: y = W x + b; the last frame shows W and its gradient as tables of numbers
    W = cr.tensor([[1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    x = cr.tensor([0.5, -1.5])
    b = cr.tensor([0.25, 0.75], requires_grad=True)
    with cr.viz.record():
        out = ((W @ x + b) ** 2).sum()
    with pytest.raises(TypeError, match="names="):
        cr.viz.steps(out, {"W": W, "b": b})  # positional: it would be ignored
    s = cr.viz.steps(out, names={"W": W, "b": b})
    dot = s.dot(len(s) - 1)
    line = next(ln for ln in dot.splitlines() if ">W</TD>" in ln)
    out.backward()
    for entry in W.grad.numpy().ravel():
        assert f">{format_value(np.asarray(entry), 6)}<" in line  # every entry in its own cell
    assert "<TABLE" in line and "grad" in line
    if shutil.which("dot"):
        assert "<svg" in steps_html.render_svg(dot)  # the HTML-like label renders
