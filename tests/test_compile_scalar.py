"""cr.compile's float replay of 0-d float64 tapes (compile/scalar.py): taken where every value
is a 0-d float64, bit-identical to eager (values, .grad, NumPy's error state), including the
edge values where Python float and NumPy semantics could part (nan, inf, -0.0, x / 0)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.compile import CompiledFunction
from chainrule.compile import compile as cr_compile
from chainrule.compile.tape import Tape

# finite values replay on floats; an overflow, inf or nan sends the call to the general replay
EDGE = [0.0, -0.0, 1.5, -2.25, 40.0, -800.0, 1e308, -1e-310, np.inf, -np.inf, np.nan, 0.7]


def _tape(fn: CompiledFunction) -> Tape:
    (tape,) = [v for v in fn.cache.values() if isinstance(v, Tape)]
    return tape


def _bits(a: Any) -> bytes:
    a = np.asarray(a)
    assert a.shape == () and a.dtype == np.float64, (a.shape, a.dtype)
    return a.tobytes()  # compares -0.0 and nan payloads too


def _leaves() -> list[cr.Tensor]:
    return [cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (0.7, -1.3, 2.0)]


def _graphs() -> dict[str, Callable[..., Callable[[cr.Tensor], Any]]]:
    def inline(a: cr.Tensor, b: cr.Tensor, c: cr.Tensor) -> Callable[[cr.Tensor], Any]:
        def f(x: cr.Tensor) -> cr.Tensor:
            y = c * (0.25 * a * x + (1 - 0.25) * b * x).sigmoid() - (-x) * 3 + a
            y.backward()
            return y

        return f

    def rules(a: cr.Tensor, b: cr.Tensor, c: cr.Tensor) -> Callable[[cr.Tensor], Any]:
        def f(x: cr.Tensor) -> cr.Tensor:  # Div and Exp run their rules on 0-d arrays
            y = (a * x / (b * 0.0 + x)).exp() + c.tanh() * x
            y.backward()
            return y

        return f

    return {"inline": inline, "rules": rules}


@pytest.mark.parametrize("name", ["inline", "rules"])
def test_float_replay_is_taken_and_bit_identical_on_edge_values(name: str) -> None:
    make = _graphs()[name]
    eager_leaves, compiled_leaves = _leaves(), _leaves()
    eager, compiled = make(*eager_leaves), cr_compile(make(*compiled_leaves))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        results = []
        for x in [0.3, *EDGE]:
            for f in (eager, compiled):
                results.append(_bits(f(cr.tensor(x, dtype=cr.float64))._data))
    assert results[0::2] == results[1::2]
    messages = [str(w.message) for w in seen]
    assert not any("cr.compile" in m for m in messages)  # no fallback to eager
    assert messages[0::2] == messages[1::2]  # the same NumPy warnings (forward), in order
    for e, c in zip(eager_leaves, compiled_leaves, strict=True):
        assert _bits(c.grad._data) == _bits(e.grad._data)
    tape = _tape(compiled)
    assert tape.scalar
    if name == "inline":  # nothing left for NumPy: no ctx, no error state to set
        assert "float(refs[" in tape.run.source and "_new(" not in tape.run.source
        assert "_seterr(divide" not in tape.run.source
    else:  # Div and Exp: the general replay, on 0-d arrays
        assert "float(refs[" not in tape.run.source


def test_float_replay_with_an_optimizer_matches_eager_steps() -> None:
    def train(w: cr.Tensor, opt: Any) -> Callable[[cr.Tensor], Any]:
        def step(x: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            loss = (w * x - 1.0) * (w * x - 1.0)
            loss.backward()
            opt.step()
            return loss

        return step

    runs = []
    for compiled in (False, True):
        w = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
        opt = cr.optim.SGD([w], lr=0.05, momentum=0.9)
        step = train(w, opt)
        f = cr_compile(step) if compiled else step
        losses = [_bits(f(cr.tensor(x, dtype=cr.float64))._data) for x in np.linspace(-2, 2, 50)]
        runs.append((losses, _bits(w._data), _bits(w.grad._data)))
        if compiled:
            assert _tape(f).scalar and "float(refs[" in _tape(f).run.source
    assert runs[0] == runs[1]


def test_a_float32_or_shaped_value_keeps_the_array_replay() -> None:
    for dtype, shape in ((cr.float32, ()), (cr.float64, (2,))):
        a = cr.tensor(np.full(shape, 0.5), dtype=dtype, requires_grad=True)

        def f(x: cr.Tensor, a: cr.Tensor = a) -> None:
            (a * x).sum().backward()

        g = cr_compile(f)
        g(cr.tensor(np.full(shape, 2.0), dtype=dtype))
        g(cr.tensor(np.full(shape, 2.0), dtype=dtype))
        assert not _tape(g).scalar and "float(refs[" not in _tape(g).run.source
        assert a.grad._data.dtype == np.dtype(dtype) and np.all(a.grad._data == 4.0)


def test_a_leaf_gradient_held_elsewhere_is_replaced_as_eager_does() -> None:
    # a read-only .grad array (as a user could leave it) is not added into in place
    runs = []
    for compiled in (False, True):
        a = cr.tensor(1.5, dtype=cr.float64, requires_grad=True)

        def f(x: cr.Tensor, a: cr.Tensor = a) -> None:
            (a * x).backward()

        g = cr_compile(f) if compiled else f
        g(cr.tensor(2.0, dtype=cr.float64))
        g(cr.tensor(2.0, dtype=cr.float64))
        held = a.grad._data
        held.flags.writeable = False
        g(cr.tensor(3.0, dtype=cr.float64))
        runs.append((_bits(held), _bits(a.grad._data), a.grad._data is held))
    assert runs[0] == runs[1] and runs[0][1] == _bits(7.0) and not runs[0][2]


def test_a_pure_function_and_a_second_forward_after_backward() -> None:
    def pure(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        return x * y - x  # no backward: the check sits before the return

    def twice(a: cr.Tensor) -> Callable[[cr.Tensor], cr.Tensor]:
        def f(x: cr.Tensor) -> cr.Tensor:
            (a * x).backward()
            y = a * x * x  # after a backward: past the check, so the general replay keeps it
            y.backward()
            return y

        return f

    leaves = [cr.tensor(3.0, dtype=cr.float64, requires_grad=True) for _ in range(2)]
    g, h_eager, h = cr_compile(pure), twice(leaves[0]), cr_compile(twice(leaves[1]))
    for x in (2.0, 1e200, -0.0, np.inf, 0.5):
        xs = (cr.tensor(x, dtype=cr.float64), cr.tensor(x, dtype=cr.float64))
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            e, c = pure(*xs), g(*xs)
            assert _bits(h(xs[0])._data) == _bits(h_eager(xs[0])._data)
        assert _bits(c._data) == _bits(e._data)
        messages = [str(w.message) for w in seen]
        assert not any("cr.compile" in m for m in messages)
        assert _bits(leaves[1].grad._data) == _bits(leaves[0].grad._data)
    assert "float(refs[" in _tape(g).run.source
    assert "float(refs[" not in _tape(h).run.source
