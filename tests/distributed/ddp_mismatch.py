"""Run under `mpiexec -n 2`: rank 1 builds a different model; every rank must say which.
Each rank writes what it raised to argv[1]/rank<R>.txt (mpiexec may interleave stdout)."""

import sys
from pathlib import Path

import chainrule as cr
from chainrule.nn.parallel import DistributedDataParallel as DDP

cr.distributed.init_process_group("mpi")
rank = cr.distributed.get_rank()
model = cr.nn.Sequential(cr.nn.Linear(4, 3 if rank == 0 else 5), cr.nn.ReLU())
try:
    DDP(model)
    outcome = "no error"
except RuntimeError as exc:
    both = isinstance(exc, ValueError)  # catchable with either habit
    outcome = f"{'RuntimeError and ValueError' if both else 'RuntimeError only'}: {exc}"
Path(sys.argv[1], f"rank{rank}.txt").write_text(outcome)
cr.distributed.destroy_process_group()
