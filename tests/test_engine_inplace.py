"""In-place operations and version counters, held against PyTorch's behaviour.

Every in-place op bumps `_version`; a node that saved a value refuses to run backward when that
value's version changed (naming the op and both versions); a leaf that requires grad refuses
in-place changes while recording, but accepts them under no_grad (optimizer updates); an in-place
op on a non-leaf re-bases its history so gradients stay right."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(7)


def pair(*shape: int, requires_grad: bool = True) -> tuple[cr.Tensor, torch.Tensor]:
    data = RNG.standard_normal(shape)
    return (
        cr.tensor(data, dtype=cr.float64, requires_grad=requires_grad),
        torch.tensor(data, dtype=torch.float64, requires_grad=requires_grad),
    )


def assert_same(ours: cr.Tensor | None, theirs: torch.Tensor | None) -> None:
    assert ours is not None and theirs is not None
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(
        ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12
    )


# -- re-based history on non-leaves: the same gradients as torch ----------------------------------
def _inplace_program(lib, x, z, op):
    """y = x * 2 (a non-leaf), then one in-place op with z, then a loss using y non-linearly."""
    y = x * 2
    if op == "iadd":
        y += z
    elif op == "isub":
        y -= z
    elif op == "imul":
        y *= z
    elif op == "idiv":
        y /= z * z + 1
    elif op == "add_":
        y.add_(z, alpha=3.0)
    elif op == "sub_":
        y.sub_(z)
    elif op == "mul_":
        y.mul_(z)
    elif op == "div_":
        y.div_(z * z + 1)
    elif op == "mul_scalar":
        y.mul_(-1.5)
    elif op == "zero_":
        y.zero_()
    elif op == "fill_":
        y.fill_(0.25)
    elif op == "fill_tensor":
        y.fill_(z.sum())
    elif op == "copy_":
        y.copy_(z.exp())
    elif op == "setitem_scalar":
        y[1] = 7.0
    elif op == "setitem_tensor":
        y[0:2] = z[1:3] * 3
    elif op == "setitem_int_array":
        y[lib.tensor([0, 2])] = z[0:2]
    elif op == "clamp_":
        y.clamp_(-0.5, 0.5)
    else:
        raise AssertionError(op)
    return (y * y * x).sum() + (y * z).sum(), y


@pytest.mark.parametrize(
    "op",
    [
        "iadd", "isub", "imul", "idiv", "add_", "sub_", "mul_", "div_", "mul_scalar", "zero_",
        "fill_", "fill_tensor", "copy_", "setitem_scalar", "setitem_tensor", "setitem_int_array",
        "clamp_",
    ],
)  # fmt: skip
def test_inplace_on_non_leaf_rebases_history_like_torch(op: str) -> None:
    x, xt = pair(4)
    z, zt = pair(4)
    loss, y = _inplace_program(cr, x, z, op)
    loss_t, yt = _inplace_program(torch, xt, zt, op)
    assert_same(y, yt)
    assert not y.is_leaf and y.requires_grad
    assert y._version == yt._version
    loss.backward()
    loss_t.backward()
    assert_same(loss, loss_t)
    assert_same(x.grad, xt.grad)
    assert_same(z.grad, zt.grad)


def test_iadd_example_from_the_issue() -> None:
    x, xt = pair(3)
    z, zt = pair(3)
    y, yt = x * 2, xt * 2
    y += z
    yt += zt
    assert y.grad_fn.name() == "AddBackward"
    assert y.grad_fn.next_functions[0][0].name() == "MulBackward"
    y.sum().backward()
    yt.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0] and z.grad.tolist() == [1.0, 1.0, 1.0]
    assert_same(x.grad, xt.grad)
    assert_same(z.grad, zt.grad)


def test_setitem_on_mul_output_matches_torch() -> None:
    x, xt = pair(3)
    y, yt = x * 2, xt * 2
    y[0] = 0
    yt[0] = 0
    y.sum().backward()
    yt.sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 2.0]
    assert_same(x.grad, xt.grad)


def test_setitem_with_grad_value_into_plain_tensor_matches_torch() -> None:
    w, wt = pair(2)
    buf, buf_t = cr.zeros(4, dtype=cr.float64), torch.zeros(4, dtype=torch.float64)
    buf[1:3] = w
    buf_t[1:3] = wt
    assert buf.requires_grad and not buf.is_leaf
    (buf * buf).sum().backward()
    (buf_t * buf_t).sum().backward()
    assert_same(w.grad, wt.grad)


def test_copy_broadcasts_its_source_and_sums_its_gradient() -> None:
    w, wt = pair(3)
    y, yt = cr.zeros(2, 3, dtype=cr.float64), torch.zeros(2, 3, dtype=torch.float64)
    y.copy_(w)
    yt.copy_(wt)
    (y * cr.tensor([[1.0], [2.0]], dtype=cr.float64)).sum().backward()
    (yt * torch.tensor([[1.0], [2.0]], dtype=torch.float64)).sum().backward()
    assert w.grad.tolist() == [3.0, 3.0, 3.0]
    assert_same(w.grad, wt.grad)


def test_inplace_on_intermediate_keeps_earlier_consumers_correct() -> None:
    # a was used (by an op that saved nothing about a) before being changed in place: the earlier
    # use must see the old history, the later one the new.
    x, xt = pair(3)
    a, at = x + 1, xt + 1
    before, before_t = a * 3.0, at * 3.0
    a.mul_(x)
    at.mul_(xt)
    (before + a).sum().backward()
    (before_t + at).sum().backward()
    assert_same(x.grad, xt.grad)


def test_two_successive_inplace_ops() -> None:
    x, xt = pair(3)
    y, yt = x.sin(), xt.sin()
    y.mul_(x).add_(x)  # sin's backward saved x, not y: allowed
    yt.mul_(xt).add_(xt)
    assert y._version == yt._version == 2
    y.sum().backward()
    yt.sum().backward()
    assert_same(x.grad, xt.grad)


def test_inplace_result_is_the_same_object() -> None:
    y = cr.tensor([1.0, 2.0], requires_grad=True) * 1
    ref = y
    y += 1
    assert y is ref
    assert y.add_(1) is ref and y.mul_(2) is ref and y.zero_() is ref


# -- saved values modified in place: raise at backward --------------------------------------------
def test_inplace_on_output_saved_by_exp_raises_like_torch() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    message = str(info.value)
    assert "modified by an inplace operation" in message
    assert "ExpBackward" in message
    assert "version 1" in message and "expected version 0" in message
    assert x.grad is None  # nothing was accumulated by the failed backward
    xt = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    yt = xt.exp()
    yt.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        yt.sum().backward()


def test_setitem_on_exp_output_raises_like_torch() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()
    y[0] = 0
    with pytest.raises(RuntimeError, match="ExpBackward"):
        y.sum().backward()
    xt = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    yt = xt.exp()
    yt[0] = 0
    with pytest.raises(RuntimeError, match="output 0 of Exp"):
        yt.sum().backward()


def test_saved_input_modified_reports_both_versions() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    b = a.sin()  # SinBackward saves its input a (version 0)
    a.mul_(2)
    a.add_(1)  # a is now at version 2
    with pytest.raises(RuntimeError) as info:
        b.sum().backward()
    message = str(info.value)
    assert "SinBackward" in message
    assert "version 2" in message and "expected version 0" in message


def test_modification_under_no_grad_is_still_caught() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.sigmoid()  # saves its output
    with cr.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="SigmoidBackward"):
        y.sum().backward()


def test_modifying_a_value_nobody_saved_is_fine_like_torch() -> None:
    # Mul by a constant needs only the constant: changing its tensor input later is harmless.
    x, xt = pair(3)
    c = RNG.standard_normal(3)
    h, ht = x * 1, xt * 1
    out = h * cr.tensor(c, dtype=cr.float64) + h * 2.0
    out_t = ht * torch.tensor(c) + ht * 2.0
    h.add_(5)
    ht.add_(5)
    out.sum().backward()
    out_t.sum().backward()
    assert_same(x.grad, xt.grad)


def test_mul_by_self_in_place_raises_like_torch() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y *= y  # MulBackward saved y itself as the second operand, then y changed
    with pytest.raises(RuntimeError, match="MulBackward"):
        y.sum().backward()
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    yt = xt * 1
    yt *= yt
    with pytest.raises(RuntimeError, match="inplace"):
        yt.sum().backward()


def test_retain_graph_backward_after_inplace_raises() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    loss = y.sum()
    loss.backward(retain_graph=True)
    with cr.no_grad():
        y.zero_()
    with pytest.raises(RuntimeError, match="ExpBackward"):
        loss.backward()


# -- leaves ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "op",
    ["iadd", "isub", "imul", "idiv", "add_", "mul_", "zero_", "fill_", "copy_", "setitem"],
)
def test_inplace_on_leaf_requiring_grad_raises_immediately(op: str) -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    xt = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for lib, t in ((cr, x), (torch, xt)):
        with pytest.raises(RuntimeError, match="leaf"):
            if op == "iadd":
                t += 1
            elif op == "isub":
                t -= 1
            elif op == "imul":
                t *= 2
            elif op == "idiv":
                t /= 2
            elif op == "add_":
                t.add_(1)
            elif op == "mul_":
                t.mul_(2)
            elif op == "zero_":
                t.zero_()
            elif op == "fill_":
                t.fill_(3.0)
            elif op == "copy_":
                t.copy_(lib.ones(3))
            else:
                t[0] = 5.0
    # Nothing changed: values, version, leaf status, and the tensor still works.
    assert x.tolist() == [1.0, 2.0, 3.0]
    assert x._version == 0
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_inplace_on_leaf_under_no_grad_is_allowed_and_bumps_version() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    wt = torch.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):  # three optimizer-style steps
        (w * w).sum().backward()
        (wt * wt).sum().backward()
        with cr.no_grad():
            w -= 0.1 * w.grad
            w.grad.zero_()
        with torch.no_grad():
            wt -= 0.1 * wt.grad
            wt.grad.zero_()
    assert_same(w, wt)
    assert w._version == wt._version == 3
    assert w.is_leaf and w.requires_grad and w.grad_fn is None


def test_each_inplace_op_bumps_version_by_one() -> None:
    x = cr.zeros(3)
    xt = torch.zeros(3)
    steps = [
        lambda t: t.add_(1),
        lambda t: t.sub_(1),
        lambda t: t.mul_(2),
        lambda t: t.div_(2),
        lambda t: t.zero_(),
        lambda t: t.fill_(2.0),
        lambda t: t.copy_(t * 3),
        lambda t: t.__setitem__(0, 1.0),
        lambda t: t.__iadd__(1),
        lambda t: t.__isub__(1),
        lambda t: t.__imul__(2),
        lambda t: t.__itruediv__(4),
    ]
    for k, step in enumerate(steps, start=1):
        step(x)
        step(xt)
        assert x._version == xt._version == k
        assert x.tolist() == xt.tolist()


def test_out_of_place_ops_do_not_bump_version() -> None:
    x = cr.tensor([1.0, 2.0])
    _ = x + 1, x * 2, x.exp(), x[0], x.reshape(2, 1), x.detach()
    assert x._version == 0


def test_views_and_detach_share_the_version_counter() -> None:
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    xt = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    row, row_t = x[0], xt[0]
    flat, flat_t = x.reshape(4), xt.reshape(4)
    det, det_t = x.detach(), xt.detach()
    row.mul_(10)
    row_t.mul_(10)
    assert x.tolist() == xt.tolist() == [[10.0, 20.0], [3.0, 4.0]]
    for ours, theirs in ((x, xt), (row, row_t), (flat, flat_t), (det, det_t)):
        assert ours._version == theirs._version == 1
    det.add_(1)
    det_t.add_(1)
    assert x._version == xt._version == 2
    assert flat.tolist() == flat_t.tolist()


def test_view_of_leaf_modified_under_no_grad_matches_torch() -> None:
    p, pt = pair(4)
    with cr.no_grad():
        p[0:2].mul_(10)
    with torch.no_grad():
        pt[0:2].mul_(10)
    assert_same(p, pt)
    assert p._version == pt._version == 1
    (p * p).sum().backward()
    (pt * pt).sum().backward()
    assert_same(p.grad, pt.grad)


def test_inplace_on_integer_tensor_keeps_dtype() -> None:
    x = cr.tensor([1, 2, 3])
    x += 2
    x.mul_(3)
    assert x.dtype == cr.int64 and x.tolist() == [9, 12, 15]
    with pytest.raises(RuntimeError, match="can't be cast"):
        x += 0.5  # float into int64 in place: refused, as torch does (same error type)
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2, 3]).add_(0.5)
    assert x.tolist() == [9, 12, 15]


# -- views and in-place: refused where chainrule cannot keep gradients right ----------------------
def test_inplace_on_a_view_of_a_tensor_requiring_grad_raises() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="view"):
        y[0:2].mul_(3)
    assert y.tolist() == [2.0, 4.0, 6.0] and y._version == 0
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_inplace_with_grad_value_into_a_view_of_a_plain_tensor_raises() -> None:
    # torch would give the base a history; chainrule cannot, and must not silently lose w's grad.
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    buf = cr.zeros(4)
    with pytest.raises(RuntimeError, match="view"):
        buf[0:2].copy_(w)
    assert buf.tolist() == [0.0, 0.0, 0.0, 0.0] and not buf.requires_grad
    buf[0:2] = w  # writing through the base works
    (buf * buf).sum().backward()
    assert w.grad.tolist() == [2.0, 4.0]


@pytest.mark.parametrize("take_view", [lambda y: y[0:2], lambda y: y.reshape(2, 2).T])
def test_view_taken_before_a_recorded_inplace_on_its_base_raises_on_use(take_view) -> None:
    # torch regenerates the view's history; chainrule refuses rather than use the stale one
    # (which would give a silently wrong gradient).
    x = cr.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 2
    v = take_view(y)
    y.mul_(3)
    with pytest.raises(RuntimeError, match=r"view .*modified in place"):
        v.sum()
    # Taking the view again after the in-place op gives torch's gradient.
    x.grad = None
    take_view(y).sum().backward()
    xt = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    yt = xt * 2
    vt = take_view(yt)
    yt.mul_(3)
    vt.sum().backward()
    assert_same(x.grad, xt.grad)


def test_view_taken_before_a_no_grad_inplace_on_its_base_matches_torch() -> None:
    x, xt = pair(4)
    y, yt = x * 2, xt * 2
    v, vt = y[0:2], yt[0:2]
    with cr.no_grad():
        y.mul_(3)
    with torch.no_grad():
        yt.mul_(3)
    (v * v).sum().backward()
    (vt * vt).sum().backward()
    assert_same(x.grad, xt.grad)


def test_read_only_expanded_view_cannot_be_written() -> None:
    x = cr.tensor([1.0, 2.0])
    e = x.expand(3, 2)
    with pytest.raises(RuntimeError, match="read-only"):
        e.add_(1)
    assert x.tolist() == [1.0, 2.0]
