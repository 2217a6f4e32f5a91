"""Backpropagation one node at a time: the forward pass, then the backward pass, as frames.

`steps(f_or_tensor)` walks the graph of a result (`GraphWalk`) and reads its backward ledger
(`cr.explain`), then lays them out as a sequence of steps: a start frame (only the inputs have
values), one forward step per op in the order the code ran them (the op's value appears), then
one backward step per ledger row in the order the engine visited the nodes (the node's upstream
gradient dL/dy, its local rule with numbers, and the gradient it sends to each input). A value
used by several ops (fan-out) shows its gradient only once every use has sent its part, as the
sum of the parts. The same model serves the playground's expression lab (`to_dict`, JSON) and
notebooks (`_repr_html_`, `save`, `frames`: see `steps_html`).

>>> import chainrule as cr
>>> a = cr.tensor(2.0, requires_grad=True); a.name = "a"
>>> s = cr.viz.steps(lambda: cr.sigmoid(a * a))
>>> [(st.phase, st.name) for st in s.steps]
[('start', None), ('forward', 'v1'), ('forward', 'L'), ('backward', 'L'), ('backward', 'v1')]
>>> s.steps[-1].ledger["sums"][0]["name"]
'a'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.tensor import Tensor
from chainrule.viz.format import DEFAULT_GRID, format_value, grid
from chainrule.viz.graph_labels import Line, html_label
from chainrule.viz.ledger import Ledger, explain
from chainrule.viz.recording import record
from chainrule.viz.walk import GraphWalk, Key, edge_key, node_key

HIGHLIGHT = {"color": "#c2185b", "penwidth": "3", "fillcolor": "#fff59d"}
FILL = {"op": "#dbe9f6", "leaf": "#d4f0d4", "const": "#eeeeee", "root": "#f9d2cd"}


def _text(value: Any) -> str:
    return format_value(None if value is None else np.asarray(value), 6)


def _raw(value: Any) -> Any:
    """A JSON-able copy of a value (a float, or nested lists)."""
    return None if value is None else np.asarray(value, dtype=np.float64).tolist()


@dataclass
class Box:
    """One value of the drawing: a leaf, a constant or an op's output (its DOT id is `id`)."""

    id: str
    key: Key
    name: str
    kind: str  # 'op', 'leaf', 'const'
    call: str | None
    value: Any
    fanout: int
    is_root: bool = False


@dataclass
class Arrow:
    """An input edge: value `src` is input `input` of the op `dst`."""

    src: str
    dst: str
    input: int
    key: Key


@dataclass
class Step:
    """What one frame shows: which values and gradients are known, and the highlighted node."""

    index: int
    phase: str  # 'start', 'forward', 'backward'
    node: str | None  # the highlighted box's id
    name: str | None
    title: str
    values: set[str] = field(default_factory=set)  # ids of boxes whose value is shown
    grads: dict[str, str] = field(default_factory=dict)  # id -> gradient line
    grad_values: dict[str, Any] = field(default_factory=dict)  # id -> the gradient, once whole
    locals: dict[int, str] = field(default_factory=dict)  # arrow index -> local derivative
    ledger: dict[str, Any] | None = None


class Steps:
    """The step-through of one result: `boxes`, `arrows`, `steps`, and `dot(i)` for frame i."""

    def __init__(self, out: Tensor, names: Mapping[str, Tensor] | Any = None) -> None:
        if not isinstance(out, Tensor):
            raise TypeError(f"steps: expected a Tensor or a function, got {type(out).__name__}")
        if out.grad_fn is None:
            raise ValueError(
                "steps: the result has no graph; compute it from tensors with requires_grad=True"
            )
        if names is not None and not isinstance(names, Mapping):
            names = dict(names.named_parameters())
        gradient = None if out.numel() == 1 else np.ones(out.shape, dtype=out.dtype)
        self.ledger: Ledger = explain(out, names, gradient=gradient)
        walk = GraphWalk(out, names)
        self.boxes: list[Box] = []
        ids: dict[Key, str] = {}

        def add(key: Key, kind: str, call: str | None, value: Any) -> None:
            ids[key] = f"n{len(ids)}"
            box = Box(ids[key], key, walk.names[key], kind, call, value, walk.fanout(key))
            box.is_root = key == walk.root_key
            self.boxes.append(box)

        for key, t in walk.leaves.items():
            add(key, "leaf", None, t._data)
        for key, const in walk.constants.items():
            add(key, "const", None, const.value)
        for node in walk.nodes:
            add(node_key(node, 0), "op", walk.call(node), walk.values.get(node_key(node, 0)))
        self.arrows: list[Arrow] = []
        for node in walk.nodes:
            dst = ids[node_key(node, 0)]
            for i, edge in enumerate(node.next_edges):
                src: Key | None = (
                    edge_key(edge) if edge is not None else walk.const_inputs.get((id(node), i))
                )
                if src is not None and src in ids:
                    self.arrows.append(Arrow(ids[src], dst, i, src))
        self._by_name = {b.name: b for b in self.boxes}
        self.steps: list[Step] = self._build(ids)

    def _build(self, ids: dict[Key, str]) -> list[Step]:
        inputs = {b.id for b in self.boxes if b.kind != "op"}
        steps = [Step(0, "start", None, None, "start: the inputs' values", set(inputs))]
        known = set(inputs)
        for box in (b for b in self.boxes if b.kind == "op"):
            known.add(box.id)
            title = f"forward: {box.name} = {box.call} = {_text(box.value)}"
            steps.append(Step(len(steps), "forward", box.id, box.name, title, set(known)))
        grads: dict[str, str] = {}
        grad_values: dict[str, Any] = {}
        locals_: dict[int, str] = {}
        parts: dict[str, list[Any]] = {}
        for row in self.ledger.rows:
            box = self._by_name[row.output]
            if box.id not in grads:  # the root (or a value with one use) gets its gradient here
                grads[box.id] = f"grad {_text(row.upstream)}"
                grad_values[box.id] = row.upstream
            terms, sums = [], []
            for term in row.terms:
                src = ids.get(term.key)
                for k, arrow in enumerate(self.arrows):
                    if arrow.dst == box.id and arrow.key == term.key and k not in locals_:
                        locals_[k] = _text(term.local)
                        break
                terms.append(
                    {
                        "input": term.input,
                        "formula": term.formula,
                        "value": _text(term.value),
                        "local": _text(term.local),
                        "gradient": _text(term.gradient),
                        "local_raw": _raw(term.local),
                        "gradient_raw": _raw(term.gradient),
                    }
                )
                if src is None or term.gradient is None:
                    continue
                got = parts.setdefault(src, [])
                got.append(term.gradient)
                fan = next(b.fanout for b in self.boxes if b.id == src)
                if len(got) < fan:
                    grads[src] = f"grad: {len(got)} of {fan} parts arrived"
                elif fan > 1:
                    total = sum(np.asarray(g) for g in got)
                    line = " + ".join(_text(g) for g in got) + f" = {_text(total)}"
                    grads[src] = f"grad {line}"
                    grad_values[src] = total
                    sums.append(
                        {
                            "name": term.input,
                            "parts": [_text(g) for g in got],
                            "total": _text(total),
                            "total_raw": _raw(total),
                        }
                    )
                else:
                    grads[src] = f"grad {_text(term.gradient)}"
                    grad_values[src] = term.gradient
            ledger = {
                "step": row.step,
                "output": row.output,
                "call": row.call,
                "op": row.op,
                "words": row.words,
                "forward": row.forward,
                "value": _text(row.value),
                "upstream": _text(row.upstream),
                "upstream_raw": _raw(row.upstream),
                "terms": terms,
                "sums": sums,
            }
            title = f"backward: dL/d{row.output} = {_text(row.upstream)} reaches {row.call}"
            step = Step(len(steps), "backward", box.id, box.name, title, set(known))
            step.grads, step.locals, step.ledger = dict(grads), dict(locals_), ledger
            step.grad_values = dict(grad_values)
            steps.append(step)
        return steps

    # -- drawings ------------------------------------------------------------------------------
    def dot(self, index: int) -> str:
        """The DOT text of frame `index` (0 = start; the last frame has every gradient)."""
        if not -len(self.steps) <= index < len(self.steps):
            raise IndexError(f"steps: frame {index} out of range (0 to {len(self.steps) - 1})")
        step = self.steps[index]
        lines_dot = [
            "digraph steps {",
            '  graph [rankdir=TB, fontname="Helvetica", nodesep=0.35];',
            '  node [fontname="Helvetica", fontsize=11, style="rounded,filled"];',
            '  edge [fontname="Helvetica", fontsize=9];',
        ]
        for box in self.boxes:
            # small matrices are drawn as grids of numbers (a table per value and gradient)
            lines: list[Line] = [
                (box.name if box.call is None else f"{box.name} = {box.call}", None)
            ]
            if box.id in step.values and box.value is not None:
                cells = grid(box.value, DEFAULT_GRID)
                lines.append(("value", cells) if cells else (f"value {_text(box.value)}", None))
            if box.id in step.grads:
                cells = grid(step.grad_values.get(box.id), DEFAULT_GRID)
                lines.append(("grad", cells) if cells else (step.grads[box.id], None))
            if box.fanout > 1 and box.kind != "const":
                lines.append((f"fan-out ×{box.fanout}: gradients summed", None))
            table = html_label(lines)
            attrs = {
                "label": "\n".join(caption for caption, _ in lines),
                "shape": "box" if box.kind == "op" else "ellipse",
                "fillcolor": FILL["root" if box.is_root else box.kind],
                "id": f"box-{box.id}",
                "class": f"box {box.kind}",
            }
            if box.kind == "const":
                attrs["shape"] = "note"
            if box.id == step.node:
                attrs.update(HIGHLIGHT)
                attrs["class"] += " highlight"
            if table is not None:  # an HTML-like label is written <...>, not quoted
                del attrs["label"]
                lines_dot.append(f"  {box.id} [label=<{table}>, {_attrs(attrs)}];")
            else:
                lines_dot.append(f"  {box.id} [{_attrs(attrs)}];")
        for k, arrow in enumerate(self.arrows):
            attrs = {}
            if k in step.locals:
                attrs["label"] = f"local {step.locals[k]}"
                attrs["color"] = "#c2185b" if arrow.dst == step.node else "#555555"
            lines_dot.append(
                f"  {arrow.src} -> {arrow.dst}" + (f" [{_attrs(attrs)}]" if attrs else "")
            )
        lines_dot.append("}")
        return "\n".join(lines_dot) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """Everything the playground's page needs, JSON-able (frames as DOT text)."""
        return {
            "boxes": [
                {"id": b.id, "name": b.name, "kind": b.kind, "call": b.call, "root": b.is_root}
                for b in self.boxes
            ],
            "steps": [self.step_dict(i) for i in range(len(self.steps))],
            "gradients": {k: _raw(v) for k, v in self.ledger.gradients.items()},
        }

    def step_dict(self, index: int) -> dict[str, Any]:
        s = self.steps[index]
        return {
            "index": s.index,
            "phase": s.phase,
            "node": s.node,
            "name": s.name,
            "title": s.title,
            "ledger": s.ledger,
            "dot": self.dot(index),
        }

    # -- notebooks (steps_html) ----------------------------------------------------------------
    def frames(self) -> list[str]:
        """One SVG per step (rendered by the system `dot`; RuntimeError when it is missing)."""
        from chainrule.viz.steps_html import render_svg

        return [render_svg(self.dot(i)) for i in range(len(self.steps))]

    def html(self) -> str:
        """A self-contained page: the frames, a slider, buttons and the ledger row of each step."""
        from chainrule.viz.steps_html import page

        return page(self)

    def _repr_html_(self) -> str:
        return self.html()

    def save(self, path: str) -> str:
        """Write the self-contained HTML page to `path` (e.g. "backprop.html")."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html())
        return path

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        forward = sum(s.phase == "forward" for s in self.steps)
        backward = sum(s.phase == "backward" for s in self.steps)
        return f"<Steps: {forward} forward, {backward} backward; .save('backprop.html')>"


def _attrs(attrs: Mapping[str, str]) -> str:
    return ", ".join(f'{k}="{_escape(v)}"' for k, v in attrs.items())


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def steps(
    f: Tensor | Callable[..., Tensor],
    *args: Any,
    names: Mapping[str, Tensor] | Any = None,
    **kwargs: Any,
) -> Steps:
    """The step-through of backpropagation for a result (see the module docstring).

    `f` is a Tensor built inside `cr.viz.record()` (for intermediate values), or a function
    called here as `f(*args, **kwargs)` inside `record()`. `names` names tensors (a Module gives
    its parameters). The result shows in notebooks (`_repr_html_`); `.save(path)` writes the
    page, `.frames()` gives one SVG per step.
    """
    if isinstance(f, Tensor):
        if args or kwargs:  # they would be lost silently: a mapping of names given positionally
            raise TypeError(
                "steps: arguments after a Tensor are not used; name tensors with names=..."
            )
        return Steps(f, names)
    if not callable(f):
        raise TypeError(f"steps: expected a Tensor or a function, got {type(f).__name__}")
    with record():
        out = f(*args, **kwargs)
    return Steps(out, names)


__all__ = ["Steps", "steps"]
