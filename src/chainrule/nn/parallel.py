"""DistributedDataParallel: the same model on every rank, gradients averaged during backward.

How one synchronized iteration runs (torch's design, on MPI):

1. forward (`DistributedDataParallel.__call__`) checks that the previous backward finished its
   reduction, resets the per-iteration state and, with find_unused_parameters=True, walks the
   output's graph (iteratively) to find the parameters this forward did not reach.
2. backward: the engine calls a post-accumulate-grad hook on each parameter once its .grad is
   final for this backward. The hook marks the parameter ready in its bucket; buckets hold the
   parameters in reverse registration order (roughly the order backward produces their
   gradients), at most `bucket_cap_mb` each and one dtype each. When a bucket is complete its
   gradients are copied into one flat buffer and a non-blocking `Iallreduce` (sum) starts, so the
   communication overlaps the rest of backward. Buckets are launched strictly in index order on
   every rank (a complete bucket waits for the ones before it): MPI requires all ranks to start
   collectives in the same order.
3. The end of backward is detected by counting: each synchronized backward expects one hook call
   per parameter that requires grad (less those found unused in step 1, which count as ready with
   a zero gradient, so every rank still joins every bucket's reduction). When the last bucket is
   launched, the hook waits for all requests, divides by the world size and copies the averages
   into each .grad, before backward returns and before any optimizer step.

A parameter that never gets a gradient without find_unused_parameters=True leaves its bucket
unreduced; the next forward then raises, naming the parameters (as torch does). `no_sync()` skips
all of this for the backward of forwards run inside it; their gradients accumulate locally and are
reduced, together with the next synchronized backward's, by that backward.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule import modes
from chainrule.distributed import process_group as pg
from chainrule.function import Node
from chainrule.nn.module import Module
from chainrule.tensor import Tensor


class _Bucket:
    """Parameters whose gradients are reduced together, and the flat buffer they travel in."""

    def __init__(self, index: int, params: list[tuple[str, Tensor]]) -> None:
        self.index = index
        self.params = params
        self.dtype = params[0][1].dtype
        sizes = [p._data.size for _, p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self.buffer = np.zeros(self.offsets[-1], dtype=self.dtype)
        self.pending = len(params)
        self.request: Any = None


class DistributedDataParallel(Module):
    """Wrap `module` for data-parallel training: one process (rank) per replica, each on its own
    share of the batch; gradients are averaged over the ranks during backward, so after it every
    rank holds the same .grad and an optimizer step keeps the replicas identical.

    At construction every rank checks that all ranks have the same parameter and buffer names,
    shapes and dtypes, then takes rank 0's values. `state_dict()` keys carry a `module.` prefix
    (save `ddp.module.state_dict()` for a checkpoint that loads without DDP).

    >>> import chainrule as cr                                           # doctest: +SKIP
    >>> cr.distributed.init_process_group("mpi")                         # doctest: +SKIP
    >>> model = cr.nn.parallel.DistributedDataParallel(cr.nn.MLP([4, 8, 2]))  # doctest: +SKIP
    >>> loss = cr.nn.functional.cross_entropy(model(x), y); loss.backward()   # doctest: +SKIP
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        bucket_cap_mb: float = 25,
        find_unused_parameters: bool = False,
        broadcast_buffers: bool = True,
    ) -> None:
        super().__init__()
        op = "DistributedDataParallel"
        if not pg.is_initialized():
            raise pg.DistributedError(
                f"{op}: the default process group has not been initialized; call "
                "cr.distributed.init_process_group(backend='mpi') first, in a script started by "
                "`mpiexec -n N python script.py`"
            )
        if not isinstance(module, Module):
            raise TypeError(f"{op}: module must be a cr.nn.Module, got {type(module).__name__}")
        if device_ids is not None:
            raise ValueError(f"{op}: device_ids is for GPUs; chainrule's MPI backend runs on CPU")
        if not bucket_cap_mb > 0:
            raise ValueError(f"{op}: bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        self.module = module
        self.find_unused_parameters = find_unused_parameters
        self.broadcast_buffers = broadcast_buffers
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        self._comm, self._MPI = pg._comm(op)
        self._world_size = self._comm.Get_size()
        self._check_same_model_everywhere()
        self._broadcast_state()
        self._params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._buckets = self._build_buckets()
        self._where = {id(p): (b, i) for b in self._buckets for i, (_, p) in enumerate(b.params)}
        self._handles = [
            p.register_post_accumulate_grad_hook(self._on_grad_ready) for _, p in self._params
        ]
        self._ready: set[int] = set()
        self._unused: set[int] = set()
        self._sync_now = False  # this iteration's backward reduces (decided at forward)
        self._started = False  # a hook of this iteration's backward has run
        self._next_bucket = 0

    # -- construction ---------------------------------------------------------------------------
    def _summary(self) -> list[tuple[str, str, str]]:
        """(kind, name, description) per parameter and buffer; a parameter frozen on one rank
        only would put different parameters in the buckets, so requires_grad is compared too."""
        params = [
            (
                "parameter",
                n,
                f"shape {tuple(p.shape)} dtype {p.dtype}"
                + ("" if p.requires_grad else " (requires_grad=False)"),
            )
            for n, p in self.module.named_parameters()
        ]
        buffers = [
            ("buffer", n, f"shape {tuple(b.shape)} dtype {b.dtype}")
            for n, b in self.module.named_buffers()
        ]
        return params + buffers

    def _check_same_model_everywhere(self) -> None:
        """Every rank compares every rank's summary with rank 0's, so all raise the same error."""
        summaries = self._comm.allgather(self._summary())
        reference = {(kind, name): what for kind, name, what in summaries[0]}
        problems = []
        for rank, summary in enumerate(summaries[1:], start=1):
            mine = {(kind, name): what for kind, name, what in summary}
            for key, what in mine.items():
                if key not in reference:
                    problems.append(f"{key[0]} {key[1]!r} exists on rank {rank} but not on rank 0")
                elif reference[key] != what:
                    problems.append(
                        f"{key[0]} {key[1]!r} has {reference[key]} on rank 0 but {what} on "
                        f"rank {rank}"
                    )
            problems += [
                f"{key[0]} {key[1]!r} exists on rank 0 but not on rank {rank}"
                for key in reference
                if key not in mine
            ]
            if not problems and [k[:2] for k in summary] != [k[:2] for k in summaries[0]]:
                problems.append(
                    f"the parameters are registered in a different order on rank {rank}"
                )
        if problems:
            # RuntimeError for torch's habit (its DDP raises one), ValueError for Python's
            raise pg.DistributedError(
                "DistributedDataParallel: the model differs between ranks (every rank must build "
                "the same model): " + "; ".join(problems)
            )

    def _broadcast_state(self) -> None:
        """Start every replica from rank 0's parameters and buffers."""
        for _, t in list(self.module.named_parameters()) + list(self.module.named_buffers()):
            pg.broadcast(t, 0)

    def _build_buckets(self) -> list[_Bucket]:
        cap = self.bucket_cap_mb * 1024 * 1024
        groups: list[list[tuple[str, Tensor]]] = []
        size = 0
        for name, p in reversed(self._params):
            nbytes = p._data.size * p._data.itemsize
            if not groups or groups[-1][0][1].dtype != p.dtype or size + nbytes > cap:
                groups.append([])
                size = 0
            groups[-1].append((name, p))
            size += nbytes
        return [_Bucket(i, params) for i, params in enumerate(groups)]

    # -- forward --------------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self._prepare_iteration()
        if self.broadcast_buffers and self._world_size > 1:
            for _, b in self.module.named_buffers():
                pg.broadcast(b, 0)
        out = self.module(*args, **kwargs)
        if self._sync_now and self.find_unused_parameters:
            self._mark_unused(out)
        return out

    def _prepare_iteration(self) -> None:
        if self._started:
            self._fail_unfinished_reduction()
        self._ready.clear()
        self._unused.clear()
        for b in self._buckets:
            b.pending = len(b.params)
        self._next_bucket = 0
        self._sync_now = self.require_backward_grad_sync and modes.grad_enabled

    def _fail_unfinished_reduction(self) -> None:
        missing = [name for name, p in self._params if id(p) not in self._ready]
        # every rank launched the same buckets: finish them so that MPI is left consistent
        self._MPI.Request.Waitall([b.request for b in self._buckets if b.request is not None])
        for b in self._buckets:
            b.request = None
        self._started = False
        raise RuntimeError(
            "DistributedDataParallel: expected to have finished reduction in the prior iteration "
            "before starting a new one: the previous backward gave no gradient to parameter(s) "
            f"{', '.join(repr(n) for n in missing)} (not used to produce the loss). Pass "
            "find_unused_parameters=True to DistributedDataParallel, or make every parameter "
            "take part in the loss"
        )

    def _mark_unused(self, out: Any) -> None:
        """Parameters not reachable from the forward's outputs count as ready (zero gradient)."""
        reached: set[int] = set()
        seen: set[int] = set()
        stack: list[Any] = list(_tensors_in(out))
        while stack:
            item = stack.pop()
            if isinstance(item, Tensor):
                if item.grad_fn is None:
                    reached.add(id(item))
                    continue
                item = item.grad_fn
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, Node):
                for edge in item.next_edges:
                    if edge is not None:
                        stack.append(edge[0])
        for _, p in self._params:
            if id(p) not in reached:
                self._unused.add(id(p))
                bucket, _ = self._where[id(p)]
                bucket.pending -= 1

    # -- backward -------------------------------------------------------------------------------
    def _on_grad_ready(self, param: Tensor) -> None:
        if not self._sync_now or id(param) in self._ready:
            return
        self._started = True
        self._ready.add(id(param))
        bucket, _ = self._where[id(param)]
        bucket.pending -= 1
        while self._next_bucket < len(self._buckets):
            b = self._buckets[self._next_bucket]
            if b.pending > 0:
                if self._next_bucket:
                    # MPI implementations without a progress thread (Open MPI's default) move a
                    # non-blocking collective on only inside MPI calls: poke the launched ones
                    self._MPI.Request.Testall(
                        [done.request for done in self._buckets[: self._next_bucket]]
                    )
                return
            self._launch(b)
            self._next_bucket += 1
        self._finish()

    def _launch(self, bucket: _Bucket) -> None:
        for (_, p), lo, hi in zip(bucket.params, bucket.offsets, bucket.offsets[1:], strict=False):
            g = p.grad
            if g is None:  # unused here, maybe used on another rank: contribute zeros
                bucket.buffer[lo:hi] = 0
            else:
                bucket.buffer[lo:hi] = np.ravel(g._data)
        bucket.request = self._comm.Iallreduce(self._MPI.IN_PLACE, bucket.buffer, op=self._MPI.SUM)

    def _finish(self) -> None:
        globally_unused: set[int] = set()
        if self.find_unused_parameters:
            # which parameters some rank used (a separate, small reduction, as torch's
            # local_used_map): a zero sum cannot tell "unused everywhere" from "zero gradient"
            used = np.array([id(p) not in self._unused for _, p in self._params], dtype=np.int32)
            self._comm.Allreduce(self._MPI.IN_PLACE, used, op=self._MPI.MAX)
            globally_unused = {id(p) for (_, p), u in zip(self._params, used, strict=True) if not u}
        self._MPI.Request.Waitall([b.request for b in self._buckets])
        for b in self._buckets:
            b.request = None
            b.buffer /= self._world_size
            for (_, p), lo, hi in zip(b.params, b.offsets, b.offsets[1:], strict=False):
                if id(p) in globally_unused:
                    continue  # no rank used it: its .grad stays as it was (None), as in torch
                value = b.buffer[lo:hi].reshape(p.shape)
                g = p.grad
                if g is None:
                    p.grad = Tensor._make(value.copy())
                elif isinstance(g._data, np.ndarray) and g._data.flags.writeable:
                    np.copyto(g._data, value)
                else:
                    p.grad = Tensor._make(value.copy())
        self._started = False
        self._sync_now = False  # a second backward of the same forward reduces nothing again

    # -- the rest of the torch API --------------------------------------------------------------
    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, forwards set up no reduction: their backwards only accumulate .grad locally.
        The first backward of a forward outside reduces the accumulated gradients."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def extra_repr(self) -> str:
        return (
            f"world_size={self._world_size}, buckets={len(self._buckets)}, "
            f"bucket_cap_mb={self.bucket_cap_mb}, "
            f"find_unused_parameters={self.find_unused_parameters}"
        )


def _tensors_in(out: Any) -> list[Tensor]:
    """The tensors in a forward's result (a tensor, or tuples, lists and dicts of them)."""
    found, stack = [], [out]
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            found.append(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return found
