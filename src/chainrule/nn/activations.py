"""Activation modules (torch.nn's names, arguments and reprs): thin holders of F's options.

ReLU, Sigmoid, Tanh, LeakyReLU, Softmax and LogSoftmax live in layers.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chainrule import creation
from chainrule.nn import functional_activations as F
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor


class _Inplace(Module):
    """An activation with torch's `inplace=` flag (the result is written into the input)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""

    def _inplace_suffix(self) -> str:
        return ", inplace=True" if self.inplace else ""


class GELU(Module):
    """x Φ(x) (or its tanh approximation with approximate='tanh')."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_Inplace):
    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward


class Mish(_Inplace):
    def forward(self, input: Tensor) -> Tensor:
        return F.mish(input, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward


class ELU(_Inplace):
    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + self._inplace_suffix()


class CELU(ELU):
    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward


class SELU(_Inplace):
    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    if TYPE_CHECKING:
        __call__ = forward

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(_Inplace):
    def __init__(
        self,
        min_val: float = -1.0,
        max_val: float = 1.0,
        inplace: bool = False,
        min_value: float | None = None,
        max_value: float | None = None,
    ) -> None:
        super().__init__(inplace)
        # min_value / max_value: torch's deprecated spellings, still accepted
        self.min_val = min_val if min_value is None else min_value
        self.max_val = max_val if max_value is None else max_value
        if self.min_val > self.max_val:
            raise ValueError(
                f"Hardtanh: min_val cannot be greater than max_val, got {self.min_val} and "
                f"{self.max_val}"
            )

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + self._inplace_suffix()


class ReLU6(Hardtanh):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Hardsigmoid(_Inplace):
    def forward(self, input: Tensor) -> Tensor:
        return F.hardsigmoid(input, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward


class Hardswish(_Inplace):
    def forward(self, input: Tensor) -> Tensor:
        return F.hardswish(input, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward


class PReLU(Module):
    """x for x > 0, weight x otherwise; weight holds num_parameters slopes (one per channel,
    dim 1, or one shared), each starting at init."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None,
                 dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(creation.full((num_parameters,), init, dtype=dtype))

    def reset_parameters(self) -> None:
        self.weight.detach().fill_(self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    if TYPE_CHECKING:
        __call__ = forward

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(_Inplace):
    """Leaky ReLU with a random slope in [lower, upper] while training, their mean in eval."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:  # fmt: skip
        super().__init__(inplace)
        self.lower, self.upper = lower, upper

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + self._inplace_suffix()


class Threshold(_Inplace):
    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.threshold, self.value = threshold, value

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    if TYPE_CHECKING:
        __call__ = forward

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + self._inplace_suffix()


class Softsign(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)

    if TYPE_CHECKING:
        __call__ = forward


class LogSigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)

    if TYPE_CHECKING:
        __call__ = forward


class Tanhshrink(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.tanhshrink(input)

    if TYPE_CHECKING:
        __call__ = forward


class GLU(Module):
    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    if TYPE_CHECKING:
        __call__ = forward

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmin(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim, _stacklevel=5)

    if TYPE_CHECKING:
        __call__ = forward

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softshrink(Module):
    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)

    if TYPE_CHECKING:
        __call__ = forward

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(Softshrink):
    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    if TYPE_CHECKING:
        __call__ = forward
