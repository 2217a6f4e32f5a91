"""Hardening of the engine (issue 8, part 1): gradient arrays never shared between owners,
per-thread grad / anomaly / recorder modes, post-accumulate-grad hooks. torch is the oracle."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import modes

# -- helpers --------------------------------------------------------------------------------


def leaves(*shapes: tuple[int, ...], seed: int = 0) -> tuple[list, list]:
    """Matching float64 leaves for chainrule and torch."""
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=s) for s in shapes]
    ours = [cr.tensor(v.copy(), dtype=cr.float64, requires_grad=True) for v in values]
    theirs = [torch.tensor(v.copy(), dtype=torch.float64, requires_grad=True) for v in values]
    return ours, theirs


def assert_independent(named: dict[str, object]) -> None:
    """Changing any one of these tensors in place leaves every other one as it was (torch's
    guarantee after backward: each .grad, and each gradient a hook saw, is its own memory)."""
    snapshot = {k: np.array(np.asarray(t), copy=True) for k, t in named.items()}
    for name, t in named.items():
        with cr.no_grad():
            t.add_(100.0)
        for other, u in named.items():
            if other != name:
                np.testing.assert_array_equal(
                    np.asarray(u), snapshot[other], err_msg=f"changing {name} changed {other}"
                )
        with cr.no_grad():
            t.sub_(100.0)


def assert_same_values(ours: object, theirs: torch.Tensor) -> None:
    np.testing.assert_allclose(np.asarray(ours), theirs.detach().numpy(), rtol=1e-12, atol=0)


# -- 1. gradient arrays are never shared between owners -------------------------------------


def test_retained_grad_of_a_sub_is_not_the_leafs_grad() -> None:
    # The buffer of y sums two contributions (a new array): retain_grad kept it and Sub passed
    # the same array on to a, which adopted it, so a.grad.zero_() zeroed y.grad too.
    (a, b), (at, bt) = leaves((3,), (3,))
    for lib, (p, q) in ((cr, (a, b)), (torch, (at, bt))):
        y = p - q
        y.retain_grad()
        (y * 2 + y * 3).sum().backward()
        p.grad.zero_()
        if lib is cr:
            ours_y = y
        else:
            theirs_y = y
    assert_same_values(ours_y.grad, theirs_y.grad)
    assert ours_y.grad.tolist() == [5.0, 5.0, 5.0]
    assert_independent({"a.grad": a.grad, "b.grad": b.grad, "y.grad": ours_y.grad})


def test_a_leaf_hooks_argument_is_not_adopted_then_accumulated_into() -> None:
    (x,), (xt,) = leaves((4,))
    seen, seen_t = [], []
    x.register_hook(seen.append)
    xt.register_hook(seen_t.append)
    for _ in range(2):
        (x * 3).sum().backward()
        (xt * 3).sum().backward()
    for ours, theirs in zip(seen, seen_t, strict=True):
        assert_same_values(ours, theirs)  # each still 3, not the accumulated 6
    assert_same_values(x.grad, xt.grad)
    assert_independent({"x.grad": x.grad, "seen0": seen[0], "seen1": seen[1]})


def test_a_node_hooks_argument_is_not_passed_to_a_leaf() -> None:
    (a, b), (at, bt) = leaves((3,), (3,))
    seen, seen_t = [], []
    for p, q, store in ((a, b, seen), (at, bt, seen_t)):
        y = p - q  # Sub hands y's gradient itself on to p
        y.register_hook(store.append)
        (y * 2 + y * 3).sum().backward(retain_graph=True)
        (y * 2 + y * 3).sum().backward()
    assert_same_values(seen[0], seen_t[0])
    assert_same_values(a.grad, at.grad)
    assert_independent({"a.grad": a.grad, "b.grad": b.grad, "seen0": seen[0], "seen1": seen[1]})


def test_a_hooks_returned_gradient_is_not_adopted() -> None:
    (a, b, x), _ = leaves((3,), (3,), (2,))
    kept = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)
    kept_x = cr.tensor([4.0, 5.0], dtype=cr.float64)
    y = a - b
    y.register_hook(lambda g: kept)  # a node hook replacing the gradient
    x.register_hook(lambda g: kept_x)  # a leaf hook replacing the gradient
    (y * 1).sum().backward()
    (x * 1).sum().backward()
    assert a.grad.tolist() == [1.0, 2.0, 3.0] and x.grad.tolist() == [4.0, 5.0]
    assert_independent({"a.grad": a.grad, "b.grad": b.grad, "kept": kept})
    assert_independent({"x.grad": x.grad, "kept_x": kept_x})


@pytest.mark.parametrize("as_tensor", [True, False])
def test_the_users_gradient_argument_is_not_adopted(as_tensor: bool) -> None:
    (a, b), _ = leaves((3,), (3,))
    values = np.array([1.0, 2.0, 3.0])
    gradient = cr.tensor(values.copy(), dtype=cr.float64) if as_tensor else values.copy()
    (a - b).backward(gradient)
    a.backward(gradient)  # a leaf differentiated with respect to itself
    assert a.grad.tolist() == [2.0, 4.0, 6.0]
    assert_independent({"a.grad": a.grad, "b.grad": b.grad})
    a.grad.zero_()
    b.grad.zero_()
    np.testing.assert_array_equal(np.asarray(gradient), values)


@pytest.mark.parametrize(
    "f",
    [
        lambda p, q: p + q[0],  # Add returns g for both inputs
        lambda p, q: p - q[0],  # Sub returns g itself for p
        lambda p, q: -(p + q[0]),
        lambda p, q: (p + q[0]) + p,  # p used twice
        lambda p, q: p + q,  # q (4,) broadcast to (3, 4): sum_to
        lambda p, q: p - q.reshape(1, 4),
    ],
    ids=["add", "sub", "neg-add", "twice", "broadcast", "reshape-sub"],
)
def test_leaves_grads_are_separate_memory_and_match_torch(f: Callable) -> None:
    (p, q), (pt, qt) = leaves((3, 4), (4,))
    f(p, q).sum().backward()
    f(pt, qt).sum().backward()
    assert_same_values(p.grad, pt.grad)
    assert_same_values(q.grad, qt.grad)
    assert_independent({"p.grad": p.grad, "q.grad": q.grad})
    # a second backward accumulates into each one's own memory
    f(p, q).sum().backward()
    f(pt, qt).sum().backward()
    assert_same_values(p.grad, pt.grad)
    assert_same_values(q.grad, qt.grad)


def test_a_user_function_returning_one_array_for_two_inputs() -> None:
    class Both(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g, g

    (a, b), _ = leaves((3,), (3,))
    Both.apply(a, b).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0, 1.0]
    assert_independent({"a.grad": a.grad, "b.grad": b.grad})


def test_autograd_grad_result_and_a_retained_grad_are_separate() -> None:
    (a, b), (at, bt) = leaves((3,), (3,))
    y = a - b
    y.retain_grad()
    (gy,) = cr.autograd.grad((y * 2 + y * 3).sum(), [y])
    yt = at - bt
    yt.retain_grad()
    (gyt,) = torch.autograd.grad((yt * 2 + yt * 3).sum(), [yt])
    assert_same_values(gy, gyt)
    assert_same_values(y.grad, yt.grad)  # torch fills a retained grad in autograd.grad too
    assert_independent({"gy": gy, "y.grad": y.grad})


def test_create_graph_gives_each_leaf_its_own_gradient_tensor() -> None:
    (a, b), (at, bt) = leaves((3,), (3,))
    (a + b).sum().backward(create_graph=True)  # Add hands one Tensor to both leaves
    assert a.grad is not b.grad
    assert_independent({"a.grad": a.grad, "b.grad": b.grad})
    a.grad = b.grad = None
    (a * b + a + b).sum().backward(create_graph=True)
    (at * bt + at + bt).sum().backward(create_graph=True)
    assert_same_values(a.grad, at.grad)
    # still differentiable, as torch: d(sum(a.grad))/db = 1
    (gb,) = cr.autograd.grad(a.grad.sum(), [b])
    (gbt,) = torch.autograd.grad(at.grad.sum(), [bt])
    assert_same_values(gb, gbt)
    (a + b).sum().backward()  # second, first-order backward: sums out of place, per leaf
    assert_same_values(a.grad, at.grad + 1)


def test_a_leaf_used_twice_calls_its_hook_once_with_the_sum_like_torch() -> None:
    (x,), (xt,) = leaves((2,))
    calls, calls_t = [], []
    x.register_hook(lambda g: calls.append(g.tolist()))
    xt.register_hook(lambda g: calls_t.append(g.tolist()))
    (x * 2 + x * 3).sum().backward()
    (xt * 2 + xt * 3).sum().backward()
    assert calls == calls_t == [[5.0, 5.0]]


def test_a_leaf_root_that_is_also_reached_through_the_graph() -> None:
    (x,), (xt,) = leaves((2,))
    calls = []
    x.register_hook(lambda g: calls.append(g.tolist()))
    cr.autograd.backward([x, x * 3], [cr.ones(2, dtype=cr.float64)] * 2)
    torch.autograd.backward([xt, xt * 3], [torch.ones(2, dtype=torch.float64)] * 2)
    assert_same_values(x.grad, xt.grad)
    assert calls == [[4.0, 4.0]]


# -- 3. post-accumulate-grad hooks and hook handles -----------------------------------------


def test_post_accumulate_grad_hook_order_and_values_match_torch() -> None:
    def run(lib: object, x: object, w: object) -> list:
        log: list = []
        x.register_hook(lambda g: log.append(("pre x", g.tolist())))
        x.register_post_accumulate_grad_hook(lambda t: log.append(("post x", t.grad.tolist())))
        x.register_post_accumulate_grad_hook(lambda t: log.append(("post x 2", t.grad.tolist())))
        w.register_post_accumulate_grad_hook(lambda t: log.append(("post w", t.grad.tolist())))
        ((x * 2 + x * 3) * w).sum().backward()
        ((x * 2) * w).sum().backward()
        (x * 1).sum().backward(inputs=[x])
        ((x * 1) * w).sum().backward(inputs=[w])
        return log

    (x, w), (xt, wt) = leaves((2,), (2,))
    ours, theirs = run(cr, x, w), run(torch, xt, wt)
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    for (_, v), (_, vt) in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(v, vt, rtol=1e-12)


def test_post_accumulate_grad_hook_can_change_grad_in_place_and_runs_once_per_backward() -> None:
    (x,), (xt,) = leaves((3,))

    def halve(t: object) -> None:  # returns None: mul_'s result would be refused
        t.grad.mul_(0.5)

    for t in (x, xt):
        t.register_post_accumulate_grad_hook(halve)
    for _ in range(2):
        (x * 4 + x).sum().backward()
        (xt * 4 + xt).sum().backward()
    assert_same_values(x.grad, xt.grad)


def test_post_accumulate_grad_hook_is_refused_on_non_leaves_and_constants() -> None:
    (x,), (xt,) = leaves((2,))
    with pytest.raises(RuntimeError, match="non-leaf"):
        (xt * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match=r"non-leaf tensors.*shape \(2,\).*MulBackward"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        torch.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.ones(2).register_post_accumulate_grad_hook(lambda t: None)


def test_post_accumulate_grad_hook_must_return_none_and_is_not_run_by_autograd_grad() -> None:
    (x,), (xt,) = leaves((2,))
    # torch: RuntimeError for a returned Tensor, TypeError for anything else; ours is both
    for result, error in ((5, TypeError), (xt * 1, RuntimeError)):
        handle = xt.register_post_accumulate_grad_hook(lambda t, r=result: r)
        with pytest.raises(error):
            (xt * 2).sum().backward()
        handle.remove()
    for result in (5, x * 1):
        handle = x.register_post_accumulate_grad_hook(lambda t, r=result: r)
        for error in (TypeError, RuntimeError):
            with pytest.raises(error, match="must return None"):
                (x * 2).sum().backward()
        handle.remove()
        handle.remove()  # a second remove does nothing, as torch
    calls = []
    x.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    cr.autograd.grad((x * 2).sum(), [x])
    assert calls == []
    (x * 2).sum().backward(create_graph=True)
    assert calls == [1]


def test_register_hook_handles_remove_their_own_registration() -> None:
    (x,), _ = leaves((2,))
    y = x * 1
    calls: list = []

    def hook(g: object) -> None:
        calls.append(1)

    for t in (x, y):
        first = t.register_hook(hook)
        t.register_hook(hook)  # the same function twice: two registrations
        first.remove()
        with t.register_hook(hook):  # a handle is a context manager, as torch's
            pass
    y.sum().backward()
    assert calls == [1, 1]  # one left on x, one on y


# -- 2. modes are per thread ------------------------------------------------------------------


def run_threads(*targets: Callable[[], None], timeout: float = 20.0) -> None:
    """Run each target in its own thread; re-raise the first failure here."""
    errors: list[BaseException] = []

    def wrap(target: Callable[[], None]) -> Callable[[], None]:
        def body() -> None:
            try:
                target()
            except BaseException as error:  # handed to the main thread, re-raised there
                errors.append(error)

        return body

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a thread hung (a Barrier was never passed)"
    if errors:
        raise errors[0]


def test_no_grad_in_one_thread_does_not_stop_recording_in_another() -> None:
    barrier = threading.Barrier(2, timeout=10)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seen: list = []

    def quiet() -> None:
        for _ in range(5):
            with cr.no_grad():
                barrier.wait()  # the other thread works while this one is inside no_grad
                seen.append(("quiet", (x * 2).requires_grad, cr.is_grad_enabled()))
                barrier.wait()

    def recording() -> None:
        for _ in range(5):
            barrier.wait()
            seen.append(("recording", (x * 2).requires_grad, cr.is_grad_enabled()))
            barrier.wait()

    run_threads(quiet, recording)
    assert sorted(set(seen)) == [("quiet", False, False), ("recording", True, True)]
    assert cr.is_grad_enabled()


def test_overlapping_no_grad_blocks_in_two_threads_restore_both() -> None:
    barrier = threading.Barrier(2, timeout=10)
    after: list = []

    def first() -> None:
        for _ in range(5):
            cr.set_grad_enabled(False)  # the call form too
            cr.set_grad_enabled(True)
            with cr.no_grad():
                barrier.wait()  # 1: both inside
                barrier.wait()  # 2: leave first
            after.append(cr.is_grad_enabled())
            barrier.wait()  # 3: the other one leaves now

    def second() -> None:
        for _ in range(5):

            @cr.set_grad_enabled(False)  # the decorator form
            def inner() -> None:
                barrier.wait()  # 1
                barrier.wait()  # 2
                barrier.wait()  # 3

            inner()
            after.append(cr.is_grad_enabled())

    run_threads(first, second)
    assert after == [True] * 10
    assert cr.is_grad_enabled()


def test_forward_in_one_thread_is_recorded_while_another_runs_a_long_backward() -> None:
    barrier = threading.Barrier(2, timeout=10)
    results: list = []
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)

    def backward() -> None:
        for _ in range(3):
            w = cr.tensor([3.0, 4.0], dtype=cr.float64, requires_grad=True)
            h = w * 2

            def wait_inside_backward(g: cr.Tensor) -> None:
                assert not cr.is_grad_enabled()  # the engine's mode, in this thread only
                barrier.wait()  # 1: backward is running (grad mode = create_graph = False)
                barrier.wait()  # 2: the other thread has done its forward

            h.register_hook(wait_inside_backward)
            (h * h).sum().backward()
            results.append(("backward", w.grad.tolist()))

    def forward() -> None:
        for _ in range(3):
            barrier.wait()  # 1
            y = (x * x).sum()
            results.append(("forward", y.requires_grad, y.grad_fn is not None))
            barrier.wait()  # 2
            y.backward()

    run_threads(backward, forward)
    assert ("forward", True, True) in results and ("forward", True, False) not in results
    assert [r for r in results if r[0] == "backward"] == [("backward", [24.0, 32.0])] * 3
    assert x.grad.tolist() == [6.0, 12.0]


def train(seed: int, steps: int, barrier: threading.Barrier | None = None) -> list:
    """A small model trained for a few steps; its parameters at the end."""
    rng = np.random.default_rng(seed)
    model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Tanh(), cr.nn.Linear(8, 1))
    with cr.no_grad():
        for p in model.parameters():
            p.copy_(rng.normal(size=p.shape).astype(np.float32))
    xs = cr.tensor(rng.normal(size=(16, 4)).astype(np.float32))
    ys = cr.tensor(rng.normal(size=(16, 1)).astype(np.float32))
    opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(steps):
        if barrier is not None:
            barrier.wait()  # interleave the two threads step by step
        opt.zero_grad()
        loss = cr.nn.functional.mse_loss(model(xs), ys)
        loss.backward()
        with cr.no_grad():  # an evaluation pass in the middle of the other thread's step
            model(xs)
        opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_two_threads_training_two_models_match_the_single_threaded_result() -> None:
    steps = 20
    expected = {seed: train(seed, steps) for seed in (1, 2)}
    barrier = threading.Barrier(2, timeout=10)
    got: dict = {}
    run_threads(
        lambda: got.__setitem__(1, train(1, steps, barrier)),
        lambda: got.__setitem__(2, train(2, steps, barrier)),
    )
    for seed in (1, 2):
        for ours, single in zip(got[seed], expected[seed], strict=True):
            np.testing.assert_array_equal(ours, single)


def test_a_new_thread_starts_with_grad_on_anomaly_off_and_no_recorder_like_torch() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    seen: dict = {}

    def ours() -> None:
        seen["grad"] = cr.is_grad_enabled()
        seen["anomaly"] = cr.autograd.is_anomaly_enabled()
        seen["recorder"] = modes.state.recorder
        seen["records"] = (x * 2).requires_grad

    def theirs() -> None:
        seen["torch grad"] = torch.is_grad_enabled()

    with cr.no_grad(), cr.autograd.detect_anomaly(), cr.viz.record():
        assert not cr.is_grad_enabled() and modes.state.recorder is not None
        run_threads(ours)
    with torch.no_grad():
        run_threads(theirs)
    assert seen == {
        "grad": True,
        "anomaly": False,
        "recorder": None,
        "records": True,
        "torch grad": True,
    }
    # (torch's anomaly mode is one process-wide flag; chainrule keeps it per thread, like grad
    # mode, so one thread debugging a NaN does not make another thread's backward raise)


def test_detect_anomaly_and_record_in_one_thread_do_not_reach_another() -> None:
    barrier = threading.Barrier(2, timeout=10)
    found: list = []

    def anomalous() -> None:
        with cr.autograd.detect_anomaly(), cr.viz.record():
            barrier.wait()  # 1: the other thread runs a NaN backward now
            barrier.wait()  # 2
            x = cr.tensor([-1.0], requires_grad=True)
            y = cr.sqrt(x)
            assert cr.viz.recorded(y.grad_fn) is not None
            with pytest.raises(RuntimeError, match="nan"):
                y.sum().backward()
            found.append("raised here")

    def quiet() -> None:
        barrier.wait()  # 1
        x = cr.tensor([-1.0], requires_grad=True)
        y = cr.sqrt(x)
        y.sum().backward()  # NaN flows silently, as without detect_anomaly
        found.append((np.isnan(x.grad.numpy()).all(), cr.viz.recorded(y.grad_fn)))
        barrier.wait()  # 2

    with np.errstate(invalid="ignore", divide="ignore"):
        run_threads(anomalous, quiet)
    assert sorted(found, key=str) == [(True, None), "raised here"]


def test_the_module_attributes_read_and_write_this_threads_state() -> None:
    assert modes.grad_enabled is True
    modes.grad_enabled = False
    try:
        assert not cr.is_grad_enabled()
        other: list = []
        run_threads(lambda: other.append(modes.grad_enabled))
        assert other == [True]
    finally:
        modes.grad_enabled = True
    assert cr.is_grad_enabled()
