"""`chainrule train / evaluate / predict` never show a traceback and never lose a run (issue 8)."""

from __future__ import annotations

import csv
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main

FAST = ["--data", "xor", "--no-plots", "--quiet"]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the CLI run in-process."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def metrics(folder: Path) -> list[dict[str, str]]:
    with open(folder / "metrics.csv") as fh:
        return list(csv.DictReader(fh))


def write_csv(folder: Path, text: str, name: str = "data.csv") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def two_class_rows(n: int = 40, labels: tuple[object, object] = (0, 1)) -> str:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        label = labels[i % 2]
        x = rng.normal(size=2) + (2.0 if i % 2 else -2.0)
        rows.append(f"{x[0]:.4f},{x[1]:.4f},{label}")
    return "\n".join(rows) + "\n"


# 1. --resume continues in the run's own folder -------------------------------------------


def test_resume_continues_in_the_run_folder(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    assert run_cli(["train", *FAST, "--epochs", "2", "--out", run], capsys)[0] == 0
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["train", "--resume", run, "--epochs", "3", "--quiet"], capsys)
    assert code == 0, err
    assert not (tmp_path / "runs").exists()  # not runs/train
    assert [row["epoch"] for row in metrics(run)] == ["1", "2", "3"]
    assert cr.io.load(run / "checkpoint.safetensors")["epoch"] == 3


def test_resume_with_out_elsewhere_is_refused(tmp_path, capsys):
    run, other = tmp_path / "run", tmp_path / "other"
    run_cli(["train", *FAST, "--epochs", "1", "--out", run], capsys)
    code, _, err = run_cli(["train", "--resume", run, "--out", other, "--epochs", "2"], capsys)
    assert code == 2
    line = one_error_line(err)
    assert "own folder" in line and str(other) in line and str(run) in line
    assert not other.exists()


# 2. what may change on resume ------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "setting", "before"),
    [
        ("--optimizer", "adam", "optimizer", "'sgd'"),
        ("--data", "moons", "data", "'xor'"),
        ("--hidden", "8", "hidden", "[64]"),
        ("--seed", "3", "seed", "0"),
        ("--batch-size", "7", "batch_size", "32"),
    ],
)
def test_resume_refuses_settings_that_define_the_run(
    tmp_path, capsys, option, value, setting, before
):
    run = tmp_path / "run"
    run_cli(["train", *FAST, "--epochs", "1", "--out", run], capsys)
    config_before = (run / "config.json").read_text()
    code, _, err = run_cli(["train", "--resume", run, option, value, "--epochs", "2"], capsys)
    assert code == 2
    line = one_error_line(err)
    assert f"{setting} (the run has {before}, asked " in line and value in line
    assert (run / "config.json").read_text() == config_before  # nothing touched


def test_resume_names_every_differing_setting(tmp_path, capsys):
    run = tmp_path / "run"
    run_cli(["train", *FAST, "--epochs", "1", "--out", run], capsys)
    argv = ["train", "--resume", run, "--optimizer", "adam", "--activation", "tanh"]
    line = one_error_line(run_cli(argv, capsys)[2])
    assert "optimizer (the run has 'sgd'" in line and "activation (the run has 'relu'" in line


def test_resume_applies_and_records_a_new_lr(tmp_path, capsys):
    run = tmp_path / "run"
    run_cli(["train", *FAST, "--epochs", "2", "--lr", "0.05", "--out", run], capsys)
    argv = ["train", "--resume", run, "--epochs", "4", "--lr", "0.01", "--quiet"]
    assert run_cli(argv, capsys)[0] == 0
    config = json.loads((run / "config.json").read_text())
    assert config["lr"] == 0.01 and config["epochs"] == 4
    assert config["resumes"] == [{"after_epoch": 2, "epochs": [2, 4], "lr": [0.05, 0.01]}]
    assert [float(row["lr"]) for row in metrics(run)] == [0.05, 0.05, 0.01, 0.01]
    state = cr.io.load(run / "checkpoint.safetensors")
    assert state["optimizer"]["param_groups"][0]["lr"] == 0.01


def test_resume_longer_continues_the_cosine_schedule_of_the_new_total(tmp_path, capsys):
    import math

    run = tmp_path / "run"
    run_cli(["train", *FAST, "--schedule", "cosine", "--epochs", "2", "--out", run], capsys)
    assert run_cli(["train", "--resume", run, "--epochs", "4", "--quiet"], capsys)[0] == 0
    lrs = [float(row["lr"]) for row in metrics(run)]
    planned_2 = [0.05 * (1 + math.cos(math.pi * e / 2)) / 2 for e in (0, 1)]
    then_4 = [0.05 * (1 + math.cos(math.pi * e / 4)) / 2 for e in (2, 3)]
    assert lrs == pytest.approx(planned_2 + then_4, rel=1e-12)


def test_resume_help_states_the_rule(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--epochs (train longer) and --lr" in text and "refused" in text


# 3. no tracebacks ------------------------------------------------------------------------


def test_out_at_an_existing_file(tmp_path, capsys):
    target = write_csv(tmp_path, "not a folder", "taken")
    code, _, err = run_cli(["train", *FAST, "--epochs", "1", "--out", target], capsys)
    assert code == 2
    assert "is an existing file, not a folder" in one_error_line(err)


def test_out_in_an_unwritable_place(tmp_path, capsys, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)  # running as root ignores chmod, so simulate
    code, _, err = run_cli(["train", *FAST, "--out", tmp_path / "locked" / "run"], capsys)
    assert code == 1
    line = one_error_line(err)
    assert "cannot create the run folder" in line and "Permission denied" in line


def test_full_disk_keeps_the_previous_checkpoint(tmp_path, capsys, monkeypatch):
    from chainrule.train import job

    run = tmp_path / "run"
    real_save, real_fsync = job.save_checkpoint, os.fsync
    state = {"saves": 0, "full": False}

    def fsync(fd):
        if state["full"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    def save_checkpoint(*args, **kwargs):
        state["saves"] += 1
        state["full"] = state["saves"] == 2  # the disk is full when epoch 2 is saved
        try:
            real_save(*args, **kwargs)
        finally:
            state["full"] = False

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(job, "save_checkpoint", save_checkpoint)
    code, _, err = run_cli(["train", *FAST, "--epochs", "3", "--out", run], capsys)
    assert code == 1
    line = one_error_line(err)
    assert f"could not write {run / 'checkpoint.safetensors'}: No space left on device" in line
    assert "previous version is intact" in line
    assert cr.io.load(run / "checkpoint.safetensors")["epoch"] == 1
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []  # no temp left
    assert len(metrics(run)) == 1


def test_divergence_stops_with_epoch_step_and_advice(tmp_path, capsys):
    rows = "".join(f"{3e37 * (i % 3 + 1):.6g},{i},{i % 2}\n" for i in range(40))
    data = write_csv(tmp_path, rows)
    argv = ["train", "--data", data, "--no-plots", "--quiet", "--out", tmp_path / "r"]
    code, _, err = run_cli(argv, capsys)
    assert code == 1
    line = one_error_line(err)
    assert "training diverged: the test loss became nan at epoch 1" in line
    assert "lower the learning rate" in line and "--lr 0.05" in line
    assert "no checkpoint" in line


def test_divergence_keeps_the_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    from chainrule.train import job

    real = job.loss_function
    calls = {"n": 0}

    def poisoned(name, classes):
        loss = real(name, classes)

        def fn(out, y):
            calls["n"] += 1
            value = loss(out, y)
            return value * float("nan") if calls["n"] > 12 else value

        return fn

    monkeypatch.setattr(job, "loss_function", poisoned)
    run = tmp_path / "run"
    argv = ["train", *FAST, "--epochs", "5", "--batch-size", "200", "--out", run]
    code, _, err = run_cli(argv, capsys)
    assert code == 1
    line = one_error_line(err)
    # 800 training rows in batches of 200 is 4 steps per epoch, plus 1 test batch after each
    assert "the training loss became nan at epoch 3, step 3 of 4" in line
    assert "keeps epoch 2, the last good one" in line
    state = cr.io.load(run / "checkpoint.safetensors")
    assert state["epoch"] == 2
    assert all(np.isfinite(v).all() for v in state["model"].values())
    assert len(metrics(run)) == 2


def test_keyboard_interrupt_exits_130_and_the_run_resumes(tmp_path, capsys, monkeypatch):
    import importlib

    fit_module = importlib.import_module("chainrule.train.fit")  # the package exports fit()
    real = fit_module.accuracy
    calls = {"n": 0}

    def interrupting(out, y):
        calls["n"] += 1
        if calls["n"] == 60:  # in epoch 2 (25 train batches + 1 test batch per epoch)
            raise KeyboardInterrupt
        return real(out, y)

    monkeypatch.setattr(fit_module, "accuracy", interrupting)
    run = tmp_path / "run"
    code, _, err = run_cli(["train", *FAST, "--epochs", "4", "--out", run], capsys)
    assert code == 130
    line = one_error_line(err)
    assert "interrupted during epoch 3" in line and "--resume" in line
    assert cr.io.load(run / "checkpoint.safetensors")["epoch"] == 2
    monkeypatch.setattr(fit_module, "accuracy", real)
    assert run_cli(["train", "--resume", run, "--quiet"], capsys)[0] == 0
    assert len(metrics(run)) == 4


@pytest.mark.parametrize("command", ["evaluate", "predict", "resume"])
def test_unknown_key_in_config_json(tmp_path, capsys, command):
    run = tmp_path / "run"
    run_cli(["train", *FAST, "--epochs", "1", "--out", run], capsys)
    config = json.loads((run / "config.json").read_text())
    config["learning_rate"] = 0.1
    (run / "config.json").write_text(json.dumps(config))
    argv = {
        "evaluate": ["evaluate", run],
        "predict": ["predict", run, "--values", "1,2"],
        "resume": ["train", "--resume", run, "--epochs", "2"],
    }[command]
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    line = one_error_line(err)
    assert "unknown setting 'learning_rate'" in line and str(run / "config.json") in line


def test_an_unexpected_error_is_one_line_unless_debugging(tmp_path, capsys, monkeypatch):
    from chainrule.train import job

    def broken(*args, **kwargs):
        raise AttributeError("'NoneType' object has no attribute 'x'")

    monkeypatch.setattr(job, "run", broken)
    code, _, err = run_cli(["train", *FAST, "--out", tmp_path / "r"], capsys)
    assert code == 1
    line = one_error_line(err)
    assert line.startswith("chainrule train: error: AttributeError: ") and "CHAINRULE_DEBUG" in line
    monkeypatch.setenv("CHAINRULE_DEBUG", "1")
    with pytest.raises(AttributeError):
        main(["train", *FAST, "--out", str(tmp_path / "r")])


def test_a_key_error_is_not_shown_in_quotes(capsys, monkeypatch):
    from chainrule.train import job

    def broken(*args, **kwargs):
        raise KeyError("step")

    monkeypatch.setattr(job, "run", broken)
    assert one_error_line(run_cli(["train", *FAST], capsys)[2]) == "chainrule train: error: step"


# 4. data validation before training ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,0\n3,4,0\n5,6,0\n", "column 3 (the label) holds one class only (0) in all 3 rows"),
        ("1,2,0\n3,nan,1\n5,6,0\n", "line 2, column 2: feature value nan is not a finite"),
        ("1,2,0\n3,4,1\ninf,6,0\n", "line 3, column 1: feature value inf is not a finite"),
        ("1,2,0\n3,4,1.5\n5,6,0\n", "line 2, column 3: label 1.5 is not a class label"),
        ("1,2,0\n3,4,1e300\n5,6,0\n", "line 2, column 3: label 1e+300 is not a class label"),
        ("1,2,0\n3,4,x\n", "line 2, column 3: 'x' is not a number"),
        ("1,2,0\n3,4\n", "line 2: expected 3 fields, got 2"),
        ("", "no rows (the file is empty)"),
        ("a,b,label\n", "no data rows (only a header)"),
    ],
)
def test_bad_csv_is_refused_before_training(tmp_path, capsys, text, message):
    data = write_csv(tmp_path, text)
    code, _, err = run_cli(["train", "--data", data, "--no-plots", "--out", tmp_path / "r"], capsys)
    assert code == 2
    line = one_error_line(err)
    assert str(data) in line and message in line
    assert not (tmp_path / "r" / "checkpoint.safetensors").exists()


@pytest.mark.parametrize("labels", [(3, 7), (0, 10**9)])
def test_labels_map_to_classes_and_predict_prints_them(tmp_path, capsys, labels):
    # a header, and 7.0: a whole number, so a fine label
    text = "x1,x2,label\n" + two_class_rows(labels=(labels[0], f"{labels[1]}.0"))
    data = write_csv(tmp_path, text)
    run = tmp_path / "run"
    argv = ["train", "--data", data, "--epochs", "5", "--no-plots", "--quiet", "--out", run]
    assert run_cli(argv, capsys)[0] == 0
    config = json.loads((run / "config.json").read_text())
    assert config["classes"] == list(labels)
    weights = cr.io.load(run / "model.safetensors")
    assert weights["2.bias"].shape == (2,)  # two outputs, not max label + 1
    code, out, _ = run_cli(["predict", run, "--values", "-2,-2"], capsys)
    assert code == 0 and out.startswith(f"0: class {labels[0]}  (p = ")
    assert run_cli(["predict", run, "--values", "2,2"], capsys)[1].startswith(
        f"0: class {labels[1]}  "
    )
    code, out, _ = run_cli(["evaluate", run], capsys)
    assert code == 0 and f"  {labels[1]:>3} " in out


def test_train_help_explains_the_label_mapping(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "0..K-1 in sorted order" in text and "'classes'" in text


def test_evaluate_on_other_data_refuses_a_label_the_run_never_saw(tmp_path, capsys):
    run = tmp_path / "run"
    data = write_csv(tmp_path, two_class_rows(labels=(3, 7)))
    run_cli(["train", "--data", data, "--epochs", "1", "--no-plots", "--out", run], capsys)
    other = write_csv(tmp_path, two_class_rows(labels=(3, 5)), "other.csv")
    code, _, err = run_cli(["evaluate", run, "--data", other], capsys)
    assert code == 2
    assert "label 5 is not one of the run's classes [3, 7]" in one_error_line(err)


# 5. one CSV reader, absolute paths, missing files ----------------------------------------


def test_predict_input_accepts_a_header_like_train(tmp_path, capsys):
    data = write_csv(tmp_path, "a,b,label\n" + two_class_rows())
    run = tmp_path / "run"
    argv = ["train", "--data", data, "--epochs", "2", "--no-plots", "--quiet", "--out", run]
    assert run_cli(argv, capsys)[0] == 0
    samples = write_csv(tmp_path, "a,b\n0.1,0.2\n-1,2\n", "x.csv")
    code, out, err = run_cli(["predict", run, "--input", samples], capsys)
    assert code == 0, err
    assert len(out.strip().splitlines()) == 2
    bad = write_csv(tmp_path, "a,b\n0.1,nan\n", "bad.csv")
    line = one_error_line(run_cli(["predict", run, "--input", bad], capsys)[2])
    assert f"{bad}: line 2, column 2" in line


def test_relative_csv_path_is_stored_absolute(tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    write_csv(work, two_class_rows())
    monkeypatch.chdir(work)
    argv = ["train", "--data", "data.csv", "--epochs", "1", "--no-plots", "--quiet", "--out", "r"]
    assert run_cli(argv, capsys)[0] == 0
    config = json.loads((work / "r" / "config.json").read_text())
    assert config["data"] == str(work / "data.csv")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["evaluate", "work/r"], capsys)
    assert code == 0, err
    assert "test accuracy" in out


def test_a_missing_data_file_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["train", "--data", "nope.csv", "--out", "r"], capsys)
    assert code == 2
    line = one_error_line(err)
    assert f"data file '{tmp_path / 'nope.csv'}' does not exist" in line
    assert "unknown data" not in line


# 6. argument parsing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hidden", "message"),
    [
        ("64,,64", "item 2 of '64,,64' is empty"),
        ("64,", "item 2 of '64,' is empty"),
        ("64,x", "item 2 of '64,x', 'x', is not an integer"),
        ("0", "layer sizes must be positive: item 1 of '0' is 0"),
        ("8,-3", "layer sizes must be positive: item 2 of '8,-3' is -3"),
        ("200000", "layer sizes are at most 100000"),
    ],
)
def test_bad_hidden_sizes_name_the_item(capsys, hidden, message):
    code, _, err = run_cli(["train", f"--hidden={hidden}"], capsys)
    assert code == 2
    assert message in err.strip().splitlines()[-1]


def test_negative_values_work_with_and_without_equals(tmp_path, capsys):
    run = tmp_path / "run"
    run_cli(["train", *FAST, "--epochs", "1", "--out", run], capsys)
    spaced = run_cli(["predict", run, "--values", "-0.5,0.3"], capsys)
    joined = run_cli(["predict", run, "--values=-0.5,0.3"], capsys)
    assert spaced[0] == joined[0] == 0
    assert spaced[1] == joined[1] and spaced[1].startswith("0: class ")
    code, _, err = run_cli(["predict", run, "--values", "-0.5,,3"], capsys)
    assert code == 2 and "item 2 of '-0.5,,3'" in err


def test_version_and_python_dash_m(tmp_path):
    from importlib.metadata import version

    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"chainrule {version('chainrule')}"
    assert cr.__version__ == version("chainrule")


def test_python_dash_m_errors_have_exit_codes_and_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "evaluate", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("chainrule evaluate: error: run folder ")


def test_help_shows_defaults_and_says_what_the_model_is(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    top = " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    train = " ".join(capsys.readouterr().out.split())
    for text in (top, train):
        assert "the seed" not in text
    assert "two-layer ReLU MLP" in top and "softmax cross-entropy" in top and "digits" in top
    for default in ("(default: 0.05)", "(default: 64)", "(default: sgd)", "(default: 30)"):
        assert default in train
    assert "--values=-0.5,0.3" in top


def test_the_old_positive_checks_remain(capsys):
    for argv, message in [
        (["train", "--lr", "-1"], "must be positive"),
        (["train", "--lr", "nan"], "must be a finite number"),
        (["train", "--epochs", "0"], "must be positive"),
        (["train", "--momentum", "-0.1"], "must be at least 0"),
    ]:
        code, _, err = run_cli(argv, capsys)
        assert code == 2 and message in err, (argv, err)


# 7. one name for the test split; readable plots ------------------------------------------


def test_the_test_split_is_called_test_everywhere(tmp_path, capsys):
    run = tmp_path / "run"
    code, out, err = run_cli(["train", "--data", "xor", "--epochs", "2", "--out", run], capsys)
    assert code == 0
    assert "val" not in out + err
    epoch_lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 and all("test_accuracy" in line for line in epoch_lines)
    assert set(metrics(run)[0]) >= {"test_loss", "test_accuracy", "train_loss", "lr"}
    assert not any(k.startswith("val") for k in metrics(run)[0])


def test_resume_reads_an_old_run_with_val_columns(tmp_path, capsys):
    run = tmp_path / "run"
    run_cli(["train", *FAST, "--epochs", "2", "--out", run], capsys)
    state = cr.io.load(run / "checkpoint.safetensors")
    state["history"] = {
        (f"val_{k[5:]}" if k.startswith("test_") else k): v for k, v in state["history"].items()
    }
    cr.io.save(state, run / "checkpoint.safetensors")
    assert run_cli(["train", "--resume", run, "--epochs", "3", "--quiet"], capsys)[0] == 0
    rows = metrics(run)
    assert len(rows) == 3 and all(row["test_accuracy"] for row in rows)
    assert not any(k.startswith("val") for k in rows[0])


def _figures(monkeypatch):
    """The matplotlib figures the plot functions close, kept for inspection."""
    import matplotlib.pyplot as plt

    kept = []
    real = plt.close

    def close(fig=None):
        kept.append(fig)
        real(fig)

    monkeypatch.setattr(plt, "close", close)
    return kept


def test_plots_have_titles_axis_labels_and_a_class_legend(tmp_path, monkeypatch):
    from chainrule.viz import plots

    kept = _figures(monkeypatch)
    history = {
        "epoch": [1, 2],
        "train_loss": [1.0, 0.5],
        "test_loss": [1.1, 0.6],
        "train_accuracy": [0.5, 0.8],
        "test_accuracy": [0.4, 0.7],
    }
    plots.plot_history(history, tmp_path / "curves.png")
    loss, acc = kept[-1].axes
    assert (loss.get_title(), acc.get_title()) == ("loss", "accuracy")
    assert [t.get_text() for t in acc.get_legend().get_texts()] == ["train", "test"]
    model = cr.nn.MLP([2, 4, 2])
    x = np.float32([[0, 0], [1, 1], [0, 1]])
    plots.plot_decision_boundary(model, x, np.array([0, 1, 1]), tmp_path / "b.png", 20, [3, 7])
    (ax,) = kept[-1].axes
    assert ax.get_xlabel() == "feature 1" and ax.get_ylabel() == "feature 2"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 3", "class 7"]
    plots.plot_confusion_matrix(np.array([[2, 0], [1, 3]]), tmp_path / "c.png", [3, 7])
    (ax,) = kept[-1].axes[:1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["3", "7"]


# 8. install hints that work from the checkout --------------------------------------------


def test_plot_install_hint_works_from_the_checkout(monkeypatch):
    from chainrule.viz import plots

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(plots.PlottingUnavailable) as info:
        plots.plot_history({"train_loss": [1.0]}, "x.png")
    assert 'pip install -e ".[plot]" from the chainrule checkout' in str(info.value)
    assert "chainrule[plot]'" not in str(info.value)
