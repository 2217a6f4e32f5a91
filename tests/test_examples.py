"""Every seed example runs and holds its closed forms (each script asserts them itself), and
leaves nothing in the folder it runs from: drawings go to --out DIR or a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("seed*.py"))


def test_every_seed_exercise_has_an_example():
    names = {p.stem for p in EXAMPLES}
    expected = {
        "seed000_ex1_derivative",
        "seed000_ex2_graph",
        "seed000_ex3_backprop",
        "seed001_1_1_linear",
        "seed001_1_2_softmax",
    }
    assert expected <= names


def _run(script: Path, cwd: Path, temp: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TMPDIR": str(temp)}  # where tempfile puts the default folder
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _drawings(stdout: str) -> list[Path]:
    lines = [line for line in stdout.splitlines() if line.startswith("drawing: ")]
    assert lines, stdout  # it says where its drawings went
    paths = []
    for line in lines:
        listed = line.removeprefix("drawing: ").rsplit(" (", 1)[0]
        paths += [Path(p) for p in listed.split(", ")]
    return paths


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_and_leaves_nothing_in_the_current_folder(script, tmp_path):
    cwd, temp = tmp_path / "cwd", tmp_path / "temp"
    cwd.mkdir()
    temp.mkdir()
    result = _run(script, cwd, temp)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # it explains what it checked
    assert list(cwd.iterdir()) == []
    drawings = _drawings(result.stdout)
    assert all(p.is_file() and temp in p.parents for p in drawings)
    assert any(p.suffix == ".dot" for p in drawings)


def test_out_folder_gets_the_drawings(tmp_path):
    script = next(p for p in EXAMPLES if p.stem == "seed001_1_1_linear")
    cwd, temp = tmp_path / "cwd", tmp_path / "temp"
    cwd.mkdir()
    temp.mkdir()
    result = _run(script, cwd, temp, "--out", "drawings")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in cwd.iterdir()] == ["drawings"]
    assert (cwd / "drawings" / "seed001_1_1.dot").read_text().startswith("digraph")
    assert list(temp.iterdir()) == []
    assert "drawings" in result.stdout.split("drawing: ")[1]
