"""Layers: Linear, activations, softmax with temperature, containers, and the MLP builder."""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from chainrule import creation, ops
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features), PyTorch's layout and init
    (W, b ~ U(-1/sqrt(in), 1/sqrt(in)))."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None
    ) -> None:
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, int) or n <= 0:
                raise ValueError(f"Linear: {name} must be a positive int, got {n!r}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(creation.empty(out_features, in_features, dtype=dtype))
        self.bias = Parameter(creation.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), torch's default
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return ops.linear(x, self.weight, self.bias)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class ReLU(Module):
    """ReLU(x) = max(x, 0)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x, self.inplace) if self.inplace else ops.relu(x)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """sigma(x) = 1 / (1 + e^-x)."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.sigmoid(x)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return ops.tanh(x)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return ops.flatten(x, self.start_dim, self.end_dim)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward


class Softmax(Module):
    """softmax(beta x) along dim; beta is seed 001's temperature (1 gives PyTorch's Softmax)."""

    def __init__(self, dim: int = -1, beta: float = 1.0) -> None:
        super().__init__()
        self.dim, self.beta = dim, beta

    def forward(self, x: Tensor) -> Tensor:
        return ops.softmax(x, self.dim, self.beta)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return f"dim={self.dim}" + (f", beta={self.beta}" if self.beta != 1 else "")


class LogSoftmax(Softmax):
    """log softmax(beta x) along dim."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.log_softmax(x, self.dim, self.beta)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward


class Dropout(Module):
    """Randomly zeroes elements with probability p during training (scaling the rest by
    1/(1-p)); the identity in eval mode."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    if TYPE_CHECKING:  # calling a module calls forward: show the checker its signature
        __call__ = forward

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ModuleList(Module):
    """A list of modules, registered so their parameters are the list's (torch.nn.ModuleList)."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: {type(module).__name__} is not a Module")
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Sequential(Module):
    """Modules applied in order: Sequential(Linear(2, 8), ReLU(), Linear(8, 1))."""

    def __init__(self, *modules: Module | OrderedDict) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                if not isinstance(module, Module):
                    raise TypeError(
                        f"Sequential: item {i} is {type(module).__name__}, not a Module"
                    )
                self.add_module(str(i), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int | slice) -> Module:
        items = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*items[index])
        return items[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self


_ACTIVATIONS: dict[str, Callable[[], Module]] = {
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "leaky_relu": LeakyReLU,
    "identity": Identity,
}


def MLP(
    sizes: Sequence[int],
    activation: str | type[Module] | Callable[[], Module] = "relu",
    bias: bool = True,
    output_activation: str | type[Module] | None = None,
) -> Sequential:
    """A multilayer perceptron as a Sequential: Linear(sizes[0], sizes[1]), activation, ...,
    Linear(sizes[-2], sizes[-1]). Its state_dict keys ('0.weight', '0.bias', '2.weight', ...) match
    the equivalent torch.nn.Sequential, so checkpoints load into either.

    >>> import chainrule as cr
    >>> cr.nn.MLP([784, 64, 10])
    Sequential(
      (0): Linear(in_features=784, out_features=64, bias=True)
      (1): ReLU()
      (2): Linear(in_features=64, out_features=10, bias=True)
    )
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(not isinstance(n, int) or n <= 0 for n in sizes):
        raise ValueError(f"MLP: sizes must list at least 2 positive ints, got {sizes}")
    make = _activation(activation)
    layers: list[Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(Linear(n_in, n_out, bias=bias))
        if i < len(sizes) - 2:
            layers.append(make())
    if output_activation is not None:
        layers.append(_activation(output_activation)())
    return Sequential(*layers)


def _activation(activation: Any) -> Callable[[], Module]:
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"MLP: unknown activation {activation!r}; choose from {sorted(_ACTIVATIONS)}"
            )
        return _ACTIVATIONS[activation]
    if callable(activation):
        return activation
    raise TypeError(f"MLP: activation must be a name or a Module class, got {activation!r}")
