"""The models that prove convolution works end to end: examples/cnn_digits.py reaches >= 98% test
accuracy on the bundled digits, and `chainrule train --model cnn` trains, saves and reloads a
CNN."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cnn_digits.py"


def test_the_cnn_example_reaches_98_percent_on_digits(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    final = re.search(r"^test accuracy (\d\.\d+) on 359 images of 8x8", result.stdout, re.M)
    assert final, result.stdout
    assert float(final.group(1)) >= 0.98, result.stdout
    assert list(tmp_path.iterdir()) == []  # it writes nothing


def test_cli_trains_a_cnn_for_one_epoch_and_evaluates_it(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--model", "cnn", "--epochs", "1", "--out", str(out), "--no-plots",
                 "--quiet"])  # fmt: skip
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "cnn" and config["features"] == 64
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", capsys.readouterr().out).group(1))
    assert accuracy > 0.3  # ten classes: chance is 0.1; one epoch of a CNN does far better
    assert main(["evaluate", str(out)]) == 0  # the run folder rebuilds the CNN from config.json
    assert f"test accuracy {accuracy:.4f}" in capsys.readouterr().out


def test_cli_refuses_a_cnn_on_data_that_are_not_square_images(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["train", "--model", "cnn", "--data", "moons", "--epochs", "1",
              "--out", str(tmp_path / "run"), "--no-plots", "--quiet"])  # fmt: skip
    assert exit.value.code == 2
    assert "--model cnn needs square images: moons has 2 features" in capsys.readouterr().err


def test_resume_keeps_the_model(tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--model", "cnn", "--epochs", "1", "--out", str(out), "--no-plots", "--quiet"])
    with pytest.raises(SystemExit):
        main(["train", "--resume", str(out), "--model", "mlp", "--epochs", "2", "--quiet"])
    assert "model (the run has 'cnn', asked 'mlp')" in capsys.readouterr().err
