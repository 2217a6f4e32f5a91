"""Indexing primitives and their adjoints: x[key] <-> index_add, gather <-> scatter_add.

Each pair is the other's derivative, so indexing is differentiable to any order. Keys arrive with
Tensors already replaced by arrays (see `tensor_methods`).
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import namespace
from chainrule.errors import IndexOutOfRangeError
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.rules import G, Rule


def is_basic(key: Any) -> bool:
    """True for keys of ints, slices, None and Ellipsis only: each element is hit at most once."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


def index_add_array(g: Any, key: Any, shape: tuple[int, ...]) -> Any:
    """zeros(shape) with g added at key; repeated advanced indices accumulate."""
    xp = namespace(g)
    out = xp.zeros(shape, dtype=g.dtype)
    if is_basic(key):
        out[key] = g
    else:
        xp.add.at(out, key, g)
    return out


def _along(index: Any, dim: int) -> tuple[Any, ...]:
    """Full coordinates for `index` used along `dim` (the others are the index's own positions)."""
    xp = namespace(index)
    grids = list(xp.indices(index.shape, sparse=True))
    grids[dim] = index
    return tuple(grids)


def scatter_add_array(g: Any, dim: int, index: Any, shape: tuple[int, ...]) -> Any:
    """zeros(shape) with g[i] added at position index[i] along dim."""
    xp = namespace(g)
    out = xp.zeros(shape, dtype=g.dtype)
    xp.add.at(out, _along(index, dim), g)
    return out


def gather_array(x: Any, dim: int, index: Any) -> Any:
    """y[i] = x[index[i]] along dim, reading only the first index.shape[d] entries of every
    other dim d (torch.gather; NumPy's take_along_axis would broadcast index against x)."""
    key = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))
    return namespace(x).take_along_axis(x[key], index, axis=dim)


class Index(Primitive):
    rule = Rule(
        "indexing sends the gradient back to the entries it read",
        "y = x[key]",
        "y = x[k]",
        x=("dL/dx = zeros with g added at key", G % "x" + " = e_{k}\\,g"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, key: Any) -> Any:
        ctx.key = key
        ctx.shape = x.shape
        y = x[key]
        flags = getattr(y, "flags", None)  # None: one element of an object array (SymPy)
        if flags is None or flags.c_contiguous or is_basic(key):  # a basic key gives a view
            return y
        # NumPy lays out x[:, idx] with the block's dims outermost in memory; torch's result
        # is contiguous, and `view` follows the memory layout, so match torch's.
        return namespace(y).ascontiguousarray(y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return dual.index_add(g, ctx.key, ctx.shape), None

    @staticmethod
    def check(x: Any, key: Any) -> str:
        return f"index: key {key!r} is invalid for a tensor of shape {tuple(x.shape)}"


class IndexAdd(Primitive):
    rule = Rule(
        "the adjoint of indexing reads the gradient at key",
        "y = zeros with g added at key",
        "y = e_{k}\\,g",
        g=("dL/dg = upstream[key]", G % "g" + " = h[k]"),
    )

    @staticmethod
    def forward(ctx: Any, g: Any, key: Any, shape: tuple[int, ...]) -> Any:
        ctx.key = key
        return index_add_array(g, key, shape)

    @staticmethod
    def backward(ctx: Any, h: Any) -> Any:
        return h[ctx.key], None, None


class IndexPut(Primitive):
    """dL/dv is summed to v's shape."""

    rule = Rule(
        "entries overwritten at key pass no gradient to x",
        "y = x with y[key] = v",
        "y = x;\\ y[k] = v",
        x=("dL/dx = g with g[key] = 0", G % "x" + r" = g\,\mathbf{1}[\notin k]"),
        v=("dL/dv = g[key]", G % "v" + " = g[k]"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, key: Any, v: Any) -> Any:
        ctx.key = key
        ctx.shape = x.shape
        ctx.v_shape = getattr(v, "shape", ())
        y = x.copy()
        y[key] = v
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        need_x, _, need_v = ctx.needs_input_grad
        gx = gv = None
        if need_x:
            xp = namespace(g._data if hasattr(g, "_data") else g)
            mask = xp.ones(ctx.shape, dtype=bool)
            mask[ctx.key] = False
            # select, do not multiply: an overwritten entry's gradient is 0 even where g is inf
            gx = dual.where(mask, g, 0.0)
        if need_v:
            gv = dual.sum_to(g[ctx.key], ctx.v_shape)
        return gx, None, gv


class Gather(Primitive):
    index_error = IndexOutOfRangeError  # torch raises RuntimeError for an index out of range

    rule = Rule(
        "gather sends the gradient back where it read (scatter-add)",
        "y_i = x[index_i] along dim",
        r"y_i = x_{\mathrm{index}_i}",
        x=("dL/dx = zeros with g scatter-added at index", G % "x" + r" = \mathrm{scatter\_add}(g)"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, dim: int, index: Any) -> Any:
        ctx.dim, ctx.index, ctx.shape = dim, index, x.shape
        return gather_array(x, dim, index)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return dual.scatter_add(g, ctx.dim, ctx.index, ctx.shape), None, None

    @staticmethod
    def check(x: Any, dim: int, index: Any) -> str:
        return (
            f"gather: index of shape {tuple(index.shape)} does not fit input of shape "
            f"{tuple(x.shape)} along dim {dim} (same number of dims; values in range)"
        )


class ScatterAdd(Primitive):
    index_error = IndexOutOfRangeError

    rule = Rule(
        "the adjoint of gather gathers the gradient",
        "y = zeros with g added at index",
        r"y = \mathrm{scatter\_add}(g)",
        g=("dL/dg = gather(upstream, index)", G % "g" + r" = \mathrm{gather}(h)"),
    )

    @staticmethod
    def forward(ctx: Any, g: Any, dim: int, index: Any, shape: tuple[int, ...]) -> Any:
        ctx.dim, ctx.index = dim, index
        return scatter_add_array(g, dim, index, shape)

    @staticmethod
    def backward(ctx: Any, h: Any) -> Any:
        return dual.gather(h, ctx.dim, ctx.index), None, None, None
