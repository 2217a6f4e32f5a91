"""autograd.grad: gradients of outputs with respect to chosen inputs, returned, not accumulated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, overload

from chainrule import engine
from chainrule.tensor import Tensor


def _as_list(x: Any) -> list:
    if isinstance(x, Tensor):
        return [x]
    return list(x)


# A gradient is None only for an unused input with allow_unused=True (and no materialize_grads):
# the overloads tell the checker so, so that `(g,) = grad(y, x); g * 2` needs no None check.
@overload
def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: Literal[False] | None = None,
    materialize_grads: bool = False,
) -> tuple[Tensor, ...]: ...
@overload
def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    *,
    materialize_grads: Literal[True],
) -> tuple[Tensor, ...]: ...
@overload
def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]: ...
def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs) as a tuple of tensors (leaves' .grad are left untouched).

    `grad_outputs` are the vectors of the vector-Jacobian products (required for non-scalar
    outputs); `create_graph=True` records the computation, for higher-order derivatives.

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> (dx,) = cr.autograd.grad(x**3, x, create_graph=True)
    >>> (ddx,) = cr.autograd.grad(dx, x)
    >>> dx.item(), ddx.item()
    (27.0, 18.0)
    """
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    if not ins:
        raise ValueError("grad: `inputs` must be a non-empty sequence of tensors")
    if grad_outputs is None:
        seeds: list[Any] = [None] * len(outs)
    else:
        seeds = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
        if len(seeds) != len(outs):
            raise ValueError(
                f"grad: got {len(seeds)} grad_outputs for {len(outs)} outputs; they must match"
            )
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs[{i}] is a {type(t).__name__}, not a Tensor")
        if not t._requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] (shape {tuple(t.shape)}) does not require grad")
    root_grads = []
    for i, (out, seed) in enumerate(zip(outs, seeds, strict=True)):
        if not out._requires_grad:
            raise RuntimeError(
                f"grad: outputs[{i}] does not require grad and does not have a grad_fn"
            )
        root_grads.append(engine._root_gradient(out, seed, "grad"))
    retain = create_graph if retain_graph is None else retain_graph
    results = engine.run(outs, root_grads, retain, create_graph, capture=ins)
    assert results is not None
    final: list[Tensor | None] = []
    for i, (t, g) in enumerate(zip(ins, results, strict=True)):
        if g is None:
            if materialize_grads:
                from chainrule.creation import zeros_like

                final.append(zeros_like(t))
                continue
            if not allow_unused:
                raise RuntimeError(
                    f"grad: inputs[{i}] (shape {tuple(t.shape)}) appears to not have been used "
                    "in the graph. Set allow_unused=True if this is the desired behavior."
                )
            final.append(None)
        else:
            final.append(g if isinstance(g, Tensor) else Tensor._make(g))
    return tuple(final)
