"""Function transforms: jacobian, hessian, vjp, jvp, hvp, vhp (torch.autograd.functional).

Each takes a Python function of tensors and the point to evaluate at; `inputs` and outputs may be
a Tensor or a tuple of Tensors, and results mirror that structure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.autograd.grad import grad
from chainrule.creation import zeros_like
from chainrule.modes import enable_grad
from chainrule.ops import stack
from chainrule.tensor import Tensor


def _as_tuple(x: Any, what: str) -> tuple[tuple[Tensor, ...], bool]:
    if isinstance(x, Tensor):
        return (x,), True
    if isinstance(x, (tuple, list)) and all(isinstance(t, Tensor) for t in x):
        return tuple(x), False
    raise TypeError(f"{what} must be a Tensor or a tuple of Tensors, got {type(x).__name__}")


def _prepare(inputs: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    """Fresh leaves to differentiate at (kept in the caller's graph when create_graph)."""
    if create_graph:
        return tuple(t if t.requires_grad else t.detach().requires_grad_() for t in inputs)
    return tuple(t.detach().requires_grad_() for t in inputs)


def _grads(outputs: Any, inputs: tuple[Tensor, ...], seeds: Any, create_graph: bool) -> tuple:
    """grad with zeros (not None, not an error) for inputs the output does not depend on."""
    needs = [o.requires_grad for o in (outputs if isinstance(outputs, tuple) else (outputs,))]
    if not any(needs):
        return tuple(zeros_like(t) for t in inputs)
    return grad(
        outputs,
        inputs,
        seeds,
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
        materialize_grads=True,
    )


def vjp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple[Any, Any]:
    """(func(inputs), v^T J): the vector-Jacobian product that backward computes."""
    ins, single_in = _as_tuple(inputs, "vjp: inputs")
    with enable_grad():
        xs = _prepare(ins, create_graph)
        out = func(*xs)
        outs, single_out = _as_tuple(out, "vjp: func's output")
        if v is None:
            for o in outs:
                if o.numel() != 1:
                    raise RuntimeError(
                        f"vjp: v can be omitted only for scalar outputs, got shape {tuple(o.shape)}"
                    )
            seeds = None
        else:
            seeds, _ = _as_tuple(v, "vjp: v")
        result = _grads(outs, xs, seeds, create_graph)
    result = tuple(r if create_graph else r.detach() for r in result)
    out = outs[0] if single_out else outs
    return (out if create_graph else _detach(out)), (result[0] if single_in else result)


def jvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple[Any, Any]:
    """(func(inputs), J v): computed as the derivative of u -> u^T J along v (double-vjp)."""
    ins, _single_in = _as_tuple(inputs, "jvp: inputs")
    if v is None:
        if any(t.numel() != 1 for t in ins):
            raise RuntimeError("jvp: v can be omitted only for scalar inputs")
        vs = tuple(zeros_like(t) + 1 for t in ins)
    else:
        vs, _ = _as_tuple(v, "jvp: v")
    with enable_grad():
        xs = _prepare(ins, True)
        outs, single_out = _as_tuple(func(*xs), "jvp: func's output")
        us = tuple(zeros_like(o).requires_grad_() for o in outs)
        vjps = _grads(outs, xs, us, True)
        total = None
        for g, t in zip(vjps, vs, strict=True):
            term = (g * t).sum()
            total = term if total is None else total + term
        result = _grads(total, us, None, create_graph)
    result = tuple(r if create_graph else r.detach() for r in result)
    out = outs[0] if single_out else outs
    return (out if create_graph else _detach(out)), (result[0] if single_out else result)


def jacobian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
) -> Any:
    """The Jacobian d func / d inputs; for one input and one output a tensor of shape
    output.shape + input.shape (nested tuples [output][input] otherwise).

    >>> import chainrule as cr
    >>> J = cr.autograd.functional.jacobian(lambda x: x**2, cr.tensor([1.0, 2.0]))
    >>> J.tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    ins, single_in = _as_tuple(inputs, "jacobian: inputs")
    with enable_grad():
        xs = _prepare(ins, create_graph)
        outs, single_out = _as_tuple(func(*xs), "jacobian: func's output")
        table = []
        for o in outs:
            rows: list[list[Tensor]] = [[] for _ in xs]
            flat = o.reshape(-1)
            for k in range(flat.shape[0]):
                grads = _grads(flat[k], xs, None, create_graph)
                for j, g in enumerate(grads):
                    rows[j].append(g if create_graph else g.detach())
            per_input = []
            for j, x in enumerate(xs):
                if rows[j]:
                    per_input.append(stack(rows[j]).reshape(o.shape + x.shape))
                else:
                    per_input.append(
                        zeros_like(x).reshape((0, *x.shape)).reshape(o.shape + x.shape)
                    )
            table.append(tuple(per_input))
    if single_out and single_in:
        return table[0][0]
    if single_out:
        return table[0]
    if single_in:
        return tuple(row[0] for row in table)
    return tuple(table)


def hessian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
) -> Any:
    """The matrix of second derivatives of a scalar function: shape input.shape * 2."""
    ins, single_in = _as_tuple(inputs, "hessian: inputs")

    def gradient(*xs: Tensor) -> Any:
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("hessian: func must return a single-element tensor")
        gs = _grads(out, xs, None, True)
        return gs[0] if single_in else gs

    return jacobian(gradient, ins[0] if single_in else ins, create_graph=create_graph)


def hvp(
    func: Callable, inputs: Any, v: Any, create_graph: bool = False, strict: bool = False
) -> tuple[Any, Any]:
    """(func(inputs), H v) for a scalar func, without forming H."""
    return _hessian_product(func, inputs, v, create_graph, "hvp")


def vhp(
    func: Callable, inputs: Any, v: Any, create_graph: bool = False, strict: bool = False
) -> tuple[Any, Any]:
    """(func(inputs), v^T H); equal to hvp since H is symmetric."""
    return _hessian_product(func, inputs, v, create_graph, "vhp")


def _hessian_product(func: Callable, inputs: Any, v: Any, create_graph: bool, op: str) -> Any:
    ins, single_in = _as_tuple(inputs, f"{op}: inputs")
    vs, _ = _as_tuple(v, f"{op}: v")
    for x, u in zip(ins, vs, strict=True):
        if x.shape != u.shape:
            raise RuntimeError(
                f"{op}: v has shape {tuple(u.shape)} but the input has shape {tuple(x.shape)}"
            )
    with enable_grad():
        xs = _prepare(ins, True)
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError(f"{op}: func must return a single-element tensor")
        gs = _grads(out, xs, None, True)
        total = None
        for g, u in zip(gs, vs, strict=True):
            term = (g * u).sum()
            total = term if total is None else total + term
        result = _grads(total, xs, None, create_graph)
    result = tuple(r if create_graph else r.detach() for r in result)
    return (out if create_graph else out.detach()), (result[0] if single_in else result)


def _detach(out: Any) -> Any:
    return tuple(o.detach() for o in out) if isinstance(out, tuple) else out.detach()
