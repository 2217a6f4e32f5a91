"""The dropout variants of torch.nn: Dropout1d/2d/3d zero whole channels, AlphaDropout and
FeatureAlphaDropout keep SELU's mean and variance (nn.Dropout itself is in layers.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainrule.nn import functional_dropout as F
from chainrule.nn.module import Module
from chainrule.tensor import Tensor


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        F._check_p(p, type(self).__name__)
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward


class Dropout2d(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward


class Dropout3d(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward


class AlphaDropout(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training)

    if TYPE_CHECKING:
        __call__ = forward


class FeatureAlphaDropout(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)

    if TYPE_CHECKING:
        __call__ = forward
