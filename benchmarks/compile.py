"""cr.compile against eager chainrule, PyTorch eager, JAX `jit` and micrograd (issue 13).

`python -m benchmarks.compile [--rounds N] [--threads T] [--only a,b,c,d,e]`. Groups:

* (a) the MLP 784-256-256-10 training step at batch 128 (float32, cross-entropy, SGD lr 0.01),
  in training samples/s: eager chainrule, the same step under `cr.compile`, PyTorch eager, the
  step under `jax.jit` (params donated, `block_until_ready` each step), and the step's eight
  matrix products alone through NumPy (the GEMM-bound limit);
* (b) the same five for the MLP 784-1024-1024-10 at batch 512;
* (c) eager per-op overhead: a chain of 1,000 multiplies on a (16,) tensor, forward and
  backward, in us per op, for chainrule and PyTorch;
* (d) the seed's scalar graph f(x) = a3 sigmoid(alpha a1 x + (1 - alpha) a2 x) with its
  backward, over 2,000 values of x, in ms: eager and compiled chainrule run one function of x
  (the leaves a1, a2, a3 made once, their .grad accumulating over the 2,000 calls, x a 0-d
  float64 tensor), micrograd (0.1.0, pure-Python floats) rebuilds its graph per x as
  `benchmarks/workloads.py` does;
* (e) peak memory of one (b) training step, eager and compiled chainrule, in MiB: the peak of
  tracemalloc's traced memory during the step above the traced memory just before it (NumPy
  reports its array buffers to tracemalloc). PyTorch and XLA allocate outside tracemalloc's
  view, so they are not measured here.

Measured as benchmarks/NOTES.md asks: each (library, workload) runs in its own fresh process
(BLAS threads pinned by --threads through OMP/OPENBLAS/MKL_NUM_THREADS; with --threads 1 the
JAX child gets XLA's one-thread XLA_FLAGS and, since those alone leave jax 0.10 using two cores,
a one-CPU affinity; with more threads XLA keeps its own default, which may use every core), the
processes alternate in a rotating order over --rounds rounds, and the median with the spread
(lowest-highest) over the rounds is printed; each process reports the
median of its repeats after warm-up (the first compiled call, cr.compile's trace or XLA's
compilation, is warm-up). The "targets" table computes the issue's ratios from the medians. A
peer that is not importable (torch, jax, micrograd) is skipped with a printed line, and every
cr.compile warning a child raised (a compiled step that fell back to eager) is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import warnings
from collections.abc import Callable

from benchmarks.compile_workloads import (
    XLA_ONE_THREAD,
    chainrule_scalar,
    jax_mlp,
    peak_step_bytes,
)
from benchmarks.distributed import _env
from benchmarks.workloads import (
    chainrule_chain,
    chainrule_step,
    gemm_bound_step,
    median_time,
    micrograd_scalar,
    torch_chain,
    torch_step,
)

SIZES_A, BATCH_A = [784, 256, 256, 10], 128
SIZES_B, BATCH_B = [784, 1024, 1024, 10], 512
CHAIN = 1000
GROUPS = "abcde"
# How each group's seconds (bytes for (e)) become its unit, and the unit's name.
UNITS: dict[str, tuple[str, Callable[[float], float]]] = {
    "a": ("samples/s", lambda t: BATCH_A / t),
    "b": ("samples/s", lambda t: BATCH_B / t),
    "c": ("us/op", lambda t: t / CHAIN * 1e6),
    "d": ("ms", lambda t: t * 1e3),
    "e": ("MiB", lambda n: n / 2**20),
}


def _mlp_group(g: str, sizes: list[int], batch: int, repeats: int) -> dict:
    return {
        f"{g}/chainrule eager": (lambda: chainrule_step(sizes, batch, False), repeats),
        f"{g}/chainrule compiled": (lambda: chainrule_step(sizes, batch, True), repeats),
        f"{g}/torch eager": (lambda: torch_step(sizes, batch), repeats),
        f"{g}/jax jit": (lambda: jax_mlp(sizes, batch), repeats),
        f"{g}/gemm bound": (lambda: gemm_bound_step(sizes, batch), repeats),
    }


# name ("group/label"): (factory, repeats per process); (e)'s repeats are measured steps.
WORKLOADS: dict[str, tuple[Callable[[], Callable[[], object]], int]] = {
    **_mlp_group("a", SIZES_A, BATCH_A, 40),
    **_mlp_group("b", SIZES_B, BATCH_B, 15),
    "c/chainrule eager": (lambda: chainrule_chain(CHAIN), 20),
    "c/torch eager": (lambda: torch_chain(CHAIN), 20),
    "d/chainrule eager": (lambda: chainrule_scalar(False), 5),
    "d/chainrule compiled": (lambda: chainrule_scalar(True), 5),
    "d/micrograd": (micrograd_scalar, 5),
    "e/chainrule eager": (lambda: chainrule_step(SIZES_B, BATCH_B, False), 3),
    "e/chainrule compiled": (lambda: chainrule_step(SIZES_B, BATCH_B, True), 3),
}

# The targets: (label, group, numerator, denominator, bound, higher ratio is better).
TARGETS = [
    ("(a) compiled / PyTorch eager", "a", "chainrule compiled", "torch eager", 1.5, True),
    ("(a) compiled / GEMM bound", "a", "chainrule compiled", "gemm bound", 0.85, True),
    ("(a) compiled / JAX jit", "a", "chainrule compiled", "jax jit", 1.0, True),
    ("(a) eager / PyTorch eager", "a", "chainrule eager", "torch eager", 1.2, True),
    ("(b) compiled / GEMM bound", "b", "chainrule compiled", "gemm bound", 0.95, True),
    ("(c) per-op time / PyTorch's", "c", "chainrule eager", "torch eager", 0.6, False),
    ("(d) compiled time / micrograd's", "d", "chainrule compiled", "micrograd", 0.5, False),
    ("(e) compiled peak / eager peak", "e", "chainrule compiled", "chainrule eager", 1.0, False),
]


def _peer(name: str) -> str | None:
    """The optional module a workload needs, if any."""
    label = name.split("/", 1)[1]
    return {"torch eager": "torch", "jax jit": "jax", "micrograd": "micrograd"}.get(label)


def pin_one_core() -> None:
    """Restrict this process to one of its CPUs. XLA_FLAGS alone does not keep jax 0.10's CPU
    client on one thread (measured: 1.9-2.0 CPU-seconds per second of the (b) step with the
    flags, 1.00 with the affinity), so with --threads 1 the JAX child is pinned this way too."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def child(name: str, threads: int) -> None:
    """Run one workload and print its value with the cr.compile warnings it raised: a compiled
    step that fell back to eager would otherwise be timed as "compiled" without a word."""
    factory, repeats = WORKLOADS[name]
    if _peer(name) == "jax" and threads == 1:
        pin_one_core()  # before jax is imported (by the factory), so its pools see one CPU
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # each distinct warning once, so timing is unaffected
        if name.startswith("e/"):
            value = peak_step_bytes(factory(), warmup=3, repeats=repeats)
        else:
            value = median_time(factory(), repeats, warmup=3)
    notes = sorted({str(w.message) for w in caught if "cr.compile" in str(w.message)})
    print(json.dumps({"value": value, "notes": notes}))


def child_env(name: str, threads: int) -> dict[str, str]:
    """The child's environment: BLAS threads pinned, and XLA's too when threads == 1 (the flags
    are read when jax is imported, so they must be there when the child starts)."""
    env = _env(threads)
    if _peer(name) == "jax" and threads == 1:
        env["XLA_FLAGS"] = " ".join(f for f in (env.get("XLA_FLAGS", ""), XLA_ONE_THREAD) if f)
    return env


def measure(name: str, threads: int) -> tuple[float, list[str]]:
    """Seconds per call (bytes for (e)) reported by a fresh process running `name`, and the
    cr.compile warnings it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.compile", "--child", name, "--threads", str(threads)],
        capture_output=True, text=True, env=child_env(name, threads), timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise RuntimeError(f"{name}: child exited with {done.returncode}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return float(found["value"]), list(found["notes"])


def _available(module: str | None) -> bool:
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _ratio(values: dict[str, list[float]], group: str, num: str, den: str) -> float | None:
    a, b = values.get(f"{group}/{num}"), values.get(f"{group}/{den}")
    if not a or not b:
        return None
    return statistics.median(a) / statistics.median(b)


def report(values: dict[str, list[float]], eager_only: frozenset[str] = frozenset()) -> list[str]:
    """Markdown lines: one table per group (median, spread), then the targets table; a target
    whose compiled workload is in `eager_only` (cr.compile fell back) says so."""
    lines: list[str] = []
    for g in GROUPS:
        names = [n for n in values if n.startswith(g + "/")]
        if not names:
            continue
        unit = UNITS[g][0]
        lines += ["", f"| ({g}) workload | median {unit} | spread (min-max) |"]
        lines.append("| --- | --- | --- |")
        for n in names:
            vs = values[n]
            fmt = ",.0f" if unit == "samples/s" else ".2f"
            lines.append(
                f"| {n} | {statistics.median(vs):{fmt}} | {min(vs):{fmt}}-{max(vs):{fmt}} |"
            )
    rows = []
    for label, g, num, den, bound, higher in TARGETS:
        r = _ratio(values, g, num, den)
        if r is None:
            continue
        met = r >= bound if higher else r <= bound
        need = f"{'>=' if higher else '<='} {bound:g}"
        if label.startswith("(a) compiled / JAX"):
            need = "> 1 (ahead)"
            met = r > 1.0
        verdict = "met" if met else "missed"
        if {f"{g}/{num}", f"{g}/{den}"} & eager_only:
            verdict += " (compiled ran eagerly)"
        rows.append(f"| {label} | {r:.2f} | {need} | {verdict} |")
    if rows:
        lines += ["", "| target | ratio of medians | needed | |", "| --- | --- | --- | --- |"]
        lines += rows
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compile", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", default=",".join(GROUPS), help="groups, e.g. a,b,e")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads)
        return
    groups = {g.strip() for g in args.only.split(",") if g.strip()}
    unknown = groups - set(GROUPS)
    if unknown:
        parser.error(f"unknown groups {sorted(unknown)}; choose from {','.join(GROUPS)}")
    peers = {_peer(n) for n in WORKLOADS if n[0] in groups} - {None}
    missing = {p for p in peers if not _available(p)}
    for peer in sorted(missing):
        print(f"skipping {peer}: not importable")
    names = [n for n in WORKLOADS if n[0] in groups and _peer(n) not in missing]
    if args.threads > 1 and any(_peer(n) == "jax" for n in names):
        print(f"note: XLA is not pinned to {args.threads} threads; it uses its default")
    raw: dict[str, list[float]] = {n: [] for n in names}
    notes: dict[str, set[str]] = {n: set() for n in names}
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]  # rotate who goes first
        for name in order:
            value, said = measure(name, args.threads)
            raw[name].append(value)
            notes[name].update(said)
    values = {n: [UNITS[n[0]][1](v) for v in vs] for n, vs in raw.items()}
    print(f"rounds={args.rounds} threads={args.threads} groups={''.join(sorted(groups))}")
    eager_only = frozenset(n for n in names if any("running eagerly" in m for m in notes[n]))
    print("\n".join(report(values, eager_only)))
    for name in names:
        for note in sorted(notes[name]):
            print(f"warning: {name}: {note}")
    print(json.dumps({n: statistics.median(v) for n, v in raw.items()}))


if __name__ == "__main__":
    main()
