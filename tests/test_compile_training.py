"""cr.compile over training steps and over the op oracle's cases: compiled == eager, bit for bit."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from helpers import make_arrays
from test_ops_oracle import CASES

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.compile import compile as cr_compile
from chainrule.compile.tape import Tape


def _same(a: Any, b: Any) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    np.testing.assert_array_equal(a, b)


def _mlp_step(optimizer: str) -> tuple[Any, cr.nn.Module, Any]:
    cr.manual_seed(0)
    model = cr.nn.Sequential(
        cr.nn.Linear(784, 64), cr.nn.ReLU(), cr.nn.Linear(64, 32), cr.nn.ReLU(),
        cr.nn.Linear(32, 10),
    )  # fmt: skip
    if optimizer == "sgd":
        opt: Any = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    else:
        opt = cr.optim.Adam(model.parameters(), lr=1e-3)

    def train_step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return train_step, model, opt


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_mlp_training_100_steps_is_bit_identical(optimizer: str) -> None:
    eager, model_e, opt_e = _mlp_step(optimizer)
    compiled, model_c, opt_c = _mlp_step(optimizer)
    compiled = cr_compile(compiled)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback
        for _ in range(100):
            x = rng.standard_normal((32, 784)).astype(np.float32)
            y = rng.integers(0, 10, 32)
            le = eager(cr.tensor(x), cr.tensor(y))
            lc = compiled(cr.tensor(x), cr.tensor(y))
            _same(lc._data, le._data)
    for pe, pc in zip(model_e.parameters(), model_c.parameters(), strict=True):
        _same(pc._data, pe._data)
        _same(pc.grad._data, pe.grad._data)
    if optimizer == "adam":
        for pe, pc in zip(model_e.parameters(), model_c.parameters(), strict=True):
            assert opt_c.state[pc]["step"] == opt_e.state[pe]["step"] == 100
            _same(opt_c.state[pc]["exp_avg_sq"], opt_e.state[pe]["exp_avg_sq"])
    assert [type(v) for v in compiled.cache.values()] == [Tape]


def test_a_learning_rate_change_reaches_the_replay() -> None:
    eager, model_e, opt_e = _mlp_step("sgd")
    compiled, model_c, opt_c = _mlp_step("sgd")
    compiled = cr_compile(compiled)
    sched_e = cr.optim.lr_scheduler.StepLR(opt_e, step_size=3, gamma=0.5)
    sched_c = cr.optim.lr_scheduler.StepLR(opt_c, step_size=3, gamma=0.5)
    rng = np.random.default_rng(1)
    for _ in range(8):
        x = rng.standard_normal((8, 784)).astype(np.float32)
        y = rng.integers(0, 10, 8)
        _same(compiled(cr.tensor(x), cr.tensor(y))._data, eager(cr.tensor(x), cr.tensor(y))._data)
        sched_e.step()
        sched_c.step()
    for pe, pc in zip(model_e.parameters(), model_c.parameters(), strict=True):
        _same(pc._data, pe._data)


def _case_arrays(case: Any) -> list[np.ndarray]:
    keys = ("low", "high", "positive", "seed")
    return make_arrays(case.inputs, **{k: v for k, v in case.options.items() if k in keys})


def _run_case(case: Any, fn: Any, arrays: list[np.ndarray]) -> tuple[list[Any], list[Any]]:
    const = case.options.get("const", ())
    inputs = [
        cr.tensor(a, requires_grad=a.dtype.kind == "f" and i not in const)
        for i, a in enumerate(arrays)
    ]
    outs = fn(*inputs)
    outs = [outs] if isinstance(outs, cr.Tensor) else list(outs)
    return [o._data for o in outs], [t.grad._data if t.grad is not None else None for t in inputs]


def _with_backward(case: Any) -> Any:
    """The case's function followed by a backward of a fixed random weighting of its outputs
    that require grad (so the compiled function holds the backward too)."""

    def step(*inputs: cr.Tensor) -> Any:
        out = case.fn(*inputs)
        outs = [out] if isinstance(out, cr.Tensor) else list(out)
        live = [o for o in outs if o.requires_grad]
        if live:
            rng = np.random.default_rng(7)
            total = None
            for o in live:
                w = cr.tensor(rng.standard_normal(o.shape).astype(o.dtype))
                term = (o * w).sum()
                total = term if total is None else total + term
            total.backward()
        return tuple(o.detach() for o in outs)

    return step


FALLBACK_COUNT: list[int] = []


@pytest.mark.parametrize("case", [c.param() for c in CASES[::3]])
def test_oracle_case_compiled_equals_eager(case: Any) -> None:
    arrays = _case_arrays(case)
    step = _with_backward(case)
    try:
        want = _run_case(case, step, arrays)
    except Exception as error:  # a case that checks an error: the compiled call raises it too
        with pytest.raises(type(error)):
            _run_case(case, cr_compile(step), arrays)
        return
    compiled = cr_compile(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # the trace, then a replay
            got = _run_case(case, compiled, arrays)
            for g, w in zip(got[0] + got[1], want[0] + want[1], strict=True):
                assert (g is None) == (w is None)
                if g is not None:
                    _same(g, w)
    fallbacks = [str(w.message) for w in caught if "cr.compile" in str(w.message)]
    if fallbacks:
        FALLBACK_COUNT.append(1)
        assert "running eagerly" in fallbacks[0]
    else:
        assert [type(v) for v in compiled.cache.values()] == [Tape]


def _backward_outside(fn: Any) -> Any:
    """The case's function called as is (compiled or not), then the same weighted backward run
    outside it: through the compiled function's result node."""

    def step(*inputs: cr.Tensor) -> Any:
        out = fn(*inputs)
        outs = [out] if isinstance(out, cr.Tensor) else list(out)
        live = [o for o in outs if o.requires_grad]
        if live:
            rng = np.random.default_rng(7)
            total = None
            for o in live:
                w = cr.tensor(rng.standard_normal(o.shape).astype(o.dtype))
                term = (o * w).sum()
                total = term if total is None else total + term
            total.backward()
        return tuple(o.detach() for o in outs)

    return step


@pytest.mark.parametrize("case", [c.param() for c in CASES[1::3]])
def test_oracle_case_backward_through_the_compiled_result(case: Any) -> None:
    arrays = _case_arrays(case)
    try:
        want = _run_case(case, _backward_outside(case.fn), arrays)
    except Exception as error:
        with pytest.raises(type(error)):
            _run_case(case, _backward_outside(cr_compile(case.fn)), arrays)
        return
    compiled = cr_compile(case.fn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            got = _run_case(case, _backward_outside(compiled), arrays)
            for g, w in zip(got[0] + got[1], want[0] + want[1], strict=True):
                assert (g is None) == (w is None)
                if g is not None:
                    _same(g, w)
    fallbacks = [str(w.message) for w in caught if "cr.compile" in str(w.message)]
    if not fallbacks:
        assert [type(v) for v in compiled.cache.values()] == [Tape]


def _cnn_step() -> tuple[Any, cr.nn.Module]:
    cr.manual_seed(0)
    nn = cr.nn
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(8 * 3 * 3, 5),
    )  # fmt: skip
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)

    def step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step, model


def test_cnn_training_is_bit_identical() -> None:
    eager, model_e = _cnn_step()
    compiled, model_c = _cnn_step()
    compiled = cr_compile(compiled)
    rng = np.random.default_rng(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(10):
            x = rng.standard_normal((6, 1, 12, 12)).astype(np.float32)
            y = rng.integers(0, 5, 6)
            _same(
                compiled(cr.tensor(x), cr.tensor(y))._data, eager(cr.tensor(x), cr.tensor(y))._data
            )
    for pe, pc in zip(model_e.parameters(), model_c.parameters(), strict=True):
        _same(pc._data, pe._data)


def test_tiny_transformer_training_with_a_scheduler_inside_is_bit_identical() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    import tiny_transformer as tt

    def make() -> tuple[Any, cr.nn.Module]:
        cr.manual_seed(1)
        model = tt.TinyGPT(cr, 4, d_model=16, nhead=2, layers=1).double()
        opt = cr.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
        schedule = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8)

        def step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, tt.VOCAB), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            return loss

        return step, model

    runs = []
    for compiled in (False, True):
        step, model = make()
        run = cr_compile(step) if compiled else step
        batches = tt.batches(7, 8, 4)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            losses = [run(*(cr.from_numpy(a) for a in next(batches)))._data for _ in range(8)]
        runs.append((losses, [p._data for p in model.parameters()]))
    for got, want in zip(runs[1][0] + runs[1][1], runs[0][0] + runs[0][1], strict=True):
        _same(got, want)
