"""The default process group over MPI (mpi4py), with torch.distributed's names and semantics.

Collectives work in place on a tensor's memory, as torch's do: `all_reduce(t)` leaves the reduced
values in `t` on every rank. They bypass autograd (no graph is recorded), and bump the tensor's
version counter like any in-place change, so a graph that saved the old value refuses at backward.

The group is one module-level communicator (a duplicate of MPI_COMM_WORLD, so the library's
messages never match a user's own MPI traffic); `init_process_group` sets it and
`destroy_process_group` frees it. That is the only global state here, as in torch.distributed.
"""

from __future__ import annotations

import enum
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.errors import ArgumentError, DTypeError, ShapeError
from chainrule.tensor import Tensor

# Set by one of the launchers we know: Open MPI (mpiexec/mpirun), PMIx-based launchers (srun,
# prterun), and the PMI-1/2 launchers of MPICH, Intel MPI and MVAPICH (hydra).
LAUNCHER_ENV_VARS = (
    "OMPI_COMM_WORLD_SIZE",
    "PMIX_RANK",
    "PMI_SIZE",
    "PMI_RANK",
    "MPI_LOCALNRANKS",
    "MV2_COMM_WORLD_SIZE",
)

INSTALL_HINT = (
    'install it with `pip install -e ".[distributed]"` (mpi4py compiles against an MPI '
    "library: first get an MPI runtime and its headers, e.g. `apt-get install openmpi-bin "
    "libopenmpi-dev`, `brew install open-mpi` or `conda install -c conda-forge openmpi`)"
)


class DistributedError(RuntimeError, ValueError):
    """A misuse of the process group. Catchable as RuntimeError (Python's habit for a wrong
    state) and as ValueError (what torch.distributed raises when no group is initialized)."""


class ReduceOp(enum.Enum):
    """How all_reduce combines the ranks' values (torch.distributed.ReduceOp)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


class _Group:
    """The initialized default group: the communicator and the MPI module it came from."""

    def __init__(self, MPI: Any, comm: Any) -> None:
        self.MPI, self.comm = MPI, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()


_group: _Group | None = None


def launched_under_mpi(environ: Any = None) -> bool:
    """True when one of the known MPI launchers started this process (by its env vars)."""
    env = os.environ if environ is None else environ
    return any(name in env for name in LAUNCHER_ENV_VARS)


def _import_mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(
            f"chainrule.distributed needs mpi4py, which is missing: {INSTALL_HINT}"
        ) from exc
    return MPI


def init_process_group(backend: str = "mpi", **kwargs: Any) -> None:
    """Join the default process group of all processes started by the MPI launcher.

    Only backend="mpi" exists: the ranks and the world size come from the launcher
    (`mpiexec -n 4 python train.py`), so `rank=`, `world_size=` and `init_method=` are refused.

    >>> import chainrule as cr                                   # doctest: +SKIP
    >>> cr.distributed.init_process_group("mpi")                 # doctest: +SKIP
    >>> cr.distributed.get_rank(), cr.distributed.get_world_size()  # doctest: +SKIP
    (0, 2)
    """
    global _group
    if backend != "mpi":
        raise ValueError(
            f"init_process_group: backend {backend!r} is not available; chainrule supports only "
            "backend='mpi' (processes started by mpiexec)"
        )
    if kwargs:
        raise TypeError(
            f"init_process_group: unsupported arguments {sorted(kwargs)}; with backend='mpi' the "
            "rank and world size come from the MPI launcher"
        )
    if _group is not None:
        raise DistributedError(
            "init_process_group: trying to initialize the default process group twice; "
            "call destroy_process_group() first"
        )
    if not launched_under_mpi():
        raise DistributedError(
            "init_process_group: this process was not started by an MPI launcher (none of "
            f"{', '.join(LAUNCHER_ENV_VARS)} is set); run it as "
            "`mpiexec -n 2 python your_script.py`"
            " (Open MPI as root also needs --allow-run-as-root, and --oversubscribe when there are"
            " more ranks than cores)"
        )
    MPI = _import_mpi()
    _group = _Group(MPI, MPI.COMM_WORLD.Dup())


def is_initialized() -> bool:
    """Whether init_process_group has been called (and destroy_process_group has not)."""
    return _group is not None


def is_available() -> bool:
    """Whether the MPI backend can be used at all: mpi4py is importable (MPI not started)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def _require(op: str) -> _Group:
    if _group is None:
        raise DistributedError(
            f"{op}: the default process group has not been initialized; call "
            "cr.distributed.init_process_group(backend='mpi') first, in a script started by "
            "`mpiexec -n N python script.py`"
        )
    return _group


def destroy_process_group() -> None:
    """Leave the default group (frees its communicator; MPI itself stays up until exit)."""
    global _group
    if _group is not None:
        _group.comm.Free()
        _group = None


def get_rank() -> int:
    """This process's rank in the default group, 0 .. world_size - 1."""
    return _require("get_rank").rank


def get_world_size() -> int:
    """The number of processes in the default group."""
    return _require("get_world_size").size


def barrier() -> None:
    """Wait until every rank has called barrier()."""
    _require("barrier").comm.Barrier()


def _mpi_op(group: _Group, op: ReduceOp) -> Any:
    MPI = group.MPI
    table = {
        ReduceOp.SUM: MPI.SUM,
        ReduceOp.AVG: MPI.SUM,  # divided by the world size afterwards: MPI has no average
        ReduceOp.PRODUCT: MPI.PROD,
        ReduceOp.MIN: MPI.MIN,
        ReduceOp.MAX: MPI.MAX,
        ReduceOp.BAND: MPI.BAND,
        ReduceOp.BOR: MPI.BOR,
        ReduceOp.BXOR: MPI.BXOR,
    }
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce: op must be a cr.distributed.ReduceOp, got {op!r}")
    return table[op]


def _check_tensor(op: str, tensor: Any, name: str = "tensor") -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(tensor).__name__}")


def _buffer(tensor: Tensor) -> tuple[np.ndarray, bool]:
    """A C-contiguous array MPI can write into, and whether it is the tensor's own memory."""
    data = tensor._memory()
    if data.flags.c_contiguous and data.flags.writeable:
        return data, True
    return np.ascontiguousarray(data), False


def _written(tensor: Tensor, buf: np.ndarray, own: bool) -> None:
    """Finish an in-place collective: copy back if MPI worked on a copy, and count the change."""
    if not own:
        np.copyto(tensor._data, buf)
    tensor._vc[0] += 1


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM) -> None:
    """Combine `tensor` over all ranks, in place: afterwards every rank holds the result.

    ReduceOp.AVG is the sum divided by the world size (floating-point tensors only).
    """
    group = _require("all_reduce")
    _check_tensor("all_reduce", tensor)
    mpi_op = _mpi_op(group, op)
    if op is ReduceOp.AVG and tensor.dtype.kind not in "fc":
        raise DTypeError(
            f"all_reduce: ReduceOp.AVG needs a floating-point tensor, got dtype {tensor.dtype}"
        )
    buf, own = _buffer(tensor)
    group.comm.Allreduce(group.MPI.IN_PLACE, buf, op=mpi_op)
    if op is ReduceOp.AVG:
        buf /= group.size
    _written(tensor, buf, own)


def broadcast(tensor: Tensor, src: int) -> None:
    """Copy rank `src`'s `tensor` into `tensor` on every other rank (same shape and dtype)."""
    group = _require("broadcast")
    _check_tensor("broadcast", tensor)
    if not 0 <= src < group.size:
        raise ValueError(f"broadcast: src {src} is not a rank of a group of size {group.size}")
    buf, own = _buffer(tensor)
    group.comm.Bcast(buf, root=src)
    _written(tensor, buf, own)


def all_gather(tensor_list: list[Tensor], tensor: Tensor) -> None:
    """Fill tensor_list[r] with rank r's `tensor`, on every rank (torch's argument order)."""
    group = _require("all_gather")
    _check_tensor("all_gather", tensor)
    if not isinstance(tensor_list, Sequence) or len(tensor_list) != group.size:
        got = len(tensor_list) if isinstance(tensor_list, Sequence) else type(tensor_list).__name__
        raise ArgumentError(
            f"all_gather: tensor_list must hold world_size = {group.size} tensors, got {got}"
        )
    for i, out in enumerate(tensor_list):
        _check_tensor("all_gather", out, f"tensor_list[{i}]")
        if out.shape != tensor.shape or out.dtype != tensor.dtype:
            raise ShapeError(
                f"all_gather: tensor_list[{i}] has shape {tuple(out.shape)} and dtype "
                f"{out.dtype}, but tensor has shape {tuple(tensor.shape)} and dtype {tensor.dtype}"
            )
    send = np.ascontiguousarray(tensor._memory())
    recv = np.empty((group.size, *send.shape), dtype=send.dtype)
    group.comm.Allgather(send, recv)
    for out, value in zip(tensor_list, recv, strict=True):
        buf, own = _buffer(out)
        np.copyto(buf, value)
        _written(out, buf, own)


def all_gather_object(object_list: list[Any], obj: Any) -> None:
    """Fill object_list[r] with rank r's `obj` (a small picklable value, e.g. a summary)."""
    group = _require("all_gather_object")
    if len(object_list) != group.size:
        raise ArgumentError(
            f"all_gather_object: object_list must hold world_size = {group.size} entries, got "
            f"{len(object_list)}"
        )
    object_list[:] = group.comm.allgather(obj)


def _comm(op: str) -> Any:
    """The group's communicator and MPI module, for the library's own non-blocking collectives."""
    group = _require(op)
    return group.comm, group.MPI


def run_main(
    fn: Callable[[], Any],
    format_error: Callable[[int, BaseException], str] | None = None,
    exit_code: Callable[[BaseException], int] | None = None,
) -> Any:
    """Run `fn()`; if it raises, print "rank R failed: ..." with the traceback and abort every
    rank (MPI_Abort), so the others never wait forever in a collective the failed rank will not
    join. Use it to wrap a training script's main:

        if __name__ == "__main__":
            cr.distributed.run_main(main)

    `format_error(rank, exc)` gives the message instead (the `chainrule` command prints one line
    naming the rank); `exit_code(exc)` is the code the job aborts with (default 1). Without a
    group (or before init_process_group), an exception propagates as usual; under an MPI
    launcher MPI is started so that the abort can reach every rank.
    """
    try:
        return fn()
    except BaseException as exc:
        if isinstance(exc, SystemExit) and exc.code in (None, 0):
            raise
        group = _group
        if group is None and launched_under_mpi() and is_available():
            from mpi4py import MPI

            group = _Group(MPI, MPI.COMM_WORLD)
        if group is None:
            raise
        if format_error is None:
            trace = "".join(traceback.format_exception(exc))
            text = f"rank {group.rank} failed: {type(exc).__name__}: {exc}\n{trace}"
        else:
            text = format_error(group.rank, exc).rstrip("\n") + "\n"
        sys.stderr.write(text)
        sys.stderr.flush()
        sys.stdout.flush()
        group.MPI.COMM_WORLD.Abort(1 if exit_code is None else exit_code(exc))
        raise  # not reached: Abort ends the process
