"""Argument checks and window geometry for convolution, pooling, resampling and padding.

`nn/functional_conv.py` calls these before any primitive runs, so a mistake is reported where it
is made, in one message naming the op, the argument and the shapes. Spatial arguments are
normalised to pairs (1-D ops run as 2-D ones over a height of 1, with neutral values there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import errors
from chainrule.primitives.conv import Pair, Quad, blocks
from chainrule.tensor import Tensor


def spell(values: Sequence[int], dims: int) -> Any:
    """A normalised pair as the user wrote it: a single number for 1-D ops."""
    return values[-1] if dims == 1 else tuple(values)


def pair(value: Any, dims: int, op: str, name: str, least: int) -> Pair:
    """An int or a sequence of `dims` ints, each at least `least`, as a pair ((neutral, v) in
    1-D, the neutral value being `least`: kernel 1, stride 1, padding 0)."""
    items = [value] * dims if isinstance(value, (int, np.integer)) else value
    ok = isinstance(items, Sequence) and len(items) in (1, dims) and not isinstance(items, str)
    ok = ok and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items)
    if not ok:
        raise errors.ArgumentError(
            f"{op}: {name} must be an int or a tuple of {dims} ints, got {value!r}"
        )
    values = [int(v) for v in items] * (dims if len(items) == 1 else 1)
    if min(values) < least:
        rule = "positive" if least == 1 else "non-negative"
        raise errors.ArgumentError(f"{op}: {name} must be {rule}, got {value!r}")
    return (least, values[0]) if dims == 1 else (values[0], values[1])


def batched(input: Tensor, dims: int, op: str, layout: str) -> tuple[Tensor, bool]:
    """input as (N, C, H, W) (a batch of one for an unbatched input, H = 1 in 1-D) and whether
    it was unbatched."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (dims + 1, dims + 2):
        raise errors.ShapeError(
            f"{op}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D (batched) input "
            f"{layout}, got shape {tuple(input.shape)}"
        )
    if input.dtype.kind != "f":
        raise errors.DTypeError(f"{op}: input must be floating point, got {input.dtype}")
    unbatched = input.ndim == dims + 1
    x = input.unsqueeze(0) if unbatched else input
    return (x.unsqueeze(2) if dims == 1 else x), unbatched


def unbatch(y: Tensor, unbatched: bool, dims: int) -> Tensor:
    """The inverse of `batched` for a result."""
    if dims == 1:
        y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


def as_weight(weight: Tensor, dims: int, op: str, layout: str) -> Tensor:
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim != dims + 2:
        raise errors.ShapeError(
            f"{op}: weight must be {dims + 2}-D {layout}, got shape {tuple(weight.shape)}"
        )
    return weight.unsqueeze(2) if dims == 1 else weight


def check_groups(groups: int, op: str) -> None:
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise errors.ArgumentError(f"{op}: groups must be a positive int, got {groups!r}")


def check_bias(bias: Tensor | None, channels: int, op: str) -> None:
    if bias is not None and tuple(bias.shape) != (channels,):
        raise errors.ShapeError(
            f"{op}: bias must have shape ({channels},) (one per output channel), got "
            f"{tuple(bias.shape)}"
        )


def conv_padding(
    padding: Any, kernel: Pair, stride: Pair, dilation: Pair, dims: int, op: str
) -> Quad:
    """(top, bottom, left, right) for an int, a tuple, 'valid' or 'same' (which splits an odd
    total d (k - 1) with the extra row at the bottom/right, as torch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise errors.ArgumentError(
                f"{op}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}"
            )
        if stride != (1, 1):
            raise errors.ArgumentError(
                f"{op}: padding='same' is not supported for strided convolutions (stride "
                f"{spell(stride, dims)})"
            )
        totals = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
        return (
            totals[0] // 2,
            totals[0] - totals[0] // 2,
            totals[1] // 2,
            totals[1] - totals[1] // 2,
        )
    p = pair(padding, dims, op, "padding", 0)
    return (p[0], p[0], p[1], p[1])


def output_size(
    size: Sequence[int], kernel: Pair, dilation: Pair, pads: Quad, stride: Pair,
    shape: tuple[int, ...], op: str, dims: int = 2,
) -> Pair:  # fmt: skip
    """The number of windows per dim, refusing a kernel larger than the padded input."""
    out = []
    for i in range(2):
        room = size[i] + pads[2 * i] + pads[2 * i + 1]
        reach = dilation[i] * (kernel[i] - 1) + 1
        if room < reach:
            padded_size = (size[0] + pads[0] + pads[1], size[1] + pads[2] + pads[3])
            raise errors.ShapeError(
                f"{op}: kernel of size {spell(kernel, dims)} (reaching "
                f"{dilation[i] * (kernel[i] - 1) + 1} with dilation {spell(dilation, dims)}) is "
                f"larger than the padded input of size {spell(padded_size, dims)} (input of "
                f"shape {shape})"
            )
        out.append(blocks(size[i], kernel[i], dilation[i], pads[2 * i], pads[2 * i + 1], stride[i]))
    return (out[0], out[1])


def transposed_size(
    size: Sequence[int], kernel: Pair, s: Pair, p: Pair, d: Pair, extra: Pair,
    shape: tuple[int, ...], op: str, dims: int,
) -> Pair:  # fmt: skip
    """conv_transpose's output size (n - 1) s - 2 p + d (k - 1) + output_padding + 1, refusing
    an output_padding of a stride or more (and of the dilation or more), as torch."""
    for e, si, di in zip(extra, s, d, strict=True):
        if e >= max(si, di):
            raise errors.ArgumentError(
                f"{op}: output_padding {spell(extra, dims)} must be smaller than either "
                f"stride {spell(s, dims)} or dilation {spell(d, dims)}"
            )
    out = [
        (n - 1) * si - 2 * pi + di * (k - 1) + e + 1
        for n, si, pi, di, k, e in zip(size, s, p, d, kernel, extra, strict=True)
    ]
    if min(out) < 1:
        raise errors.ShapeError(
            f"{op}: input of shape {shape} with kernel {spell(kernel, dims)}, stride "
            f"{spell(s, dims)} and padding {spell(p, dims)} gives output size "
            f"{spell(out, dims)}, which is too small"
        )
    return (out[0], out[1])


def pool_args(
    kernel_size: Any, stride: Any, padding: Any, dilation: Any, dims: int, op: str
) -> tuple[Pair, Pair, Pair, Pair]:
    """kernel, stride (default: the kernel), padding, dilation as pairs; padding at most half
    the kernel, as torch requires (a window of only padding would have no element to pick)."""
    k = pair(kernel_size, dims, op, "kernel_size", 1)
    empty = stride is None or (isinstance(stride, Sequence) and len(stride) == 0)
    s = k if empty else pair(stride, dims, op, "stride", 1)
    p = pair(padding, dims, op, "padding", 0)
    d = pair(dilation, dims, op, "dilation", 1)
    if any(pi > ki // 2 for pi, ki in zip(p, k, strict=True)):
        raise errors.ArgumentError(
            f"{op}: padding {spell(p, dims)} must be at most half the kernel size {spell(k, dims)}"
        )
    return k, s, p, d


def pool_padding(
    size: Sequence[int], k: Pair, s: Pair, p: Pair, d: Pair, ceil_mode: bool,
    shape: tuple[int, ...], op: str, dims: int,
) -> tuple[Quad, Pair]:  # fmt: skip
    """(top, bottom, left, right) and the output size: with ceil_mode the last window may hang
    over the bottom/right edge (it must start inside the input or its left padding, as torch)."""
    pads: list[int] = []
    out: list[int] = []
    for i in range(2):
        span = size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1
        n = (span + (s[i] - 1 if ceil_mode else 0)) // s[i] + 1
        if ceil_mode and (n - 1) * s[i] >= size[i] + p[i]:
            n -= 1
        out.append(n)
        extra = max(0, (n - 1) * s[i] + d[i] * (k[i] - 1) + 1 - (size[i] + 2 * p[i]))
        pads += [p[i], p[i] + extra]
    if min(out) < 1:
        raise errors.ShapeError(
            f"{op}: input of shape {shape} is smaller than the pooling window "
            f"{spell(k, dims)} (dilation {spell(d, dims)}, padding {spell(p, dims)}): the "
            f"output size would be {spell(out, dims)}"
        )
    return (pads[0], pads[1], pads[2], pads[3]), (out[0], out[1])


def avg_divisor(
    size: Sequence[int], k: Pair, s: Pair, p: Pair, out: Pair, count_include_pad: bool
) -> np.ndarray:
    """Each window's divisor (Ho, Wo), torch's: the window clipped to the padded input, or to
    the input itself without count_include_pad."""
    sides = []
    for i in range(2):
        start = np.arange(out[i]) * s[i] - p[i]
        end = np.minimum(start + k[i], size[i] + p[i])
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size[i])
        sides.append(end - start)
    return np.outer(sides[0], sides[1]).astype(np.float64)


def adaptive_size(output_size: Any, sizes: Sequence[int], op: str) -> list[int]:
    """Output sizes, None keeping the input's size."""
    items = [output_size] * len(sizes) if not isinstance(output_size, Sequence) else output_size
    if len(items) != len(sizes):
        raise errors.ArgumentError(
            f"{op}: output_size must be an int or {len(sizes)} ints, got {output_size!r}"
        )
    out = [n if v is None else v for v, n in zip(items, sizes, strict=True)]
    if not all(isinstance(v, (int, np.integer)) and v >= 0 for v in out):
        raise errors.ArgumentError(
            f"{op}: output_size must be non-negative ints, got {output_size!r}"
        )
    return [int(v) for v in out]


def averaging(n_in: int, n_out: int, dtype: Any) -> np.ndarray:
    """(n_out, n_in): row i averages torch's adaptive window [floor(i n/m), ceil((i+1) n/m))."""
    matrix = np.zeros((n_out, n_in), dtype=dtype)
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -(-(i + 1) * n_in // n_out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


_MODES = {"nearest": None, "linear": 1, "bilinear": 2}


def resize_plan(
    shape: tuple[int, ...], size: Any, scale_factor: Any, mode: str, align_corners: bool | None,
    recompute_scale_factor: bool | None, antialias: bool,
) -> tuple[list[int], list[float | None]]:  # fmt: skip
    """interpolate's output size per spatial dim and the scale factor its coordinates use
    (None: input size / output size)."""
    dims = len(shape) - 2
    if mode not in _MODES:
        raise errors.ArgumentError(
            f"interpolate: mode {mode!r} is not supported; use 'nearest', 'linear' or 'bilinear'"
        )
    wanted = _MODES[mode]
    if dims < 1 or (wanted is not None and wanted != dims):
        need = f"a {wanted + 2}-D" if wanted is not None else "a 3-D or 4-D"
        raise errors.ShapeError(
            f"interpolate: mode {mode!r} needs {need} (N, C, ...) input, got shape {shape}"
        )
    if mode == "nearest" and align_corners is not None:
        raise errors.ArgumentError(
            "interpolate: align_corners can only be set with the interpolating modes "
            "'linear' and 'bilinear'"
        )
    if antialias:
        raise errors.ArgumentError("interpolate: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise errors.ArgumentError("interpolate: give exactly one of size and scale_factor")
    spatial = shape[2:]
    if size is not None:
        sizes = list(pair(size, dims, "interpolate", "size", 1))[-dims:]
        return sizes, [None] * dims
    factors = list(scale_factor) if isinstance(scale_factor, Sequence) else [scale_factor] * dims
    if len(factors) != dims or not all(isinstance(f, (int, float)) and f > 0 for f in factors):
        raise errors.ArgumentError(
            f"interpolate: scale_factor must be a positive number or {dims} of them, got "
            f"{scale_factor!r}"
        )
    sizes = [int(np.floor(float(n) * float(f))) for n, f in zip(spatial, factors, strict=True)]
    scales: list[float | None] = [None if recompute_scale_factor else float(f) for f in factors]
    return sizes, scales


def nearest_index(n_in: int, n_out: int, scale: float | None) -> np.ndarray:
    """torch's 'nearest' source of each output position, computed in float32 as torch does."""
    ratio = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
    source = np.floor(np.arange(n_out, dtype=np.float32) * ratio).astype(np.int64)
    return np.minimum(source, n_in - 1)


def linear_weights(
    n_in: int, n_out: int, scale: float | None, align_corners: bool, dtype: Any
) -> np.ndarray:
    """(n_out, n_in) linear-interpolation weights, torch's source coordinates: i (n-1)/(m-1)
    with align_corners, else (i + 1/2) / scale - 1/2 clamped at 0."""
    i = np.arange(n_out, dtype=np.float64)
    if align_corners:
        source = i * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        ratio = 1.0 / scale if scale else n_in / n_out
        source = np.maximum((i + 0.5) * ratio - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), n_in - 1)
    high = np.minimum(low + 1, n_in - 1)
    frac = source - low
    matrix = np.zeros((n_out, n_in), dtype=np.float64)
    np.add.at(matrix, (np.arange(n_out), low), 1.0 - frac)
    np.add.at(matrix, (np.arange(n_out), high), frac)
    return matrix.astype(dtype)


PAD_MODES = ("constant", "reflect", "replicate", "circular")
_NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad_index(n: int, low: int, high: int, mode: str) -> np.ndarray:
    """The source of each position of a dim of size n padded by (low, high) in a non-constant
    mode: NumPy's own reflect/edge/wrap padding of arange(n)."""
    return np.pad(np.arange(n), (low, high), mode=_NUMPY_MODES[mode])  # type: ignore[call-overload]


def pad_pairs(
    shape: tuple[int, ...], pad: Sequence[int], mode: str, value: float | None
) -> tuple[Pair, ...]:
    """One (before, after) pair per dim of the input from torch's last-dim-first pad list."""
    if mode not in PAD_MODES:
        raise errors.ArgumentError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    ok = isinstance(pad, Sequence) and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pad
    )
    if not ok or len(pad) % 2:
        raise errors.ArgumentError(f"pad: pad must be an even number of ints, got {pad!r}")
    k = len(pad) // 2
    if k > len(shape):
        raise errors.ArgumentError(
            f"pad: pad of length {len(pad)} pads {k} dims, but the input of shape {shape} has "
            f"{len(shape)}"
        )
    pairs = [(0, 0)] * (len(shape) - k) + [
        (int(pad[2 * j]), int(pad[2 * j + 1])) for j in reversed(range(k))
    ]
    if mode == "constant":
        sizes = [n + lo + hi for n, (lo, hi) in zip(shape, pairs, strict=True)]
        if min(sizes, default=0) < 0:
            raise errors.ShapeError(
                f"pad: input of shape {shape} padded by {tuple(pad)} would have a negative "
                f"size {tuple(sizes)}"
            )
        return tuple(pairs)
    if value is not None:
        raise errors.ArgumentError(f"pad: mode {mode!r} takes no value argument")
    if not 1 <= k <= 3 or len(shape) not in (k + 1, k + 2):
        raise errors.ShapeError(
            f"pad: {mode} padding of the last {k} dims needs a {k + 1}-D or {k + 2}-D input, "
            f"got shape {shape}"
        )
    for n, (lo, hi) in zip(shape, pairs, strict=True):
        limit = {"reflect": n - 1, "replicate": None, "circular": n}[mode]
        if min(lo, hi) < 0 or (limit is not None and max(lo, hi) > limit) or n == 0:
            rule = {"reflect": "smaller than", "circular": "at most"}.get(mode, "for")
            raise errors.ShapeError(
                f"pad: {mode} padding {tuple(pad)} of input of shape {shape}: each amount must "
                f"be non-negative and {rule} the size of its dim ({n})"
            )
    return tuple(pairs)
