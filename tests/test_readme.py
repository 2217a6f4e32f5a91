"""The README's Python examples run as written (in order, sharing one namespace)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # our own README, trusted
    out = capsys.readouterr().out
    assert "Backward ledger" in out and "df/da1 = 0.1907" in out  # cr.explain printed
    assert (tmp_path / "f.dot").read_text().startswith("digraph")
    assert "holds" in out.lower() or "ok" in out.lower()  # the hand derivation checked out
