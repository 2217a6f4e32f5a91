"""Pooling, resampling and padding layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d,
Upsample, and the padding layers (ConstantPad, ZeroPad, ReflectionPad, ReplicationPad,
CircularPad): PyTorch's names, arguments and defaults; none has parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chainrule import errors
from chainrule.nn import functional_conv as F
from chainrule.nn.module import Module
from chainrule.tensor import Tensor

Size = int | Sequence[int]


class _MaxPool(Module):
    def __init__(
        self, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
        dilation: Size = 1, return_indices: bool = False, ceil_mode: bool = False,
    ) -> None:  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPool):
    """Max over windows of (N, C, L)."""

    def forward(self, x: Tensor) -> Any:
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)  # fmt: skip


class MaxPool2d(_MaxPool):
    """Max over kH x kW windows of (N, C, H, W); stride defaults to the kernel size.

    >>> import chainrule as cr
    >>> cr.nn.MaxPool2d(2)(cr.ones(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    def forward(self, x: Tensor) -> Any:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)  # fmt: skip


class AvgPool1d(Module):
    """Mean over windows of (N, C, L)."""

    def __init__(
        self, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
        ceil_mode: bool = False, count_include_pad: bool = True,
    ) -> None:  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)  # fmt: skip

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over kH x kW windows of (N, C, H, W).

    >>> import chainrule as cr
    >>> cr.nn.AvgPool2d(2)(cr.ones(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    def __init__(
        self, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
        ceil_mode: bool = False, count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)  # fmt: skip

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    def __init__(self, output_size: Size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(x, self.output_size)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(Module):
    """Mean over the H_out x W_out windows that tile the input as evenly as integers allow.

    >>> import chainrule as cr
    >>> cr.nn.AdaptiveAvgPool2d((1, 1))(cr.ones(2, 5, 7, 3)).shape
    (2, 5, 1, 1)
    """

    def __init__(self, output_size: Size | Sequence[int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)  # type: ignore[arg-type]

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class Upsample(Module):
    """Resize by `scale_factor` or to `size` (mode 'nearest', 'linear', 'bilinear').

    >>> import chainrule as cr
    >>> cr.nn.Upsample(scale_factor=2, mode="bilinear")(cr.ones(1, 1, 3, 3)).shape
    (1, 1, 6, 6)
    """

    def __init__(
        self, size: Size | None = None, scale_factor: float | Sequence[float] | None = None,
        mode: str = "nearest", align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)  # fmt: skip

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        given = (
            f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        )
        return f"{given}, mode={self.mode!r}"


# -- padding layers ----------------------------------------------------------------------------
class _Pad(Module):
    mode = "constant"
    dims = 2

    def __init__(self, padding: int | Sequence[int], value: float | None = None) -> None:
        super().__init__()
        amounts = (padding,) * (2 * self.dims) if isinstance(padding, int) else tuple(padding)
        if len(amounts) != 2 * self.dims:
            raise errors.ArgumentError(
                f"{type(self).__name__}: padding must be an int or {2 * self.dims} ints "
                f"(left, right{', top, bottom' if self.dims == 2 else ''}), got {padding!r}"
            )
        self.padding, self.value = amounts, value

    def forward(self, x: Tensor) -> Tensor:
        return F.pad(x, self.padding, self.mode, self.value)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return f"{self.padding}" + (f", value={self.value}" if self.mode == "constant" else "")


class ConstantPad1d(_Pad):
    dims = 1

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(_Pad):
    """Pad (left, right, top, bottom) with a constant.

    >>> import chainrule as cr
    >>> cr.nn.ConstantPad2d((1, 0, 0, 2), 3.0)(cr.zeros(1, 2, 2)).shape
    (1, 4, 3)
    """

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding, value)


class ZeroPad1d(ConstantPad1d):
    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(ConstantPad2d):
    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)


class ReflectionPad1d(_Pad):
    mode, dims = "reflect", 1


class ReflectionPad2d(_Pad):
    mode = "reflect"


class ReplicationPad1d(_Pad):
    mode, dims = "replicate", 1


class ReplicationPad2d(_Pad):
    mode = "replicate"


class CircularPad2d(_Pad):
    mode = "circular"
