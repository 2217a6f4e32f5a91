"""The notebook page of a step-through (`Steps.html()`): self-contained, no kernel needed.

The frames are SVG rendered by the system `dot` when it is on PATH; otherwise the page carries
the DOT text of each frame and the vendored viz.js (Graphviz compiled to WebAssembly, the one
the playground serves) and renders them in the browser. Either way one HTML string works in
Jupyter, VS Code and exported notebooks: a slider, previous / next / play buttons, and the
ledger row of the step.
"""

from __future__ import annotations

import html
import itertools
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol


class _Step(Protocol):
    title: str
    ledger: dict[str, Any] | None


class Steps(Protocol):
    """What the page needs of a `chainrule.viz.steps.Steps` (typed structurally, so this module
    need not import the one that imports it)."""

    @property
    def steps(self) -> Sequence[_Step]: ...

    def dot(self, index: int) -> str: ...

    def frames(self) -> list[str]: ...


VIZ_JS = Path(__file__).resolve().parent.parent / "playground/static/vendor/viz-js/viz-global.js"
_ids = itertools.count(1)


def render_svg(dot_text: str) -> str:
    """DOT text rendered to SVG by Graphviz's `dot` (RuntimeError when it is not installed)."""
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "frames() needs the Graphviz `dot` program, which is not on PATH: install Graphviz "
            "(apt-get install graphviz / brew install graphviz), or use .html() / .save(), "
            "which render in the browser without it"
        )
    done = subprocess.run([dot, "-Tsvg"], input=dot_text.encode(), capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
    svg = done.stdout.decode("utf-8")
    return svg[svg.index("<svg") :]  # without the XML prologue, so it can sit inside HTML


def _ledger_html(ledger: dict[str, Any] | None) -> str:
    if ledger is None:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(t['input'])}</td><td>{html.escape(t['formula'])}</td>"
        f"<td>{html.escape(t['local'])}</td><td>{html.escape(ledger['upstream'])} × "
        f"{html.escape(t['local'])} = <b>{html.escape(t['gradient'])}</b></td></tr>"
        for t in ledger["terms"]
    )
    sums = "".join(
        f"<p>fan-out: dL/d{html.escape(s['name'])} = {' + '.join(map(html.escape, s['parts']))}"
        f" = <b>{html.escape(s['total'])}</b></p>"
        for s in ledger["sums"]
    )
    return (
        f"<p><b>{html.escape(ledger['output'])} = {html.escape(ledger['call'])}</b> "
        f"({html.escape(ledger['words'])}); upstream dL/d{html.escape(ledger['output'])} = "
        f"<b>{html.escape(ledger['upstream'])}</b></p>"
        "<table><tr><th>input</th><th>local rule</th><th>local</th><th>gradient</th></tr>"
        f"{rows}</table>{sums}"
    )


def page(steps: Steps) -> str:
    """The HTML of the step-through (one `<div>`, its style and its script)."""
    uid = f"crsteps{next(_ids)}"
    prerendered = shutil.which("dot") is not None
    frames = steps.frames() if prerendered else [steps.dot(i) for i in range(len(steps.steps))]
    data = {
        "frames": frames,
        "svg": prerendered,
        "titles": [s.title for s in steps.steps],
        "ledgers": [_ledger_html(s.ledger) for s in steps.steps],
    }
    # </ inside a script would end it early; JSON allows the escaped form
    payload = json.dumps(data).replace("</", "<\\/")
    viz = "" if prerendered else f"<script>{VIZ_JS.read_text(encoding='utf-8')}</script>"
    last = len(steps.steps) - 1
    return f"""<div id="{uid}" class="crsteps">
<style>
#{uid} {{font-family: Helvetica, Arial, sans-serif; font-size: 13px}}
#{uid} .bar {{display: flex; gap: 6px; align-items: center; margin: 4px 0}}
#{uid} .bar input[type=range] {{flex: 1}}
#{uid} table {{border-collapse: collapse}}
#{uid} td, #{uid} th {{border: 1px solid #ccc; padding: 2px 6px}}
#{uid} .frame svg {{max-width: 100%; height: auto}}
</style>
<div class="bar"><button class="prev">&#9664; back</button>
<input type="range" min="0" max="{last}" value="0" class="slider">
<button class="next">step &#9654;</button><button class="play">play</button>
<span class="count">0 / {last}</span></div>
<div class="title"></div><div class="frame"></div><div class="ledger"></div>
{viz}
<script>
(function () {{
  const root = document.getElementById("{uid}");
  const data = {payload};
  const slider = root.querySelector(".slider");
  let viz = null, timer = null;
  async function show(i) {{
    slider.value = i;
    root.querySelector(".count").textContent = i + " / {last}";
    root.querySelector(".title").textContent = data.titles[i];
    root.querySelector(".ledger").innerHTML = data.ledgers[i];
    const frame = root.querySelector(".frame");
    if (data.svg) {{ frame.innerHTML = data.frames[i]; return; }}
    if (viz === null) viz = await Viz.instance();
    frame.replaceChildren(viz.renderSVGElement(data.frames[i]));
  }}
  const go = (d) => show(Math.max(0, Math.min({last}, Number(slider.value) + d)));
  slider.addEventListener("input", () => show(Number(slider.value)));
  root.querySelector(".prev").addEventListener("click", () => go(-1));
  root.querySelector(".next").addEventListener("click", () => go(1));
  root.querySelector(".play").addEventListener("click", () => {{
    if (timer) {{ clearInterval(timer); timer = null; return; }}
    timer = setInterval(() => {{
      if (Number(slider.value) >= {last}) {{ clearInterval(timer); timer = null; }} else go(1);
    }}, 700);
  }});
  show(0);
}})();
</script>
</div>
"""
