"""cr.compile against eager chainrule, PyTorch eager and micrograd: `python -m benchmarks.compile`.

Workloads (issue 13):

* (a) the MLP 784-256-256-10 training step at batch 128 (float32, cross-entropy, SGD), in
  training samples/s, for eager chainrule, the same step under `cr.compile`, PyTorch eager, and
  the step's eight matrix products alone through NumPy (the GEMM-bound limit);
* (d) the seed's scalar graph f(x) = a3 sigmoid(alpha a1 x + (1 - alpha) a2 x) with its
  backward, over 2,000 values of x, in ms: eager and compiled chainrule run one function of x
  (the leaves a1, a2, a3 made once, their .grad accumulating over the 2,000 calls, x a 0-d
  float64 tensor), micrograd (0.1.0, pure-Python floats) rebuilds its graph per x as
  `benchmarks/workloads.py` does.

Measured as benchmarks/NOTES.md asks: each (library, workload) runs in its own fresh process
(BLAS threads pinned by --threads), the processes alternate in a rotating order over --rounds
rounds, and the median with the spread (lowest-highest) over the rounds is printed; each process
reports the median of its repeats after warm-up (the first compiled call, the trace, is warm-up).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Callable

import numpy as np

from benchmarks.distributed import _env
from benchmarks.workloads import (
    A1,
    A2,
    A3,
    ALPHA,
    XS,
    gemm_bound_step,
    median_time,
    micrograd_scalar,
    mlp_data,
    torch_step,
)

SIZES, BATCH = [784, 256, 256, 10], 128


def _mlp(compiled: bool) -> Callable[[], object]:
    import chainrule as cr
    from chainrule.nn import functional as F

    cr.manual_seed(0)
    model = cr.nn.MLP(SIZES)
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    x, y = mlp_data(SIZES, BATCH)
    xt, yt = cr.from_numpy(x), cr.from_numpy(y)

    def step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = cr.compile(step) if compiled else step
    return lambda: run(xt, yt)


def _scalar(compiled: bool) -> Callable[[], object]:
    import chainrule as cr

    a1, a2, a3 = (cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (A1, A2, A3))

    def f(x: cr.Tensor) -> None:
        y = a3 * cr.sigmoid(ALPHA * a1 * x + (1 - ALPHA) * a2 * x)
        y.backward()

    g = cr.compile(f) if compiled else f
    xs = [cr.tensor(v, dtype=cr.float64) for v in XS]

    def run() -> None:
        for x in xs:
            g(x)

    return run


WORKLOADS: dict[str, tuple[str, Callable[[], Callable[[], object]], int]] = {
    # name: (group, factory, repeats per process)
    "mlp chainrule eager": ("a", lambda: _mlp(False), 40),
    "mlp chainrule compiled": ("a", lambda: _mlp(True), 40),
    "mlp torch eager": ("a", lambda: torch_step(SIZES, BATCH), 40),
    "mlp gemm bound": ("a", lambda: gemm_bound_step(SIZES, BATCH), 40),
    "scalar chainrule eager": ("d", lambda: _scalar(False), 5),
    "scalar chainrule compiled": ("d", lambda: _scalar(True), 5),
    "scalar micrograd": ("d", micrograd_scalar, 5),
}


def child(name: str) -> None:
    _, factory, repeats = WORKLOADS[name]
    print(json.dumps({"seconds": median_time(factory(), repeats, warmup=3)}))


def measure(name: str, threads: int) -> float:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.compile", "--child", name],
        capture_output=True, text=True, env=_env(threads), check=True, timeout=600,
    )  # fmt: skip
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def _available(name: str) -> bool:
    module = {"mlp torch eager": "torch", "scalar micrograd": "micrograd"}.get(name)
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compile", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    names = [n for n in WORKLOADS if _available(n)]
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]  # rotate who goes first
        for name in order:
            times[name].append(measure(name, args.threads))
    print(f"rounds={args.rounds} threads={args.threads}")
    print("| workload | median | spread |")
    print("| --- | --- | --- |")
    for name in names:
        ts = times[name]
        if WORKLOADS[name][0] == "a":
            rates = [BATCH / t for t in ts]
            print(f"| {name} | {statistics.median(rates):,.0f} samples/s | "
                  f"{min(rates):,.0f}-{max(rates):,.0f} |")  # fmt: skip
        else:
            ms = [t * 1e3 for t in ts]
            print(f"| {name} | {statistics.median(ms):.1f} ms | {min(ms):.1f}-{max(ms):.1f} |")
    print(json.dumps({n: float(np.median(t)) for n, t in times.items()}))


if __name__ == "__main__":
    main()
