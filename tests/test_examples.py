"""Every seed example runs and holds its closed forms (each script asserts them itself)."""

from __future__ import annotations

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


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_and_asserts_the_seed(script, tmp_path):
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # it explains what it checked
