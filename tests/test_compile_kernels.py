"""compile/kernels.py: the lowered linear, ReLU and cross-entropy replays equal eager bit for bit,
on the values where a shortcut would show (nan, inf, -0.0, ignored rows), and the in-place
lowerings never write into an array somebody else reads."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.compile import compile as cr_compile
from chainrule.compile import kernels
from chainrule.compile.tape import Tape


def _same(a: Any, b: Any) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    assert a.tobytes() == b.tobytes(), (a, b)  # the bits: -0.0 and nan payloads too


def _tape(g: Any) -> Tape:
    (tape,) = [t for t in g.cache.values() if isinstance(t, Tape)]
    return tape


def _model(dtype: Any = cr.float32, bias: bool = True) -> Any:
    cr.manual_seed(0)
    return cr.nn.Sequential(
        cr.nn.Linear(6, 5, bias=bias, dtype=dtype), cr.nn.ReLU(),
        cr.nn.Linear(5, 4, bias=bias, dtype=dtype), cr.nn.ReLU(),
        cr.nn.Linear(4, 3, bias=bias, dtype=dtype),
    )  # fmt: skip


def _step(model: Any, ignore_index: int = -100) -> Any:
    opt = cr.optim.SGD(model.parameters(), lr=0.1)

    def step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y, ignore_index=ignore_index)
        loss.backward()
        opt.step()
        return loss

    return step


EDGES = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-45, -1e-45, 3.0, -3.0, 1e30, -1e30]


def _inputs(rng: Any, dtype: Any, edges: bool) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal((8, 6)).astype(dtype)
    if edges:  # a few special values, so some calls carry nan/inf through every layer
        mask = rng.random(x.shape) < 0.15
        x[mask] = rng.choice(np.array(EDGES, dtype), size=int(mask.sum()))
    return x, rng.integers(0, 3, 8)


def test_an_mlp_step_is_lowered_as_planned() -> None:
    g = cr_compile(_step(_model()))
    x, y = _inputs(np.random.default_rng(0), np.float32, False)
    g(cr.tensor(x), cr.tensor(y))
    g(cr.tensor(x), cr.tensor(y))
    plan = kernels.plan(_tape(g)).values()
    kinds = sorted((low.kind, low.inplace, low.g_inplace) for low in plan)
    # both ReLUs in place forward (after a linear layer) and backward (on a linear's dx); the
    # first linear layer's input gradient is not needed, so nothing else changes
    assert kinds == [
        ("cross_entropy", False, False),
        ("linear", False, False), ("linear", False, False), ("linear", False, False),
        ("relu", True, True), ("relu", True, True),
    ]  # fmt: skip
    source = _tape(g).run.source
    assert "_maximum(v0, K" in source and "out=v0)" in source  # in place on the linear's output


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_lowered_training_equals_eager_on_edge_values(dtype: Any, bias: bool) -> None:
    crd = cr.float32 if dtype == np.float32 else cr.float64
    model_e, model_c = _model(crd, bias), _model(crd, bias)
    eager, compiled = _step(model_e), cr_compile(_step(model_c))
    rng = np.random.default_rng(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in the edge values
        warnings.filterwarnings("error", message="cr.compile")  # no fallback
        for call in range(30):
            x, y = _inputs(rng, dtype, edges=call % 3 == 1)
            got = compiled(cr.tensor(x), cr.tensor(y))
            _same(got._data, eager(cr.tensor(x), cr.tensor(y))._data)
            for pe, pc in zip(model_e.parameters(), model_c.parameters(), strict=True):
                _same(pc._data, pe._data)
                _same(pc.grad._data, pe.grad._data)
    assert kernels.plan(_tape(compiled))


def test_relu_backward_nan_and_negative_zero_take_eagers_branches() -> None:
    """g * mask has a nan (an inf gradient at a cut entry): eager selects, keeping -0.0 where
    the mask passes g; without one it adds 0.0, turning -0.0 into 0.0. The lowered backward
    decides in place from a sum, so both branches are exercised here with -0.0 present."""
    w = cr.tensor(np.eye(4, dtype=np.float32), requires_grad=True)
    v = cr.tensor(np.ones((4, 4), np.float32), requires_grad=True)

    def f(x: cr.Tensor, up: cr.Tensor) -> cr.Tensor:
        h = F.relu(F.linear(x, w))
        out = F.linear(h, v)  # dh = up @ v: a lowered linear backward makes relu's g
        out.backward(up)
        return out

    g = cr_compile(f)
    x = np.array([[1.0, -1.0, 2.0, 0.0]] * 4, np.float32)
    cases = [
        np.full((4, 4), -0.0, np.float32),  # no nan: -0.0 + 0.0 = 0.0 everywhere
        np.array([[np.inf, 0, 0, 0], [-0.0] * 4, [1, 2, 3, 4], [0] * 4], np.float32),  # nan
        np.array([[np.nan, 0, 0, 0], [-0.0] * 4, [1, 2, 3, 4], [0] * 4], np.float32),
        np.array([[np.inf, -np.inf, 0, 0]] * 4, np.float32),  # inf - inf in the sum, no nan
    ]
    for up in cases + cases:
        for t in (w, v):
            t.grad = None
        got = g(cr.tensor(x), cr.tensor(up))
        grads_c = [w.grad._data.copy(), v.grad._data.copy()]
        for t in (w, v):
            t.grad = None
        want = f(cr.tensor(x), cr.tensor(up))
        _same(got._data, want._data)
        _same(grads_c[0], w.grad._data)
        _same(grads_c[1], v.grad._data)
    low = kernels.plan(_tape(g))
    assert any(item.kind == "relu" and item.g_inplace for item in low.values())


def test_cross_entropy_with_ignored_rows_runs_eagers_path_in_those_calls() -> None:
    model_e, model_c = _model(), _model()
    eager, compiled = _step(model_e, ignore_index=1), cr_compile(_step(model_c, ignore_index=1))
    rng = np.random.default_rng(2)
    for call in range(12):
        x = rng.standard_normal((8, 6)).astype(np.float32)
        y = rng.integers(0, 3, 8) if call % 2 else np.array([0, 2] * 4)  # 1 = ignored
        if call == 5:
            y = np.ones(8, np.int64)  # every row ignored: a nan mean, as torch's
        _same(compiled(cr.tensor(x), cr.tensor(y))._data, eager(cr.tensor(x), cr.tensor(y))._data)
        for pe, pc in zip(model_e.parameters(), model_c.parameters(), strict=True):
            _same(pc._data, pe._data)


def test_inf_logits_give_eagers_nan_rows() -> None:
    w = cr.tensor(np.ones((3, 2), np.float32), requires_grad=True)

    def f(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        loss = F.cross_entropy(F.linear(x, w), y)
        loss.backward()
        return loss

    g = cr_compile(f)
    for x in ([[1.0, 2.0], [3.0, -1.0]], [[np.inf, 0.0], [1.0, 1.0]], [[1e30, 1e30], [0, 0]]):
        xs = np.array(x, np.float32)
        w.grad = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got, grad_c = g(cr.tensor(xs), cr.tensor([0, 2])), w.grad._data.copy()
            w.grad = None
            want = f(cr.tensor(xs), cr.tensor([0, 2]))
        _same(got._data, want._data)
        _same(grad_c, w.grad._data)


def test_a_pre_activation_read_elsewhere_is_not_overwritten() -> None:
    """ReLU goes in place only on an array nobody else reads: here the linear output is also
    returned, so the replay must keep it (and the result must not alias the next call's)."""
    w = cr.tensor(np.array([[1.0, -1.0], [-2.0, 0.5]], np.float32), requires_grad=True)

    def f(x: cr.Tensor) -> tuple[cr.Tensor, cr.Tensor]:
        z = F.linear(x, w)
        h = F.relu(z)
        h.sum().backward()
        return z.detach(), h.detach()

    g = cr_compile(f)
    x1, x2 = np.array([[1.0, 2.0]], np.float32), np.array([[-3.0, 1.0]], np.float32)
    g(cr.tensor(x1))
    z1, h1 = g(cr.tensor(x1))
    z1_bits = z1._data.copy()
    g(cr.tensor(x2))
    _same(z1._data, z1_bits)  # the first result is not the second's buffer
    _same(z1._data, np.array([[-1.0, -1.0]], np.float32))  # not relu'd in place
    _same(h1._data, np.array([[0.0, 0.0]], np.float32))
    assert not any(low.inplace for low in kernels.plan(_tape(g)).values())


def test_lowered_and_unlowered_replays_agree() -> None:
    results = []
    for enabled in (True, False):
        kernels.ENABLED = enabled
        try:
            model = _model()
            g = cr_compile(_step(model))
            rng = np.random.default_rng(3)
            for _ in range(5):
                x, y = _inputs(rng, np.float32, True)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    g(cr.tensor(x), cr.tensor(y))
            assert bool(kernels.plan(_tape(g))) is enabled
            results.append([p._data.copy() for p in model.parameters()])
        finally:
            kernels.ENABLED = True
    for a, b in zip(*results, strict=True):
        _same(a, b)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("grad_dtype", [np.float32, np.float64])
def test_adams_update_in_one_buffer_is_the_textbook_update(amsgrad: bool, grad_dtype: Any) -> None:
    """Adam writes its temporaries into one reused buffer: the same bits as the textbook lines
    with fresh arrays, also for a .grad of another dtype set by hand (NumPy promotes)."""
    rng = np.random.default_rng(4)
    p0 = rng.standard_normal((7, 5)).astype(np.float32)
    t = cr.tensor(p0.copy(), requires_grad=True)
    opt = cr.optim.Adam([t], lr=1e-2, amsgrad=amsgrad, weight_decay=0.1)
    p, m, v, vmax = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), np.zeros_like(p0)
    for step in range(1, 41):
        g = (rng.standard_normal(p.shape) * 10.0 ** rng.integers(-8, 8)).astype(grad_dtype)
        t.grad = cr.tensor(g.copy())
        opt.step()
        g = g + 0.1 * p
        m *= 0.9
        m += (1 - 0.9) * g
        v *= 0.999
        v += (1 - 0.999) * (g * g)
        vv = v
        if amsgrad:
            np.maximum(vmax, v, out=vmax)
            vv = vmax
        p -= (1e-2 / (1 - 0.9**step)) * (m / (np.sqrt(vv) / math.sqrt(1 - 0.999**step) + 1e-8))
        _same(t._data, p)


def _peak(step: Any, x: cr.Tensor, y: cr.Tensor) -> int:
    """Peak traced memory (NumPy reports its buffers to tracemalloc) of one call above the
    memory just before it, after warm-up (the trace)."""
    import tracemalloc

    tracemalloc.start()
    try:
        for _ in range(3):
            step(x, y)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        step(x, y)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_replay_drops_dead_arrays_and_peaks_below_eager() -> None:
    """Each slot is dropped after its last reader and each ctx after its backward, as eager
    frees them; with ReLU in place the compiled step holds less than eager's at its peak."""

    def make() -> Any:
        cr.manual_seed(0)
        model = cr.nn.MLP([64, 512, 512, 10])
        return _step(model)

    rng = np.random.default_rng(5)
    x = cr.tensor(rng.standard_normal((128, 64)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 10, 128))
    eager, compiled = _peak(make(), x, y), _peak(cr_compile(make()), x, y)
    keep_all = kernels.dead_after
    kernels.dead_after = lambda tape, lowered: {}  # every local lives until the return
    try:
        undropped = _peak(cr_compile(make()), x, y)
    finally:
        kernels.dead_after = keep_all
    activation = 128 * 512 * 4  # one (batch, width) float32 array
    assert compiled < 0.9 * eager, (compiled, eager)
    assert undropped > compiled + activation, (undropped, compiled)
