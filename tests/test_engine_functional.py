"""cr.autograd.functional (jacobian, hessian, vjp, jvp, hvp, vhp) against
torch.autograd.functional, structure and shapes included; gradcheck and gradgradcheck, passing
and failing, with what their failure report says."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import chainrule as cr
import chainrule.autograd.functional as F

RNG = np.random.default_rng(99)


def arrays(*shapes: tuple[int, ...]) -> list[np.ndarray]:
    return [RNG.standard_normal(s) for s in shapes]


def ours(*data: np.ndarray) -> tuple[cr.Tensor, ...]:
    return tuple(cr.tensor(d, dtype=cr.float64) for d in data)


def theirs(*data: np.ndarray) -> tuple[torch.Tensor, ...]:
    return tuple(torch.tensor(d, dtype=torch.float64) for d in data)


def assert_same_structure(a: Any, b: Any, tol: float = 1e-10) -> None:
    """Nested tuples of tensors: same nesting, same shapes, same values."""
    if isinstance(b, torch.Tensor):
        assert isinstance(a, cr.Tensor), f"expected a Tensor, got {type(a).__name__}"
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)
        return
    assert isinstance(b, tuple)
    assert isinstance(a, tuple), f"expected a tuple, got {type(a).__name__}"
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert_same_structure(x, y, tol)


def both(fn: Callable, data: list[np.ndarray], single: bool) -> tuple[Any, Any]:
    """Inputs for both libraries, as one tensor (single) or a tuple."""
    a, b = ours(*data), theirs(*data)
    return (a[0], b[0]) if single else (a, b)


# Functions written once, valid for both libraries (the APIs mirror each other).
def f_vec(x):
    return x.exp() * x.sum()


def f_two_in(x, w):
    return (w @ x).tanh()


def f_two_out(x):
    return x.sin(), (x * x).sum()


def f_two_in_two_out(x, w):
    return w @ x, (x.sigmoid() * w).sum(dim=0)


def f_scalar_matrix(x):
    return (x.tanh() ** 2).sum()


def f_zero_dim(x):
    return x**3 + x


def f_unused_input(x, y):
    return x * 2


JACOBIAN_CASES = [
    ("vector", f_vec, [(3,)], True),
    ("vector-as-tuple", f_vec, [(3,)], False),
    ("two-inputs", f_two_in, [(3,), (2, 3)], False),
    ("two-outputs", f_two_out, [(4,)], True),
    ("two-in-two-out", f_two_in_two_out, [(3,), (2, 3)], False),
    ("scalar-of-matrix", f_scalar_matrix, [(2, 2)], True),
    ("zero-dim", f_zero_dim, [()], True),
    ("unused-input", f_unused_input, [(2,), (3,)], False),
]


@pytest.mark.parametrize(
    "name, fn, shapes, single", JACOBIAN_CASES, ids=[c[0] for c in JACOBIAN_CASES]
)
def test_jacobian_matches_torch(name, fn, shapes, single) -> None:
    a, b = both(fn, arrays(*shapes), single)
    J = F.jacobian(fn, a)
    J_t = TF.jacobian(fn, b)
    assert_same_structure(J, J_t)


def test_jacobian_leaves_inputs_untouched_and_results_detached() -> None:
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    J = F.jacobian(lambda x: x**2, x)
    assert J.tolist() == [[2.0, 0.0], [0.0, 4.0]]
    assert not J.requires_grad
    assert x.grad is None


def test_jacobian_create_graph_is_differentiable_like_torch() -> None:
    (d,) = arrays((3,))
    x, xt = cr.tensor(d, dtype=cr.float64, requires_grad=True), torch.tensor(d, requires_grad=True)
    J = F.jacobian(lambda x: x.sin() * x.sum(), x, create_graph=True)
    J_t = TF.jacobian(lambda x: x.sin() * x.sum(), xt, create_graph=True)
    assert J.requires_grad and J_t.requires_grad
    assert_same_structure(J, J_t)
    (J * J).sum().backward()
    (J_t * J_t).sum().backward()
    assert_same_structure(x.grad, xt.grad)


def test_softmax_beta_jacobian_closed_form() -> None:
    # Seed 001 §1.2: d softmax(beta x) / dx = beta (diag(p) - p p^T).
    (d,) = arrays((5,))
    beta = 2.5
    x = cr.tensor(d, dtype=cr.float64)
    J = F.jacobian(lambda x: cr.softmax(x, dim=0, beta=beta), x)
    p = np.exp(beta * d) / np.exp(beta * d).sum()
    np.testing.assert_allclose(J.numpy(), beta * (np.diag(p) - np.outer(p, p)), atol=1e-14)


HESSIAN_CASES = [
    ("scalar-of-matrix", f_scalar_matrix, [(2, 3)], True),
    ("cubic", lambda x: (x**3).sum() * x[0], [(3,)], True),
    ("two-inputs", lambda x, w: ((w @ x).sigmoid() * x.sum()).sum(), [(3,), (2, 3)], False),
    ("zero-dim", lambda x: (x.sin() * x).sum(), [()], True),
    ("log-softmax", lambda x: (x.log_softmax(dim=-1) * x).sum(), [(2, 3)], True),
]


@pytest.mark.parametrize(
    "name, fn, shapes, single", HESSIAN_CASES, ids=[c[0] for c in HESSIAN_CASES]
)
def test_hessian_matches_torch(name, fn, shapes, single) -> None:
    a, b = both(fn, arrays(*shapes), single)
    H = F.hessian(fn, a)
    H_t = TF.hessian(fn, b)
    assert_same_structure(H, H_t)


def test_hessian_rejects_non_scalar_function() -> None:
    with pytest.raises(RuntimeError, match="single-element"):
        F.hessian(lambda x: x * 2, cr.ones(3))


VJP_CASES = [
    ("vector", f_vec, [(3,)], [(3,)], True),
    ("two-inputs", f_two_in, [(3,), (2, 3)], [(2,)], False),
    ("two-outputs", f_two_out, [(4,)], [(4,), ()], True),
    ("two-in-two-out", f_two_in_two_out, [(3,), (2, 3)], [(2,), (3,)], False),
]


@pytest.mark.parametrize(
    "name, fn, shapes, v_shapes, single", VJP_CASES, ids=[c[0] for c in VJP_CASES]
)
def test_vjp_matches_torch(name, fn, shapes, v_shapes, single) -> None:
    a, b = both(fn, arrays(*shapes), single)
    vs = arrays(*v_shapes)
    v, vt = (ours(*vs), theirs(*vs)) if len(vs) > 1 else (ours(*vs)[0], theirs(*vs)[0])
    out, res = F.vjp(fn, a, v)
    out_t, res_t = TF.vjp(fn, b, vt)
    assert_same_structure(out, out_t)
    assert_same_structure(res, res_t)


def test_vjp_without_v_for_scalar_output() -> None:
    (d,) = arrays((2, 2))
    out, g = F.vjp(f_scalar_matrix, cr.tensor(d, dtype=cr.float64))
    out_t, g_t = TF.vjp(f_scalar_matrix, torch.tensor(d))
    assert_same_structure((out, g), (out_t, g_t))
    with pytest.raises(RuntimeError, match="v can be omitted only"):
        F.vjp(f_vec, cr.ones(3))


JVP_CASES = [
    ("vector", f_vec, [(3,)], True),
    ("two-inputs", f_two_in, [(3,), (2, 3)], False),
    ("two-outputs", f_two_out, [(4,)], True),
    ("two-in-two-out", f_two_in_two_out, [(3,), (2, 3)], False),
    ("zero-dim", f_zero_dim, [()], True),
]


@pytest.mark.parametrize("name, fn, shapes, single", JVP_CASES, ids=[c[0] for c in JVP_CASES])
def test_jvp_matches_torch(name, fn, shapes, single) -> None:
    a, b = both(fn, arrays(*shapes), single)
    vs = arrays(*shapes)
    v, vt = (ours(*vs)[0], theirs(*vs)[0]) if single else (ours(*vs), theirs(*vs))
    out, res = F.jvp(fn, a, v)
    out_t, res_t = TF.jvp(fn, b, vt)
    assert_same_structure(out, out_t)
    assert_same_structure(res, res_t)
    assert not any(t.requires_grad for t in (res if isinstance(res, tuple) else (res,)))


def test_jvp_without_v_for_scalar_input() -> None:
    out, res = F.jvp(f_zero_dim, cr.tensor(2.0, dtype=cr.float64))
    assert out.item() == 10.0 and res.item() == 13.0  # 3x^2 + 1


@pytest.mark.parametrize("which", ["hvp", "vhp"])
@pytest.mark.parametrize(
    "name, fn, shapes, single", HESSIAN_CASES, ids=[c[0] for c in HESSIAN_CASES]
)
def test_hvp_and_vhp_match_torch(which, name, fn, shapes, single) -> None:
    a, b = both(fn, arrays(*shapes), single)
    vs = arrays(*shapes)
    v, vt = (ours(*vs)[0], theirs(*vs)[0]) if single else (ours(*vs), theirs(*vs))
    out, res = getattr(F, which)(fn, a, v)
    out_t, res_t = getattr(TF, which)(fn, b, vt)
    assert_same_structure(out, out_t)
    assert_same_structure(res, res_t)


def test_hvp_equals_hessian_times_v() -> None:
    d, v = arrays((4,), (4,))
    x = cr.tensor(d, dtype=cr.float64)

    def f(x):
        return (x.softmax(dim=0) * x.exp()).sum()

    H = F.hessian(f, x)
    _, hv = F.hvp(f, x, cr.tensor(v, dtype=cr.float64))
    np.testing.assert_allclose(hv.numpy(), H.numpy() @ v, rtol=1e-10, atol=1e-12)


def test_hvp_rejects_v_of_wrong_shape() -> None:
    with pytest.raises(RuntimeError, match=r"v has shape \(2,\).*\(3,\)"):
        F.hvp(lambda x: (x * x).sum(), cr.ones(3), cr.ones(2))


def test_functional_rejects_non_tensor_inputs() -> None:
    with pytest.raises(TypeError, match="jacobian: inputs"):
        F.jacobian(lambda x: x, [1.0, 2.0])


# -- gradcheck ------------------------------------------------------------------------------------
def test_gradcheck_defaults_match_the_issue() -> None:
    params = inspect.signature(cr.autograd.gradcheck).parameters
    assert params["eps"].default == 1e-6
    assert params["atol"].default == 1e-5
    assert params["rtol"].default == 1e-3
    assert params["raise_exception"].default is True
    params = inspect.signature(cr.autograd.gradgradcheck).parameters
    assert params["eps"].default == 1e-6
    assert params["atol"].default == 1e-5
    assert params["rtol"].default == 1e-3
    assert params["raise_exception"].default is True


def test_gradcheck_passes_on_correct_compositions() -> None:
    x = cr.tensor(RNG.standard_normal((2, 3)), dtype=cr.float64, requires_grad=True)
    w = cr.tensor(RNG.standard_normal(3), dtype=cr.float64, requires_grad=True)
    c = cr.tensor(RNG.standard_normal(3), dtype=cr.float64)  # not checked: no grad
    assert cr.autograd.gradcheck(
        lambda x, w, c: (x * w + c).sigmoid().log_softmax(dim=1), (x, w, c)
    )
    assert cr.autograd.gradcheck(lambda x: (x.tanh(), x.sum(dim=0) ** 2), (x,))
    assert cr.autograd.gradgradcheck(lambda x, w: (x @ w).exp(), (x, w))


def test_gradcheck_leaves_inputs_as_they_were() -> None:
    data = RNG.standard_normal(4)
    x = cr.tensor(data, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda x: x.exp().sum(), (x,))
    assert x.grad is None
    assert np.array_equal(x.detach().numpy(), data)


def test_gradcheck_requires_float64() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        cr.autograd.gradcheck(lambda x: x * 2, (x,))
    with pytest.raises(ValueError, match="no input requires grad"):
        cr.autograd.gradcheck(lambda x: x * 2, (cr.tensor([1.0], dtype=cr.float64),))


class WrongSquare(cr.autograd.Function):
    """y = x^2 with a backward that is wrong in element 2 only (it returns 3x there)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        factor = cr.tensor([2.0, 2.0, 3.0, 2.0], dtype=x.dtype)
        return g * factor * x


def test_gradcheck_failure_reports_input_elements_and_values() -> None:
    y = cr.tensor([5.0, 6.0], dtype=cr.float64, requires_grad=True)  # input 0: correct
    x = cr.tensor([1.0, -2.0, 1.5, 0.5], dtype=cr.float64, requires_grad=True)  # input 1: wrong
    with pytest.raises(cr.autograd.GradcheckError) as info:
        cr.autograd.gradcheck(lambda y, x: y.sum() * WrongSquare.apply(x), (y, x))
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert "input 1" in message and "input 0" not in message
    assert "(shape (4,))" in message
    assert "1 of 16 entries differ" in message
    # the differing element: d out[2] / d in[2], analytic 11 * 3 * 1.5, numerical 11 * 2 * 1.5
    line = re.search(r"d out\[2\] / d in\[2\]: analytic (\S+), numerical (\S+)", message)
    assert line is not None, message
    assert float(line.group(1).rstrip(",")) == pytest.approx(49.5)
    assert float(line.group(2)) == pytest.approx(33.0, rel=1e-6)


def test_gradcheck_failure_names_multi_dim_elements() -> None:
    a = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=cr.float64, requires_grad=True)
    with pytest.raises(cr.autograd.GradcheckError) as info:
        cr.autograd.gradcheck(lambda a: a * a.detach(), (a,))  # analytic x, numerical 2x
    message = str(info.value)
    assert "4 of 16 entries differ" in message
    assert "d out[3] / d in[1, 1]: analytic 4, numerical 8" in message


def test_gradcheck_raise_exception_false_returns_false() -> None:
    x = cr.tensor([1.0, -2.0, 1.5, 0.5], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
    assert cr.autograd.gradcheck(lambda x: x * x, (x,), raise_exception=False) is True


def test_gradcheck_reports_which_output() -> None:
    x = cr.tensor([1.0, -2.0, 1.5, 0.5], dtype=cr.float64, requires_grad=True)
    with pytest.raises(cr.autograd.GradcheckError, match="output 1 with respect to input 0"):
        cr.autograd.gradcheck(lambda x: (x.exp(), WrongSquare.apply(x)), (x,))


def _offset_square(offset: float) -> type:
    class OffsetSquare(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (2 * x + offset)

    return OffsetSquare


def test_gradcheck_tolerances_are_atol_plus_rtol_times_numerical() -> None:
    small = cr.tensor([0.25], dtype=cr.float64, requires_grad=True)  # derivative 0.5
    assert cr.autograd.gradcheck(_offset_square(5e-6).apply, (small,))  # < atol + rtol * 0.5
    assert not cr.autograd.gradcheck(_offset_square(1e-3).apply, (small,), raise_exception=False)
    big = cr.tensor([50.0], dtype=cr.float64, requires_grad=True)  # derivative 100
    assert cr.autograd.gradcheck(_offset_square(0.05).apply, (big,))  # 0.05 < 1e-5 + 0.1
    assert not cr.autograd.gradcheck(_offset_square(0.2).apply, (big,), raise_exception=False)
    # Looser tolerances passed explicitly are honoured.
    assert cr.autograd.gradcheck(_offset_square(0.2).apply, (big,), rtol=1e-2)


class FirstOrderOnlyCube(cr.autograd.Function):
    """y = x^3 whose backward is right but not differentiable (it detaches x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x.detach() ** 2


def test_gradgradcheck_catches_a_wrong_second_derivative() -> None:
    x = cr.tensor([1.0, -0.5, 2.0], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(FirstOrderOnlyCube.apply, (x,))
    with pytest.raises(cr.autograd.GradcheckError, match="input 0"):
        cr.autograd.gradgradcheck(FirstOrderOnlyCube.apply, (x,))
    assert not cr.autograd.gradgradcheck(FirstOrderOnlyCube.apply, (x,), raise_exception=False)


def test_gradgradcheck_with_explicit_grad_outputs() -> None:
    x = cr.tensor([1.0, -0.5, 2.0], dtype=cr.float64, requires_grad=True)
    v = cr.tensor([0.3, -1.0, 2.0], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda x: x.sin() * x, (x,), grad_outputs=(v,))
