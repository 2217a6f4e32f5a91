"""The public API's annotations, as the type checker sees them: tests/typing_usage.py (typed usage
with assert_type) must check clean, and code that misuses the types must not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parent.parent

# Each line is a mistake the annotations must catch (checked under --follow-imports=silent, so
# only these files are reported on).
MISUSE = """
import chainrule as cr

x = cr.tensor([1.0], requires_grad=True)
x.grad * 2  # the gradient may be None
n: int = x.sum()  # a tensor, not an int
cr.Tensor.detach(x).no_such_method()
"""


def test_typed_usage_checks_clean_and_misuse_does_not(tmp_path: Path) -> None:
    misuse = tmp_path / "misuse.py"
    misuse.write_text(MISUSE)
    # a subprocess: mypy's compiled command line takes ~3 s here, its in-process API ~12 s
    stdout = subprocess.run(
        [
            sys.executable, "-m", "mypy",
            "--config-file", str(ROOT / "pyproject.toml"),
            "--follow-imports=silent",
            "--cache-dir", str(tmp_path / "cache"),
            str(ROOT / "tests" / "typing_usage.py"),
            str(misuse),
        ],
        capture_output=True, text=True, cwd=ROOT, check=False,
    ).stdout  # fmt: skip
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    usage = [line for line in errors if "typing_usage.py" in line]
    assert not usage, "\n".join(usage)
    lines = sorted({int(line.split(":")[1]) for line in errors if "misuse.py" in line})
    assert lines == [5, 6, 7], stdout
