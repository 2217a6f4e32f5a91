"""The benchmark workloads, each runnable for chainrule and for PyTorch on the same data."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import numpy as np

import chainrule as cr
from chainrule.nn import functional as F


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    """Median seconds of fn() after warm-up calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def mlp_data(sizes: list[int], batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    return x, y


# -- (a), (b): full training steps -------------------------------------------------------------
def chainrule_step(sizes: list[int], batch: int, compiled: bool = False) -> Callable[[], object]:
    """One SGD training step of chainrule's MLP on fixed data, eager or under `cr.compile`
    (the step takes its batch as arguments, so that a compiled one guards on them)."""
    cr.manual_seed(0)
    model = cr.nn.MLP(sizes)
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    x, y = mlp_data(sizes, batch)
    xt, yt = cr.from_numpy(x), cr.from_numpy(y)

    def step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = cr.compile(step) if compiled else step
    return lambda: run(xt, yt)


def torch_step(sizes: list[int], batch: int) -> Callable[[], None]:
    import torch

    torch.manual_seed(0)
    layers: list = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = mlp_data(sizes, batch)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> None:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()

    return step


def gemm_bound_step(sizes: list[int], batch: int) -> Callable[[], None]:
    """The matrix products of one training step alone, through NumPy: 3 forward, 5 backward
    (dW for each layer, dX for the two hidden layers) = 8 for a 3-layer MLP."""
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((b, a)).astype(np.float32) for a, b in itertools.pairwise(sizes)]
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    gs = [rng.standard_normal((batch, b)).astype(np.float32) for b in sizes[1:]]
    hs = [x] + [rng.standard_normal((batch, b)).astype(np.float32) for b in sizes[1:-1]]

    def step() -> None:
        for h, w in zip(hs, ws, strict=True):
            h @ w.T  # forward
        for i, (h, w, g) in enumerate(zip(hs, ws, gs, strict=True)):
            g.T @ h  # dW
            if i > 0:
                g @ w  # dX of a hidden layer

    return step


# -- (c): per-op overhead ----------------------------------------------------------------------
def chainrule_chain(n: int = 1000) -> Callable[[], None]:
    x = cr.tensor(np.linspace(-1, 1, 16, dtype=np.float32), requires_grad=True)

    def run() -> None:
        y = x
        for _ in range(n):
            y = y * 1.0001
        y.sum().backward()

    return run


def torch_chain(n: int = 1000) -> Callable[[], None]:
    import torch

    x = torch.linspace(-1, 1, 16, requires_grad=True)

    def run() -> None:
        y = x
        for _ in range(n):
            y = y * 1.0001
        y.sum().backward()

    return run


# -- (d): the seed's scalar graph ----------------------------------------------------------------
XS = np.linspace(-2, 2, 2000)
A1, A2, A3, ALPHA = 0.5, -1.0, 2.0, 0.3


def chainrule_scalar() -> Callable[[], None]:
    def run() -> None:
        for xv in XS:
            a1 = cr.tensor(A1, requires_grad=True)
            a2 = cr.tensor(A2, requires_grad=True)
            a3 = cr.tensor(A3, requires_grad=True)
            f = a3 * cr.sigmoid(ALPHA * a1 * xv + (1 - ALPHA) * a2 * xv)
            f.backward()

    return run


def torch_scalar() -> Callable[[], None]:
    import torch

    def run() -> None:
        for xv in XS:
            a1 = torch.tensor(A1, requires_grad=True)
            a2 = torch.tensor(A2, requires_grad=True)
            a3 = torch.tensor(A3, requires_grad=True)
            f = a3 * torch.sigmoid(ALPHA * a1 * float(xv) + (1 - ALPHA) * a2 * float(xv))
            f.backward()

    return run


def micrograd_scalar() -> Callable[[], None]:
    import math

    from micrograd.engine import Value

    def sigmoid(u: Value) -> Value:
        # micrograd 0.1.0 has no exp or sigmoid: add one op the way its own ops are written
        s = 1 / (1 + math.exp(-u.data))
        out = Value(s, (u,), "sigmoid")

        def _backward() -> None:
            u.grad += s * (1 - s) * out.grad

        out._backward = _backward
        return out

    def run() -> None:
        for xv in XS:
            a1, a2, a3 = Value(A1), Value(A2), Value(A3)
            f = a3 * sigmoid(ALPHA * a1 * float(xv) + (1 - ALPHA) * a2 * float(xv))
            f.backward()

    return run
