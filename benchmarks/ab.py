"""A/B: the same chainrule workloads on two source trees, each measurement in its own process.

`python -m benchmarks.ab OLD_SRC NEW_SRC [--rounds 6]` runs (a) the MLP step, (c) the per-op
chain and (d) the scalar graph on each tree, alternating which goes first every round, and prints
the median and the spread (min-max) of each. Used for refactors that must not slow anything
(benchmarks/NOTES.md records the results).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# One measurement: time per call of each workload, min over repeats (the least-disturbed run).
_CHILD = """
import json, sys, time
sys.path.insert(0, {bench!r})
from benchmarks import workloads as w
out = {{}}
for name, make, unit in (("a", lambda: w.chainrule_step([784, 256, 256, 10], 128), 1),
                         ("c", lambda: w.chainrule_chain(1000), 1000),
                         ("d", w.chainrule_scalar, 1)):
    fn = make()
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range({repeats}):
        t = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t)
    out[name] = best / unit
print(json.dumps(out))
"""


def measure(src: str, repeats: int) -> dict[str, float]:
    code = _CHILD.format(bench=str(HERE.parent), repeats=repeats)
    env = {"PYTHONPATH": src, "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    for r in range(args.rounds):
        order = [("old", args.old), ("new", args.new)]
        if r % 2:
            order.reverse()
        for label, src in order:
            for name, value in measure(src, args.repeats).items():
                results[label].setdefault(name, []).append(value)
    units = {"a": ("ms/step", 1e3), "c": ("us/op", 1e6), "d": ("ms/2000 graphs", 1e3)}
    print("| workload | old median (min-max) | new median (min-max) | new/old |")
    print("| --- | --- | --- | --- |")
    for name, (unit, scale) in units.items():
        old, new = results["old"][name], results["new"][name]
        mo, mn = statistics.median(old) * scale, statistics.median(new) * scale
        print(
            f"| ({name}) {unit} | {mo:.3g} ({min(old) * scale:.3g}-{max(old) * scale:.3g}) "
            f"| {mn:.3g} ({min(new) * scale:.3g}-{max(new) * scale:.3g}) | {mn / mo:.2f} |"
        )


if __name__ == "__main__":
    main()
