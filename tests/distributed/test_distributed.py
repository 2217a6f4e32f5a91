"""Data-parallel training over MPI: cr.distributed, DistributedDataParallel, DistributedSampler.

The multi-process checks run scripts of this folder under `mpiexec -n 2` (each a few seconds);
they are skipped, saying why, only where mpiexec or mpi4py is missing. The in-process tests need
neither.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
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

HERE = Path(__file__).resolve().parent
MPIEXEC = shutil.which("mpiexec")
HAVE_MPI4PY = importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or not HAVE_MPI4PY,
    reason="needs an MPI launcher (mpiexec: apt-get install openmpi-bin libopenmpi-dev) and "
    'mpi4py (pip install -e ".[distributed]")',
)


def mpiexec(script: str, *args: str, n: int = 2, timeout: float = 60) -> tuple:
    """Run a script of this folder on n ranks; (returncode, stdout, stderr, seconds)."""
    command = [MPIEXEC, "-n", str(n)]
    version = subprocess.run([MPIEXEC, "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in version or "OpenRTE" in version:
        # more ranks than cores is fine here; root (containers, CI) must be allowed explicitly
        command += ["--oversubscribe", "--bind-to", "none"]
        if os.geteuid() == 0:
            command.append("--allow-run-as-root")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.monotonic()
    # its own session, so that a hang ends with every rank killed, not only mpiexec
    proc = subprocess.Popen(
        [*command, sys.executable, str(HERE / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"{script} on {n} ranks hung for {timeout} s:\n{stdout}\n{stderr}")
    return proc.returncode, stdout, stderr, time.monotonic() - start


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("ddp") / "findings.json"
    rc, stdout, stderr, _ = mpiexec("ddp_checks.py", str(out))
    assert rc == 0, f"ddp_checks.py failed (rc {rc}):\n{stdout}\n{stderr}"
    return json.loads(out.read_text())


# -- DistributedDataParallel under mpiexec -n 2 ----------------------------------------------------
@needs_mpi
def test_two_ranks_with_half_batches_match_one_process_with_the_whole_batch(findings):
    assert findings["ranks"] == 2 and findings["steps"] == 50
    for cap, error in findings["rel_error"].items():
        assert error < 1e-10, f"bucket_cap_mb={cap}: max relative difference {error}"


@needs_mpi
def test_all_ranks_hold_bitwise_identical_parameters_after_every_step(findings):
    assert findings["identical_steps"] == {cap: 50 for cap in findings["rel_error"]}


@needs_mpi
def test_construction_broadcasts_rank_0_parameters_and_buffers(findings):
    assert findings["broadcast_ok"]
    assert findings["buffers_broadcast"]


@needs_mpi
def test_bucket_sizes_tiny_and_huge_give_the_same_result(findings):
    # MLP 8-16-16-3 has 6 parameters: a tiny cap gives one bucket each, a huge one one bucket
    assert findings["buckets"] == {"25": 1, "1e-06": 6, "1000.0": 1}
    assert findings["tiny_equals_default"] and findings["huge_equals_default"]


@needs_mpi
def test_no_sync_accumulation_equals_one_big_batch(findings):
    assert findings["no_sync_local_grads_differ"]  # nothing was exchanged inside no_sync
    assert findings["no_sync_rel_error"] < 1e-10


@needs_mpi
def test_a_parameter_used_twice_is_reduced_once_with_its_whole_gradient(findings):
    assert findings["tied_weights_error"] < 1e-12


@needs_mpi
def test_state_dict_keys_have_the_module_prefix(findings):
    keys = findings["state_dict_keys"]
    assert keys and all(k.startswith("module.") for k in keys)
    assert "module.0.weight" in keys or any(k.endswith(".weight") for k in keys)


@needs_mpi
def test_find_unused_parameters_reduces_zeros_and_leaves_globally_unused_grads_none(findings):
    unused = findings["unused"]
    assert unused["b_grad_same"] and unused["b_grad_error"] < 1e-12
    assert unused["b_grad_none_when_unused_everywhere"] and unused["a_grad_set"]


@needs_mpi
def test_a_parameter_without_gradient_is_named_at_the_next_forward(findings):
    message = findings["unused"]["unused_error"]
    assert message is not None
    assert "'b.weight'" in message and "'b.bias'" in message
    assert "find_unused_parameters=True" in message and "'a.weight'" not in message


@needs_mpi
def test_collectives_match_torch_distributed_semantics(findings):
    c = findings["collectives"]
    # rank r holds [r + 1, -2 r, 0.5]; two ranks
    assert c["SUM"] == [3.0, -2.0, 1.0]
    assert c["AVG"] == [1.5, -1.0, 0.5]
    assert c["PRODUCT"] == [2.0, -0.0, 0.25]
    assert c["MIN"] == [1.0, -2.0, 0.5] and c["MAX"] == [2.0, 0.0, 0.5]
    # rank r holds [r + 1, 6, 3 r] as int64
    assert c["BAND"] == [0, 6, 0] and c["BOR"] == [3, 6, 3] and c["BXOR"] == [3, 0, 3]
    assert all(c[op.name + "_version_bumped"] for op in cr.distributed.ReduceOp)
    expected = np.arange(12.0).reshape(3, 4)
    expected[:, ::2] *= 3  # (1 + 2) x on the reduced columns, rank 0's own values elsewhere
    assert c["view_base"] == expected.tolist()
    assert c["scalar_avg"] == 1.5
    assert c["broadcast"] == [20.0, 1.0]
    assert c["all_gather"] == [[0.0, 0.0], [1.0, 10.0]]


@needs_mpi
def test_collective_misuse_names_the_op_and_the_shapes(findings):
    errors = findings["collectives"]["errors"]
    kinds, message = errors["all_gather_shapes"]
    assert kinds == ["ValueError", "RuntimeError"]
    assert message.startswith("all_gather: tensor_list[0] has shape (3,)") and "(2,)" in message
    kinds, message = errors["all_gather_count"]
    assert kinds == ["ValueError", "RuntimeError"] and "world_size = 2 tensors, got 1" in message
    kinds, message = errors["avg_of_ints"]
    assert kinds == ["TypeError", "RuntimeError"] and "AVG needs a floating-point" in message
    kinds, message = errors["broadcast_src"]
    assert "ValueError" in kinds and "src 2 is not a rank" in message
    kinds, message = errors["op_not_reduceop"]
    assert kinds == ["TypeError"] and "ReduceOp" in message


@needs_mpi
def test_mismatched_parameter_shapes_are_named_on_every_rank(tmp_path):
    rc, stdout, stderr, _ = mpiexec("ddp_mismatch.py", str(tmp_path))
    assert rc == 0, f"{stdout}\n{stderr}"
    for rank in range(2):
        line = (tmp_path / f"rank{rank}.txt").read_text()
        assert line.startswith(
            "RuntimeError and ValueError: DistributedDataParallel: the model differs"
        )
        assert "'0.weight' has shape (3, 4)" in line and "shape (5, 4) dtype" in line
        assert "'0.bias'" in line


@needs_mpi
def test_a_failing_rank_ends_every_rank_with_a_message_naming_it():
    rc, _, stderr, seconds = mpiexec("ddp_failure.py", timeout=60)
    assert rc != 0
    assert "rank 1 failed: ValueError: boom on purpose" in stderr
    assert seconds < 20


# -- in-process: errors without MPI ------------------------------------------------------------
def test_ddp_without_init_process_group_is_a_clear_error():
    assert not cr.distributed.is_initialized()
    with pytest.raises(RuntimeError, match="init_process_group"):
        cr.nn.parallel.DistributedDataParallel(cr.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="has not been initialized"):  # torch's habit
        cr.distributed.get_rank()
    with pytest.raises(RuntimeError, match="all_reduce: the default process group"):
        cr.distributed.all_reduce(cr.zeros(3))


def test_init_outside_an_mpi_launcher_says_how_to_launch(monkeypatch):
    for name in pg.LAUNCHER_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match=r"not started by an MPI launcher.*mpiexec -n 2"):
        cr.distributed.init_process_group("mpi")
    assert not cr.distributed.is_initialized()
    with pytest.raises(ValueError, match="backend 'nccl' is not available"):
        cr.distributed.init_process_group("nccl")


def test_init_without_mpi4py_gives_the_install_command(monkeypatch):
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # makes `import mpi4py` fail
    with pytest.raises(ImportError, match=r'pip install -e "\.\[distributed\]".*openmpi'):
        cr.distributed.init_process_group("mpi")
    assert not cr.distributed.is_initialized()


# -- DistributedSampler ------------------------------------------------------------------------
def test_sampler_rank_out_of_range_is_a_value_error_as_torch():
    for rank in (2, 5, -1):
        with pytest.raises(ValueError, match=r"invalid rank .*\[0, 1\]"):
            cr.data.DistributedSampler(range(10), num_replicas=2, rank=rank)
    with pytest.raises(ValueError, match="has not been initialized"):
        cr.data.DistributedSampler(range(10))  # no group to ask for the world size


def test_sampler_without_shuffle_equals_torch():
    from torch.utils.data import DistributedSampler as TorchSampler

    for n, replicas, drop_last in itertools.product([1, 2, 5, 8, 13], [1, 2, 3, 4, 7], [0, 1]):
        for rank in range(replicas):
            ours = cr.data.DistributedSampler(range(n), replicas, rank, False, drop_last=drop_last)
            theirs = TorchSampler(range(n), replicas, rank, False, drop_last=bool(drop_last))
            assert list(ours) == list(theirs), (n, replicas, rank, drop_last)
            assert len(ours) == len(theirs)


def test_sampler_shuffle_rule_and_padding():
    n, replicas = 10, 4  # 10 indices padded to 12 by repeating the first two of the permutation
    shares = [cr.data.DistributedSampler(range(n), replicas, r, seed=3) for r in range(replicas)]
    for s in shares:
        s.set_epoch(2)
    perm = np.random.default_rng(3 + 2).permutation(n).tolist()
    padded = perm + perm[:2]
    assert [list(s) for s in shares] == [padded[r::replicas] for r in range(replicas)]
    assert sorted(set(itertools.chain(*shares))) == list(range(n))
    s = shares[0]
    order2 = list(s)
    s.set_epoch(3)
    assert list(s) != order2  # a new epoch, a new order
    s.set_epoch(2)
    assert list(s) == order2  # a function of seed + epoch only
    cut = [
        cr.data.DistributedSampler(range(n), replicas, r, seed=3, drop_last=True) for r in range(4)
    ]
    assert [len(c) for c in cut] == [2] * 4
    assert len(set(itertools.chain(*cut))) == 8  # no repeats: the tail is dropped instead


def test_dataloader_takes_its_order_from_a_sampler():
    ds = cr.data.TensorDataset(cr.arange(10))
    sampler = cr.data.DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False)
    loader = cr.data.DataLoader(ds, batch_size=2, sampler=sampler)
    assert len(loader) == 3
    assert [b[0].tolist() for b in loader] == [[1, 3], [5, 7], [9]]
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        cr.data.DataLoader(ds, batch_size=2, shuffle=True, sampler=sampler)
