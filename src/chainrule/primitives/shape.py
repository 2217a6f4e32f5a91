"""Shape primitives: reshape, permute, expand, cat. Their derivatives move gradients, never scale.

reshape, permute and expand return views of their input (they share its memory and its version
counter), as in PyTorch.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.rules import G, Rule


class Reshape(Primitive):
    _view = True

    rule = Rule(
        "a reshape moves no value: the gradient is reshaped back",
        "y = x.reshape(s)",
        "y = x",
        x=("dL/dx = g reshaped to x's shape", G % "x" + " = g"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, shape: tuple[int, ...]) -> Any:
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g.reshape(ctx.shape), None

    @staticmethod
    def check(x: Any, shape: Any) -> str:
        return (
            f"reshape: shape {tuple(shape)} is invalid for input of shape {tuple(x.shape)} "
            f"({x.numel()} elements)"
        )


class Permute(Primitive):
    _view = True

    rule = Rule(
        "a permutation of axes is undone on the gradient",
        "y = x.permute(dims)",
        r"y = x^{\pi}",
        x=("dL/dx = g permuted back", G % "x" + r" = g^{\pi^{-1}}"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, dims: tuple[int, ...]) -> Any:
        ctx.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return x.transpose(dims)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return dual.permute(g, ctx.inverse), None


class Expand(Primitive):
    _view = True

    rule = Rule(
        "a broadcast copy sums its gradients back",
        "y = x broadcast to s",
        "y = x",
        x=("dL/dx = g summed over the broadcast dims", G % "x" + r" = \sum_{b} g"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, shape: tuple[int, ...]) -> Any:
        ctx.shape = x.shape
        return namespace(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return dual.sum_to(g, ctx.shape), None

    @staticmethod
    def check(x: Any, shape: Any) -> str:
        return (
            f"expand: the tensor of shape {tuple(x.shape)} cannot be expanded to "
            f"{tuple(shape)} (only size-1 dimensions can grow, and new dimensions go in front)"
        )


class Cat(Primitive):
    rule = Rule(
        "each joined piece gets its own slice of the gradient",
        "y = [x_1, ..., x_n]",
        "y = [x_1, \\dots, x_n]",
        xs=("dL/dx_k = the slice of g where x_k sits", G % "x_k" + " = g[k]"),
    )

    @staticmethod
    def forward(ctx: Any, dim: int, *xs: Any) -> Any:
        ctx.dim = dim
        ctx.sizes = [x.shape[dim] for x in xs]
        return namespace(xs[0]).concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        grads: list[Any] = [None]
        start = 0
        lead = (slice(None),) * ctx.dim
        for size, need in zip(ctx.sizes, ctx.needs_input_grad[1:], strict=True):
            grads.append(g[(*lead, slice(start, start + size))] if need else None)
            start += size
        return tuple(grads)

    @staticmethod
    def check(dim: int, *xs: Any) -> str:
        shapes = ", ".join(str(tuple(x.shape)) for x in xs)
        return f"cat: tensors must have the same shape except in dim {dim}, got shapes {shapes}"
