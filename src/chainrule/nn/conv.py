"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d/2d, Unflatten (flat vectors back to
images), and CNN, a small convolutional classifier (the `--model cnn` of `chainrule train`).
PyTorch's parameter names, shapes and default init, so a state_dict moves between the two
libraries unchanged."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chainrule import creation, errors
from chainrule.nn import functional_conv as F
from chainrule.nn import init
from chainrule.nn.layers import Flatten, Linear, ReLU, Sequential
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.nn.pooling import MaxPool2d
from chainrule.tensor import Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(value: int | Sequence[int], dims: int, name: str, layer: str) -> tuple[int, ...]:
    items = (value,) * dims if isinstance(value, int) else tuple(value)
    if len(items) != dims or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise errors.ArgumentError(f"{layer}: {name} must be an int or {dims} ints, got {value!r}")
    return items


class _ConvNd(Module):
    """The state every convolution layer holds; `transposed` swaps the weight's first two dims
    ((in, out/groups, k...) instead of (out, in/groups, k...)), as torch."""

    dims = 2
    transposed = False

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
        stride: int | Sequence[int], padding: int | Sequence[int] | str,
        dilation: int | Sequence[int], groups: int, bias: bool, padding_mode: str,
        output_padding: int | Sequence[int], dtype: Any,
    ) -> None:  # fmt: skip
        super().__init__()
        layer = type(self).__name__
        for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
                raise errors.ArgumentError(f"{layer}: {name} must be a positive int, got {n!r}")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise errors.ArgumentError(f"{layer}: groups must be a positive int, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise errors.ArgumentError(
                f"{layer}: in_channels {in_channels} and out_channels {out_channels} must both "
                f"be divisible by groups={groups}"
            )
        if padding_mode not in _PADDING_MODES or (self.transposed and padding_mode != "zeros"):
            allowed = ("zeros",) if self.transposed else _PADDING_MODES
            raise errors.ArgumentError(
                f"{layer}: padding_mode must be one of {allowed}, got {padding_mode!r}"
            )
        if isinstance(padding, str) and self.transposed:
            raise errors.ArgumentError(
                f"{layer}: padding must be an int or a tuple of ints, got {padding!r}"
            )
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise errors.ArgumentError(
                f"{layer}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(kernel_size, self.dims, "kernel_size", layer)
        self.stride = _tuple(stride, self.dims, "stride", layer)
        self.dilation = _tuple(dilation, self.dims, "dilation", layer)
        self.padding: tuple[int, ...] | str = (
            padding if isinstance(padding, str) else _tuple(padding, self.dims, "padding", layer)
        )
        self.output_padding = _tuple(output_padding, self.dims, "output_padding", layer)
        self.padding_mode = padding_mode
        shape = (
            (in_channels, out_channels // groups) if self.transposed
            else (out_channels, in_channels // groups)
        )  # fmt: skip
        self.weight = Parameter(creation.empty(*shape, *self.kernel_size, dtype=dtype))
        self.bias = Parameter(creation.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # torch's default: kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
        # and the bias from the same bound (fan_in = weight.shape[1] * kernel elements)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def _padded(self, x: Tensor) -> tuple[Tensor, Any]:
        """x padded by padding_mode when it is not 'zeros' (then the conv pads nothing)."""
        if self.padding_mode == "zeros":
            return x, self.padding
        padding = self.padding
        if padding == "valid":
            return x, 0
        if isinstance(padding, str):  # "same"
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size, strict=True)]
            amounts = [a for t in reversed(totals) for a in (t // 2, t - t // 2)]
        else:
            amounts = [p for p in reversed(padding) for _ in range(2)]
        return F.pad(x, amounts, mode=self.padding_mode), 0

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode!r}"
        return text


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L); weight (out_channels, in_channels/groups, k)."""

    dims = 1

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
        dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True,
        padding_mode: str = "zeros", dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, dtype)  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        x, padding = self._padded(x)
        return F.conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)  # fmt: skip

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W); weight (out_channels, in_channels/groups, kH, kW).

    >>> import chainrule as cr
    >>> cr.nn.Conv2d(1, 8, 3, padding=1)(cr.ones(2, 1, 8, 8)).shape
    (2, 8, 8, 8)
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
        dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True,
        padding_mode: str = "zeros", dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, dtype)  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        x, padding = self._padded(x)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)  # fmt: skip

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward


class ConvTranspose1d(_ConvNd):
    """Transposed 1-D convolution; weight (in_channels, out_channels/groups, k)."""

    dims = 1
    transposed = True

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0, groups: int = 1, bias: bool = True,
        dilation: int | Sequence[int] = 1, padding_mode: str = "zeros", dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, dtype)  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        padding = self.padding
        assert not isinstance(padding, str)  # refused for transposed layers in __init__
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, padding,
                                  self.output_padding, self.groups, self.dilation)  # fmt: skip

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the gradient of Conv2d with respect to its input);
    weight (in_channels, out_channels/groups, kH, kW).

    >>> import chainrule as cr
    >>> cr.nn.ConvTranspose2d(4, 2, 2, stride=2)(cr.ones(1, 4, 3, 3)).shape
    (1, 2, 6, 6)
    """

    transposed = True

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0, groups: int = 1, bias: bool = True,
        dilation: int | Sequence[int] = 1, padding_mode: str = "zeros", dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, dtype)  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        padding = self.padding
        assert not isinstance(padding, str)  # refused for transposed layers in __init__
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, padding,
                                  self.output_padding, self.groups, self.dilation)  # fmt: skip

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward


class Unflatten(Module):
    """Split dim into unflattened_size (the inverse of Flatten): (N, 784) -> (N, 1, 28, 28).

    >>> import chainrule as cr
    >>> cr.nn.Unflatten(1, (1, 8, 8))(cr.zeros(5, 64)).shape
    (5, 1, 8, 8)
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        dim = self.dim + x.ndim if self.dim < 0 else self.dim
        if not 0 <= dim < x.ndim:
            raise IndexError(
                f"Unflatten: dim {self.dim} is out of range for an input of shape {tuple(x.shape)}"
            )
        known = math.prod(n for n in self.unflattened_size if n != -1)
        if (-1 not in self.unflattened_size and known != x.shape[dim]) or (
            known == 0 or x.shape[dim] % known
        ):
            raise errors.ShapeError(
                f"Unflatten: unflattened_size {self.unflattened_size} does not fit dim {dim} "
                f"of size {x.shape[dim]} (input of shape {tuple(x.shape)})"
            )
        return x.reshape(*x.shape[:dim], *self.unflattened_size, *x.shape[dim + 1 :])

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class CNN(Sequential):
    """A small convolutional classifier: per entry of `channels`, a 3x3 convolution (padding 1),
    ReLU and 2x2 max pooling, then one linear layer. Takes images (N, C, H, W) or flat rows
    (N, C*H*W), unflattened to `image_shape` (C, H, W) first.

    >>> import chainrule as cr
    >>> cr.nn.CNN((1, 8, 8), 10)(cr.zeros(4, 64)).shape
    (4, 10)
    """

    def __init__(
        self, image_shape: Sequence[int], classes: int, channels: Sequence[int] = (8, 16)
    ) -> None:
        if len(image_shape) != 3 or min(image_shape) < 1:
            raise errors.ArgumentError(
                f"CNN: image_shape must be (channels, height, width), got {tuple(image_shape)}"
            )
        c, h, w = image_shape
        if min(h, w) < 2 ** len(channels):
            raise errors.ArgumentError(
                f"CNN: images of {h}x{w} are too small for {len(channels)} 2x2 poolings"
            )
        layers: list[Module] = [_Images(tuple(image_shape))]
        for width in channels:
            layers += [Conv2d(c, width, 3, padding=1), ReLU(), MaxPool2d(2)]
            c, h, w = width, h // 2, w // 2
        super().__init__(*layers, Flatten(), Linear(c * h * w, classes))


class _Images(Unflatten):
    """Unflatten for flat rows; images pass through (so a CNN takes either)."""

    def __init__(self, image_shape: tuple[int, ...]) -> None:
        super().__init__(1, image_shape)

    def forward(self, x: Tensor) -> Tensor:
        return x if x.ndim == 4 else super().forward(x)
