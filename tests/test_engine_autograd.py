"""The backward engine through the public API: backward, autograd.grad, accumulation, graph
introspection, grad modes, hooks, retain_grad, deep and wide graphs, freed graphs, user Functions
and higher-order derivatives, each compared with PyTorch where PyTorch defines the behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(1234)


def pair(*shape: int, requires_grad: bool = True) -> tuple[cr.Tensor, torch.Tensor]:
    """The same random float64 values as a chainrule leaf and a torch leaf."""
    data = RNG.standard_normal(shape)
    return (
        cr.tensor(data, dtype=cr.float64, requires_grad=requires_grad),
        torch.tensor(data, dtype=torch.float64, requires_grad=requires_grad),
    )


def assert_same(ours: cr.Tensor | None, theirs: torch.Tensor | None, tol: float = 1e-10) -> None:
    assert ours is not None and theirs is not None
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)


# -- backward and accumulation --------------------------------------------------------------------
def test_backward_scalar_matches_torch() -> None:
    x, xt = pair(3, 4)
    w, wt = pair(4, 2)
    loss = ((x @ w).sigmoid() * x.sum(dim=1, keepdim=True)).sum()
    loss_t = ((xt @ wt).sigmoid() * xt.sum(dim=1, keepdim=True)).sum()
    loss.backward()
    loss_t.backward()
    assert_same(loss, loss_t)
    assert_same(x.grad, xt.grad)
    assert_same(w.grad, wt.grad)


def test_backward_with_gradient_argument_is_a_vjp() -> None:
    x, xt = pair(2, 3)
    v = RNG.standard_normal((2, 3))
    (x.exp() * x).backward(gradient=cr.tensor(v, dtype=cr.float64))
    (xt.exp() * xt).backward(gradient=torch.tensor(v))
    assert_same(x.grad, xt.grad)


def test_backward_accepts_positional_and_numpy_gradient() -> None:
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    (x * 3).backward(np.array([1.0, 10.0]))
    assert x.grad.tolist() == [3.0, 30.0]


def test_grad_accumulates_across_two_backward_calls() -> None:
    x, xt = pair(5)
    for _ in range(2):
        (x * x).sum().backward()
        (xt * xt).sum().backward()
    assert_same(x.grad, xt.grad)
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.detach().numpy())


def test_accumulated_grad_is_not_aliased_to_a_later_backward() -> None:
    # The first .grad must not be mutated by a later backward if the user kept a reference
    # to a copy; the second backward adds into .grad, which we then compare to 2x.
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 1).sum().backward()
    first = x.grad.numpy().copy()
    (x * 1).sum().backward()
    assert first.tolist() == [1.0, 1.0]
    assert x.grad.tolist() == [2.0, 2.0]


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x + 0,
        lambda x: x * 1,
        lambda x: (-x).neg(),
        lambda x: x.reshape(1, 2).reshape(2),
        lambda x: x[:],
        lambda x: x.clone(),
        lambda x: x.expand(2),
    ],
)
def test_gradient_arrays_are_never_shared_between_grads(f) -> None:
    # The engine adopts fresh gradient arrays into .grad without copying and later adds into
    # them in place: a retained non-leaf grad, a hook's argument, or the user's seed must never
    # be one of those arrays.
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = f(x)
        y.retain_grad()
        seen = []
        y.register_hook(lambda g: seen.append(g))
        seed = lib.tensor([1.0, 3.0])
        y.backward(seed, retain_graph=True)
        y.backward(seed)
        return x.grad.tolist(), y.grad.tolist(), [s.tolist() for s in seen], seed.tolist()

    assert run(cr) == ([2.0, 6.0], [2.0, 6.0], [[1.0, 3.0]] * 2, [1.0, 3.0])
    # torch agrees on the gradients (though for some of these it lets the retained grad alias
    # the hook's argument and even the seed, which then change with the second backward).
    x_grad, y_grad, _, _ = run(torch)
    assert (x_grad, y_grad) == ([2.0, 6.0], [2.0, 6.0])


def test_zeroing_grad_between_backward_calls() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    x.grad = None
    (x * 5).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]
    x.grad.zero_()
    (x * 7).sum().backward()
    assert x.grad.tolist() == [7.0, 7.0]


def test_tensor_used_twice_gets_the_sum() -> None:
    x = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
    (x * x + x).backward()
    assert x.grad.item() == 7.0  # 2x + 1
    y = cr.tensor([1.0, 2.0], requires_grad=True)
    (y + y).sum().backward()
    assert y.grad.tolist() == [2.0, 2.0]


def test_diamond_intermediate_used_twice_matches_torch() -> None:
    x, xt = pair(4)
    a, at = x.tanh(), xt.tanh()
    out = (a * a.exp() + a.sin()).sum()
    out_t = (at * at.exp() + at.sin()).sum()
    out.backward()
    out_t.backward()
    assert_same(x.grad, xt.grad)


def test_broadcast_gradient_is_summed_back_to_the_input_shape() -> None:
    x, xt = pair(3, 1)
    b, bt = pair(4)
    (x * b).pow(2).sum().backward()
    (xt * bt).pow(2).sum().backward()
    assert x.grad.shape == (3, 1) and b.grad.shape == (4,)
    assert_same(x.grad, xt.grad)
    assert_same(b.grad, bt.grad)


def test_backward_on_a_leaf_itself() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_backward_inputs_restricts_accumulation() -> None:
    x, xt = pair(3)
    w, wt = pair(3)
    (x * w).sum().backward(inputs=[x])
    (xt * wt).sum().backward(inputs=[xt])
    assert_same(x.grad, xt.grad)
    assert w.grad is None and wt.grad is None


def test_autograd_backward_of_several_tensors_matches_torch() -> None:
    x, xt = pair(3)
    v = RNG.standard_normal(3)
    cr.autograd.backward([(x * x).sum(), x.exp()], [None, cr.tensor(v, dtype=cr.float64)])
    torch.autograd.backward([(xt * xt).sum(), xt.exp()], [None, torch.tensor(v)])
    assert_same(x.grad, xt.grad)
    cr.autograd.backward(x.sin().sum())  # one tensor, as Tensor.backward
    torch.autograd.backward(xt.sin().sum())
    assert_same(x.grad, xt.grad)
    with pytest.raises(ValueError, match="1 grad_tensors for 2 tensors"):
        cr.autograd.backward([x.sum(), x.sum()], [cr.tensor(1.0, dtype=cr.float64)])
    with pytest.raises(RuntimeError, match="element 1 of tensors does not require grad"):
        cr.autograd.backward([x.sum(), cr.tensor(1.0)])


def test_backward_inside_no_grad_still_computes_gradients_like_torch() -> None:
    x, xt = pair(3)
    y, yt = (x.exp() * x).sum(), (xt.exp() * xt).sum()
    with cr.no_grad():
        y.backward()
    with torch.no_grad():
        yt.backward()
    assert_same(x.grad, xt.grad)
    assert cr.is_grad_enabled()


def test_float32_gradients_stay_float32() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * cr.tensor([3.0, 4.0], dtype=cr.float64)).sum().backward()
    assert x.grad.dtype == cr.float32
    assert x.grad.tolist() == [3.0, 4.0]


# -- graph introspection --------------------------------------------------------------------------
def test_grad_fn_names_and_next_functions() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([3.0, 4.0])
    y = x * c
    z = y + 1
    assert y.grad_fn.name() == "MulBackward"
    assert z.grad_fn.name() == "AddBackward"
    assert x.exp().grad_fn.name() == "ExpBackward"
    assert (x @ c).grad_fn.name() == "MatmulBackward"
    # torch points at an AccumulateGrad node for leaves; chainrule points at the leaf itself.
    (first, nr), (second, _) = y.grad_fn.next_functions
    assert first is x and nr == 0
    assert second is None  # c does not require grad
    assert z.grad_fn.next_functions[0] == (y.grad_fn, 0)
    assert len(z.grad_fn.next_functions) == 2
    assert "MulBackward" in repr(y)


def test_next_functions_output_nr_for_multi_output_function() -> None:
    class Split2(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1, x * 2

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 + 2 * g2

    x = cr.tensor([1.0], requires_grad=True)
    a, b = Split2.apply(x)
    assert a.grad_fn is b.grad_fn
    assert (a + b).grad_fn.next_functions == ((a.grad_fn, 0), (a.grad_fn, 1))


def test_is_leaf_matches_torch() -> None:
    x, xt = pair(2)
    c, ct = pair(2, requires_grad=False)
    cases = [
        (x, xt),
        (c, ct),
        (x * 2, xt * 2),
        (c * 2, ct * 2),
        (x.detach(), xt.detach()),
    ]
    with cr.no_grad(), torch.no_grad():
        cases.append((x * 2, xt * 2))
    for ours, theirs in cases:
        assert ours.is_leaf == theirs.is_leaf
        assert ours.requires_grad == theirs.requires_grad
        assert (ours.grad_fn is None) == (theirs.grad_fn is None)


def test_non_leaf_grad_is_none_without_retain_grad() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    assert y.grad is None
    assert x.grad.tolist() == [2.0, 2.0]


def test_detach_shares_memory_and_leaves_the_graph() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d[0] = 100.0
    assert y.tolist() == [100.0, 4.0, 6.0]  # same memory
    assert y._version == d._version == 1  # and the same version counter, as in torch
    # Gradients through the original graph are unaffected (Mul by a constant saves no y).
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_modifying_a_detached_saved_value_is_caught_at_backward() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.detach().zero_()  # writes into memory that ExpBackward saved
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    yt = xt.exp()
    yt.detach().zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        yt.sum().backward()


def test_requires_grad_() -> None:
    x = cr.tensor([1.0, 2.0])
    assert not x.requires_grad
    assert x.requires_grad_() is x
    assert x.requires_grad and x.is_leaf
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    x.requires_grad_(False)
    assert not x.requires_grad
    assert not (x * 3).requires_grad


def test_requires_grad_false_on_non_leaf_raises() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    assert y.requires_grad and y.grad_fn is not None


def test_requires_grad_propagates_like_torch() -> None:
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([1.0])
    assert (a + b).requires_grad and (b + a).requires_grad
    assert not (b + b).requires_grad
    assert not (a > 0).requires_grad  # comparisons are never differentiable


# -- grad modes -----------------------------------------------------------------------------------
def test_no_grad_enable_grad_context_managers_nest() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    assert cr.is_grad_enabled()
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = x * 2
        with cr.enable_grad():
            assert cr.is_grad_enabled()
            z = x * 2
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_grad_mode_decorators() -> None:
    x = cr.tensor([1.0], requires_grad=True)

    @cr.no_grad()
    def without(t: cr.Tensor) -> cr.Tensor:
        assert not cr.is_grad_enabled()
        return t * 2

    @cr.enable_grad()
    def with_grad(t: cr.Tensor) -> cr.Tensor:
        return t * 2

    @cr.set_grad_enabled(False)
    def off(t: cr.Tensor) -> cr.Tensor:
        return t * 2

    assert cr.is_grad_enabled()  # building the set_grad_enabled decorator did not leak (torch too)
    assert without.__name__ == "without"
    assert not without(x).requires_grad
    assert cr.is_grad_enabled()
    with cr.no_grad():
        assert with_grad(x).requires_grad
        assert not cr.is_grad_enabled()
    assert not off(x).requires_grad
    assert cr.is_grad_enabled()


def test_set_grad_enabled_as_call_and_context_manager_matches_torch() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    with cr.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert cr.is_grad_enabled()
    with cr.no_grad():
        with cr.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not cr.is_grad_enabled()
    # As a plain call it takes effect at once (torch does the same).
    cr.set_grad_enabled(False)
    torch.set_grad_enabled(False)
    try:
        assert not cr.is_grad_enabled() and not torch.is_grad_enabled()
    finally:
        cr.set_grad_enabled(True)
        torch.set_grad_enabled(True)
    assert cr.is_grad_enabled()


def test_autograd_namespace_exports_grad_modes() -> None:
    assert cr.autograd.no_grad is cr.no_grad
    assert cr.autograd.enable_grad is cr.enable_grad
    assert cr.autograd.set_grad_enabled is cr.set_grad_enabled


# -- hooks and retain_grad ------------------------------------------------------------------------
def test_hook_on_leaf_can_replace_its_grad() -> None:
    x, xt = pair(3)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 10)
    xt.register_hook(lambda g: g * 10)
    (x.exp()).sum().backward()
    (xt.exp()).sum().backward()
    assert_same(x.grad, xt.grad)
    np.testing.assert_allclose(seen[0], np.exp(x.detach().numpy()))


def test_hook_on_non_leaf_changes_what_flows_upstream() -> None:
    x, xt = pair(3)
    y, yt = x * 2, xt * 2
    y.register_hook(lambda g: g * 0 + 1.5)
    yt.register_hook(lambda g: g * 0 + 1.5)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    assert_same(x.grad, xt.grad)
    assert x.grad.tolist() == [3.0, 3.0, 3.0]


def test_hook_handle_remove() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    calls = []
    h_leaf = x.register_hook(lambda g: calls.append("leaf") or g * 2)
    h_mid = y.register_hook(lambda g: calls.append("mid") or g * 3)
    y.sum().backward(retain_graph=True)
    assert x.grad.tolist() == [6.0, 6.0]
    assert calls == ["mid", "leaf"]
    h_leaf.remove()
    h_mid.remove()
    h_mid.remove()  # removing twice is harmless, as in torch
    x.grad = None
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    assert calls == ["mid", "leaf"]


def test_hook_returning_none_keeps_grad() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: None)
    (x * 4).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_hook_on_tensor_not_requiring_grad_raises() -> None:
    x = cr.tensor([1.0])
    with pytest.raises(RuntimeError, match="doesn't require"):
        x.register_hook(lambda g: g)


def test_hook_receives_sum_of_all_uses_once() -> None:
    x, xt = pair(3)
    y, yt = x.sin(), xt.sin()
    got, got_t = [], []
    y.register_hook(lambda g: got.append(g.numpy().copy()))
    yt.register_hook(lambda g: got_t.append(g.numpy().copy()))
    (y * 2 + y.exp()).sum().backward()
    (yt * 2 + yt.exp()).sum().backward()
    assert len(got) == len(got_t) == 1
    np.testing.assert_allclose(got[0], got_t[0], rtol=1e-12)


def test_retain_grad_on_non_leaf_matches_torch() -> None:
    x, xt = pair(3)
    y, yt = x.exp(), xt.exp()
    y.retain_grad()
    yt.retain_grad()
    assert y.retains_grad
    (y * y).sum().backward(retain_graph=True)
    (yt * yt).sum().backward(retain_graph=True)
    assert_same(y.grad, yt.grad)
    assert not y.grad.requires_grad
    (y * y).sum().backward()  # retained grads accumulate like leaves' do
    (yt * yt).sum().backward()
    assert_same(y.grad, yt.grad)
    assert_same(x.grad, xt.grad)


def test_retain_grad_on_leaf_is_a_no_op() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    x.retain_grad()
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0]


# -- autograd.grad --------------------------------------------------------------------------------
def test_autograd_grad_matches_torch_and_leaves_grad_untouched() -> None:
    x, xt = pair(3)
    w, wt = pair(3)
    (gx, gw) = cr.autograd.grad((x.tanh() * w).sum(), [x, w])
    (gx_t, gw_t) = torch.autograd.grad((xt.tanh() * wt).sum(), [xt, wt])
    assert_same(gx, gx_t)
    assert_same(gw, gw_t)
    assert x.grad is None and w.grad is None
    assert not gx.requires_grad


def test_autograd_grad_single_tensor_input_returns_tuple() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    result = cr.autograd.grad(x**2, x)
    assert isinstance(result, tuple) and len(result) == 1
    assert result[0].item() == 4.0


def test_autograd_grad_with_grad_outputs_and_several_outputs() -> None:
    x, xt = pair(2, 3)
    v1, v2 = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
    outs = [x.exp(), x.sum(dim=0)]
    outs_t = [xt.exp(), xt.sum(dim=0)]
    (g,) = cr.autograd.grad(outs, x, [cr.tensor(v1, dtype=cr.float64), cr.tensor(v2)])
    (g_t,) = torch.autograd.grad(outs_t, xt, [torch.tensor(v1), torch.tensor(v2)])
    assert_same(g, g_t)


def test_autograd_grad_of_an_intermediate() -> None:
    x, xt = pair(3)
    y, yt = x.sigmoid(), xt.sigmoid()
    (g,) = cr.autograd.grad((y * y).sum(), y)
    (g_t,) = torch.autograd.grad((yt * yt).sum(), yt)
    assert_same(g, g_t)


def test_autograd_grad_allow_unused() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    unused = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        cr.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = cr.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0] and gu is None


def test_autograd_grad_frees_graph_unless_retained() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    cr.autograd.grad(y, x, retain_graph=True)
    (g,) = cr.autograd.grad(y, x)
    assert g.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        cr.autograd.grad(y, x)


def test_autograd_grad_create_graph() -> None:
    x = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad((x**3).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    g.sum().backward()
    assert x.grad.tolist() == [6.0, -12.0]


def test_autograd_grad_input_that_does_not_require_grad_raises() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    c = cr.tensor([1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.autograd.grad((x * c).sum(), c)


# -- deep and wide graphs -------------------------------------------------------------------------
def test_chain_of_100k_ops_backpropagates_exactly() -> None:
    x = cr.tensor(1.5, dtype=cr.float64, requires_grad=True)
    y = x
    for i in range(100_000):
        y = y * 2.0 if i % 2 == 0 else y * 0.5  # powers of two: exact in floating point
    y = y + 1.0
    assert y.item() == 2.5
    y.backward()
    assert x.grad.item() == 1.0


def test_chain_of_100k_elementwise_ops_gives_exact_count() -> None:
    x = cr.tensor([0.0, 1.0], dtype=cr.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + x  # every step adds one more use of x
    y.sum().backward()
    assert x.grad.tolist() == [100_001.0, 100_001.0]


def test_wide_fan_out_fan_in_is_exact() -> None:
    n = 2_000
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    branches = [x * float(i) for i in range(n)]
    total = branches[0]
    for b in branches[1:]:
        total = total + b
    total.sum().backward()
    expected = n * (n - 1) / 2
    assert x.grad.tolist() == [expected, expected]


def test_layered_diamond_dag_counts_paths_exactly() -> None:
    # Each layer doubles the number of paths from x to the output: d out / dx = 2**depth.
    x = cr.tensor(1.0, dtype=cr.float64, requires_grad=True)
    h = x
    depth = 60
    for _ in range(depth):
        a = h * 1.0
        b = h + 0.0
        h = a + b - h  # = h, with three uses of h: paths multiply by (1 + 1 - 1) = 1
        h = h * 1.0 + h * 1.0  # two uses: paths double
        h = h * 0.5
    h.backward()
    assert x.grad.item() == 1.0
    y = x
    for _ in range(depth):
        y = y + y
    x.grad = None
    y.backward()
    assert x.grad.item() == 2.0**depth


# -- freed graphs and retain_graph ----------------------------------------------------------------
def test_second_backward_through_freed_graph_raises() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    first = x.grad.tolist()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()
    assert x.grad.tolist() == first  # the failed backward accumulated nothing partial
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    yt = (xt.exp() * xt).sum()
    yt.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        yt.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates() -> None:
    x, xt = pair(3)
    y, yt = (x.exp() * x).sum(), (xt.exp() * xt).sum()
    y.backward(retain_graph=True)
    once = x.grad.numpy().copy()
    y.backward()
    yt.backward(retain_graph=True)
    yt.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * once)
    assert_same(x.grad, xt.grad)


def test_graph_without_saved_values_can_be_backwarded_twice() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 1).sum()
    y.backward()
    y.backward()
    assert x.grad.tolist() == [2.0, 2.0]
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    yt = (xt + 1).sum()
    yt.backward()
    yt.backward()
    assert xt.grad.tolist() == [2.0, 2.0]


def test_create_graph_implies_retain_graph_like_torch() -> None:
    x, xt = pair(2)
    y, yt = (x.exp() * x).sum(), (xt.exp() * xt).sum()
    (g,) = cr.autograd.grad(y, x, create_graph=True)
    (g_t,) = torch.autograd.grad(yt, xt, create_graph=True)
    y.backward(retain_graph=True)  # y's graph, saved values included, survived create_graph
    yt.backward(retain_graph=True)
    assert_same(x.grad, xt.grad)
    assert_same(x.grad, g_t)
    # Backward through the second-order graph frees it (retain_graph defaults to False) ...
    g.sum().backward()
    g_t.sum().backward()
    assert_same(x.grad, xt.grad)
    # ... so doing it again raises, in both libraries.
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        g.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        g_t.sum().backward()


def test_freed_error_names_the_node() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().sum()
    y.backward()
    with pytest.raises(RuntimeError, match="ExpBackward"):
        y.backward()


# -- user-defined Functions -----------------------------------------------------------------------
class MulAdd(cr.autograd.Function):
    """y = a * b + c with a non-tensor scale: y = scale * (a * b) + c."""

    @staticmethod
    def forward(ctx, a, b, c, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return scale * (a * b) + c

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g * b * ctx.scale if ctx.needs_input_grad[0] else None
        gb = g * a * ctx.scale if ctx.needs_input_grad[1] else None
        gc = g if ctx.needs_input_grad[2] else None
        return ga, gb, gc, None


def test_user_function_forward_backward_and_needs_input_grad() -> None:
    a = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    b = cr.tensor([3.0, 4.0], dtype=cr.float64)
    c = cr.tensor([0.5, 0.5], dtype=cr.float64, requires_grad=True)
    y = MulAdd.apply(a, b, c, 2.0)
    assert y.tolist() == [6.5, 16.5]
    assert y.grad_fn.name() == "MulAddBackward"
    assert y.grad_fn.needs_input_grad == (True, False, True, False)
    y.sum().backward()
    assert a.grad.tolist() == [6.0, 8.0]
    assert c.grad.tolist() == [1.0, 1.0]
    assert b.grad is None
    assert cr.autograd.gradcheck(lambda a, c: MulAdd.apply(a, b, c, 2.0), (a, c))


def test_user_function_forward_runs_without_recording() -> None:
    recorded = []

    class Probe(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            recorded.append((cr.is_grad_enabled(), y.requires_grad))
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = cr.tensor([1.0], requires_grad=True)
    out = Probe.apply(x)
    assert recorded == [(False, False)]
    assert out.requires_grad and out.grad_fn.name() == "ProbeBackward"


def test_user_function_without_grad_inputs_records_nothing() -> None:
    x = cr.tensor([1.0, 2.0])
    y = MulAdd.apply(x, x, x, 1.0)
    assert not y.requires_grad and y.grad_fn is None
    assert y.tolist() == [2.0, 6.0]


class SortWithIndices(cr.autograd.Function):
    """Two outputs, one of them (the permutation) non-differentiable."""

    @staticmethod
    def forward(ctx, x):
        order = np.argsort(x.detach().numpy(), kind="stable")
        values = cr.tensor(x.detach().numpy()[order], dtype=x.dtype)
        idx = cr.tensor(order)
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        ctx.n = x.shape[0]
        return values, idx

    @staticmethod
    def backward(ctx, g_values, g_idx):
        (idx,) = ctx.saved_tensors
        out = np.zeros(ctx.n)
        out[idx.numpy()] = g_values.numpy()
        return cr.tensor(out, dtype=g_values.dtype)


def test_user_function_multiple_outputs_and_mark_non_differentiable() -> None:
    x = cr.tensor([3.0, 1.0, 2.0], dtype=cr.float64, requires_grad=True)
    values, idx = SortWithIndices.apply(x)
    assert values.tolist() == [1.0, 2.0, 3.0] and idx.tolist() == [1, 2, 0]
    assert values.requires_grad and not idx.requires_grad and idx.grad_fn is None
    (values * cr.tensor([1.0, 10.0, 100.0], dtype=cr.float64)).sum().backward()
    assert x.grad.tolist() == [100.0, 1.0, 10.0]


def test_user_function_multiple_differentiable_outputs_sum_their_grads() -> None:
    class SinCos(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, g_sin, g_cos):
            (x,) = ctx.saved_tensors
            return g_sin * x.cos() - g_cos * x.sin()

    x, xt = pair(4)
    s, c = SinCos.apply(x)
    (s * 2 + c * 3).sum().backward()
    (xt.sin() * 2 + xt.cos() * 3).sum().backward()
    assert_same(x.grad, xt.grad)
    # Only one output used: the other's gradient is materialized as zeros.
    x.grad = None
    s, _ = SinCos.apply(x)
    s.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(x.detach().numpy()))


def test_user_function_saved_tensors_freed_after_backward() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = MulAdd.apply(x, x, x, 1.0)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.sum().backward()


def test_user_function_saved_input_modified_in_place_raises() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = MulAdd.apply(h, h, h, 1.0)
    with cr.no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match="MulAddBackward"):
        y.sum().backward()


def test_user_function_wrong_number_of_grads_raises() -> None:
    class Bad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g, g, g

    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadBackward.*incorrect number of gradients"):
        Bad.apply(x, x).sum().backward()


def test_user_function_wrong_grad_shape_is_named() -> None:
    class BadShape(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return cr.ones(7)

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadShapeBackward.*\(7,\).*\(2,\)"):
        BadShape.apply(x).sum().backward()


class Cube(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x**2


def test_user_function_second_derivative_with_create_graph() -> None:
    x = cr.tensor([1.0, 2.0, -3.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [3.0, 12.0, 27.0]
    (gg,) = cr.autograd.grad(g.sum(), x)
    assert gg.tolist() == [6.0, 12.0, -18.0]
    assert cr.autograd.gradgradcheck(Cube.apply, (x,))


# -- higher order ---------------------------------------------------------------------------------
def test_grad_of_grad_of_cube() -> None:
    x = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    y = x**3
    (dy,) = cr.autograd.grad(y, x, create_graph=True)
    (d2y,) = cr.autograd.grad(dy, x, create_graph=True)
    (d3y,) = cr.autograd.grad(d2y, x)
    assert (dy.item(), d2y.item(), d3y.item()) == (12.0, 12.0, 6.0)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True:UserWarning")
def test_backward_create_graph_then_backward_on_grad() -> None:
    x, xt = pair(3)
    (x.sin() * x).sum().backward(create_graph=True)
    (xt.sin() * xt).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    g, gt = x.grad, xt.grad
    x.grad = None
    xt.grad = None
    (g * g).sum().backward()
    (gt * gt).sum().backward()
    assert_same(x.grad, xt.grad)


def _second_order(fn_cr, fn_t, *shapes: tuple[int, ...]) -> None:
    """d/dx (v . d f / dx) for every input, compared with torch."""
    leaves = [pair(*s) for s in shapes]
    xs = [a for a, _ in leaves]
    ts = [b for _, b in leaves]
    out = fn_cr(*xs)
    out_t = fn_t(*ts)
    assert_same(out, out_t)
    grads = cr.autograd.grad(out.sum(), xs, create_graph=True)
    grads_t = torch.autograd.grad(out_t.sum(), ts, create_graph=True)
    total = sum(((g * g).sum() for g in grads), cr.tensor(0.0, dtype=cr.float64))
    total_t = sum((g * g).sum() for g in grads_t)
    for g, gt in zip(grads, grads_t, strict=True):
        assert g.requires_grad
        assert_same(g, gt)
    second = cr.autograd.grad(total, xs, allow_unused=True)
    second_t = torch.autograd.grad(total_t, ts, allow_unused=True)
    for s, st in zip(second, second_t, strict=True):
        if st is None:
            assert s is None or not s.numpy().any()
        else:
            assert_same(s, st)


@pytest.mark.parametrize(
    "name, fn_cr, fn_t, shapes",
    [
        ("sigmoid", lambda x: x.sigmoid(), lambda x: x.sigmoid(), [(4,)]),
        ("cr.sigmoid", lambda x: cr.sigmoid(x * 3), lambda x: torch.sigmoid(x * 3), [(2, 3)]),
        ("mul", lambda x, y: x * y * x, lambda x, y: x * y * x, [(3, 1), (4,)]),
        ("add", lambda x, y: (x + y) ** 2, lambda x, y: (x + y) ** 2, [(3,), (3,)]),
        ("pow", lambda x: (x * x + 1) ** 2.5, lambda x: (x * x + 1) ** 2.5, [(4,)]),
        ("pow_tensor", lambda x, y: (x * x + 1) ** y, lambda x, y: (x * x + 1) ** y, [(3,), (3,)]),
        (
            "log_softmax",
            lambda x: cr.log_softmax(x, dim=1) * cr.tensor([[1.0, 2.0, 3.0]], dtype=cr.float64),
            lambda x: torch.log_softmax(x, dim=1) * torch.tensor([[1.0, 2.0, 3.0]]).double(),
            [(2, 3)],
        ),
        (
            "softmax",
            lambda x: x.softmax(dim=0) * x,
            lambda x: x.softmax(dim=0) * x,
            [(4, 2)],
        ),
        ("relu", lambda x: x.relu() * x, lambda x: x.relu() * x, [(5,)]),
        ("matmul", lambda a, b: (a @ b) ** 2, lambda a, b: (a @ b) ** 2, [(3, 4), (4, 2)]),
        (
            "linear",
            lambda x, w, b: cr.linear(x, w, b).tanh(),
            lambda x, w, b: torch.nn.functional.linear(x, w, b).tanh(),
            [(5, 3), (2, 3), (2,)],
        ),
        ("exp_log", lambda x: (x.exp() + 1).log() * x, lambda x: (x.exp() + 1).log() * x, [(3,)]),
        ("div", lambda x, y: x / (y * y + 1), lambda x, y: x / (y * y + 1), [(3,), (3,)]),
    ],
)
def test_create_graph_second_order_matches_torch(name, fn_cr, fn_t, shapes) -> None:
    _second_order(fn_cr, fn_t, *shapes)


def test_hessian_of_softmax_weighted_sum_matches_torch() -> None:
    w = RNG.standard_normal(5)
    x, xt = pair(5)

    def f(x):
        return (x.softmax(dim=0) * cr.tensor(w, dtype=cr.float64)).sum()

    def f_t(x):
        return (x.softmax(dim=0) * torch.tensor(w)).sum()

    h = cr.autograd.functional.hessian(f, x)
    h_t = torch.autograd.functional.hessian(f_t, xt)
    assert_same(h, h_t)
    np.testing.assert_allclose(h.numpy(), h.numpy().T, atol=1e-14)


def test_an_unused_output_gets_zeros_of_its_own_shape():
    # Two outputs of different shapes, only the second used: the backward sees a zero gradient
    # shaped like the first output (it used to be shaped like the used one), as torch's.
    seen = {}

    class Split(cr.Function):
        @staticmethod
        def forward(ctx, x):
            return x[:2] * 1.0, x.sum()

        @staticmethod
        def backward(ctx, g_head, g_total):
            seen["head"] = tuple(g_head.shape)
            head = cr.cat([g_head, cr.zeros(1, dtype=g_head.dtype)])
            return head + g_total

    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    _head, total = Split.apply(x)
    total.backward()
    assert seen["head"] == (2,)
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])
