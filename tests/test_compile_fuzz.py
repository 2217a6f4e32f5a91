"""cr.compile over random op compositions (hypothesis): compiled == eager, bit for bit.

Each example draws 1-3 inputs of small shapes that broadcast together (0-d and size-1 axes
included), float32 or float64, requires_grad per input, sometimes a closed-over parameter (a
ref whose .grad accumulates across calls), and 2-8 unary or binary ops on earlier values. The
compiled function is called three times with fresh input values (the trace, then two replays)
next to the eager function on identical copies; values and .grad must be bit-identical (and,
for a result backpropagated after the call, its requires_grad), and nothing may fall back.
The deterministic tests at the end are what the properties shrank to, named so that a failure
says what broke without a hypothesis run.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.compile import compile as cr_compile
from chainrule.compile.tape import Tape

T = cr.Tensor


def _same(a: Any, b: Any) -> None:
    """Bit-identical shape, dtype and values (nan == nan, so nan and inf positions count)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    np.testing.assert_array_equal(a, b)
    # assert_array_equal calls -0.0 == 0.0; the sign bit is part of "bit for bit"
    np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


def _softmax(x: T) -> T:
    return x.softmax(-1)


UNARY: dict[str, Callable[[T], T]] = {
    "exp": lambda x: x.exp(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(),
    "abs": lambda x: x.abs(),
    "neg": lambda x: -x,
    "sin": lambda x: x.sin(),
    "log": lambda x: (x.abs() + 1.0).log(),
    "sqrt": lambda x: (x.abs() + 1e-3).sqrt(),
    "pow2": lambda x: x**2,
    "softmax": _softmax,
    "mean": lambda x: x.mean(),
}
# ops that take an axis or a shape: (name, applies to this shape?, build with the drawn int)
SHAPED: dict[str, tuple[Callable[[tuple], bool], Callable[[T, int], T]]] = {
    "sum_keepdim": (lambda s: len(s) >= 1, lambda x, k: x.sum(k % x.ndim, keepdim=True)),
    "mean_axis": (lambda s: len(s) >= 1, lambda x, k: x.mean(k % x.ndim)),
    "flatten": (lambda s: True, lambda x, k: x.reshape(-1)),
    "reshape_rev": (lambda s: len(s) >= 2, lambda x, k: x.reshape(*reversed(x.shape))),
    "transpose": (
        lambda s: len(s) >= 2,
        lambda x, k: x.transpose(k % x.ndim, (k // x.ndim) % x.ndim),
    ),
}
BINARY: dict[str, Callable[[T, T], T]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b.abs() + 0.5),  # a safe denominator: never 0
    "maximum": lambda a, b: cr.maximum(a, b),
    "where": lambda a, b: cr.where(a > b, a, b * 2.0),
    "where_sign": lambda a, b: cr.where(b >= 0.0, a.exp(), -b),
}


def _matmul_ok(a: tuple, b: tuple) -> bool:
    if not a or not b:
        return False
    inner_a = a[-1]
    inner_b = b[0] if len(b) == 1 else b[-2]
    if inner_a != inner_b:
        return False
    try:
        np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Step:
    op: str
    args: tuple[int, ...]  # indices into the values computed so far
    k: int = 0  # the axis / permutation draw of a shaped op


@dataclass(frozen=True)
class Program:
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[str, ...]
    requires_grad: tuple[bool, ...]
    param: tuple[tuple[int, ...], str] | None  # a closed-over leaf that requires grad
    steps: tuple[Step, ...]
    scale: float  # input magnitude: 30 makes exp overflow, so inf and nan appear too


def _probe(shape: tuple[int, ...]) -> T:
    """A tensor of that shape, to learn an op's output shape while drawing."""
    return cr.tensor(np.zeros(shape))


@st.composite
def programs(draw: st.DrawFn) -> Program:
    rank = draw(st.integers(0, 3))
    base = tuple(draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank)))
    n = draw(st.integers(1, 3))
    shapes = []
    for _ in range(n):
        r = draw(st.integers(0, rank))  # a suffix of the base shape: broadcasts with it
        suffix = base[rank - r :]
        ones = draw(st.lists(st.booleans(), min_size=r, max_size=r))
        shapes.append(tuple(1 if one else d for d, one in zip(suffix, ones, strict=True)))
    dtypes = tuple(draw(st.sampled_from(["float32", "float64"])) for _ in range(n))
    requires = tuple(draw(st.booleans()) for _ in range(n))
    param = None
    if draw(st.booleans()):
        r = draw(st.integers(0, rank))
        param = (base[rank - r :], draw(st.sampled_from(["float32", "float64"])))
    pool = [*shapes] + ([param[0]] if param else [])
    steps = []
    for _ in range(draw(st.integers(2, 8))):
        kind = draw(st.sampled_from(["unary", "shaped", "binary", "binary", "matmul"]))
        i = draw(st.integers(0, len(pool) - 1))
        j = draw(st.integers(0, len(pool) - 1))
        if kind == "matmul" and _matmul_ok(pool[i], pool[j]):
            out = np.matmul(np.zeros(pool[i]), np.zeros(pool[j])).shape
            steps.append(Step("matmul", (i, j)))
        elif kind in ("binary", "matmul"):
            op = draw(st.sampled_from(sorted(BINARY)))
            try:
                out = np.broadcast_shapes(pool[i], pool[j])
                steps.append(Step(op, (i, j)))
            except ValueError:  # shapes that do not broadcast: the second operand summed to 0-d
                out = pool[i]
                steps.append(Step(op + "_sum", (i, j)))
        elif kind == "shaped":
            ok = [name for name, (fits, _) in SHAPED.items() if fits(pool[i])]
            op = draw(st.sampled_from(sorted(ok)))
            k = draw(st.integers(0, 5))
            out = SHAPED[op][1](_probe(pool[i]), k).shape
            steps.append(Step(op, (i,), k))
        else:
            op = draw(st.sampled_from(sorted(UNARY)))
            out = UNARY[op](_probe(pool[i])).shape
            steps.append(Step(op, (i,)))
        pool.append(tuple(out))
    scale = draw(st.sampled_from([1.0, 1.0, 30.0]))
    return Program(tuple(shapes), dtypes, requires, param, tuple(steps), scale)


def _compose(program: Program, param: T | None) -> Callable[..., T]:
    """The program as a function of its inputs: each step on earlier values, the last value
    summed to a scalar."""

    def run(*inputs: T) -> T:
        values = [*inputs] + ([param] if param is not None else [])
        for step in program.steps:
            args = [values[i] for i in step.args]
            if step.op == "matmul":
                out = args[0] @ args[1]
            elif step.op.endswith("_sum"):
                out = BINARY[step.op[: -len("_sum")]](args[0], args[1].sum())
            elif step.op in BINARY:
                out = BINARY[step.op](*args)
            elif step.op in SHAPED:
                out = SHAPED[step.op][1](args[0], step.k)
            else:
                out = UNARY[step.op](args[0])
            values.append(out)
        return values[-1].sum()

    return run


def _inputs(program: Program, rng: np.random.Generator) -> list[np.ndarray]:
    return [
        (rng.standard_normal(shape) * program.scale).astype(dtype)
        for shape, dtype in zip(program.shapes, program.dtypes, strict=True)
    ]


def _param(program: Program) -> T | None:
    if program.param is None:
        return None
    shape, dtype = program.param
    data = np.random.default_rng(99).standard_normal(shape).astype(dtype)
    return cr.tensor(data, requires_grad=True)


def _check_grads(got: list[T], want: list[T]) -> None:
    for g, w in zip(got, want, strict=True):
        assert (g.grad is None) == (w.grad is None)
        if w.grad is not None:
            _same(g.grad._data, w.grad._data)


def _run_both(program: Program, seed: int, backward_inside: bool) -> None:
    note(repr(program))
    param_e, param_c = _param(program), _param(program)
    body_e, body_c = _compose(program, param_e), _compose(program, param_c)

    def inside(body: Callable[..., T]) -> Callable[..., T]:
        def fn(*inputs: T) -> T:
            total = body(*inputs)
            if total.requires_grad:  # a flag, part of the guard key: no value is read
                total.backward()
            return total

        return fn

    eager = inside(body_e) if backward_inside else body_e
    compiled = cr_compile(inside(body_c) if backward_inside else body_c)
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="cr.compile")  # no fallback to eager
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # overflow: both warn alike
        for call in range(3):  # the trace, then two replays on fresh values
            arrays = _inputs(program, rng)
            ins_e = [
                cr.tensor(a.copy(), requires_grad=r)
                for a, r in zip(arrays, program.requires_grad, strict=True)
            ]
            ins_c = [
                cr.tensor(a.copy(), requires_grad=r)
                for a, r in zip(arrays, program.requires_grad, strict=True)
            ]
            out_e, out_c = eager(*ins_e), compiled(*ins_c)
            note(f"call {call}: inputs {arrays}")
            _same(out_c._data, out_e._data)
            if not backward_inside:  # the flags after a backward inside: a test of their own
                assert out_c.requires_grad == out_e.requires_grad
            if not backward_inside and out_e.requires_grad:
                out_e.backward()
                out_c.backward()  # through the compiled result's node
            # the parameter's .grad accumulates over the calls, as eager's does
            leaves_c = ins_c + ([param_c] if param_c is not None else [])
            leaves_e = ins_e + ([param_e] if param_e is not None else [])
            _check_grads(leaves_c, leaves_e)
    assert [type(v) for v in compiled.cache.values()] == [Tape]


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(program=programs(), seed=st.integers(0, 2**16))
def test_random_composition_with_backward_inside_is_bit_identical(
    program: Program, seed: int
) -> None:
    _run_both(program, seed, backward_inside=True)


@SETTINGS
@given(program=programs(), seed=st.integers(0, 2**16))
def test_random_composition_backward_outside_through_the_result_is_bit_identical(
    program: Program, seed: int
) -> None:
    _run_both(program, seed, backward_inside=False)


# Tensors computed from values outside a differentiable primitive (comparisons, argmax): a
# replay must recompute them from the call's inputs (or the variant must fall back)
VALUE_DERIVED: dict[str, Callable[[T], T]] = {
    "where_ge": lambda x: cr.where(x >= 0.0, x.exp(), -x),
    "mul_gt_mask": lambda x: x * (x > 0.0),
    "eq_max": lambda x: x * (x == x.max()),
    "not_mask": lambda x: x * ~(x > 0.0),
    "masked_fill": lambda x: x.masked_fill(x > 0.0, 0.0),
    "argmax_index": lambda x: x[x.argmax()],
    "bool_index": lambda x: x[x > 0.0] * 1.0,
}


@pytest.mark.parametrize("name", sorted(VALUE_DERIVED))
def test_a_value_derived_mask_or_index_is_recomputed_at_each_replay(name: str) -> None:
    def f(x: T) -> T:
        return VALUE_DERIVED[name](x).sum()

    g = cr_compile(f)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for v in ([0.5, -1.0, 2.0], [-0.5, 3.0, -2.0], [1.0, -1.5, -3.0]):  # the mask changes
            _same(g(cr.tensor(v))._data, f(cr.tensor(v))._data)
    fallbacks = [str(w.message) for w in caught if str(w.message).startswith("cr.compile")]
    assert len(fallbacks) <= 1, fallbacks  # falling back is allowed; a frozen value is not


def test_a_loss_returned_after_backward_inside_keeps_eagers_flags() -> None:
    def f(x: T) -> T:
        loss = (x * x).sum()
        loss.backward()
        return loss

    g = cr_compile(f)
    for v in ([1.0, 2.0], [3.0, -1.0]):  # the trace, then a replay
        want, got = f(cr.tensor(v, requires_grad=True)), g(cr.tensor(v, requires_grad=True))
        _same(got._data, want._data)
        assert (got.requires_grad, got.is_leaf) == (want.requires_grad, want.is_leaf)
