"""The README's figures are made by docs/figures.py from the current code."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _figures():
    spec = importlib.util.spec_from_file_location("figures", ROOT / "docs" / "figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_shows_the_committed_ex3_figure() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "](docs/seed000_ex3_graph.png)" in readme
    assert (ROOT / "docs" / "seed000_ex3_graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_ex3_figure_draws_the_course_network_as_grids() -> None:
    source = _figures().ex3_graph().source
    for name in ("W1", "b1", "W2", "b2", "h", "z", "o", "L"):
        assert re.search(rf"\b{name}\b", source), name
    assert "Reshape" not in source  # the teaching view hides the loss's implementation reshape
    assert source.count("<TABLE") >= 4  # W1 and W2: a grid for the value and for the gradient


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_the_ex3_figure_renders_where_dot_exists(tmp_path: Path) -> None:
    path = _figures().main(tmp_path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
