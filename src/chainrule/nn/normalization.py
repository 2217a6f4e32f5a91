"""Normalization layers: LayerNorm, RMSNorm, GroupNorm, BatchNorm1d/2d (torch's parameters,
buffers, init and state_dict keys)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import creation, errors
from chainrule.modes import no_grad
from chainrule.nn import functional_layers as FL
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor


def _shape(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    return (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)


def _affine_parameters(
    shape: int | tuple[int, ...], affine: bool, bias: bool, dtype: Any
) -> tuple[Parameter | None, Parameter | None]:
    """A weight of ones and a bias of zeros (torch's init), or None where affine or bias is
    off."""
    if not affine:
        return None, None
    size = (shape,) if isinstance(shape, int) else shape
    weight = Parameter(creation.ones(*size, dtype=dtype))
    return weight, Parameter(creation.zeros(*size, dtype=dtype)) if bias else None


class LayerNorm(Module):
    """Normalise over the trailing `normalized_shape` dims, then scale by `weight` (ones) and
    shift by `bias` (zeros), as torch.nn.LayerNorm.

    >>> import chainrule as cr
    >>> [name for name, _ in cr.nn.LayerNorm(4).named_parameters()]
    ['weight', 'bias']
    """

    weight: Parameter | None
    bias: Parameter | None

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        weight, bias_ = _affine_parameters(self.normalized_shape, elementwise_affine, bias, dtype)
        self.register_parameter("weight", weight)
        self.register_parameter("bias", bias_)

    def forward(self, input: Tensor) -> Tensor:
        return FL.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight over the trailing dims (torch.nn.RMSNorm); eps=None
    is the input dtype's machine epsilon."""

    weight: Parameter | None

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        weight = None
        if elementwise_affine:
            weight = Parameter(creation.ones(*self.normalized_shape, dtype=dtype))
        self.register_parameter("weight", weight)

    def forward(self, x: Tensor) -> Tensor:
        return FL.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """Normalise each sample over groups of channels (torch.nn.GroupNorm)."""

    weight: Parameter | None
    bias: Parameter | None

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"
            )
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        weight, bias_ = _affine_parameters(num_channels, affine, bias, dtype)
        self.register_parameter("weight", weight)
        self.register_parameter("bias", bias_)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise errors.ShapeError(
                f"GroupNorm: expected an input of shape (N, {self.num_channels}, *), got "
                f"{tuple(input.shape)}"
            )
        return FL.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class _BatchNorm(Module):
    """The shared part of BatchNorm1d/2d: torch's parameters, buffers and momentum rules."""

    _ranks: tuple[int, ...] = ()

    weight: Parameter | None
    bias: Parameter | None
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        weight, bias_ = _affine_parameters(num_features, affine, bias, dtype)
        self.register_parameter("weight", weight)
        self.register_parameter("bias", bias_)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                for buffer, value in (
                    (self.running_mean, 0),
                    (self.running_var, 1),
                    (self.num_batches_tracked, 0),
                ):
                    assert buffer is not None
                    buffer.fill_(value)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        with no_grad():
            if self.weight is not None:
                self.weight.fill_(1.0)
            if self.bias is not None:
                self.bias.zero_()

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in self._ranks:
            wanted = " or ".join(f"{r}D" for r in self._ranks)
            raise errors.ShapeError(
                f"{type(self).__name__}: expected {wanted} input (got {input.ndim}D input of "
                f"shape {tuple(input.shape)})"
            )
        if input.shape[1] != self.num_features:
            raise errors.ShapeError(
                f"{type(self).__name__}: expected {self.num_features} channels in dim 1, got "
                f"input of shape {tuple(input.shape)}"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked._data = self.num_batches_tracked._data + 1
                self.num_batches_tracked._vc[0] += 1
            if self.momentum is None:  # a cumulative moving average over the batches seen
                factor = 1.0 / float(self.num_batches_tracked._data)
        # batch statistics while training, or always when there are no running ones
        use_batch = self.training or self.running_mean is None
        tracking = not self.training or self.track_running_stats
        return FL.batch_norm(
            input,
            self.running_mean if tracking else None,
            self.running_var if tracking else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) or (N, C, L) inputs (torch.nn.BatchNorm1d).

    >>> import chainrule as cr
    >>> list(cr.nn.BatchNorm1d(3).state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) inputs (torch.nn.BatchNorm2d)."""

    _ranks = (4,)
