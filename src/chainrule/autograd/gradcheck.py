"""gradcheck / gradgradcheck: autodiff against central finite differences, in float64.

For each input that requires grad, the analytic Jacobian (one backward per output element) is
compared with the numerical one, (f(x + h e_k) - f(x - h e_k)) / 2h with h = eps * max(1, |x_k|)
(the one step rule of `finite_differences`, whose docstring says why), element by element:
|analytic - numerical| <= atol + rtol |numerical|.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.autograd.finite_differences import central_differences
from chainrule.autograd.grad import grad
from chainrule.modes import enable_grad, no_grad
from chainrule.tensor import Tensor


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytic and numerical derivatives disagree."""


def _outputs(func: Callable, inputs: tuple) -> tuple[Tensor, ...]:
    out = func(*inputs)
    return (out,) if isinstance(out, Tensor) else tuple(out)


def _numerical(func: Callable, inputs: tuple, x: Tensor, eps: float) -> list[np.ndarray]:
    """d outputs / d x by central differences: one (out.size, x.size) matrix per output."""
    flat = x._data.reshape(-1)  # a view: writing into it perturbs x, wherever func reads it
    original = flat.copy()
    sizes: list[int] = []

    def outputs_at(moved: np.ndarray) -> np.ndarray:
        flat[...] = moved.reshape(-1)
        try:
            outs = [o._data.astype(np.float64).reshape(-1) for o in _outputs(func, inputs)]
        finally:
            flat[...] = original
        sizes[:] = [o.size for o in outs]
        return np.concatenate(outs) if outs else np.zeros(0)

    with no_grad():
        jacobian = central_differences(outputs_at, original, eps=eps).numerical
    # one block of rows per output, in the order func returned them
    rows = np.cumsum([0, *sizes])
    jacobian = jacobian.reshape(int(rows[-1]), flat.size)
    return [jacobian[start:stop] for start, stop in itertools.pairwise(rows)]


def _analytic(func: Callable, inputs: tuple, x_index: int) -> list[np.ndarray]:
    """d outputs / d inputs[x_index] by reverse mode: one row per output element."""
    x = inputs[x_index]
    with enable_grad():
        outs = _outputs(func, inputs)
        mats = []
        for o in outs:
            rows = []
            flat = o.reshape(-1)
            for k in range(flat.shape[0]):
                if not flat.requires_grad:
                    rows.append(np.zeros(x.numel()))
                    continue
                (g,) = grad(flat[k], x, retain_graph=True, allow_unused=True)
                rows.append(np.zeros(x.numel()) if g is None else g._data.reshape(-1))
            mats.append(np.array(rows, dtype=np.float64).reshape(o.numel(), x.numel()))
    return mats


def gradcheck(
    func: Callable,
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """True if func's autodiff gradients match central differences at `inputs`.

    >>> import chainrule as cr
    >>> x = cr.tensor([0.5, -1.0], dtype=cr.float64, requires_grad=True)
    >>> cr.autograd.gradcheck(lambda x: (x.sigmoid() * x).sum(), (x,))
    True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64 "
                "inputs (use .double())"
            )
    for i in checked:
        analytic = _analytic(func, inputs, i)
        numerical = _numerical(func, inputs, inputs[i], eps)
        for j, (a, n) in enumerate(zip(analytic, numerical, strict=True)):
            bad = ~(np.abs(a - n) <= atol + rtol * np.abs(n))
            if bad.any():
                if not raise_exception:
                    return False
                raise GradcheckError(_report(i, j, a, n, bad, inputs[i].shape))
    return True


def _report(i: int, j: int, a: np.ndarray, n: np.ndarray, bad: np.ndarray, shape: Any) -> str:
    rows, cols = np.nonzero(bad)
    lines = [
        f"Jacobian mismatch for output {j} with respect to input {i} (shape {tuple(shape)}): "
        f"{len(rows)} of {a.size} entries differ"
    ]
    for r, c in list(zip(rows, cols, strict=True))[:10]:
        # Python ints: NumPy 2's np.int64 would print as "np.int64(2)" inside the list
        where = [int(k) for k in np.unravel_index(c, shape)] if len(shape) else []
        lines.append(f"  d out[{r}] / d in{where}: analytic {a[r, c]:.8g}, numerical {n[r, c]:.8g}")
    if len(rows) > 10:
        lines.append(f"  ... and {len(rows) - 10} more")
    return "\n".join(lines)


def gradgradcheck(
    func: Callable,
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """gradcheck of the first derivatives themselves (checks backward's own backward)."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    differentiable = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    with enable_grad():
        outs = _differentiable(_outputs(func, inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            Tensor._make(rng.standard_normal(o.shape), requires_grad=True) for o in outs
        )
    else:
        grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    n = len(inputs)

    def first_derivatives(*args: Tensor) -> tuple[Tensor, ...]:
        xs, vs = args[:n], args[n:]
        with enable_grad():  # also while gradcheck evaluates finite differences under no_grad
            out = _differentiable(_outputs(func, xs))
            wrt = [xs[i] for i in differentiable]
            return grad(out, wrt, vs, create_graph=True, allow_unused=True, materialize_grads=True)

    return gradcheck(first_derivatives, (*inputs, *grad_outputs), eps, atol, rtol, raise_exception)


def _differentiable(outputs: tuple[Tensor, ...]) -> list[Tensor]:
    """The outputs that carry gradients: indices (as from max(dim)) have no first derivative to
    check, and grad() refuses them, so they are left out (as PyTorch's gradgradcheck does)."""
    return [o for o in outputs if o.requires_grad]
