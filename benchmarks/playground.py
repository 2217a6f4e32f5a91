"""The playground's speed, measured in a real browser: `python -m benchmarks.playground`.

(a) network lab: a 2-8-8-2 network on 500 moons points (the page's defaults), playing; visible
    updates per second = snapshots the page drew (boundary heat map, curves, network drawing),
    counted by `window.crUpdates` over a timed window, and the server's steps per second;
(b) expression lab, seed 000 Ex2: one backward step, as the HTTP answer of
    /api/expression/step (from Python) and as the page's click-to-drawn time (the answer plus
    viz.js rendering the new frame, read by Playwright, so an upper bound).

Each is repeated `--rounds` times (fresh page each); the median and the spread (lowest to
highest) are printed as the Markdown section of benchmarks/RESULTS.md. Needs the web extra,
playwright and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import socket
import statistics
import threading
import time
from typing import Any

import httpx2 as httpx
import numpy as np
import uvicorn
from playwright.sync_api import sync_playwright

from chainrule.playground.app import create_app

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EX2 = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)"
EX2_AT = "a1=0.5, a2=-1, a3=2, alpha=0.25, x=1.5"


def serve() -> tuple[str, uvicorn.Server]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server


def network_round(browser: Any, base: str, seconds: float) -> tuple[float, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(base + "/network")
    page.wait_for_selector("body[data-ready='1']")
    page.click("#play")
    time.sleep(1.0)  # warm-up: the stream is open and drawing
    updates0, step0 = page.evaluate("window.crUpdates"), int(page.inner_text("#stepcount"))
    t0 = time.perf_counter()
    time.sleep(seconds)
    updates1, step1 = page.evaluate("window.crUpdates"), int(page.inner_text("#stepcount"))
    elapsed = time.perf_counter() - t0
    page.click("#pause")
    context.close()
    return (updates1 - updates0) / elapsed, (step1 - step0) / elapsed


def expression_round(browser: Any, base: str, steps: int) -> tuple[list[float], list[float]]:
    """(HTTP answer times, click-to-drawn times) of backward steps, in milliseconds."""
    session = f"bench-{os.getpid()}-{time.monotonic_ns()}"
    http = []
    with httpx.Client(base_url=base) as client:
        client.post("/api/expression", json={"session": session, "expr": EX2, "at": EX2_AT})
        for _ in range(steps):
            t0 = time.perf_counter()
            r = client.post("/api/expression/step", json={"session": session, "action": "backward"})
            http.append(1000 * (time.perf_counter() - t0))
            if r.json()["index"] == r.json()["count"] - 1:
                client.post("/api/expression/step", json={"session": session, "action": "reset"})
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + "/expression")
    page.wait_for_selector("body[data-ready='1']")
    drawn = []
    for _ in range(steps // 4):
        frame = page.get_attribute("body", "data-frame")
        t0 = time.perf_counter()
        page.click("#backward")
        page.wait_for_function(f"document.body.dataset.frame !== '{frame}'", polling="raf")
        drawn.append(1000 * (time.perf_counter() - t0))
        if page.inner_text("#counter").split()[1] == page.inner_text("#counter").split()[3]:
            page.click("#reset")
            page.wait_for_function("document.body.dataset.frame === '0'", polling="raf")
    context.close()
    return http, drawn


def spread(values: list[float], digits: int = 1) -> str:
    return (
        f"{statistics.median(values):.{digits}f} "
        f"({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--steps", type=int, default=120)
    args = parser.parse_args()
    base, server = serve()
    updates, rates, http, drawn = [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        for _ in range(args.rounds):
            u, r = network_round(browser, base, args.seconds)
            updates.append(u)
            rates.append(r)
            h, d = expression_round(browser, base, args.steps)
            http.append(float(np.median(h)))
            drawn.append(float(np.median(d)))
            p95 = float(np.percentile(h, 95))
            print(
                f"round: {u:.1f} updates/s, {r:.0f} steps/s; backward step HTTP median "
                f"{np.median(h):.2f} ms (p95 {p95:.2f}), click-to-drawn {np.median(d):.1f} ms",
                flush=True,
            )
        browser.close()
    server.should_exit = True
    load = os.getloadavg()[0]
    print(f"""
## Playground

Measured {datetime.date.today()} with `python -m benchmarks.playground --rounds {args.rounds}` \
on {os.cpu_count()} cores ({platform.processor() or platform.machine()}, Python \
{platform.python_version()}, NumPy {np.__version__}; headless Debian chromium driven by \
Playwright, server and browser on the same cores; load average {load:.1f} at the end). \
Median (lowest-highest) over the rounds:

| measure | result | target |
| --- | --- | --- |
| network lab, 2-8-8-2 on 500 moons points: visible updates/s (boundary, curves, drawing) \
| {spread(updates)} | >= 20 |
| network lab: training steps/s behind them (cap 200/s, batch 64) | {spread(rates, 0)} | |
| expression lab, seed 000 Ex2: backward step, HTTP answer (ms) | {spread(http, 2)} | <= 50 |
| expression lab: backward step, click to the new frame drawn by viz.js (ms) \
| {spread(drawn)} | |
""")


if __name__ == "__main__":
    main()
