"""Bad input: a clear, typed error at the call that made the mistake, naming the culprit, and no
state corrupted (the tensors still work, grad mode is right, a later valid backward is correct).
Also anomaly detection: a NaN or inf produced in backward names the op and where it was made."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

THIS_FILE = __file__.rsplit("/", 1)[-1]


def assert_still_works(*leaves: cr.Tensor) -> None:
    """Grad mode is on, and a fresh valid backward through the leaves gives exact gradients."""
    assert cr.is_grad_enabled()
    assert not cr.autograd.is_anomaly_enabled()
    for leaf in leaves:
        leaf.grad = None
        (leaf * 3.0).sum().backward()
        assert leaf.grad is not None
        assert np.all(leaf.grad.numpy() == 3.0)


# -- shape mismatches -----------------------------------------------------------------------------
def test_matmul_shape_mismatch_names_both_shapes() -> None:
    a = cr.ones(3, 4, requires_grad=True)
    b = cr.ones(5, 2, requires_grad=True)
    expected = "matmul: shapes (3, 4) and (5, 2) do not align: 4 != 5"
    with pytest.raises(ValueError) as info:
        a @ b
    assert str(info.value) == expected
    with pytest.raises(ValueError, match=re.escape(expected)):
        cr.matmul(a, b)
    with pytest.raises(ValueError, match=re.escape(expected)):
        a.matmul(b)
    assert a.shape == (3, 4) and b.shape == (5, 2)
    assert_still_works(a, b)


@pytest.mark.parametrize(
    "sa, sb, pattern",
    [
        ((3,), (4,), r"matmul: shapes \(3,\) and \(4,\) do not align: 3 != 4"),
        ((2, 3), (4,), r"matmul: shapes \(2, 3\) and \(4,\) do not align: 3 != 4"),
        ((2, 3, 4), (3, 4, 5), r"matmul: .*\(2, 3, 4\) and \(3, 4, 5\).*broadcast"),
        ((3,), None, r"matmul: .*\(3,\) and \(\)"),
    ],
)
def test_matmul_other_mismatches(sa, sb, pattern) -> None:
    b, bt = (cr.tensor(2.0), torch.tensor(2.0)) if sb is None else (cr.ones(*sb), torch.ones(*sb))
    with pytest.raises(ValueError, match=pattern):
        cr.ones(*sa) @ b
    with pytest.raises(RuntimeError):  # torch refuses the same products
        torch.ones(*sa) @ bt


@pytest.mark.parametrize(
    "op, fn",
    [
        ("add", lambda a, b: a + b),
        ("sub", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / b),
        ("maximum", lambda a, b: cr.maximum(a, b)),
    ],
)
def test_broadcast_mismatch_names_op_and_both_shapes(op, fn) -> None:
    a = cr.ones(3, 4, requires_grad=True)
    b = cr.ones(2, 4, requires_grad=True)
    with pytest.raises(ValueError) as info:
        fn(a, b)
    message = str(info.value)
    assert message.startswith(f"{op}:")
    assert "(3, 4)" in message and "(2, 4)" in message
    assert "3 vs 2" in message
    assert_still_works(a, b)


def test_linear_shape_mismatch_is_named() -> None:
    with pytest.raises(ValueError, match=r"linear: .*\(2, 3\).*\(4, 5\)"):
        cr.linear(cr.ones(2, 3), cr.ones(4, 5))


def test_inplace_broadcast_mismatch_leaves_tensor_unchanged() -> None:
    x = cr.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        x.add_(cr.tensor([1.0, 2.0]))
    assert x.tolist() == [1.0, 2.0, 3.0] and x._version == 0


# -- backward misuse ------------------------------------------------------------------------------
def test_backward_on_non_scalar_without_gradient() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2,\)"):
        y.backward()
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (torch.ones(2, requires_grad=True) * 2).backward()
    assert x.grad is None
    y.backward(cr.tensor([1.0, 1.0]))  # the graph was not consumed by the failed call
    assert x.grad.tolist() == [2.0, 4.0]


def test_backward_gradient_of_wrong_shape() -> None:
    x = cr.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    y = x.exp()
    with pytest.raises(
        RuntimeError, match=r"gradient has shape \(3, 1\).*output has shape \(1, 3\)"
    ):
        y.backward(cr.ones(3, 1))
    assert x.grad is None
    y.backward(cr.ones(1, 3))
    np.testing.assert_allclose(x.grad.numpy(), np.exp([[1.0, 2.0, 3.0]]), rtol=1e-6)


def test_grad_outputs_of_wrong_shape_or_count() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2,\)"):
        cr.autograd.grad(y, x, cr.ones(3))
    with pytest.raises(ValueError, match="2 grad_outputs for 1 outputs"):
        cr.autograd.grad([y], [x], [cr.ones(2), cr.ones(2)])
    (g,) = cr.autograd.grad(y, x, cr.ones(2))
    assert g.tolist() == [2.0, 2.0]


def test_backward_on_tensor_without_grad() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.tensor([1.0]).sum().backward()
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    assert_still_works(x)


def test_autograd_grad_input_is_not_a_tensor() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"inputs\[1\] is a float"):
        cr.autograd.grad((x * 2).sum(), [x, 1.0])


def test_error_raised_inside_a_user_backward_restores_grad_mode() -> None:
    class Boom(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom in backward")

    x = cr.tensor([1.0], requires_grad=True)
    for create_graph in (False, True):
        with pytest.raises(ValueError, match="boom in backward"):
            Boom.apply(x).sum().backward(create_graph=create_graph)
        assert cr.is_grad_enabled()
    with cr.no_grad():
        y = x * 2
    with pytest.raises(ValueError, match="boom"):
        cr.autograd.grad(Boom.apply(x).sum(), x, create_graph=True)
    assert cr.is_grad_enabled() and not y.requires_grad
    assert_still_works(x)


# -- dtypes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: cr.tensor([1, 2], requires_grad=True),
        lambda: cr.tensor([1, 2]).requires_grad_(),
        lambda: cr.arange(3, requires_grad=True),
        lambda: cr.zeros(2, dtype=cr.int64, requires_grad=True),
        lambda: cr.tensor([True, False], requires_grad=True),
    ],
)
def test_requires_grad_on_non_float_tensor(make) -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        make()
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2], requires_grad=True)


def test_failed_requires_grad_leaves_tensor_untouched() -> None:
    t = cr.tensor([1, 2])
    with pytest.raises(RuntimeError, match="int64"):
        t.requires_grad = True
    assert not t.requires_grad and t.dtype == cr.int64


# -- dims out of range ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, call",
    [
        ("sum", lambda x: x.sum(dim=2)),
        ("sum", lambda x: x.sum(dim=-3)),
        ("sum", lambda x: cr.sum(x, dim=(0, 2))),
        ("mean", lambda x: x.mean(dim=2)),
        ("var", lambda x: x.var(dim=5)),
        ("std", lambda x: x.std(dim=2)),
        ("amax", lambda x: x.amax(dim=2)),
        ("max", lambda x: x.max(dim=2)),
        ("min", lambda x: x.min(dim=-3)),
        ("argmax", lambda x: x.argmax(dim=2)),
        ("logsumexp", lambda x: x.logsumexp(dim=2)),
        ("softmax", lambda x: x.softmax(dim=2)),
        ("log_softmax", lambda x: cr.log_softmax(x, dim=-3)),
    ],
)
def test_reduction_dim_out_of_range(name, call) -> None:
    x = cr.ones(3, 4, requires_grad=True)
    with pytest.raises(IndexError) as info:
        call(x)
    message = str(info.value)
    assert message.startswith(f"{name}:")
    assert "[-2, 1]" in message  # the valid range
    with pytest.raises(IndexError):  # torch agrees that it is an IndexError
        torch.ones(3, 4).sum(dim=2)
    assert_still_works(x)


def test_index_out_of_range_names_the_shape() -> None:
    x = cr.ones(3, 4, requires_grad=True)
    with pytest.raises(IndexError, match=r"\(3, 4\)"):
        x[5]
    assert_still_works(x)


def test_item_of_many_elements() -> None:
    with pytest.raises(RuntimeError, match="12 elements"):
        cr.ones(3, 4).item()


# -- grad mode restored after exceptions ----------------------------------------------------------
@pytest.mark.parametrize(
    "make, inside",
    [
        (cr.no_grad, False),
        (cr.enable_grad, True),
        (lambda: cr.set_grad_enabled(False), False),
        (lambda: cr.set_grad_enabled(True), True),
    ],
)
@pytest.mark.parametrize("outer", [True, False])
def test_exception_inside_grad_mode_block_restores_mode(make, inside, outer) -> None:
    x = cr.tensor([1.0], requires_grad=True)
    with cr.set_grad_enabled(outer):
        with pytest.raises(KeyError), make():
            assert cr.is_grad_enabled() is inside
            assert (x * 2).requires_grad is inside
            raise KeyError("inside")
        assert cr.is_grad_enabled() is outer
    assert_still_works(x)


@pytest.mark.parametrize("decorator, inside", [(cr.no_grad, False), (cr.enable_grad, True)])
def test_exception_inside_decorated_function_restores_mode(decorator, inside) -> None:
    @decorator()
    def fails() -> None:
        assert cr.is_grad_enabled() is inside
        raise ValueError("from the decorated function")

    for outer in (True, False):
        with cr.set_grad_enabled(outer):
            with pytest.raises(ValueError, match="decorated"):
                fails()
            assert cr.is_grad_enabled() is outer


def test_error_inside_no_grad_from_an_op() -> None:
    x = cr.ones(3, 4, requires_grad=True)
    with pytest.raises(ValueError, match="matmul"), cr.no_grad():
        x @ x
    assert_still_works(x)


# -- anomaly detection ----------------------------------------------------------------------------
def test_anomaly_nan_in_backward_names_op_and_forward_line() -> None:
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        assert cr.autograd.is_anomaly_enabled()
        y = cr.sqrt(x) * 0  # LINE-OF-THE-FORWARD-CALL: 0 * (0.5 / sqrt(0)) = nan
        with (
            warnings.catch_warnings(),
            pytest.raises(RuntimeError) as info,
        ):
            warnings.simplefilter("ignore", RuntimeWarning)
            y.sum().backward()
    message = str(info.value)
    assert "SqrtBackward" in message
    assert "nan" in message
    assert THIS_FILE in message
    assert "y = cr.sqrt(x) * 0" in message  # the forward source line itself
    assert x.grad is None
    assert not cr.autograd.is_anomaly_enabled()
    # torch names the same op for the same program.
    xt = torch.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with torch.autograd.detect_anomaly():
            yt = torch.sqrt(xt) * 0
            with pytest.raises(RuntimeError, match=r"SqrtBackward0.*nan"):
                yt.sum().backward()
    assert_still_works(x)


def test_anomaly_inf_in_backward_is_caught() -> None:
    x = cr.tensor([0.0, 4.0], dtype=cr.float64, requires_grad=True)
    with cr.autograd.detect_anomaly(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y = x.log()  # d log(x)/dx at 0 is inf
        with pytest.raises(RuntimeError, match=r"LogBackward.*inf"):
            y.sum().backward()


def test_without_anomaly_mode_nan_flows_silently_like_torch() -> None:
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        (cr.sqrt(x) * 0).sum().backward()
    xt = torch.tensor([0.0, 1.0], requires_grad=True)
    (torch.sqrt(xt) * 0).sum().backward()
    assert np.isnan(x.grad.numpy()[0]) and np.isnan(xt.grad.numpy()[0])
    assert x.grad.numpy()[1] == xt.grad.numpy()[1] == 0.0


def test_anomaly_check_nan_false_does_not_raise() -> None:
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with cr.autograd.detect_anomaly(check_nan=False), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        (cr.sqrt(x) * 0).sum().backward()
    assert np.isnan(x.grad.numpy()[0])


def test_anomaly_in_a_user_function_backward() -> None:
    class BadGrad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = cr.tensor([1.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        y = BadGrad.apply(x)
        with pytest.raises(RuntimeError, match="BadGradBackward"):
            y.sum().backward()


def test_anomaly_for_node_created_outside_the_block_still_names_the_op() -> None:
    x = cr.tensor([0.0], requires_grad=True)
    y = cr.sqrt(x) * 0
    with cr.autograd.detect_anomaly(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(RuntimeError, match="SqrtBackward") as info:
            y.sum().backward()
    assert "outside detect_anomaly" in str(info.value)


def test_anomaly_mode_restored_after_an_exception() -> None:
    with pytest.raises(KeyError), cr.autograd.detect_anomaly():
        assert cr.autograd.is_anomaly_enabled()
        raise KeyError("x")
    assert not cr.autograd.is_anomaly_enabled()
    with cr.autograd.detect_anomaly():
        with cr.autograd.detect_anomaly():
            pass
        assert cr.autograd.is_anomaly_enabled()  # nested blocks restore the outer state
    assert not cr.autograd.is_anomaly_enabled()


def test_anomaly_mode_passes_finite_backward_unchanged() -> None:
    x = cr.tensor([0.5, 1.0], dtype=cr.float64, requires_grad=True)
    with cr.autograd.detect_anomaly():
        (cr.sqrt(x) * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.5 * np.sqrt([0.5, 1.0]), rtol=1e-14)
