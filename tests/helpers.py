"""The op-level oracle: one helper, one line per case (tinygrad's `helper_test_op` style).

`check_op(inputs, fn)` runs the same function on chainrule and on PyTorch tensors (the APIs
mirror each other, so one lambda usually serves both; `lib(x)` gives the module of a tensor for
module-level functions such as `lib(a).cat`), then holds chainrule against three oracles:

1. PyTorch's forward values (shapes, dtypes, values),
2. PyTorch's gradients for one random upstream gradient (`backward(gradient)` on both sides),
3. central finite differences (`cr.autograd.gradcheck`, optionally `gradgradcheck`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.function import Node

# float32 runs are compared with tolerances set by float32's precision (eps ~ 1.2e-7), not per case.
FLOAT32_ATOL = 1e-5
FLOAT32_RTOL = 1e-4


def lib(x: Any) -> Any:
    """The module that owns tensor x: `torch` or `chainrule` (for `lib(x).cat(...)` and friends)."""
    return torch if isinstance(x, torch.Tensor) else cr


def make_arrays(
    shapes_or_arrays: Sequence[Any],
    low: float = -2.0,
    high: float = 2.0,
    positive: bool | Collection[int] = False,
    seed: int = 0,
) -> list[np.ndarray]:
    """Random float64 arrays for shapes (uniform in [low, high)); given arrays are copied as is.

    `positive` (all inputs, or the indices of some) draws from [max(low, 0.5), max(high, 1))
    instead, for logs, square roots, denominators and bases of real powers.
    """
    rng = np.random.default_rng(seed)
    out = []
    for i, item in enumerate(shapes_or_arrays):
        if isinstance(item, np.ndarray):
            out.append(item.copy())
            continue
        if not isinstance(item, tuple):
            raise TypeError(f"input {i}: expected a shape tuple or a numpy array, got {item!r}")
        pos = positive is True or (not isinstance(positive, bool) and i in positive)
        lo, hi = (max(low, 0.5), max(high, 1.0)) if pos else (low, high)
        out.append(rng.uniform(lo, hi, size=item))
    return out


def _is_float(a: np.ndarray) -> bool:
    return a.dtype.kind == "f"


def _inputs(
    arrays: Sequence[np.ndarray], const: Collection[int], dtype: Any = None
) -> tuple[list[cr.Tensor], list[torch.Tensor]]:
    """The same values as chainrule and torch tensors; float inputs require grad unless const."""
    cr_in, t_in = [], []
    for i, a in enumerate(arrays):
        if dtype is not None and _is_float(a):
            a = a.astype(dtype)
        requires_grad = _is_float(a) and i not in const
        cr_in.append(cr.tensor(a, requires_grad=requires_grad))
        t_in.append(torch.from_numpy(a.copy()).requires_grad_(requires_grad))
    return cr_in, t_in


def _outputs(out: Any) -> list[Any]:
    return [out] if isinstance(out, (cr.Tensor, torch.Tensor)) else list(out)


def _np_dtype(t: torch.Tensor) -> np.dtype:
    return torch.empty(0, dtype=t.dtype).numpy().dtype


def _to_numpy(t: Any) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def compare(c: cr.Tensor, t: torch.Tensor, atol: float, rtol: float, what: str) -> None:
    """chainrule tensor c holds the same shape, dtype and values as torch tensor t."""
    assert isinstance(c, cr.Tensor), f"{what}: chainrule gave {type(c).__name__}, not a Tensor"
    assert tuple(c.shape) == tuple(t.shape), (
        f"{what}: shape {tuple(c.shape)} != torch's {tuple(t.shape)}"
    )
    assert c.dtype == _np_dtype(t), f"{what}: dtype {c.dtype} != torch's {t.dtype}"
    expected = _to_numpy(t)
    actual = _to_numpy(c)
    if _is_float(expected):
        np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def _forward_and_backward(
    arrays: Sequence[np.ndarray],
    cr_fn: Callable,
    torch_fn: Callable,
    const: Collection[int],
    atol: float,
    rtol: float,
    grad: bool,
    seed: int,
    dtype: Any = None,
    label: str = "",
) -> None:
    cr_in, t_in = _inputs(arrays, const, dtype)
    t_out = _outputs(torch_fn(*t_in))
    c_out = _outputs(cr_fn(*cr_in))
    assert len(c_out) == len(t_out), (
        f"{label}chainrule gave {len(c_out)} outputs, torch {len(t_out)}"
    )
    for k, (c, t) in enumerate(zip(c_out, t_out, strict=True)):
        compare(c, t, atol, rtol, f"{label}forward output {k}")
        assert c.requires_grad == t.requires_grad, (
            f"{label}output {k}: requires_grad {c.requires_grad} != torch's {t.requires_grad}"
        )
    wrt = [i for i, t in enumerate(t_in) if t.requires_grad]
    live = [k for k, t in enumerate(t_out) if t.requires_grad]
    if not grad or not wrt or not live:
        return
    rng = np.random.default_rng(seed + 1)
    seeds = [rng.standard_normal(t_out[k].shape).astype(_np_dtype(t_out[k])) for k in live]
    if len(live) == 1:
        (k,) = live
        t_out[k].backward(torch.from_numpy(seeds[0].copy()))
        c_out[k].backward(cr.tensor(seeds[0]))
        t_grads = [t_in[i].grad for i in wrt]
        c_grads = [cr_in[i].grad for i in wrt]
    else:
        t_grads = torch.autograd.grad(
            [t_out[k] for k in live],
            [t_in[i] for i in wrt],
            [torch.from_numpy(s.copy()) for s in seeds],
            allow_unused=True,
        )
        c_grads = cr.autograd.grad(
            [c_out[k] for k in live],
            [cr_in[i] for i in wrt],
            [cr.tensor(s) for s in seeds],
            allow_unused=True,
        )
    for i, tg, cg in zip(wrt, t_grads, c_grads, strict=True):
        if tg is None:
            assert cg is None, f"{label}input {i}: torch gives no gradient, chainrule gives one"
            continue
        assert cg is not None, f"{label}input {i}: chainrule gives no gradient, torch does"
        compare(cg, tg, atol, rtol, f"{label}gradient of input {i}")


def check_op(
    shapes_or_arrays: Sequence[Any],
    cr_fn: Callable,
    torch_fn: Callable | None = None,
    low: float = -2.0,
    high: float = 2.0,
    positive: bool | Collection[int] = False,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    grad: bool = True,
    gradcheck: bool = True,
    gradgradcheck: bool = False,
    float32: bool = False,
    const: Collection[int] = (),
    seed: int = 0,
) -> None:
    """Check one op against PyTorch (forward and gradients) and finite differences.

    shapes_or_arrays: one entry per input, a shape tuple (random float64 values in [low, high))
        or a numpy array used as given (integer and bool arrays become constant tensors).
    torch_fn: defaults to cr_fn (a lambda written with Tensor methods and `lib(x)` serves both).
    grad: compare gradients for a random upstream gradient (backward(gradient) on both sides).
    gradcheck / gradgradcheck: finite-difference checks of chainrule's first / second derivatives.
    float32: also compare forward and gradients with float32 inputs (float32 tolerances).
    const: indices of float inputs that do not require grad.
    """
    torch_fn = cr_fn if torch_fn is None else torch_fn
    arrays = make_arrays(shapes_or_arrays, low, high, positive, seed)
    _forward_and_backward(arrays, cr_fn, torch_fn, const, atol, rtol, grad, seed)
    if float32:
        _forward_and_backward(
            arrays, cr_fn, torch_fn, const, FLOAT32_ATOL, FLOAT32_RTOL, grad, seed,
            dtype=np.float32, label="float32 ",
        )  # fmt: skip
    if gradcheck or gradgradcheck:
        cr_in, _ = _inputs(arrays, const)
        if not any(t.requires_grad for t in cr_in):
            raise ValueError("check_op: gradcheck asked for, but no input requires grad")
        if gradcheck:
            assert cr.autograd.gradcheck(cr_fn, cr_in)
        if gradgradcheck:
            assert cr.autograd.gradgradcheck(cr_fn, cr_in)


def graph_primitives(out: Any) -> set[str]:
    """Names of the Functions recorded in the graph behind out (a Tensor or a tuple of them)."""
    seen: set[str] = set()
    stack = [t.grad_fn for t in _outputs(out) if isinstance(t, cr.Tensor) and t.grad_fn]
    visited: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        seen.add(node.fn.__name__)
        stack.extend(e[0] for e in node.next_edges if e is not None and type(e[0]) is Node)
    return seen


@dataclass
class Case:
    """One line of the oracle table: an id, the inputs, the function, and check_op's options."""

    id: str
    inputs: Sequence[Any]
    fn: Callable
    torch_fn: Callable | None = None
    options: dict[str, Any] = field(default_factory=dict)
    marks: tuple[Any, ...] = ()

    def param(self) -> Any:
        """This case as a pytest parameter (with its id and marks)."""
        return pytest.param(self, id=self.id, marks=self.marks)

    def run(self, **defaults: Any) -> None:
        """check_op with this case's options over `defaults`; a case whose first derivative
        cannot be finite-differenced (gradcheck=False) is not finite-differenced twice either."""
        options = {**defaults, **self.options}
        if self.options.get("gradcheck") is False:
            options["gradgradcheck"] = self.options.get("gradgradcheck", False)
        check_op(self.inputs, self.fn, self.torch_fn, **options)

    def primitives(self) -> set[str]:
        """The primitives chainrule records when running this case's forward."""
        keys = ("low", "high", "positive", "seed")
        arrays = make_arrays(self.inputs, **{k: v for k, v in self.options.items() if k in keys})
        cr_in, _ = _inputs(arrays, self.options.get("const", ()))
        return graph_primitives(self.fn(*cr_in))

    def __str__(self) -> str:
        return self.id


def case(id: str, inputs: Sequence[Any], fn: Callable, torch_fn: Callable | None = None,
         marks: Any = (), **options: Any) -> Case:  # fmt: skip
    """Shorthand for one line of a case table (options go to check_op, marks to pytest)."""
    return Case(id, inputs, fn, torch_fn, options, marks if isinstance(marks, tuple) else (marks,))
