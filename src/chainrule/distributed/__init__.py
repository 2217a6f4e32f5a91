"""Data-parallel training over MPI: torch.distributed's process-group API (backend "mpi").

Start N processes with an MPI launcher, join them, and wrap the model:

    mpiexec -n 2 python train.py        # Open MPI as root: add --allow-run-as-root

    import chainrule as cr
    cr.distributed.init_process_group("mpi")
    model = cr.nn.parallel.DistributedDataParallel(cr.nn.MLP([784, 256, 10]))
    sampler = cr.data.DistributedSampler(dataset)   # each rank its own share of the data

mpi4py is an optional dependency (`pip install -e ".[distributed]"`); importing this package
never imports it, so the rest of chainrule works without MPI.
"""

from chainrule.distributed.process_group import (
    DistributedError,
    ReduceOp,
    all_gather,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    destroy_process_group,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    launched_under_mpi,
    run_main,
)

__all__ = [
    "DistributedError",
    "ReduceOp",
    "all_gather",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "destroy_process_group",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
    "launched_under_mpi",
    "run_main",
]
