"""Data-parallel training over MPI: `python -m benchmarks.distributed [--quick]`.

Measured here (float32, medians after warm-up, each process limited to its BLAS thread count):
  (1) cr.distributed.all_reduce time against gradient size, 1e4 .. 1e7 float32, on 2 ranks
  (2) one training step of the MLP 784-1024-1024-10, global batch 512 (SGD, cross-entropy):
      1 process 1 thread; 2 ranks x 1 thread with DistributedDataParallel (batch 256 each);
      1 process 2 threads
Modelled from those numbers: step time and efficiency for 2..64 ranks on a cluster, with ring
all-reduce under the alpha-beta model (defaults 10 Gb/s, 20 us); the assumptions are printed.
The Markdown table goes to the "Distributed" section of benchmarks/RESULTS.md (replaced if there,
else appended; the other sections are left as they are).

Needs mpiexec and mpi4py (`pip install -e ".[distributed]"`). Thread counts are set through
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS in fresh processes.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = [784, 1024, 1024, 10]
BATCH = 512
ALLREDUCE_SIZES = [10_000, 100_000, 1_000_000, 10_000_000]
MODEL_RANKS = [2, 4, 8, 16, 32, 64]


def _timings(fn, repeats: int, warmup: int = 2) -> float:
    from benchmarks.workloads import median_time

    return median_time(fn, repeats, warmup)


def _ddp_step(batch: int, ddp: bool):
    """One training step of the MLP on `batch` rows (this rank's share), with or without DDP."""
    import chainrule as cr
    from benchmarks.workloads import mlp_data
    from chainrule.nn import functional as F

    cr.manual_seed(0)
    model = cr.nn.MLP(SIZES)
    if ddp:
        model = cr.nn.parallel.DistributedDataParallel(model)
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    x, y = mlp_data(SIZES, batch, seed=cr.distributed.get_rank() if ddp else 0)
    xt, yt = cr.from_numpy(x), cr.from_numpy(y)

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        opt.step()

    return step


def worker(out: str, repeats: int) -> None:
    """Under mpiexec: (1) all-reduce sweep and (2) the DDP step; rank 0 writes JSON to `out`."""
    import chainrule as cr

    cr.distributed.init_process_group("mpi")
    rank, world = cr.distributed.get_rank(), cr.distributed.get_world_size()
    found: dict = {"world_size": world, "allreduce_s": {}}
    for n in ALLREDUCE_SIZES:
        t = cr.zeros(n)

        def reduce(t=t) -> None:
            cr.distributed.all_reduce(t)

        cr.distributed.barrier()
        found["allreduce_s"][str(n)] = _timings(
            reduce, repeats if n < 10**7 else max(3, repeats // 3)
        )
    step = _ddp_step(BATCH // world, ddp=True)
    cr.distributed.barrier()
    found["ddp_step_s"] = _timings(step, repeats)
    local = _ddp_step(BATCH // world, ddp=False)  # the same share without communication
    cr.distributed.barrier()
    found["local_step_s"] = _timings(local, repeats)
    times = [None] * world
    cr.distributed.all_gather_object(times, found["ddp_step_s"])
    found["ddp_step_s"] = max(times)  # a step ends when the slowest rank ends
    if rank == 0:
        Path(out).write_text(json.dumps(found))
    cr.distributed.destroy_process_group()


def mpiexec_command(n: int) -> list[str]:
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise SystemExit("benchmarks.distributed: needs mpiexec (apt-get install openmpi-bin)")
    command = [mpiexec, "-n", str(n)]
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in version or "OpenRTE" in version:
        command += ["--oversubscribe", "--bind-to", "none"]
        if os.geteuid() == 0:
            command.append("--allow-run-as-root")
    return command


def single_process(threads: int, batches: list[int], repeats: int) -> dict[int, float]:
    """Step time of the MLP without DDP at each batch size, in a fresh process whose BLAS has
    `threads` threads (set by the environment before NumPy loads)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "single.json"
        env = _env(threads)
        subprocess.run(
            [
                *(sys.executable, "-m", "benchmarks.distributed", "--single", str(out)),
                *("--repeats", str(repeats), "--batches", ",".join(map(str, batches))),
            ],
            check=True,
            env=env,
            timeout=900,
        )
        return {int(b): t for b, t in json.loads(out.read_text()).items()}


def _env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")])
    return env


def ring_allreduce_s(ranks: int, nbytes: float, bandwidth_bps: float, latency_s: float) -> float:
    """Ring all-reduce: 2 (p - 1) steps (reduce-scatter, then all-gather), each sending one
    p-th of the buffer and paying one latency."""
    return 2 * (ranks - 1) * (latency_s + nbytes / ranks / (bandwidth_bps / 8))


def model_table(
    compute: dict[int, float], nbytes: float, bandwidth_gbps: float, latency_us: float
) -> list[str]:
    bw, lat = bandwidth_gbps * 1e9, latency_us * 1e-6
    rows = [
        "| ranks | all-reduce (ms) | strong: batch/rank | strong: step (ms) | strong: eff. "
        "| weak: step (ms) | weak: eff. |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    t1 = compute[BATCH]
    for p in MODEL_RANKS:
        comm = ring_allreduce_s(p, nbytes, bw, lat)
        strong = compute[BATCH // p] + comm
        weak = t1 + comm
        rows.append(
            f"| {p} | {comm * 1e3:.2f} | {BATCH // p} | {strong * 1e3:.2f} | "
            f"{t1 / (p * strong):.0%} | {weak * 1e3:.2f} | {t1 / weak:.0%} |"
        )
    return rows


def write_section(path: Path, lines: list[str]) -> None:
    """Replace (or append) the '## Distributed' section, leaving the others as they are."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    section = "\n".join(lines).rstrip() + "\n"
    start = text.find("\n## Distributed")
    if start < 0:
        text = text.rstrip() + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        tail = text[end:] if end >= 0 else ""
        text = text[: start + 1] + section + tail
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--bandwidth-gbps", type=float, default=10.0)
    parser.add_argument("--latency-us", type=float, default=20.0)
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--worker", metavar="JSON", help=argparse.SUPPRESS)
    parser.add_argument("--single", metavar="JSON", help=argparse.SUPPRESS)
    parser.add_argument("--batches", default=str(BATCH), help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.quick else 15)
    if args.worker:
        worker(args.worker, repeats)
        return
    if args.single:
        batches = [int(b) for b in args.batches.split(",")]
        times = {b: _timings(_ddp_step(b, ddp=False), repeats) for b in batches}
        Path(args.single).write_text(json.dumps(times))
        return

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ddp.json"
        env = _env(1)
        command = [*mpiexec_command(2), sys.executable, "-m", "benchmarks.distributed"]
        subprocess.run(
            [*command, "--worker", str(out), "--repeats", str(repeats)],
            check=True,
            env=env,
            timeout=900,
        )
        measured = json.loads(out.read_text())
    batches = sorted({BATCH // p for p in [1, *MODEL_RANKS]}, reverse=True)
    one_thread = single_process(1, batches, repeats)
    two_threads = single_process(2, [BATCH], repeats)[BATCH]
    n_params = sum(a * b + b for a, b in itertools.pairwise(SIZES))
    nbytes = 4 * n_params

    date = datetime.date.today().isoformat()
    lines = [
        "## Distributed",
        "",
        f"Measured {date} with `python -m benchmarks.distributed{' --quick' if args.quick else ''}`"
        f" on {os.cpu_count()} cores (Open MPI, shared memory between the ranks; medians; "
        f"load average {os.getloadavg()[0]:.1f} at the end: other work on the machine slows "
        "every row).",
        "",
        "All-reduce (sum, in place) of a float32 tensor, 2 ranks, 1 BLAS thread each:",
        "",
        "| elements | MiB | time (ms) | algorithm bandwidth (GB/s) |",
        "| --- | --- | --- | --- |",
    ]
    for n in ALLREDUCE_SIZES:
        t = measured["allreduce_s"][str(n)]
        lines.append(f"| {n:.0e} | {4 * n / 2**20:.2f} | {t * 1e3:.3f} | {4 * n / t / 1e9:.2f} |")
    ddp, local = measured["ddp_step_s"], measured["local_step_s"]
    lines += [
        "",
        f"Training step, MLP 784-1024-1024-10 ({n_params:,} parameters, {nbytes / 2**20:.1f} MiB "
        "of float32 gradients), global batch 512, SGD:",
        "",
        "| setup | step (ms) | samples/s | speed-up vs 1 process 1 thread |",
        "| --- | --- | --- | --- |",
    ]
    for name, t in [
        ("1 process, 1 thread", one_thread[BATCH]),
        ("2 ranks x 1 thread, DDP (256 each)", ddp),
        ("  (the same 256-row step without DDP)", local),
        ("1 process, 2 threads", two_threads),
    ]:
        lines.append(
            f"| {name} | {t * 1e3:.1f} | {BATCH / t:,.0f} | {one_thread[BATCH] / t:.2f}x |"
        )
    lines += [
        "",
        f"Model: a cluster of 2..64 ranks, ring all-reduce at {args.bandwidth_gbps:g} Gb/s and "
        f"{args.latency_us:g} us per message. Assumptions: one rank per node, each computing "
        "as fast as one thread here (the measured 1-thread step time at its batch size, "
        "optimizer step included); all-reduce time = 2 (p - 1) (latency + S / (p bandwidth)) "
        f"for S = {nbytes / 2**20:.1f} MiB of gradients, once per step; no overlap of "
        "communication with backward (DDP's buckets can hide part of it, so this is an upper "
        "bound on step time); no stragglers, no contention. Strong scaling keeps the global "
        "batch at 512 (512 / p per rank); weak scaling gives each rank 512. Efficiency = "
        "T1(512) / (p T(p)) (strong), T1(512) / T(p) (weak).",
        "",
        *model_table(one_thread, nbytes, args.bandwidth_gbps, args.latency_us),
        "",
    ]
    print("\n".join(lines))
    write_section(Path(args.out), lines)


if __name__ == "__main__":
    main()
