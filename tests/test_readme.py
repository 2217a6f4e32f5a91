"""The README's Python examples run as written (in order, sharing one namespace), its shell
examples of the seeing commands run, and its install hints work from the checkout."""

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


ROOT = README.parent


def _extras() -> set[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["optional-dependencies"])


def test_every_install_hint_works_from_the_checkout():
    hints = re.findall(r"pip install [^`\n]*", README.read_text())
    assert hints
    extras = _extras()
    for hint in hints:
        match = re.match(r'pip install -e (\.|"\.\[([\w,]+)\]")(?=$| )', hint)
        assert match, f"not an install from the checkout: {hint}"
        assert set((match.group(2) or "").split(",")) - {""} <= extras, hint


def test_the_main_job_installs_the_plots_and_the_progress_bar():
    text = README.read_text()
    assert 'pip install -e ".[plot,progress]" && chainrule train' in text
    assert {"plot", "progress"} <= _extras()


def test_commands_are_listed_with_python_m_and_version():
    text = README.read_text()
    assert "python -m chainrule" in text and "chainrule --version" in text


def test_license_is_mit_like_pyproject():
    import tomllib

    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2026 the chainrule authors" in license_text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "MIT"}


def test_readme_shell_examples_of_the_seeing_commands_run(tmp_path, monkeypatch, capsys):
    import shlex

    from chainrule.cli import main

    block = re.search(r"```bash\nchainrule graph.*?```", README.read_text(), flags=re.S)
    assert block
    monkeypatch.chdir(tmp_path)
    commands = [line.split("  #")[0] for line in block.group(0).splitlines()[1:-1]]
    assert len(commands) >= 4
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "chainrule"
        assert main(argv[1:]) == 0, command
    assert (tmp_path / "graph.dot").read_text().startswith("digraph")
    assert "verdict: HOLDS" in capsys.readouterr().out
