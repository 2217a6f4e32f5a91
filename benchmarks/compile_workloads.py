"""Workload factories for `benchmarks/compile.py` (issue 13): each returns a zero-argument step.

Shared with `benchmarks/workloads.py` where it has them (data, PyTorch's step, the GEMM bound,
the 1,000-op chains, micrograd); here are the compiled scalar graph, the JAX
`jit` peer, and the peak-memory probe for (e).
"""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Callable

import numpy as np

from benchmarks.workloads import A1, A2, A3, ALPHA, XS, mlp_data

# XLA_FLAGS that keep XLA's CPU backend on one thread; must be in the environment before jax is
# imported, so the runner puts them into the child's environment (see compile.measure).
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def jax_mlp(sizes: list[int], batch: int) -> Callable[[], object]:
    """The same training step as a `jax.jit` function: params a list of (W, b) with W of shape
    (out, in) as in torch and chainrule, ReLU between layers, mean softmax cross-entropy, plain
    SGD (lr 0.01) returning new params, which are donated so XLA may update them in place."""
    import jax
    import jax.numpy as jnp

    # Initialised as torch.nn.Linear does (uniform in +-1/sqrt(fan_in)); the values do not
    # change the cost of the step, only keep the loss in a sane range.
    rng = np.random.default_rng(0)
    params = []
    for a, b in itertools.pairwise(sizes):
        bound = 1.0 / np.sqrt(a)
        w = rng.uniform(-bound, bound, (b, a)).astype(np.float32)
        params.append((jnp.asarray(w), jnp.asarray(rng.uniform(-bound, bound, b), jnp.float32)))
    x, y = mlp_data(sizes, batch)
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def loss_fn(params: list, x: jax.Array, y: jax.Array) -> jax.Array:
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w.T + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def sgd(params: list, x: jax.Array, y: jax.Array) -> list:
        grads = jax.grad(loss_fn)(params, x, y)
        return [
            (w - 0.01 * gw, b - 0.01 * gb) for (w, b), (gw, gb) in zip(params, grads, strict=True)
        ]

    step = jax.jit(sgd, donate_argnums=0)

    state = [params]

    def run() -> None:
        # The donated params are invalid after the call, so the state must be the result.
        state[0] = step(state[0], xj, yj)
        jax.block_until_ready(state[0])

    return run


def chainrule_scalar(compiled: bool) -> Callable[[], object]:
    """The seed's scalar graph over the 2,000 x values: one function of x, leaves made once."""
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


def peak_step_bytes(step: Callable[[], object], warmup: int = 3, repeats: int = 3) -> float:
    """Peak traced memory during one call of `step`, above the traced memory just before it.

    NumPy reports its array buffers to tracemalloc, so for chainrule this is the step's array
    memory plus Python objects. Tracing starts before the warm-up so that arrays alive across
    steps (gradients, the SGD work buffers) are traced: a free of an untraced block would not
    lower the count and the peak would be overstated. The warm-up includes the compiled step's
    trace. The median over `repeats` steps (they should agree) is returned. PyTorch's and
    XLA's allocators are not seen by tracemalloc, so only chainrule can be measured this way.
    """
    tracemalloc.start()
    try:
        for _ in range(warmup):
            step()
        peaks = []
        for _ in range(repeats):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            step()
            peaks.append(tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    return float(np.median(peaks))
