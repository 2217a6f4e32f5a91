"""chainrule vs PyTorch (and micrograd) on the CPU, in one run: `python -m benchmarks [--quick]`.

Workloads (float32, fixed seeds, median of repeats after warm-up):
  (a) MLP 784-256-256-10, batch 128, ReLU, softmax cross-entropy, SGD: training samples/s
  (b) MLP 784-1024-1024-10, batch 512: samples/s, and the NumPy GEMM-bound limit of the same step
  (c) a chain of 1,000 elementwise ops on a (16,) tensor, forward + backward: microseconds per op
  (d) the seed's f(x) = a3 sigmoid(alpha a1 x + (1 - alpha) a2 x), one graph per x, 2,000 x
  (e) peak memory of (b) over 20 steps, separate processes
  (f) `chainrule train` default run: seconds until test accuracy >= 97% on digits
Results go to benchmarks/RESULTS.md with the machine, the BLAS configuration and the date.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from benchmarks import workloads as w

HERE = Path(__file__).resolve().parent


def machine() -> dict[str, str]:
    info = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores": str(os.cpu_count()),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numpy as np

    info["numpy"] = np.__version__
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE", "(unset)")
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = "; ".join(
            f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')} "
            f"threads={p.get('num_threads')}"
            for p in threadpool_info()
        )
    except ImportError:
        info["blas"] = "(install threadpoolctl to report)"
    try:
        import torch

        info["torch"] = f"{torch.__version__} threads={torch.get_num_threads()}"
    except ImportError:
        info["torch"] = "(not installed)"
    return info


def _peak_rss(kind: str, steps: int) -> float:
    """Peak resident memory of building (b) and running `steps` training steps, in MiB, in a
    fresh process (imports excluded)."""
    code = f"""
import resource, sys
sys.path.insert(0, {str(HERE.parent)!r})
from benchmarks import workloads as w
{"import torch" if kind == "torch" else "import chainrule"}
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # after imports, before the model
step = w.{kind}_step([784, 1024, 1024, 10], 512)
for _ in range({steps}):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _time_to_97() -> float:
    import time

    from chainrule.train.job import TrainConfig, run

    class Stop(Exception):
        pass

    start = time.perf_counter()
    config = TrainConfig(out=str(HERE / ".bench_run"), plots=False)
    # run() trains the default job; we time until the first epoch whose test accuracy >= 97%
    from chainrule.train import fit as fit_module

    original = fit_module.Progress.write
    reached: list[float] = []

    def watch(self, line: str) -> None:
        if "val_accuracy" in line and not reached:
            acc = float(line.split("val_accuracy")[1].split()[0])
            if acc >= 0.97:
                reached.append(time.perf_counter() - start)
                raise Stop

    fit_module.Progress.write = watch
    try:
        run(config, stream=sys.stderr, progress=False)
    except Stop:
        pass
    finally:
        fit_module.Progress.write = original
    return reached[0] if reached else float("nan")


def run(quick: bool) -> dict[str, dict[str, float]]:
    reps = 5 if quick else 20
    results: dict[str, dict[str, float]] = {}

    def both(name: str, ours, theirs, scale, unit: str, repeats: int) -> None:
        t_ours = w.median_time(ours, repeats)
        t_theirs = w.median_time(theirs, repeats)
        results[name] = {"chainrule": scale(t_ours), "pytorch": scale(t_theirs), "unit": unit}
        print(
            f"{name}: chainrule {scale(t_ours):,.2f} {unit}, pytorch {scale(t_theirs):,.2f} {unit}",
            flush=True,
        )

    small, big = [784, 256, 256, 10], [784, 1024, 1024, 10]
    both(
        "(a) MLP 784-256-256-10 b128",
        w.chainrule_step(small, 128),
        w.torch_step(small, 128),
        lambda t: 128 / t,
        "samples/s",
        reps * 2,
    )
    both(
        "(b) MLP 784-1024-1024-10 b512",
        w.chainrule_step(big, 512),
        w.torch_step(big, 512),
        lambda t: 512 / t,
        "samples/s",
        reps,
    )
    bound = 512 / w.median_time(w.gemm_bound_step(big, 512), reps)
    results["(b) GEMM-bound limit"] = {"numpy": bound, "unit": "samples/s"}
    print(f"(b) GEMM-bound limit: {bound:,.0f} samples/s", flush=True)
    both(
        "(c) per-op, 1000-op chain on (16,)",
        w.chainrule_chain(),
        w.torch_chain(),
        lambda t: t / 1000 * 1e6,
        "us/op",
        reps,
    )
    both(
        "(d) seed scalar graph x2000",
        w.chainrule_scalar(),
        w.torch_scalar(),
        lambda t: t * 1e3,
        "ms",
        max(3, reps // 4),
    )
    try:
        mg = w.median_time(w.micrograd_scalar(), max(3, reps // 4))
        results["(d) seed scalar graph x2000"]["micrograd"] = mg * 1e3
        print(f"(d) micrograd {mg * 1e3:,.1f} ms", flush=True)
    except ImportError:
        print("(d) micrograd not installed: pip install micrograd", flush=True)
    steps = 5 if quick else 20
    results["(e) peak memory of (b)"] = {
        "chainrule": _peak_rss("chainrule", steps),
        "pytorch": _peak_rss("torch", steps),
        "unit": "MiB",
    }
    print(f"(e) peak memory: {results['(e) peak memory of (b)']}", flush=True)
    if not quick:
        results["(f) default train to 97%"] = {"chainrule": _time_to_97(), "unit": "s"}
        print(f"(f) {results['(f) default train to 97%']}", flush=True)
    return results


def write_results(results: dict, info: dict[str, str], path: Path) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Measured {datetime.date.today().isoformat()} with `python -m benchmarks` "
        "(medians after warm-up, float32).",
        "",
        "## Machine",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += [
        "",
        "## Results",
        "",
        "| workload | chainrule | PyTorch | other | unit | ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        ours, theirs = r.get("chainrule"), r.get("pytorch")
        other = r.get("micrograd", r.get("numpy"))
        ratio = ""
        if ours is not None and theirs:
            ratio = f"{ours / theirs:.2f}x"
        fmt = lambda v: "" if v is None else f"{v:,.2f}"  # noqa: E731
        lines.append(
            f"| {name} | {fmt(ours)} | {fmt(theirs)} | {fmt(other)} | {r['unit']} | {ratio} |"
        )
    lines += [
        "",
        "Ratios are chainrule / PyTorch: above 1 is better for samples/s, below 1 is "
        "better for us/op, ms, MiB.",
        "",
        "```json",
        json.dumps(results, indent=1),
        "```",
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no (f)")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()
    info = machine()
    for k, v in info.items():
        print(f"{k}: {v}")
    results = run(args.quick)
    write_results(results, info, Path(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
