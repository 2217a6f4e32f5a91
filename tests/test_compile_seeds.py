"""cr.compile on the course's seed exercises (/work/shared/seeds/, examples/seed*.py): each one
compiled next to its eager twin, bit for bit, with eager's semantics for parameters, optimizer
steps, .grad (accumulated or reset) and returned tensors.

Seed 000: Ex1 f(x) = a2 sigma(a1 x) with the binary log-likelihood, Ex2 the scalar graph
a3 sigma(alpha a1 x + (1 - alpha) a2 x), Ex3 W2 ReLU(W1 x + b1) + b2 with softmax cross-entropy
and one gradient-descent step. Seed 001: 1.1 y = W x + b, 1.2 softmax with temperature beta.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.compile import CompiledFunction
from chainrule.compile import compile as cr_compile
from chainrule.compile.tape import Tape

N, Z, M = 4, 5, 3  # Ex3's sizes, as examples/seed000_ex3_backprop.py and test_course_ledger


def _same(a: Any, b: Any) -> None:
    """Bit-identical values, shapes and dtypes."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    np.testing.assert_array_equal(a, b)


def _only_tapes(fn: CompiledFunction, n: int = 1) -> None:
    """No variant fell back to eager (a replay that raised leaves a reason string instead)."""
    assert [type(v) for v in fn.cache.values()] == [Tape] * n


@contextlib.contextmanager
def _no_fallback() -> Iterator[None]:
    """A cr.compile fallback warning inside raises."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="cr.compile")
        yield


def _f64(value: Any, requires_grad: bool = False) -> cr.Tensor:
    return cr.tensor(value, dtype=cr.float64, requires_grad=requires_grad)


# -- 000 Ex1: f(x) = a2 sigma(a1 x), binary log-likelihood, gradient descent -------------------
def _ex1(textbook: bool) -> tuple[Callable[..., cr.Tensor], list[cr.Tensor]]:
    """A gradient-descent step on the seed's loss: the textbook NLL -y log p - (1 - y) log(1 - p)
    with p = sigma(f), or the fused -y f + log(1 + e^f) (binary_cross_entropy_with_logits)."""
    a1, a2 = _f64(0.8, True), _f64(-0.6, True)
    opt = cr.optim.SGD([a1, a2], lr=0.5)

    def step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        f = a2 * cr.sigmoid(a1 * x)
        if textbook:
            p = cr.sigmoid(f)
            loss = -(y * cr.log(p) + (1 - y) * cr.log(1 - p)).mean()
        else:
            loss = F.binary_cross_entropy_with_logits(f, y)
        loss.backward()
        opt.step()
        return loss

    return step, [a1, a2]


@pytest.mark.parametrize("textbook", [False, True], ids=["fused", "textbook"])
def test_ex1_gradient_descent_on_the_log_likelihood_is_bit_identical(textbook: bool) -> None:
    eager, params_e = _ex1(textbook)
    compiled, params_c = _ex1(textbook)
    compiled = cr_compile(compiled)
    rng = np.random.default_rng(0)
    with _no_fallback():
        for i in range(12):
            x = rng.uniform(-3, 3, 16)
            y = (rng.uniform(size=16) < 0.5).astype(np.float64)
            if i == 0:  # the seed's Q3 on the first batch: dL/da2 = mean((sigma(o) - y) z)
                a1, a2 = (p.item() for p in params_e)
                z = 1 / (1 + np.exp(-a1 * x))
                dL_do = 1 / (1 + np.exp(-a2 * z)) - y
                grad_a2, grad_a1 = np.mean(dL_do * z), np.mean(dL_do * a2 * z * (1 - z) * x)
            le, lc = eager(_f64(x), _f64(y)), compiled(_f64(x), _f64(y))
            _same(lc._data, le._data)
            if i == 0:
                np.testing.assert_allclose(params_e[0].grad.item(), grad_a1, rtol=1e-12)
                np.testing.assert_allclose(params_e[1].grad.item(), grad_a2, rtol=1e-12)
            for pe, pc in zip(params_e, params_c, strict=True):
                _same(pc._data, pe._data)  # updated in place by the replayed step
                _same(pc.grad._data, pe.grad._data)
    assert params_c[0].item() != 0.8  # the steps moved the parameters
    _only_tapes(compiled)


def test_ex1_gradients_returned_from_the_compiled_function() -> None:
    """The gradients themselves as the results (each call resets them first, as eager)."""

    def make() -> tuple[Callable[..., Any], list[cr.Tensor]]:
        a1, a2 = _f64(0.8, True), _f64(-0.6, True)

        def grads(x: cr.Tensor, y: cr.Tensor) -> tuple[cr.Tensor, cr.Tensor]:
            a1.grad, a2.grad = None, None
            F.binary_cross_entropy_with_logits(a2 * cr.sigmoid(a1 * x), y).backward()
            return a1.grad, a2.grad

        return grads, [a1, a2]

    (eager, _), (compiled, params_c) = make(), make()
    compiled = cr_compile(compiled)
    rng = np.random.default_rng(1)
    kept = []
    with _no_fallback():
        for _ in range(4):
            x, y = rng.uniform(-3, 3, 8), (rng.uniform(size=8) < 0.5).astype(np.float64)
            ge, gc = eager(_f64(x), _f64(y)), compiled(_f64(x), _f64(y))
            for e, c, pc in zip(ge, gc, params_c, strict=True):
                _same(c._data, e._data)
                assert c is pc.grad  # the result is the parameter's .grad, as in eager
            kept.append((ge, gc, [g._data.copy() for g in ge]))
    for ge, gc, values in kept:  # a later call's reset made new arrays: old results unchanged
        for e, c, v in zip(ge, gc, values, strict=True):
            _same(e._data, v)
            _same(c._data, v)
    _only_tapes(compiled)


# -- 000 Ex2: the scalar graph, replayed over many x, .grad accumulated --------------------------
def _ex2(decomposed: bool) -> tuple[Callable[..., cr.Tensor], list[cr.Tensor]]:
    """f(x) = a3 sigma(alpha a1 x + (1 - alpha) a2 x), backward at each call and no reset, so
    the leaves accumulate. `decomposed` writes sigma with the seed's low-granularity ops
    (multiplication, addition, power; and exp): (1 + e^-u)^-1."""
    a1, a2, a3 = _f64(0.7, True), _f64(-1.3, True), _f64(2.0, True)

    def f(x: cr.Tensor, alpha: float) -> cr.Tensor:
        u = alpha * a1 * x + (1 - alpha) * a2 * x
        s = (1 + (-u).exp()) ** -1 if decomposed else cr.sigmoid(u)
        y = a3 * s
        y.backward()
        return y

    return f, [a1, a2, a3]


@pytest.mark.parametrize("decomposed", [False, True], ids=["sigmoid", "mul-add-pow"])
def test_ex2_scalar_graph_accumulates_grad_as_eager_at_every_call(decomposed: bool) -> None:
    eager, leaves_e = _ex2(decomposed)
    compiled, leaves_c = _ex2(decomposed)
    compiled = cr_compile(compiled)
    xs = np.random.default_rng(2).uniform(-4, 4, 300)
    alphas = (0.25, 0.9)  # a Python float argument: part of the guard key, one variant each
    with _no_fallback():
        for i, x in enumerate(xs):
            alpha = alphas[i % 2]
            ye, yc = eager(_f64(x), alpha), compiled(_f64(x), alpha)
            _same(yc._data, ye._data)
            for e, c in zip(leaves_e, leaves_c, strict=True):
                _same(c.grad._data, e.grad._data)
            if i == 0:  # the first .grad objects, which later backwards add into (or replace)
                first_e = [t.grad for t in leaves_e]
                first_c = [t.grad for t in leaves_c]
    for fe, fc, e, c in zip(first_e, first_c, leaves_e, leaves_c, strict=True):
        assert (fc is c.grad) == (fe is e.grad)  # the same aliasing as eager's accumulation
        _same(fc._data, fe._data)
    _only_tapes(compiled, n=len(alphas))


# -- 000 Ex3: the two-layer ReLU MLP, softmax cross-entropy, one gradient-descent step ---------
def _ex3(reduction: str) -> tuple[Callable[..., cr.Tensor], cr.nn.Module]:
    cr.manual_seed(0)
    model = cr.nn.MLP([N, Z, M]).double()  # Linear(N, Z), ReLU, Linear(Z, M)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)  # Q4: W <- W - lr grad_W L

    def step(x: cr.Tensor, c: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        (W1, b1), (W2, b2) = (model[0].weight, model[0].bias), (model[2].weight, model[2].bias)
        o = F.linear(cr.relu(F.linear(x, W1, b1)), W2, b2)
        loss = F.cross_entropy(o, c, reduction=reduction)  # E(D) = sum of L over D with "sum"
        loss.backward()
        opt.step()
        return loss

    return step, model


@pytest.mark.parametrize("batch", [None, 6], ids=["one-sample", "dataset-sum"])
def test_ex3_one_gradient_descent_step_per_call_is_bit_identical(batch: int | None) -> None:
    reduction = "mean" if batch is None else "sum"
    eager, model_e = _ex3(reduction)
    compiled, model_c = _ex3(reduction)
    compiled = cr_compile(compiled)
    rng = np.random.default_rng(3)
    with _no_fallback():
        for _ in range(4):  # each call is ONE step; the first is the trace, then replays
            shape = (N,) if batch is None else (batch, N)
            x = rng.standard_normal(shape)
            c = rng.integers(0, M, () if batch is None else batch)
            before = [p._data.copy() for p in model_e.parameters()]
            le = eager(_f64(x), cr.tensor(c))
            lc = compiled(_f64(x), cr.tensor(c))
            _same(lc._data, le._data)
            params = zip(model_e.parameters(), model_c.parameters(), before, strict=True)
            for pe, pc, old in params:
                _same(pc.grad._data, pe.grad._data)
                _same(pc._data, pe._data)  # every parameter after the step
                np.testing.assert_allclose(pe._data, old - 0.1 * pe.grad._data, rtol=1e-12)
    _only_tapes(compiled)


def test_a_kept_grad_reference_and_a_returned_loss_keep_their_values_after_the_next_call() -> None:
    """Eager: zero_grad sets .grad to None, so the next backward makes new arrays; a reference
    kept from call 1 keeps call 1's values, and call 1's loss does not change."""
    results = []
    for compile_it in (False, True):
        step, model = _ex3("mean")
        run = cr_compile(step) if compile_it else step
        rng = np.random.default_rng(4)
        calls = [(rng.standard_normal(N), int(rng.integers(0, M))) for _ in range(3)]
        with _no_fallback():
            run(_f64(calls[0][0]), cr.tensor(calls[0][1]))  # the trace (or a first eager call)
            loss1 = run(_f64(calls[1][0]), cr.tensor(calls[1][1]))  # a replay
            grads1 = [p.grad for p in model.parameters()]
            saved = [loss1._data.copy()] + [g._data.copy() for g in grads1]
            loss2 = run(_f64(calls[2][0]), cr.tensor(calls[2][1]))
        _same(loss1._data, saved[0])
        assert not np.shares_memory(loss1._data, loss2._data)
        for g1, old, p in zip(grads1, saved[1:], model.parameters(), strict=True):
            _same(g1._data, old)
            assert g1 is not p.grad and not np.shares_memory(g1._data, p.grad._data)
        assert not np.array_equal(loss2._data, loss1._data)  # call 2 did compute something new
        results.append([loss1._data, loss2._data] + [p._data for p in model.parameters()])
        if compile_it:
            _only_tapes(run)
    for got, want in zip(results[1], results[0], strict=True):
        _same(got, want)


# -- 001 1.1: y = W x + b ---------------------------------------------------------------------
def _linear(upstream: bool) -> tuple[Callable[..., cr.Tensor], list[cr.Tensor]]:
    """dL/dW, dL/db, dL/dx for L = <y, g> (whose gradient at y is exactly g, the seed's dL/dy),
    or with `upstream` for y.backward(gradient=g), as examples/seed001_1_1_linear.py does."""
    W = _f64([[0.2, -0.5], [1.5, 0.3]], True)
    b = _f64([0.1, -0.2], True)

    def f(x: cr.Tensor, g: cr.Tensor) -> cr.Tensor:
        W.grad, b.grad = None, None
        y = W @ x + b
        if upstream:
            y.backward(gradient=g)
            return y
        L = (y * g).sum()
        L.backward()
        return L

    return f, [W, b]


@pytest.mark.parametrize("upstream", [False, True], ids=["loss", "gradient-argument"])
def test_linear_warm_up_gradients_are_bit_identical(upstream: bool) -> None:
    eager, params_e = _linear(upstream)
    compiled, params_c = _linear(upstream)
    compiled = cr_compile(compiled)
    rng = np.random.default_rng(5)
    with _no_fallback():
        for _ in range(4):
            x, g = rng.standard_normal(2), rng.standard_normal(2)
            xe, xc = _f64(x, True), _f64(x, True)
            out_e, out_c = eager(xe, _f64(g)), compiled(xc, _f64(g))
            _same(out_c._data, out_e._data)
            for e, c in zip([*params_e, xe], [*params_c, xc], strict=True):
                _same(c.grad._data, e.grad._data)
            W = params_e[0].detach().numpy()
            np.testing.assert_allclose(params_e[0].grad.numpy(), np.outer(g, x), rtol=1e-12)
            np.testing.assert_allclose(params_e[1].grad.numpy(), g, rtol=1e-12)
            np.testing.assert_allclose(xe.grad.numpy(), W.T @ g, rtol=1e-12)
    _only_tapes(compiled)


# -- 001 1.2: softmax with temperature beta ---------------------------------------------------
def _closed_form(x: np.ndarray, beta: float) -> np.ndarray:
    """Seed 001 (2): dy_j/dx_i = beta p_i (delta_ij - p_j), i.e. beta (diag(p) - p p^T)."""
    e = np.exp(beta * (x - x.max()))
    p = e / e.sum()
    return beta * (np.diag(p) - np.outer(p, p))


def _jacobian(x: cr.Tensor, beta: float) -> cr.Tensor:
    return cr.autograd.functional.jacobian(lambda v: cr.softmax(v, -1, beta=beta), x)


def test_softmax_temperature_jacobian_replays_or_falls_back_once_and_equals_eager() -> None:
    compiled = cr_compile(_jacobian)
    rng = np.random.default_rng(6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            for beta in (0.5, 1.0, 3.0):
                x = rng.standard_normal(4)
                got, want = compiled(_f64(x), beta), _jacobian(_f64(x), beta)
                _same(got._data, want._data)
                np.testing.assert_allclose(got.numpy(), _closed_form(x, beta), atol=1e-15)
    messages = [str(w.message) for w in caught if str(w.message).startswith("cr.compile")]
    assert len(messages) <= 1, messages
    kinds = {type(v) for v in compiled.cache.values()}
    # autograd.grad inside: documented to fall back (then every variant is a reason string)
    assert kinds == ({str} if messages else {Tape}), (kinds, messages)


def test_softmax_temperature_vector_jacobian_product_is_bit_identical() -> None:
    def vjp(x: cr.Tensor, v: cr.Tensor, beta: float) -> cr.Tensor:
        out = (cr.softmax(x, -1, beta=beta) * v).sum()
        out.backward()
        return x.grad

    compiled = cr_compile(vjp)
    rng = np.random.default_rng(7)
    with _no_fallback():
        for _ in range(3):
            for beta in (0.5, 3.0):
                x, v = rng.standard_normal(4), rng.standard_normal(4)
                got = compiled(_f64(x, True), _f64(v), beta)
                want = vjp(_f64(x, True), _f64(v), beta)
                _same(got._data, want._data)
                np.testing.assert_allclose(want.numpy(), v @ _closed_form(x, beta), atol=1e-15)
    _only_tapes(compiled, n=2)
