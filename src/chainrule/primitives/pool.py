"""Max pooling: the one pooling primitive (average and adaptive pooling are compositions of
Unfold and matmul in `nn/functional_conv.py`, linear maps that autodiff differentiates).

Max pooling is piecewise linear: the gradient goes to the element each window picked, so its
backward is a scatter-add of g at the picked indices, and that backward's own derivative is a
gather (`dual.scatter_add` records ScatterAdd under create_graph, whose backward is Gather).
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.conv import Pair, Quad, blocks, padded, windows
from chainrule.primitives.rules import G, Rule


class MaxPool2d(Primitive):
    """Shapes: x (N, C, H, W) -> (values, indices), each (N, C, Ho, Wo); indices are flat
    positions h * W + w in x's plane, as torch's return_indices, and carry no gradient. Ties
    go to the first maximum in the window and NaN wins (the last NaN), as in torch's CPU
    kernel."""

    rule = Rule(
        "max pooling passes each window's gradient to the element that was its maximum",
        "y[n, c, i, j] = max over the window (i, j) of x[n, c]",
        r"y_{ncij} = \max_{(h, w) \in W_{ij}} x_{nchw}",
        x=("dL/dx = g added at each window's argmax", G % "x" + r" = \sum_{ij} g_{ij} e_{a_{ij}}"),
    )

    @staticmethod
    def forward(
        ctx: Any, x: Any, kernel: Pair, stride: Pair, padding: Quad, dilation: Pair,
        with_indices: bool,
    ) -> Any:  # fmt: skip
        xp = namespace(x)
        h, w = x.shape[2:]
        (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
        top, bottom, left, right = padding
        ho = blocks(h, kh, dh, top, bottom, sh)
        wo = blocks(w, kw, dw, left, right, sw)
        # padding is -inf, so it is never picked over an element of x (torch skips it)
        view = windows(padded(x, padding, -xp.inf), kernel, dilation, stride, (ho, wo))
        values, local = _running_max(xp, view, kh * kw, kw, nan_wins=False)
        if xp.issubdtype(x.dtype, xp.floating) and xp.isnan(x).any():  # rare: redo, NaN rule
            values, local = _running_max(xp, view, kh * kw, kw, nan_wins=True)
        ctx.pooled = (local, tuple(x.shape), kernel, stride, padding, dilation)
        if not with_indices:
            return values
        indices = flat_indices(local, tuple(x.shape), kernel, stride, padding, dilation)
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx: Any, g: Any, *_g_indices: Any) -> Any:
        local, shape, kernel, stride, padding, dilation = ctx.pooled
        n, c, h, w = shape
        if dual._is_tensor(g):  # recorded: a scatter-add, differentiable again (a gather)
            flat = flat_indices(local, shape, kernel, stride, padding, dilation).reshape((n, c, -1))
            gx = dual.scatter_add(g.reshape((n, c, -1)), 2, flat, (n, c, h * w))
            return gx.reshape(shape), None, None, None, None, None
        gx = _scatter_windows(g, local, shape, kernel, stride, padding, dilation)
        return gx, None, None, None, None, None


def _running_max(xp: Any, view: Any, size: int, kw: int, nan_wins: bool) -> tuple[Any, Any]:
    """(maximum, its offset in the window) over the kernel's offsets, each a strided view of
    the input, so the windows are never copied out. A later element wins only if strictly
    larger (ties keep the first) or, with nan_wins, if it is NaN (torch's CPU rule
    `val > max || isnan(val)`)."""
    values = view[:, :, 0, 0].copy()
    local = xp.zeros(values.shape, dtype=xp.int8 if size < 128 else xp.int64)
    for offset in range(1, size):
        candidate = view[:, :, offset // kw, offset % kw]
        wins = candidate > values
        if nan_wins:
            wins |= xp.isnan(candidate)
        xp.copyto(values, candidate, where=wins)
        xp.copyto(local, offset, where=wins)
    return values, local


def flat_indices(
    local: Any, shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Quad,
    dilation: Pair,
) -> Any:  # fmt: skip
    """torch's return_indices: the flat position h * W + w of each window's pick, its window's
    start plus the picked offset's displacement."""
    xp = namespace(local)
    w = shape[3]
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho, wo = local.shape[2:]
    starts = (xp.arange(ho)[:, None] * sh - padding[0]) * w + (
        xp.arange(wo)[None, :] * sw - padding[2]
    )
    moves = xp.array([(o // kw) * dh * w + (o % kw) * dw for o in range(kh * kw)])
    return (starts + moves[local]).astype(xp.int64)


def _scatter_windows(
    g: Any,
    local: Any,
    shape: tuple[int, ...],
    kernel: Pair,
    stride: Pair,
    padding: Quad,
    dilation: Pair,
) -> Any:
    """g added at each window's picked element: one masked, shifted slice add per kernel offset
    (overlapping windows accumulate), much faster than np.add.at over flat indices."""
    xp = namespace(g)
    n, c, h, w = shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    top, bottom, left, right = padding
    ho, wo = g.shape[2:]
    zero = g.dtype.type(0)
    if (sh, sw) == (kh, kw) and (dh, dw) == (1, 1) and (ho * kh, wo * kw) == (h, w):
        # windows that tile x exactly (2x2 pooling of an even image): each element of x is
        # in one window, so each offset's slice is written once, with no zeros to add to
        tiled = xp.empty(shape, dtype=g.dtype)
        for o in range(kh * kw):
            tiled[:, :, o // kw :: kh, o % kw :: kw] = xp.where(local == o, g, zero)
        return tiled
    out = xp.zeros((n, c, h + top + bottom, w + left + right), dtype=g.dtype)
    for p in range(kh):
        for q in range(kw):
            rows = slice(p * dh, p * dh + sh * (ho - 1) + 1, sh)
            columns = slice(q * dw, q * dw + sw * (wo - 1) + 1, sw)
            # select, not multiply: g may hold inf, and inf * 0 would be nan elsewhere
            out[:, :, rows, columns] += xp.where(local == p * kw + q, g, zero)
    if top or bottom or left or right:
        out = out[:, :, top : top + h, left : left + w]
    return out
