"""cr.compile: a replay gives exactly what eager gives (bit for bit), and what cannot be traced
falls back to eager with one warning (or raises under fullgraph=True)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.compile import CompiledFunction, CompileUnsupported
from chainrule.compile import compile as cr_compile
from chainrule.compile.tape import Tape


def _tapes(fn: CompiledFunction) -> list[Tape]:
    return [v for v in fn.cache.values() if isinstance(v, Tape)]


def _same(a: Any, b: Any) -> None:
    """Bit-identical values, shapes and dtypes."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    np.testing.assert_array_equal(a, b)


def test_pure_function_replays_and_retraces_on_a_new_shape() -> None:
    g = cr_compile(lambda a, b: (a * b).sum())
    rng = np.random.default_rng(0)
    for shape in [(3,), (3,), (2, 5), (3,), (2, 5)]:
        a, b = cr.tensor(rng.standard_normal(shape)), cr.tensor(rng.standard_normal(shape))
        _same(g(a, b)._data, (a * b).sum()._data)
    assert len(_tapes(g)) == 2  # one variant per shape, no fallback


def test_decorator_forms_and_options() -> None:
    @cr_compile
    def f(x: cr.Tensor) -> cr.Tensor:
        return x.exp()

    @cr_compile(fullgraph=True, mode="reduce-overhead")
    def h(x: cr.Tensor) -> cr.Tensor:
        return x.tanh()

    x = cr.tensor([0.5, -1.0])
    _same(f(x)._data, x.exp()._data)
    _same(h(x)._data, x.tanh()._data)
    with pytest.raises(ValueError, match="unknown mode"):
        cr_compile(lambda x: x, mode="fastest")
    with pytest.raises(ValueError, match="unknown backend"):
        cr_compile(lambda x: x, backend="inductor")
    debug = cr_compile(lambda x: x * x.sum().item(), backend="eager")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # eager backend: no tracing, so no fallback warning
        _same(debug(x)._data, (x * x.sum().item())._data)
    assert not debug.cache
    assert cr.compile is cr_compile


def test_results_are_not_aliased_across_calls() -> None:
    g = cr_compile(lambda a: a * 2.0)
    a = cr.tensor([1.0, 2.0])
    r1, r2, r3 = g(a), g(a), g(a)
    assert r2._data is not r3._data and not np.shares_memory(r2._data, r3._data)
    r2._data[0] = 100.0
    _same(r3._data, np.array([2.0, 4.0], np.float32))
    _same(r1._data, np.array([2.0, 4.0], np.float32))


def test_input_values_are_read_at_each_call() -> None:
    g = cr_compile(lambda a, b: (a - b).relu().mean())
    a, b = cr.tensor([1.0, -2.0, 3.0]), cr.tensor([0.5, 0.5, 0.5])
    g(a, b)
    a._data[:] = [-1.0, 5.0, 2.0]  # changed in place between calls
    _same(g(a, b)._data, (a - b).relu().mean()._data)


def _scalar_graph(a1: cr.Tensor, a2: cr.Tensor, a3: cr.Tensor, alpha: float) -> Any:
    def f(x: cr.Tensor) -> cr.Tensor:
        y = a3 * (alpha * a1 * x + (1 - alpha) * a2 * x).sigmoid()
        y.backward()
        return y

    return f


def test_course_scalar_graph_accumulates_grad_as_eager_over_2000_calls() -> None:
    xs = np.random.default_rng(1).uniform(-3, 3, 2000)
    leaves = []
    for _ in range(2):
        a1, a2, a3 = (cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (0.7, -1.3, 2.0))
        leaves.append((a1, a2, a3))
    eager = _scalar_graph(*leaves[0], alpha=0.25)
    compiled = cr_compile(_scalar_graph(*leaves[1], alpha=0.25))
    for x in xs:
        ye = eager(cr.tensor(x, dtype=cr.float64))
        yc = compiled(cr.tensor(x, dtype=cr.float64))
        _same(yc._data, ye._data)
    for e, c in zip(*leaves, strict=True):
        _same(c.grad._data, e.grad._data)
    assert len(_tapes(compiled)) == 1


def test_grad_reset_inside_the_function_is_replayed() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    def f(x: cr.Tensor) -> cr.Tensor:
        w.grad = None
        (w * x).sum().backward()
        return w.grad

    g = cr_compile(f)
    for v in ([1.0, 1.0], [3.0, -1.0], [0.5, 2.0]):
        out = g(cr.tensor(v))
        _same(out._data, np.array(v, np.float32))
        assert out is w.grad


def test_gradient_used_along_two_edges_and_broadcast_is_summed_as_eager() -> None:
    def make() -> tuple[Any, cr.Tensor, cr.Tensor]:
        w = cr.tensor(np.linspace(-1, 1, 4), requires_grad=True)
        b = cr.tensor([0.3], requires_grad=True)

        def f(x: cr.Tensor) -> cr.Tensor:
            h = x * w + b  # b broadcasts: the engine sums its gradient back
            y = (h * h + h.exp() * w).sum()  # h and w each feed several ops
            y.backward()
            return y

        return f, w, b

    fe, we, be = make()
    fc, wc, bc = make()
    fc = cr_compile(fc)
    for seed in range(4):
        x = np.random.default_rng(seed).standard_normal((3, 4)).astype(np.float32)
        _same(fc(cr.tensor(x))._data, fe(cr.tensor(x))._data)
        _same(wc.grad._data, we.grad._data)
        _same(bc.grad._data, be.grad._data)
    assert len(_tapes(fc)) == 1


def test_two_compiled_functions_share_parameters() -> None:
    def build() -> tuple[Any, Any, cr.nn.Module]:
        cr.manual_seed(3)
        model = cr.nn.Sequential(cr.nn.Linear(6, 5), cr.nn.Tanh(), cr.nn.Linear(5, 3))
        opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def train(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        def evaluate(x: cr.Tensor) -> cr.Tensor:
            with cr.no_grad():
                return model(x).softmax(-1)

        return train, evaluate, model

    te, ee, me = build()
    tc, ec, mc = build()
    tc, ec = cr_compile(tc), cr_compile(ec)
    rng = np.random.default_rng(0)
    for _ in range(10):
        x = rng.standard_normal((4, 6)).astype(np.float32)
        y = rng.integers(0, 3, 4)
        _same(tc(cr.tensor(x), cr.tensor(y))._data, te(cr.tensor(x), cr.tensor(y))._data)
        _same(ec(cr.tensor(x))._data, ee(cr.tensor(x))._data)
    for pe, pc in zip(me.parameters(), mc.parameters(), strict=True):
        _same(pc._data, pe._data)
    assert len(_tapes(tc)) == 1 and len(_tapes(ec)) == 1


def test_a_replay_error_is_eagers_error() -> None:
    g = cr_compile(lambda logits, y: F.cross_entropy(logits, y))
    logits = cr.tensor(np.zeros((2, 3)))
    g(logits, cr.tensor([0, 2]))
    bad = cr.tensor([0, 7])
    with pytest.raises(Exception) as eager_error:
        F.cross_entropy(logits, bad)
    with pytest.raises(type(eager_error.value)) as replay_error:
        g(logits, bad)
    assert str(replay_error.value) == str(eager_error.value)


def _value_branch(x: cr.Tensor) -> cr.Tensor:
    return x * 2 if (x.sum() > 0) else x * 3


class _Cube(cr.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return x**3

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g


def _inplace(x: cr.Tensor) -> cr.Tensor:
    y = x * 1.0
    y.add_(1.0)
    return y


def _double_backward(x: cr.Tensor) -> cr.Tensor:
    x = x.detach().requires_grad_()
    (g,) = cr.autograd.grad((x**3).sum(), [x], create_graph=True)
    return g


FALLBACKS = [
    ("item", lambda x: x * x.sum().item(), ".item()"),
    ("bool", _value_branch, "bool(tensor)"),
    ("dropout", lambda x: F.dropout(x, 0.5, training=True), "random"),
    ("user-function", lambda x: _Cube.apply(x), "autograd.Function"),
    ("inplace", _inplace, "in-place"),
    ("numpy", lambda x: x * float(x.numpy().sum()), "numpy"),
    ("double-backward", _double_backward, "running eagerly"),
]


@pytest.mark.parametrize(("name", "fn", "reason"), FALLBACKS, ids=[f[0] for f in FALLBACKS])
def test_fallback_warns_once_with_the_reason_and_gives_eagers_result(
    name: str, fn: Any, reason: str
) -> None:
    g = cr_compile(fn)
    requires = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for seed in range(3):
            x = np.random.default_rng(seed).standard_normal(4).astype(np.float32)
            cr.manual_seed(seed)
            got = g(cr.tensor(x, requires_grad=requires))
            cr.manual_seed(seed)
            want = fn(cr.tensor(x, requires_grad=requires))
            _same(got._data, want._data)
            if requires:
                assert got.requires_grad and got.grad_fn is not None
    messages = [str(w.message) for w in caught if "cr.compile" in str(w.message)]
    assert len(messages) == 1, messages
    assert reason in messages[0]
    assert not _tapes(g)


@pytest.mark.parametrize(("name", "fn", "reason"), FALLBACKS, ids=[f[0] for f in FALLBACKS])
def test_fullgraph_raises_instead(name: str, fn: Any, reason: str) -> None:
    g = cr_compile(fn, fullgraph=True)
    x = cr.tensor(np.ones(4, np.float32))
    with pytest.raises(CompileUnsupported, match="fullgraph"):
        g(x)


def test_hooks_and_unhashable_arguments_fall_back() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    w.register_hook(lambda g: g * 2)

    def f(x: cr.Tensor) -> None:
        (w * x).sum().backward()

    g = cr_compile(f)
    with pytest.warns(UserWarning, match="hooks"):
        g(cr.tensor([1.0, 1.0]))
    _same(w.grad._data, np.array([2.0, 2.0], np.float32))
    h = cr_compile(lambda xs: xs[0] + xs[1])
    with pytest.warns(UserWarning, match="cannot be guarded"):
        out = h([cr.tensor(1.0), cr.tensor(2.0)])
    assert out.item() == 3.0


def test_cache_size_limit_falls_back_after_eight_variants() -> None:
    g = cr_compile(lambda a: a.sum())
    for n in range(1, 9):
        g(cr.ones(n))
    with pytest.warns(UserWarning, match="cache_size_limit"):
        assert g(cr.ones(9)).item() == 9.0
    assert len(_tapes(g)) == 8


def test_a_changed_parameter_shape_retraces() -> None:
    w = cr.ones(3)
    g = cr_compile(lambda x: (x * w).sum())
    assert g(cr.ones(3)).item() == 3.0
    w.data = cr.ones(1) * 2.0
    assert g(cr.ones(3)).item() == 6.0
    assert len(_tapes(g)) == 1  # the stale variant was replaced by a new trace


def test_backward_through_a_compiled_result_matches_eager() -> None:
    def f(a: cr.Tensor, b: cr.Tensor) -> tuple[cr.Tensor, cr.Tensor]:
        h = (a * b + a.exp()).tanh()
        return h.sum(), (h * w).mean(0)

    w = cr.tensor(np.linspace(0.5, 1.5, 3), requires_grad=True)
    g = cr_compile(f)
    rng = np.random.default_rng(0)
    for _ in range(3):
        arrays = [rng.standard_normal((2, 3)) for _ in range(2)]
        seed = rng.standard_normal(3)
        grads = []
        for fn in (f, g):
            a, b = (cr.tensor(x, requires_grad=True) for x in arrays)
            w.grad = None
            s, m = fn(a, b)
            (s * 2.0 + (m * cr.tensor(seed)).sum()).backward()
            grads.append([a.grad._data, b.grad._data, w.grad._data, s._data, m._data])
        for got, want in zip(grads[1], grads[0], strict=True):
            _same(got, want)
    assert len(_tapes(g)) == 1
    assert type(g(a, b)[0].grad_fn).__name__ == "Node"


def test_a_single_compiled_result_backpropagates_bit_for_bit_and_only_once() -> None:
    g = cr_compile(lambda a, b: (a * b + a.exp()).sum())
    for seed in range(3):
        x, y = np.random.default_rng(seed).standard_normal((2, 4))
        a, b = cr.tensor(x, requires_grad=True), cr.tensor(y, requires_grad=True)
        ae, be = cr.tensor(x, requires_grad=True), cr.tensor(y, requires_grad=True)
        out, want = g(a, b), (ae * be + ae.exp()).sum()
        assert out.requires_grad and not out.is_leaf
        out.backward()
        want.backward()
        _same(a.grad._data, ae.grad._data)
        _same(b.grad._data, be.grad._data)
    with pytest.raises(RuntimeError, match="second time"):
        out.backward()
    out = g(a, b)
    with pytest.raises(RuntimeError, match="create_graph"):
        out.backward(create_graph=True)


def test_a_modules_training_flag_is_a_guard() -> None:
    class Branchy(cr.nn.Module):
        def forward(self, x: cr.Tensor) -> cr.Tensor:
            return x * 2.0 if self.training else x * 3.0

    m = Branchy()
    g = cr_compile(lambda x: m(x))
    x = cr.tensor([1.0, -1.0])
    _same(g(x)._data, np.array([2.0, -2.0], np.float32))
    m.eval()
    _same(g(x)._data, np.array([3.0, -3.0], np.float32))
    m.train()
    _same(g(x)._data, np.array([2.0, -2.0], np.float32))


def test_writes_outside_the_tape_fall_back() -> None:
    bn_e, bn_c = cr.nn.BatchNorm1d(3), cr.nn.BatchNorm1d(3)
    g = cr_compile(lambda x: bn_c(x))
    rng = np.random.default_rng(0)
    with pytest.warns(UserWarning, match="running statistics"):
        for _ in range(3):
            x = rng.standard_normal((4, 3)).astype(np.float32)
            _same(g(cr.tensor(x))._data, bn_e(cr.tensor(x))._data)
    _same(bn_c.running_mean._data, bn_e.running_mean._data)

    def clipped(w: cr.Tensor) -> Any:
        def step(x: cr.Tensor) -> None:
            w.grad = None
            (w * x).sum().backward()
            cr.nn.utils.clip_grad_norm_([w], 1.0)

        return step

    we, wc = cr.tensor([3.0, 4.0], requires_grad=True), cr.tensor([3.0, 4.0], requires_grad=True)
    eager, h = clipped(we), cr_compile(clipped(wc))
    with pytest.warns(UserWarning, match="clip_grad_norm_"):
        for v in ([3.0, 4.0], [6.0, 8.0]):
            h(cr.tensor(v))
            eager(cr.tensor(v))
            _same(wc.grad._data, we.grad._data)
