"""The main job: `chainrule train`, `evaluate`, `predict`."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main


def test_default_run_trains_the_seed_network_on_digits(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--quiet"]) == 0
    line = capsys.readouterr().out
    accuracy = float(line.split("test accuracy")[1].split()[0])
    assert accuracy >= 0.97  # the quality bar
    config = json.loads((out / "config.json").read_text())
    assert config["data"] == "digits" and config["hidden"] == [64]
    assert config["loss"] == "cross_entropy" and config["features"] == 64
    weights = cr.load(out / "model.safetensors")
    # the seed's two-layer ReLU MLP: W1 (Z, N), b1, W2 (M, Z), b2
    assert {k: tuple(v.shape) for k, v in weights.items()} == {
        "0.weight": (64, 64),
        "0.bias": (64,),
        "2.weight": (10, 64),
        "2.bias": (10,),
    }
    with open(out / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 30
    assert float(rows[-1]["test_accuracy"]) == pytest.approx(accuracy, abs=5e-5)  # printed to 4 dp
    for name in ("curves.png", "confusion_matrix.png", "checkpoint.safetensors"):
        assert (out / name).stat().st_size > 0


def test_two_d_data_writes_a_decision_boundary(tmp_path):
    out = tmp_path / "moons"
    main(
        [
            "train",
            "--data",
            "moons",
            "--hidden",
            "32,32",
            "--optimizer",
            "adam",
            "--lr",
            "0.01",
            "--epochs",
            "40",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert (out / "decision_boundary.png").stat().st_size > 0


def test_resume_continues_to_the_same_weights(tmp_path):
    straight, first = tmp_path / "straight", tmp_path / "first"
    common = ["--data", "xor", "--epochs", "6", "--no-plots", "--quiet"]
    main(["train", *common, "--out", str(straight)])
    main(["train", "--data", "xor", "--epochs", "3", "--no-plots", "--quiet", "--out", str(first)])
    main(["train", *common, "--out", str(first), "--resume", str(first)])
    a = cr.io.load(straight / "model.safetensors")
    b = cr.io.load(first / "model.safetensors")
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_evaluate_and_predict(tmp_path, capsys):
    out = tmp_path / "run"
    main(
        [
            "train",
            "--data",
            "gaussians",
            "--epochs",
            "5",
            "--no-plots",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "confusion matrix" in text
    assert main(["predict", str(out), "--values", "0.1,0.2"]) == 0
    assert capsys.readouterr().out.startswith("0: class ")
    samples = tmp_path / "x.csv"
    samples.write_text("0.1,0.2\n-1,2\n")
    main(["predict", str(out), "--input", str(samples)])
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--hidden", "0,3"], "layer sizes must be positive"),
        (["train", "--lr", "-1"], "must be positive"),
        (["train", "--optimizer", "rmsprop"], "invalid choice"),
        (["train", "--data", "nope", "--out", "{tmp}/x"], "unknown data 'nope'"),
        (["evaluate", "{tmp}/missing"], "no config.json"),
        (["train", "--data", "spirals", "--loss", "bce", "--out", "{tmp}/y"], "needs 2 classes"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1]


def test_predict_rejects_wrong_feature_count(tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--data", "xor", "--epochs", "1", "--no-plots", "--quiet", "--out", str(out)])
    with pytest.raises(SystemExit) as info:
        main(["predict", str(out), "--values", "1,2,3"])
    assert info.value.code == 2
    assert "takes 2 features" in capsys.readouterr().err
