"""A small CNN's training step, chainrule vs PyTorch (CPU): `python -m benchmarks.cnn`.

Workload (float32, fixed seeds): two 3x3 convolutions (1 -> 8 -> 16 channels, padding 1), each
followed by ReLU and 2x2 max pooling, then a linear head 784 -> 10; batch 64 of 1x28x28,
softmax cross-entropy, SGD. Reported: training samples/s.

Measured as benchmarks/NOTES.md asks: each library runs in its own fresh process (BLAS and
OpenMP threads pinned to --threads through the environment, as benchmarks/distributed.py does),
the processes alternate (chainrule first in even rounds, PyTorch first in odd ones), and the
median with the spread (lowest-highest) over the rounds is printed; each process reports the
median step time of its repeats after warm-up. `--profile` prints chainrule's cProfile instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

import numpy as np

from benchmarks.distributed import _env
from benchmarks.workloads import median_time

BATCH = 64


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((BATCH, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, BATCH)


def chainrule_step() -> object:
    import chainrule as cr

    cr.manual_seed(0)
    nn = cr.nn
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
    )  # fmt: skip
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    x, y = data()
    xt, yt = cr.from_numpy(x), cr.from_numpy(y)

    def step() -> None:
        opt.zero_grad()
        cr.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()

    return step


def torch_step() -> object:
    import torch

    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
    )  # fmt: skip
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = data()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> None:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()

    return step


def child(library: str, repeats: int) -> None:
    step = chainrule_step() if library == "chainrule" else torch_step()
    print(json.dumps({"seconds": median_time(step, repeats, warmup=5)}))  # type: ignore[arg-type]


def measure(library: str, threads: int, repeats: int) -> float:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.cnn", "--child", library, "--repeats", str(repeats)],
        capture_output=True, text=True, env=_env(threads), check=True, timeout=600,
    )  # fmt: skip
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def profile(steps: int) -> None:
    import cProfile
    import pstats

    step = chainrule_step()
    for _ in range(5):
        step()  # type: ignore[operator]
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()  # type: ignore[operator]
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cnn", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=30, help="steps timed per process")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", choices=["chainrule", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help="cProfile chainrule's step")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repeats)
        return
    if args.profile:
        profile(args.repeats)
        return
    results: dict[str, list[float]] = {"chainrule": [], "torch": []}
    for r in range(args.rounds):
        order = ["chainrule", "torch"] if r % 2 == 0 else ["torch", "chainrule"]
        for library in order:
            results[library].append(BATCH / measure(library, args.threads, args.repeats))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}" for k, v in results.items()),
              flush=True)  # fmt: skip
    ours, theirs = (statistics.median(results[k]) for k in ("chainrule", "torch"))
    print(
        f"\nCNN training, batch {BATCH} of 1x28x28, {args.threads} threads, {args.rounds} "
        f"rounds x {args.repeats} steps (samples/s, median (min-max)):"
    )
    print("| library | samples/s |")
    print("| --- | --- |")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(values):,.0f} ({min(values):,.0f}-"
              f"{max(values):,.0f}) |")  # fmt: skip
    print(f"| chainrule / torch | {ours / theirs:.2f}x (target >= 0.5x) |")


if __name__ == "__main__":
    main()
