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
import time
from pathlib import Path

import numpy as np

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
    # VmHWM (this process's peak resident memory) rather than ru_maxrss: Linux carries
    # ru_maxrss across fork+exec, so a child of this big process would start at our peak.
    code = f"""
import sys
sys.path.insert(0, {str(HERE.parent)!r})
from benchmarks import workloads as w
{"import torch" if kind == "torch" else "import chainrule"}
def peak():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM"))
base = peak()  # after imports, before the model
step = w.{kind}_step([784, 1024, 1024, 10], 512)
for _ in range({steps}):
    step()
print((peak() - base) / 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    value = float(out.stdout.strip().splitlines()[-1])
    if value <= 0:
        raise RuntimeError(f"peak-memory probe for {kind} measured nothing: {out.stdout!r}")
    return value


def _time_to_97() -> float:
    """Seconds from nothing to a test accuracy >= 97% with the default `chainrule train` setup
    (data loading included), checked after every epoch."""
    import time

    import chainrule as cr
    from chainrule.train.job import TrainConfig, build_model, load_split, make_optimizer

    start = time.perf_counter()
    config = TrainConfig(plots=False)
    cr.manual_seed(config.seed)
    split = load_split(config.data, config.seed, config.test_fraction)
    config.features, config.classes = split.x_train.shape[1], int(split.y_train.max()) + 1
    train = cr.data.DataLoader(
        cr.data.TensorDataset(cr.tensor(split.x_train), cr.tensor(split.y_train)),
        config.batch_size,
        shuffle=True,
        seed=config.seed,
    )
    test = cr.data.DataLoader(
        cr.data.TensorDataset(cr.tensor(split.x_test), cr.tensor(split.y_test)), 512
    )
    model = build_model(config)
    reached: list[float] = []

    class Stop(cr.train.Callback):
        def on_epoch_end(self, trainer, epoch, logs) -> None:
            if logs["val_accuracy"] >= 0.97 and not reached:
                reached.append(time.perf_counter() - start)
                trainer.stop = True

    cr.train.fit(
        model,
        cr.nn.functional.cross_entropy,
        make_optimizer(config, model),
        train,
        config.epochs,
        val_loader=test,
        callbacks=[Stop()],
        progress=False,
    )
    return reached[0] if reached else float("nan")


def run(quick: bool) -> dict[str, dict[str, float]]:
    reps = 5 if quick else 20
    results: dict[str, dict[str, float]] = {}

    def interleaved(fns: list, repeats: int, block: int = 4) -> list[float]:
        """Median seconds per call of each function. Each library runs in blocks of consecutive
        calls (as a training loop does), blocks alternate between libraries so all see the same
        machine conditions, and the first call of each block is dropped: it pays for switching
        (PyTorch's OpenMP threads waking up or still spinning from the other library's turn)."""
        for fn in fns:
            w.median_time(fn, 1, warmup=2)
        times: list[list[float]] = [[] for _ in fns]
        for _ in range(max(1, repeats // (block - 1))):
            for fn, bucket in zip(fns, times, strict=True):
                for i in range(block):
                    start = time.perf_counter()
                    fn()
                    if i:
                        bucket.append(time.perf_counter() - start)
        return [float(np.median(t)) for t in times]

    def both(name: str, ours, theirs, scale, unit: str, repeats: int, extra=None) -> None:
        fns = [ours, theirs] + ([extra[1]] if extra else [])
        medians = interleaved(fns, repeats)
        results[name] = {"chainrule": scale(medians[0]), "pytorch": scale(medians[1]), "unit": unit}
        if extra:
            results[name][extra[0]] = scale(medians[2])
        print(
            f"{name}: "
            + ", ".join(f"{k} {v:,.2f}" for k, v in results[name].items() if k != "unit")
            + f" {unit}",
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
        extra=("numpy GEMM bound", w.gemm_bound_step(big, 512)),
    )
    both(
        "(c) per-op, 1000-op chain on (16,)",
        w.chainrule_chain(),
        w.torch_chain(),
        lambda t: t / 1000 * 1e6,
        "us/op",
        reps,
    )
    try:
        micrograd = ("micrograd", w.micrograd_scalar())
    except ImportError:
        micrograd = None
        print("(d) micrograd not installed: pip install micrograd", flush=True)
    both(
        "(d) seed scalar graph x2000",
        w.chainrule_scalar(),
        w.torch_scalar(),
        lambda t: t * 1e3,
        "ms",
        max(3, reps // 4),
        extra=micrograd,
    )
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


def targets(results: dict) -> list[tuple[str, str, bool]]:
    """Each target of the performance issue with its measured ratio and whether it is met."""
    out = []

    def get(name: str) -> dict:
        return next((r for k, r in results.items() if k.startswith(name)), {})

    a, b, c, d, e = get("(a)"), get("(b)"), get("(c)"), get("(d)"), get("(e)")
    if a:
        ratio = a["chainrule"] / a["pytorch"]
        out.append(("(a) >= 1.2x PyTorch eager", f"{ratio:.2f}x", ratio >= 1.2))
    if b:
        bound = b["chainrule"] / b["numpy GEMM bound"]
        out.append(("(b) >= 0.9 of the NumPy GEMM bound", f"{bound:.2f}", bound >= 0.9))
        ratio = b["chainrule"] / b["pytorch"]
        out.append(("(b) >= 1.0x PyTorch eager", f"{ratio:.2f}x", ratio >= 1.0))
    if c:
        ratio = c["chainrule"] / c["pytorch"]
        out.append(("(c) <= 0.6x PyTorch's per-op time", f"{ratio:.2f}x", ratio <= 0.6))
    if d and "micrograd" in d:
        ratio = d["chainrule"] / d["micrograd"]
        out.append(("(d) faster than micrograd", f"{ratio:.2f}x micrograd's time", ratio < 1))
    if e:
        ratio = e["chainrule"] / e["pytorch"]
        out.append(("(e) <= 1.2x PyTorch's peak memory", f"{ratio:.2f}x", ratio <= 1.2))
    return out


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
        other = r.get("micrograd", r.get("numpy GEMM bound"))
        ratio = ""
        if ours is not None and theirs:
            ratio = f"{ours / theirs:.2f}x"
        fmt = lambda v: "" if v is None else f"{v:,.2f}"  # noqa: E731
        lines.append(
            f"| {name} | {fmt(ours)} | {fmt(theirs)} | {fmt(other)} | {r['unit']} | {ratio} |"
        )
    lines += ["", "## Targets", "", "| target | measured | met |", "| --- | --- | --- |"]
    for label, value, ok in targets(results):
        lines.append(f"| {label} | {value} | {'yes' if ok else 'no'} |")
    lines += [
        "",
        "Ratios are chainrule / PyTorch: above 1 is better for samples/s, below 1 is "
        "better for us/op, ms, MiB. The machine is shared and noisy: see NOTES.md for how the "
        "libraries are measured fairly and for the spread between runs.",
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
