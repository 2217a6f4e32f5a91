"""`mpiexec -n N chainrule train --distributed`: one run folder written by rank 0, the same model
with 1 and 2 ranks, resumes with another number of ranks, and a failing rank that ends them all.

Each run is a few epochs of the moons (800 training samples: any number of ranks up to 32
divides them, so the global batches do not depend on the number of ranks). Skipped, saying why,
only where mpiexec or mpi4py is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributed import process_group as pg
from chainrule.train.job import load_run

MPIEXEC = shutil.which("mpiexec")
HAVE_MPI4PY = importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or not HAVE_MPI4PY,
    reason="needs an MPI launcher (mpiexec: apt-get install openmpi-bin libopenmpi-dev) and "
    'mpi4py (pip install -e ".[distributed]")',
)
TRAIN = ("--data", "moons", "--no-plots")


def train(
    *args: str, n: int = 2, timeout: float = 60, env: dict | None = None
) -> subprocess.CompletedProcess:
    """`chainrule train --distributed ARGS` on n ranks, killed (every rank) if it hangs."""
    command = [MPIEXEC, "-n", str(n)]
    version = subprocess.run([MPIEXEC, "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in version or "OpenRTE" in version:
        command += ["--oversubscribe", "--bind-to", "none"]
        if os.geteuid() == 0:
            command.append("--allow-run-as-root")
    command += [sys.executable, "-m", "chainrule", "train", "--distributed", *TRAIN, *args]
    environ = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", **(env or {}))
    environ.pop("CHAINRULE_DEBUG", None)
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        start_new_session=True,  # so that a hang ends with every rank killed
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"mpiexec -n {n} chainrule train {args} hung for {timeout} s:\n{stderr}")
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def weights(run: Path) -> dict[str, np.ndarray]:
    return cr.io.load(run / "model.safetensors")


def assert_same_weights(a: Path, b: Path, rtol: float) -> None:
    wa, wb = weights(a), weights(b)
    assert sorted(wa) == sorted(wb)
    for name in wa:
        np.testing.assert_allclose(wa[name], wb[name], rtol=rtol, atol=rtol, err_msg=name)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted 3-epoch run on 2 ranks and one on 1 rank."""
    root = tmp_path_factory.mktemp("train")
    for n in (2, 1):
        result = train("--epochs", "3", "--out", str(root / f"n{n}"), n=n)
        assert result.returncode == 0, result.stderr
        (root / f"n{n}.out").write_text(result.stdout + result.stderr)
    return root


@needs_mpi
def test_only_rank_0_prints_and_writes_the_run_folder(runs):
    folder = runs / "n2"
    lines = (folder / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,train_loss,train_accuracy,test_loss")
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]  # no duplicates
    output = (runs / "n2.out").read_text()
    assert output.count("epoch 3/3") == 1 and output.count("wrote ") == 1
    assert output.count("data: moons") == 1
    assert "distributed: 2 ranks, each 16 of every 32" in output
    assert sorted(p.name for p in folder.iterdir()) == [
        "checkpoint.safetensors",
        "config.json",
        "metrics.csv",
        "model.safetensors",
    ]


@needs_mpi
def test_checkpoints_hold_the_bare_model_and_load_without_ddp(runs):
    folder = runs / "n2"
    checkpoint = cr.io.load(folder / "checkpoint.safetensors")
    assert checkpoint["epoch"] == 3
    assert sorted(checkpoint["model"]) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert sorted(weights(folder)) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    _, model = load_run(folder)  # a plain MLP, no DistributedDataParallel
    split = cr.data.moons(seed=0)  # the run's own split (seed 0, test fraction 0.2)
    accuracy = cr.train.accuracy(model(cr.tensor(split.x_test)), cr.tensor(split.y_test))
    assert accuracy > 0.85


@needs_mpi
def test_two_ranks_train_the_model_one_rank_trains_with_the_same_global_batch(runs):
    # float32: the sums of the two half-batch gradients are rounded differently from the
    # whole batch's, and three epochs of SGD carry those roundings on; nothing else differs
    assert_same_weights(runs / "n1", runs / "n2", rtol=1e-4)
    last = [(runs / f"n{n}" / "metrics.csv").read_text().splitlines()[-1] for n in (1, 2)]
    one, two = (np.array(line.split(",")[1:5], dtype=float) for line in last)
    np.testing.assert_allclose(one, two, atol=1e-4)  # train and test loss and accuracy


@needs_mpi
@pytest.mark.parametrize("ranks", [1, 2])
def test_resume_with_any_number_of_ranks_reaches_the_uninterrupted_weights(runs, tmp_path, ranks):
    folder = tmp_path / "run"
    first = train("--epochs", "1", "--out", str(folder), n=2)
    assert first.returncode == 0, first.stderr
    resumed = train("--resume", str(folder), "--epochs", "3", n=ranks)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout and "after epoch 1" in resumed.stdout
    lines = (folder / "metrics.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]
    if ranks == 2:  # the same ranks, the same sums: bit for bit
        assert_same_weights(folder, runs / "n2", rtol=0)
    else:
        assert_same_weights(folder, runs / "n2", rtol=1e-4)


@needs_mpi
def test_a_failing_rank_ends_every_rank_naming_it_and_keeps_the_checkpoint(tmp_path):
    folder = tmp_path / "run"
    started = time.monotonic()
    result = train(
        "--epochs", "50", "--out", str(folder), env={"CHAINRULE_TEST_FAIL_RANK": "1"}, timeout=40
    )
    assert time.monotonic() - started < 20
    assert result.returncode != 0
    assert "chainrule train: error: rank 1 failed: CHAINRULE_TEST_FAIL_RANK=1" in result.stderr
    assert "Traceback" not in result.stderr  # one line (CHAINRULE_DEBUG=1 adds the traceback)
    assert cr.io.load(folder / "checkpoint.safetensors")["epoch"] == 1  # intact, epoch 1


@needs_mpi
def test_a_global_batch_that_does_not_divide_by_the_ranks_is_refused(tmp_path):
    result = train("--epochs", "1", "--batch-size", "31", "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "--batch-size 31 is the global batch" in result.stderr
    assert "must be a multiple of 2 (e.g. 30)" in result.stderr
    assert not (tmp_path / "run" / "checkpoint.safetensors").exists()


def test_distributed_outside_an_mpi_launcher_is_one_clear_line(tmp_path, monkeypatch, capsys):
    from chainrule.cli import main

    for name in pg.LAUNCHER_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CHAINRULE_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--distributed", *TRAIN, "--out", str(tmp_path / "run")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("chainrule train: error: init_process_group: this process was not")
    assert "mpiexec -n 2" in err
    assert not (tmp_path / "run").exists()
