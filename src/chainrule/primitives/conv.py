"""Convolution's primitives: im2col (Unfold) and its adjoint col2im (Fold), and constant padding.

conv1d/conv2d and their transposes are compositions (`nn/functional_conv.py`): Unfold copies the
input's windows out once, through a stride-tricks view, into (N, C*kh*kw, L), and one batched GEMM
with the weight does the rest. Unfold and Fold are each other's derivatives (as indexing and
index_add are), so autodiff differentiates the composition to any order with no convolution-
specific derivative code, and every backward product is a GEMM or kh*kw shifted slice adds.

Geometry, shared by both: kernel (kh, kw), dilation (dh, dw), padding (top, bottom, left, right)
in zeros, stride (sh, sw); inputs are 4-D (N, C, H, W), the front door reshapes the others.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.rules import G, Rule

Pair = tuple[int, int]
Quad = tuple[int, int, int, int]


def blocks(size: int, kernel: int, dilation: int, low: int, high: int, stride: int) -> int:
    """How many windows fit along one dim (torch's output-size formula; may be <= 0)."""
    return (size + low + high - dilation * (kernel - 1) - 1) // stride + 1


def padded(x: Any, padding: Quad, value: float = 0.0) -> Any:
    """x (N, C, H, W) with `value` added around its last two dims (x itself when no padding).

    A negative bottom/right amount (conv_transpose's output_padding, seen from its adjoint)
    adds nothing there: the windows stop short of those rows anyway."""
    top, bottom, left, right = padding
    bottom, right = max(bottom, 0), max(right, 0)
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    out = namespace(x).full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    out[:, :, top : top + h, left : left + w] = x
    return out


def windows(xpad: Any, kernel: Pair, dilation: Pair, stride: Pair, out: Pair) -> Any:
    """The read-only view (N, C, kh, kw, Ho, Wo) of every window of the padded input: no copy."""
    (kh, kw), (dh, dw), (sh, sw), (ho, wo) = kernel, dilation, stride, out
    s_n, s_c, s_h, s_w = xpad.strides
    return namespace(xpad).lib.stride_tricks.as_strided(
        xpad,
        (xpad.shape[0], xpad.shape[1], kh, kw, ho, wo),
        (s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw),
        writeable=False,
    )


def _out(size: Pair, kernel: Pair, dilation: Pair, padding: Quad, stride: Pair) -> Pair:
    return (
        blocks(size[0], kernel[0], dilation[0], padding[0], padding[1], stride[0]),
        blocks(size[1], kernel[1], dilation[1], padding[2], padding[3], stride[1]),
    )


def im2col(x: Any, kernel: Pair, dilation: Pair, padding: Quad, stride: Pair) -> Any:
    """(N, C, H, W) -> (N, C*kh*kw, Ho*Wo), torch.nn.functional.unfold's layout (channel-major
    rows, window positions in row-major order): one copy of the strided view."""
    n, c = x.shape[:2]
    ho, wo = _out(x.shape[2:], kernel, dilation, padding, stride)
    view = windows(padded(x, padding), kernel, dilation, stride, (ho, wo))
    return view.reshape((n, c * kernel[0] * kernel[1], ho * wo))


def col2im(cols: Any, size: Pair, kernel: Pair, dilation: Pair, padding: Quad, stride: Pair) -> Any:
    """The adjoint of im2col: each column's entries added back where im2col read them.

    One vectorized add of a shifted, strided slice per kernel offset (kh*kw adds), so
    overlapping windows accumulate without np.add.at."""
    (kh, kw), (dh, dw), (sh, sw) = kernel, dilation, stride
    top, bottom, left, right = padding
    n = cols.shape[0]
    c = cols.shape[1] // (kh * kw)
    ho, wo = _out(size, kernel, dilation, padding, stride)
    parts = cols.reshape((n, c, kh, kw, ho, wo))
    h, w = size
    # a negative bottom/right amount: rows past the last window, left at zero
    shape = (n, c, h + top + max(bottom, 0), w + left + max(right, 0))
    out = namespace(cols).zeros(shape, dtype=cols.dtype)
    for p in range(kh):
        for q in range(kw):
            rows = slice(p * dh, p * dh + sh * (ho - 1) + 1, sh)
            columns = slice(q * dw, q * dw + sw * (wo - 1) + 1, sw)
            out[:, :, rows, columns] += parts[:, :, p, q]
    if top or bottom or left or right:
        out = out[:, :, top : top + h, left : left + w]
    return out


class Unfold(Primitive):
    """Shapes: x (N, C, H, W) -> y (N, C*kh*kw, L), L the number of windows (torch's unfold)."""

    rule = Rule(
        "im2col copies each window out; its adjoint adds each column back where it was read",
        "y[n, (c, p, q), l] = x_pad[n, c, s*i_l + d*p, s*j_l + d*q]",
        r"y_{n,(c,p,q),l} = x_{n,c,\,s i_l + d p,\,s j_l + d q}",
        x=("dL/dx = col2im(g) (fold)", G % "x" + r" = \mathrm{col2im}(g)"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, kernel: Pair, dilation: Pair, padding: Quad, stride: Pair) -> Any:
        ctx.geometry = (tuple(x.shape[2:]), kernel, dilation, padding, stride)
        return im2col(x, kernel, dilation, padding, stride)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        size, kernel, dilation, padding, stride = ctx.geometry
        if dual._is_tensor(g):
            gx = Fold.apply(g, size, kernel, dilation, padding, stride)
        else:
            gx = col2im(g, size, kernel, dilation, padding, stride)
        return gx, None, None, None, None


class Fold(Primitive):
    """Shapes: cols (N, C*kh*kw, L) -> y (N, C, H, W) (torch's fold; overlaps add up)."""

    rule = Rule(
        "col2im adds each column back into its window; its adjoint copies each window out",
        "y[n, c, s*i_l + d*p, s*j_l + d*q] += cols[n, (c, p, q), l]",
        r"y = \mathrm{col2im}(\mathrm{cols})",
        cols=("dL/dcols = im2col(g) (unfold)", G % "cols" + r" = \mathrm{im2col}(g)"),
    )

    @staticmethod
    def forward(
        ctx: Any,
        cols: Any,
        size: Pair,
        kernel: Pair,
        dilation: Pair,
        padding: Quad,
        stride: Pair,
    ) -> Any:
        ctx.geometry = (kernel, dilation, padding, stride)
        return col2im(cols, size, kernel, dilation, padding, stride)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        kernel, dilation, padding, stride = ctx.geometry
        if dual._is_tensor(g):
            gcols = Unfold.apply(g, kernel, dilation, padding, stride)
        else:
            gcols = im2col(g, kernel, dilation, padding, stride)
        return gcols, None, None, None, None, None


class ConstantPad(Primitive):
    """pads: one (before, after) pair per dim; a negative amount crops that side (as torch)."""

    rule = Rule(
        "padding places x inside a constant frame: the gradient is the frame's inside",
        "y = x framed by value (pads (before, after) per dim)",
        r"y = \mathrm{pad}(x)",
        x=("dL/dx = g[inside]", G % "x" + r" = g_{\mathrm{inside}}"),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, pads: tuple[Pair, ...], value: float) -> Any:
        crop = tuple(
            slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape, pads, strict=True)
        )
        inner = x[crop]
        shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pads, strict=True))
        place = tuple(
            slice(max(lo, 0), max(lo, 0) + n) for n, (lo, _) in zip(inner.shape, pads, strict=True)
        )
        ctx.keys = (crop, place, tuple(x.shape))
        out = namespace(x).full(shape, value, dtype=x.dtype)
        out[place] = inner
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        crop, place, shape = ctx.keys
        inside = g[place]
        if tuple(inside.shape) == shape:
            return inside, None, None
        return dual.index_add(inside, crop, shape), None, None  # zeros where x was cropped
