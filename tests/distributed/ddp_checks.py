"""Run under `mpiexec -n 2`: the DDP and collective checks; rank 0 writes the findings as JSON
to argv[1] (tests/distributed/test_distributed.py asserts on them)."""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np

import chainrule as cr
from chainrule.distributed import ReduceOp
from chainrule.nn import functional as F
from chainrule.nn.parallel import DistributedDataParallel as DDP

STEPS, BATCH, SIZES = 50, 32, [8, 16, 16, 3]


def data(steps: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1234)
    x = rng.standard_normal((steps, BATCH, SIZES[0]))
    y = rng.integers(0, SIZES[-1], (steps, BATCH))
    return x, y


def flat(model: cr.nn.Module) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def same_on_all_ranks(array: np.ndarray) -> bool:
    digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
    digests = [None] * cr.distributed.get_world_size()
    cr.distributed.all_gather_object(digests, digest)
    return len(set(digests)) == 1


def reference(steps: int) -> np.ndarray:
    """One process, the whole batch of each step."""
    x, y = data(steps)
    cr.manual_seed(0)
    model = cr.nn.MLP(SIZES)
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for s in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(cr.tensor(x[s])), cr.tensor(y[s])).backward()
        opt.step()
    return flat(model)


def local_rows(rank: int, world: int) -> slice:
    share = BATCH // world
    return slice(rank * share, (rank + 1) * share)


def data_parallel(steps: int, bucket_cap_mb: float, micro_batches: int = 1) -> dict:
    """Each rank its share of every batch, optionally in micro-batches under no_sync."""
    rank, world = cr.distributed.get_rank(), cr.distributed.get_world_size()
    x, y = data(steps)
    cr.manual_seed(0)
    reference_init = flat(cr.nn.MLP(SIZES))
    cr.manual_seed(
        0 if rank == 0 else 100 + rank
    )  # other ranks start elsewhere: DDP must take rank 0's
    model = DDP(cr.nn.MLP(SIZES), bucket_cap_mb=bucket_cap_mb)
    broadcast_ok = bool(np.array_equal(flat(model.module), reference_init))
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    identical_steps, local_grads_differ = 0, True
    rows = local_rows(rank, world)
    for s in range(steps):
        opt.zero_grad()
        xs, ys = (
            np.array_split(x[s][rows], micro_batches),
            np.array_split(y[s][rows], micro_batches),
        )
        for m, (xm, ym) in enumerate(zip(xs, ys, strict=True)):
            last = m == micro_batches - 1
            # the sum over a micro-batch / the rank's share: accumulated, the rank's mean
            with cr.enable_grad() if last else model.no_sync():
                out = model(cr.tensor(xm))
                loss = F.cross_entropy(out, cr.tensor(ym), reduction="sum") / (BATCH // world)
                loss.backward()
            if not last and s == 0:  # inside no_sync nothing was exchanged
                grads = np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])
                local_grads_differ = local_grads_differ and not same_on_all_ranks(grads)
        opt.step()
        identical_steps += same_on_all_ranks(flat(model))
    return {
        "params": flat(model.module),
        "buckets": len(model._buckets),
        "identical_steps": identical_steps,
        "broadcast_ok": broadcast_ok,
        "local_grads_differ": local_grads_differ,
        "state_dict_keys": list(model.state_dict()),
    }


class TwoHeads(cr.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = cr.nn.Linear(4, 2)
        self.b = cr.nn.Linear(4, 2)

    def forward(self, x: cr.Tensor, use_b: bool) -> cr.Tensor:
        return self.a(x) + self.b(x) if use_b else self.a(x)


def unused_parameters() -> dict:
    rank = cr.distributed.get_rank()
    rng = np.random.default_rng(7 + rank)
    x = cr.tensor(rng.standard_normal((5, 4)))
    found: dict = {}

    cr.manual_seed(0)
    model = DDP(TwoHeads(), find_unused_parameters=True)
    model(x, use_b=(rank == 0)).sum().backward()  # b is used on rank 0 only
    b_grad = model.module.b.weight.grad.numpy().copy()
    found["b_grad_same"] = same_on_all_ranks(b_grad)
    local = (x.numpy().sum(0)[None, :] * np.ones((2, 1))) if rank == 0 else np.zeros((2, 4))
    gathered = [None, None]
    cr.distributed.all_gather_object(gathered, local)
    found["b_grad_error"] = float(np.abs(b_grad - (gathered[0] + gathered[1]) / 2).max())
    model.zero_grad()
    model(x, use_b=False).sum().backward()  # b unused everywhere: its grad stays None
    found["b_grad_none_when_unused_everywhere"] = model.module.b.weight.grad is None
    found["a_grad_set"] = model.module.a.weight.grad is not None

    cr.manual_seed(0)
    model = DDP(TwoHeads(), bucket_cap_mb=1e-6)
    model(x, use_b=False).sum().backward()
    try:
        model(x, use_b=False)
        found["unused_error"] = None
    except RuntimeError as exc:
        found["unused_error"] = str(exc)
    return found


def tied_weights() -> float:
    """A layer applied twice (its weight gets two gradient contributions per backward): the
    averaged gradient must be the whole batch's, not one contribution's."""
    rank, world = cr.distributed.get_rank(), cr.distributed.get_world_size()
    x = cr.tensor(np.random.default_rng(5).standard_normal((BATCH, 4)))

    def build() -> cr.nn.Module:
        cr.manual_seed(0)
        layer = cr.nn.Linear(4, 4)
        return cr.nn.Sequential(layer, cr.nn.Tanh(), layer)

    whole = build()
    whole(x).square().mean().backward()
    model = DDP(build())
    model(x[local_rows(rank, world)]).square().mean().backward()
    return float(
        max(
            np.abs(p.grad.numpy() - q.grad.numpy()).max()
            for p, q in zip(model.module.parameters(), whole.parameters(), strict=True)
        )
    )


def collectives() -> dict:
    rank, world = cr.distributed.get_rank(), cr.distributed.get_world_size()
    found = {}
    for op in ReduceOp:
        if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR):
            t = cr.tensor([rank + 1, 6, 3 * rank], dtype=cr.int64)
        else:
            t = cr.tensor([rank + 1.0, -2.0 * rank, 0.5], dtype=cr.float64)
        version = t._version
        cr.distributed.all_reduce(t, op=op)
        found[op.name] = t.tolist()
        found[op.name + "_version_bumped"] = t._version > version
    base = cr.tensor(np.arange(12.0).reshape(3, 4) * (rank + 1))
    view = base[:, ::2]  # not contiguous: reduced in a copy, written back into base's memory
    cr.distributed.all_reduce(view)
    found["view_base"] = base.tolist()
    scalar = cr.tensor(float(rank + 1))
    cr.distributed.all_reduce(scalar, op=ReduceOp.AVG)
    found["scalar_avg"] = scalar.item()
    b = cr.tensor([10.0 * (rank + 1), 1.0])
    cr.distributed.broadcast(b, src=1)
    found["broadcast"] = b.tolist()
    out = [cr.zeros(2, dtype=cr.float64) for _ in range(world)]
    cr.distributed.all_gather(out, cr.tensor([rank, rank * 10.0], dtype=cr.float64))
    found["all_gather"] = [t.tolist() for t in out]
    found["world_size"] = world
    found["errors"] = {}
    misuses = {
        "all_gather_shapes": lambda: cr.distributed.all_gather(
            [cr.zeros(3, dtype=cr.float64), cr.zeros(2, dtype=cr.float64)],
            cr.zeros(2, dtype=cr.float64),
        ),
        "all_gather_count": lambda: cr.distributed.all_gather([cr.zeros(2)], cr.zeros(2)),
        "avg_of_ints": lambda: cr.distributed.all_reduce(cr.tensor([1, 2]), op=ReduceOp.AVG),
        "broadcast_src": lambda: cr.distributed.broadcast(cr.zeros(2), src=world),
        "op_not_reduceop": lambda: cr.distributed.all_reduce(cr.zeros(2), op="sum"),
    }
    for name, misuse in misuses.items():
        try:
            misuse()
            found["errors"][name] = None
        except Exception as exc:
            kinds = [
                k.__name__ for k in (ValueError, TypeError, RuntimeError) if isinstance(exc, k)
            ]
            found["errors"][name] = [kinds, str(exc)]
    return found


def buffers_broadcast() -> bool:
    rank = cr.distributed.get_rank()
    module = cr.nn.Linear(2, 2)
    module.register_buffer("running", cr.tensor([float(rank), 5.0 + rank]))
    DDP(module)
    return same_on_all_ranks(module.running.numpy()) and module.running.tolist() == [0.0, 5.0]


def main() -> None:
    cr.set_default_dtype(cr.float64)
    cr.distributed.init_process_group("mpi")
    rank = cr.distributed.get_rank()
    ref = reference(STEPS)
    runs = {cap: data_parallel(STEPS, cap) for cap in (25, 1e-6, 1e3)}
    accumulated = data_parallel(10, 25, micro_batches=2)
    findings = {
        "steps": STEPS,
        "ranks": cr.distributed.get_world_size(),
        "rel_error": {
            str(cap): float(np.abs(r["params"] - ref).max() / np.abs(ref).max())
            for cap, r in runs.items()
        },
        "buckets": {str(cap): r["buckets"] for cap, r in runs.items()},
        "identical_steps": {str(cap): r["identical_steps"] for cap, r in runs.items()},
        "broadcast_ok": all(r["broadcast_ok"] for r in runs.values()),
        "tiny_equals_default": bool(np.array_equal(runs[1e-6]["params"], runs[25]["params"])),
        "huge_equals_default": bool(np.array_equal(runs[1e3]["params"], runs[25]["params"])),
        "no_sync_rel_error": float(
            np.abs(accumulated["params"] - reference(10)).max() / np.abs(reference(10)).max()
        ),
        "no_sync_local_grads_differ": accumulated["local_grads_differ"],
        "state_dict_keys": runs[25]["state_dict_keys"],
        "unused": unused_parameters(),
        "collectives": collectives(),
        "buffers_broadcast": buffers_broadcast(),
        "tied_weights_error": tied_weights(),
    }
    cr.distributed.barrier()
    if rank == 0:
        with open(sys.argv[1], "w") as fh:
            json.dump(findings, fh, indent=1)
    cr.distributed.destroy_process_group()


if __name__ == "__main__":
    cr.distributed.run_main(main)
