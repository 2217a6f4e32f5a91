"""Convolution, pooling, resampling and padding (torch.nn.functional names and signatures).

Every function checks its arguments here, where the mistake is made, then composes the
primitives of `primitives/conv.py` and `primitives/pool.py` with matmul and reshapes:

- conv: Unfold (im2col, one copy of a stride-tricks view) then one batched GEMM with the weight;
  conv_transpose: the GEMM, then Fold (col2im). Unfold and Fold are each other's derivatives, so
  gradients of every order are compositions too (gradgradcheck holds).
- avg_pool: Unfold then a sum; adaptive_avg_pool and bilinear interpolation: one constant
  averaging (or interpolation) matrix per spatial dim, applied with matmul; nearest: indexing.
- pad: ConstantPad, or indexing with NumPy's reflect/edge/wrap index maps.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from chainrule import errors, ops
from chainrule.nn import conv_args as geo
from chainrule.primitives.conv import ConstantPad, Fold, Unfold, blocks
from chainrule.primitives.pool import MaxPool2d
from chainrule.tensor import Tensor

IntOrPair = int | Sequence[int]
Scale = float | Sequence[float]


# -- convolution -------------------------------------------------------------------------------
def conv1d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
    padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1,
) -> Tensor:  # fmt: skip
    """1-D convolution (cross-correlation) of (N, C_in, L) with weight (C_out, C_in/groups, k).

    >>> import chainrule as cr
    >>> cr.nn.functional.conv1d(cr.ones(1, 1, 5), cr.ones(1, 1, 3)).tolist()
    [[[3.0, 3.0, 3.0]]]
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
    padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1,
) -> Tensor:  # fmt: skip
    """2-D convolution (cross-correlation) of (N, C_in, H, W) with weight (C_out, C_in/groups,
    kH, kW); padding is an int, a pair, 'valid' or 'same' (stride 1).

    >>> import chainrule as cr
    >>> cr.nn.functional.conv2d(cr.ones(1, 1, 4, 4), cr.ones(2, 1, 3, 3), padding=1).shape
    (1, 2, 4, 4)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def _conv(
    input: Tensor, weight: Tensor, bias: Tensor | None, stride: IntOrPair,
    padding: IntOrPair | str, dilation: IntOrPair, groups: int, dims: int, op: str,
) -> Tensor:  # fmt: skip
    x, unbatched = geo.batched(input, dims, op, "(N, C, " + ("L)" if dims == 1 else "H, W)"))
    w = geo.as_weight(weight, dims, op, "(out_channels, in_channels/groups, kernel...)")
    out_channels, per_group = w.shape[0], w.shape[1]
    geo.check_groups(groups, op)
    if out_channels % groups:
        raise errors.ShapeError(
            f"{op}: out_channels {out_channels} (weight of shape {tuple(weight.shape)}) is not "
            f"divisible by groups={groups}"
        )
    if x.shape[1] != per_group * groups:
        raise errors.ShapeError(
            f"{op}: input of shape {tuple(input.shape)} has {x.shape[1]} channels, but weight "
            f"of shape {tuple(weight.shape)} with groups={groups} expects {per_group * groups}"
        )
    geo.check_bias(bias, out_channels, op)
    kernel = (w.shape[2], w.shape[3])
    stride2 = geo.pair(stride, dims, op, "stride", 1)
    dilation2 = geo.pair(dilation, dims, op, "dilation", 1)
    pads = geo.conv_padding(padding, kernel, stride2, dilation2, dims, op)
    out = geo.output_size(x.shape[2:], kernel, dilation2, pads, stride2, input.shape, op, dims)
    cols = Unfold.apply(x, kernel, dilation2, pads, stride2)  # (N, C*kh*kw, L)
    n = x.shape[0]
    if groups == 1:
        y = ops.matmul(w.reshape(out_channels, -1), cols)  # one GEMM per sample, BLAS
    else:
        cols = cols.reshape(n, groups, -1, cols.shape[-1])
        y = ops.matmul(w.reshape(groups, out_channels // groups, -1), cols)
    y = y.reshape(n, out_channels, *out)
    if bias is not None:
        y = y + bias.reshape(out_channels, 1, 1)
    return geo.unbatch(y, unbatched, dims)


def conv_transpose1d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
    padding: IntOrPair = 0, output_padding: IntOrPair = 0, groups: int = 1,
    dilation: IntOrPair = 1,
) -> Tensor:  # fmt: skip
    """Transposed 1-D convolution; weight (C_in, C_out/groups, k): the gradient of conv1d."""
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
        "conv_transpose1d",
    )  # fmt: skip


def conv_transpose2d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
    padding: IntOrPair = 0, output_padding: IntOrPair = 0, groups: int = 1,
    dilation: IntOrPair = 1,
) -> Tensor:  # fmt: skip
    """Transposed 2-D convolution ("deconvolution"): the gradient of conv2d with respect to its
    input; weight (C_in, C_out/groups, kH, kW); output size (H - 1) s - 2 p + d (k - 1) +
    output_padding + 1.

    >>> import chainrule as cr
    >>> cr.nn.functional.conv_transpose2d(cr.ones(1, 1, 2, 2), cr.ones(1, 1, 2, 2), stride=2).shape
    (1, 1, 4, 4)
    """
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
        "conv_transpose2d",
    )  # fmt: skip


def _conv_transpose(
    input: Tensor, weight: Tensor, bias: Tensor | None, stride: IntOrPair, padding: IntOrPair,
    output_padding: IntOrPair, groups: int, dilation: IntOrPair, dims: int, op: str,
) -> Tensor:  # fmt: skip
    x, unbatched = geo.batched(input, dims, op, "(N, C, " + ("L)" if dims == 1 else "H, W)"))
    w = geo.as_weight(weight, dims, op, "(in_channels, out_channels/groups, kernel...)")
    geo.check_groups(groups, op)
    in_channels = w.shape[0]
    if x.shape[1] != in_channels or in_channels % groups:
        raise errors.ShapeError(
            f"{op}: input of shape {tuple(input.shape)} has {x.shape[1]} channels; weight of "
            f"shape {tuple(weight.shape)} expects {in_channels}, divisible by groups={groups}"
        )
    out_channels = w.shape[1] * groups
    geo.check_bias(bias, out_channels, op)
    kernel = (w.shape[2], w.shape[3])
    s = geo.pair(stride, dims, op, "stride", 1)
    d = geo.pair(dilation, dims, op, "dilation", 1)
    p = geo.pair(padding, dims, op, "padding", 0)
    extra = geo.pair(output_padding, dims, op, "output_padding", 0)
    size = geo.transposed_size(x.shape[2:], kernel, s, p, d, extra, input.shape, op, dims)
    n, plane = x.shape[0], x.shape[2] * x.shape[3]
    xg = x.reshape(n, groups, in_channels // groups, plane)
    wg = w.reshape(groups, in_channels // groups, -1)
    cols = ops.matmul(wg.mT, xg).reshape(n, -1, plane)  # (N, C_out*kh*kw, H*W)
    # output_padding rows lie past the last window: a smaller bottom/right padding makes Fold
    # cover them (they get zeros, as in torch)
    pads = (p[0], p[0] - extra[0], p[1], p[1] - extra[1])
    y = Fold.apply(cols, size, kernel, d, pads, s)
    if bias is not None:
        y = y + bias.reshape(out_channels, 1, 1)
    return geo.unbatch(y, unbatched, dims)


# -- im2col ------------------------------------------------------------------------------------
def unfold(
    input: Tensor, kernel_size: IntOrPair, dilation: IntOrPair = 1, padding: IntOrPair = 0,
    stride: IntOrPair = 1,
) -> Tensor:  # fmt: skip
    """Sliding blocks of (N, C, H, W) as columns: (N, C*kH*kW, L), torch's layout (im2col).

    >>> import chainrule as cr
    >>> cr.nn.functional.unfold(cr.ones(2, 3, 4, 4), 2).shape
    (2, 12, 9)
    """
    x, unbatched = geo.batched(input, 2, "unfold", "(N, C, H, W)")
    k = geo.pair(kernel_size, 2, "unfold", "kernel_size", 1)
    d = geo.pair(dilation, 2, "unfold", "dilation", 1)
    p = geo.pair(padding, 2, "unfold", "padding", 0)
    s = geo.pair(stride, 2, "unfold", "stride", 1)
    pads = (p[0], p[0], p[1], p[1])
    geo.output_size(x.shape[2:], k, d, pads, s, input.shape, "unfold")
    y = Unfold.apply(x, k, d, pads, s)
    return y[0] if unbatched else y


def fold(
    input: Tensor, output_size: IntOrPair, kernel_size: IntOrPair, dilation: IntOrPair = 1,
    padding: IntOrPair = 0, stride: IntOrPair = 1,
) -> Tensor:  # fmt: skip
    """The adjoint of unfold: columns (N, C*kH*kW, L) summed back into (N, C, H, W) (col2im).

    >>> import chainrule as cr
    >>> x = cr.ones(1, 1, 3, 3)
    >>> cr.nn.functional.fold(cr.nn.functional.unfold(x, 2), 3, 2)[0, 0].tolist()
    [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    if input.ndim not in (2, 3):
        raise errors.ShapeError(
            f"fold: expected a 2-D (unbatched) or 3-D (N, C*kH*kW, L) input, got shape "
            f"{tuple(input.shape)}"
        )
    cols = input.unsqueeze(0) if input.ndim == 2 else input
    size = geo.pair(output_size, 2, "fold", "output_size", 1)
    k = geo.pair(kernel_size, 2, "fold", "kernel_size", 1)
    d = geo.pair(dilation, 2, "fold", "dilation", 1)
    p = geo.pair(padding, 2, "fold", "padding", 0)
    s = geo.pair(stride, 2, "fold", "stride", 1)
    if cols.shape[1] % (k[0] * k[1]):
        raise errors.ShapeError(
            f"fold: input of shape {tuple(input.shape)}: its dimension 1 ({cols.shape[1]}) must "
            f"be divisible by the kernel's size {k[0]} * {k[1]}"
        )
    pads = (p[0], p[0], p[1], p[1])
    rows, columns = (blocks(size[i], k[i], d[i], p[i], p[i], s[i]) for i in range(2))
    if rows < 1 or columns < 1 or cols.shape[2] != rows * columns:
        raise errors.ShapeError(
            f"fold: output_size {size} with kernel {k}, dilation {d}, padding {p} and stride "
            f"{s} has {rows} * {columns} sliding blocks, but input of shape "
            f"{tuple(input.shape)} has {cols.shape[2]} in dimension 2"
        )
    y = Fold.apply(cols, size, k, d, pads, s)
    return y[0] if input.ndim == 2 else y


# -- pooling -----------------------------------------------------------------------------------
def max_pool1d(
    input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
    padding: IntOrPair = 0, dilation: IntOrPair = 1, ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:  # fmt: skip
    """Max over windows of (N, C, L); with return_indices, also each maximum's position."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)


def max_pool2d(
    input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
    padding: IntOrPair = 0, dilation: IntOrPair = 1, ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:  # fmt: skip
    """Max over kH x kW windows of (N, C, H, W) (stride defaults to the kernel size); with
    return_indices, also the flat position h * W + w of each maximum (int64).

    >>> import chainrule as cr
    >>> cr.nn.functional.max_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def _max_pool(
    input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair,
    dilation: IntOrPair, ceil_mode: bool, return_indices: bool, dims: int,
) -> Any:  # fmt: skip
    op = f"max_pool{dims}d"
    x, unbatched = geo.batched(input, dims, op, "(N, C, " + ("L)" if dims == 1 else "H, W)"))
    k, s, p, d = geo.pool_args(kernel_size, stride, padding, dilation, dims, op)
    pads, _ = geo.pool_padding(x.shape[2:], k, s, p, d, ceil_mode, input.shape, op, dims)
    if not return_indices:
        return geo.unbatch(MaxPool2d.apply(x, k, s, pads, d, False), unbatched, dims)
    values, indices = MaxPool2d.apply(x, k, s, pads, d, True)
    return geo.unbatch(values, unbatched, dims), geo.unbatch(indices, unbatched, dims)


def avg_pool1d(
    input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
    padding: IntOrPair = 0, ceil_mode: bool = False, count_include_pad: bool = True,
) -> Tensor:  # fmt: skip
    """Mean over windows of (N, C, L)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def avg_pool2d(
    input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
    padding: IntOrPair = 0, ceil_mode: bool = False, count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:  # fmt: skip
    """Mean over kH x kW windows of (N, C, H, W); padding counts as zeros in the mean unless
    count_include_pad=False; divisor_override replaces the window size as the divisor.

    >>> import chainrule as cr
    >>> cr.nn.functional.avg_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _avg_pool(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2
    )


def _avg_pool(
    input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair,
    ceil_mode: bool, count_include_pad: bool, divisor_override: int | None, dims: int,
) -> Tensor:  # fmt: skip
    op = f"avg_pool{dims}d"
    x, unbatched = geo.batched(input, dims, op, "(N, C, " + ("L)" if dims == 1 else "H, W)"))
    k, s, p, _ = geo.pool_args(kernel_size, stride, padding, 1, dims, op)
    if divisor_override is not None and (
        isinstance(divisor_override, bool) or not isinstance(divisor_override, int)
        or divisor_override == 0
    ):  # fmt: skip
        raise errors.ArgumentError(f"{op}: divisor_override must be a nonzero int")
    pads, out = geo.pool_padding(x.shape[2:], k, s, p, (1, 1), ceil_mode, input.shape, op, dims)
    n, c = x.shape[:2]
    cols = Unfold.apply(x, k, (1, 1), pads, s).reshape(n, c, k[0] * k[1], -1)
    total = cols.sum(2).reshape(n, c, *out)
    if divisor_override is not None:
        return geo.unbatch(total / divisor_override, unbatched, dims)
    divisor = geo.avg_divisor(x.shape[2:], k, s, p, out, count_include_pad)
    return geo.unbatch(total / Tensor._make(divisor.astype(total.dtype)), unbatched, dims)


def adaptive_avg_pool1d(input: Tensor, output_size: IntOrPair) -> Tensor:
    """Mean over L_out windows of (N, C, L) that tile it as evenly as integers allow."""
    if input.ndim not in (2, 3):
        raise errors.ShapeError(
            f"adaptive_avg_pool1d: expected a 2-D or 3-D (N, C, L) input, got shape "
            f"{tuple(input.shape)}"
        )
    (size,) = geo.adaptive_size(output_size, input.shape[-1:], "adaptive_avg_pool1d")
    return ops.matmul(input, Tensor._make(geo.averaging(input.shape[-1], size, input.dtype).T))


def adaptive_avg_pool2d(input: Tensor, output_size: IntOrPair | None) -> Tensor:
    """Mean over H_out x W_out windows that tile (N, C, H, W) as evenly as integers allow
    (torch's windows [floor(i H / H_out), ceil((i + 1) H / H_out))); separable, so it is one
    averaging matrix per dim.

    >>> import chainrule as cr
    >>> cr.nn.functional.adaptive_avg_pool2d(cr.ones(2, 3, 5, 7), (2, 3)).shape
    (2, 3, 2, 3)
    """
    if input.ndim not in (3, 4):
        raise errors.ShapeError(
            f"adaptive_avg_pool2d: expected a 3-D or 4-D (N, C, H, W) input, got shape "
            f"{tuple(input.shape)}"
        )
    h, w = geo.adaptive_size(output_size, input.shape[-2:], "adaptive_avg_pool2d")
    rows = Tensor._make(geo.averaging(input.shape[-2], h, input.dtype))
    columns = Tensor._make(geo.averaging(input.shape[-1], w, input.dtype).T)
    return ops.matmul(ops.matmul(rows, input), columns)


# -- resampling --------------------------------------------------------------------------------
def interpolate(
    input: Tensor, size: IntOrPair | None = None, scale_factor: Scale | None = None,
    mode: str = "nearest", align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None, antialias: bool = False,
) -> Tensor:  # fmt: skip
    """Resize the spatial dims of (N, C, L) or (N, C, H, W) to `size` or by `scale_factor`:
    mode 'nearest', 'linear' (3-D) or 'bilinear' (4-D), align_corners as torch.

    >>> import chainrule as cr
    >>> cr.nn.functional.interpolate(cr.ones(1, 1, 2, 2), scale_factor=2).shape
    (1, 1, 4, 4)
    """
    dims = input.ndim - 2
    sizes, scales = geo.resize_plan(input.shape, size, scale_factor, mode, align_corners,
                                    recompute_scale_factor, antialias)  # fmt: skip
    y = input
    for axis in range(dims):
        n_in, n_out = input.shape[2 + axis], sizes[axis]
        if mode == "nearest":
            index = geo.nearest_index(n_in, n_out, scales[axis])
            y = y[(slice(None),) * (2 + axis) + (index,)]
            continue
        matrix = geo.linear_weights(n_in, n_out, scales[axis], bool(align_corners), y.dtype)
        if axis == dims - 1:
            y = ops.matmul(y, Tensor._make(matrix.T))
        else:  # (out, in) @ (..., in, W): the rows of a 2-D plane
            y = ops.matmul(Tensor._make(matrix), y)
    return y


def upsample(
    input: Tensor, size: IntOrPair | None = None, scale_factor: Scale | None = None,
    mode: str = "nearest", align_corners: bool | None = None,
) -> Tensor:  # fmt: skip
    """interpolate's old name, deprecated (as in torch, it warns)."""
    warnings.warn(
        "nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode, align_corners)


# -- padding -----------------------------------------------------------------------------------
def pad(
    input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
) -> Tensor:
    """Pad the last len(pad) // 2 dims: pad = (left, right) of the last dim, then of the one
    before it, ... (torch's order); negative amounts crop. Modes: 'constant' (any dims),
    'reflect', 'replicate', 'circular'.

    >>> import chainrule as cr
    >>> cr.nn.functional.pad(cr.ones(1, 2), (1, 2), value=0.5).tolist()
    [[0.5, 1.0, 1.0, 0.5, 0.5]]
    """
    pairs = geo.pad_pairs(input.shape, pad, mode, value)
    if mode == "constant":
        fill = 0.0 if value is None else value
        if all(lo == 0 and hi == 0 for lo, hi in pairs):
            return input
        return ConstantPad.apply(input, pairs, fill)
    y = input
    for axis, (lo, hi) in enumerate(pairs):
        if lo or hi:  # each output position reads the input position this index names
            y = y[(slice(None),) * axis + (geo.pad_index(input.shape[axis], lo, hi, mode),)]
    return y
