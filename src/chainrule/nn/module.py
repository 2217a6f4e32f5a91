"""Module: the base of layers and models, with PyTorch's registration and state-dict rules."""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from chainrule.modes import no_grad
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class: assigning a Parameter or Module attribute registers it.

    >>> import chainrule as cr
    >>> class Net(cr.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = cr.nn.Linear(2, 1)
    ...     def forward(self, x):
    ...         return self.fc(x)
    >>> [name for name, _ in Net().named_parameters()]
    ['fc.weight', 'fc.bias']
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- registration ---------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() call (call super().__init__())"
            )
        if isinstance(value, Parameter):
            target = self._parameters
        elif isinstance(value, Module):
            target = self._modules
        else:
            # as torch: a registered slot keeps its kind, so `self.weight = self.weight * 2`
            # fails loudly instead of silently dropping the parameter from the model
            slots = (
                (self._parameters, "parameter", Parameter),
                (self._modules, "module", Module),
                (self._buffers, "buffer", Tensor),
            )
            for store, kind, allowed in slots:
                if name not in store:
                    continue
                if value is not None and not isinstance(value, allowed):
                    raise TypeError(
                        f"cannot assign {type(value).__name__} as {kind} {name!r} "
                        f"({allowed.__name__} or None expected)"
                    )
                store[name] = value
                return
            object.__setattr__(self, name, value)
            return
        for store in (self._parameters, self._modules, self._buffers):
            if store is not target:
                store.pop(name, None)
        target[name] = value  # an existing name keeps its place, so state_dict order is torch's
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_modules", "_buffers"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._modules, self._buffers):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None) -> None:
        """A tensor saved in the state dict but not trained (e.g. running statistics)."""
        self._buffers[name] = tensor

    def add_module(self, name: str, module: Module | None) -> None:
        self._modules[name] = module

    # -- traversal ------------------------------------------------------------------------------
    def named_modules(
        self, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        stack: list[tuple[str, Module]] = [(prefix, self)]
        seen: set[int] = set()
        while stack:  # iterative pre-order walk
            name, module = stack.pop()
            if remove_duplicate and id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [
                (f"{name}.{child_name}" if name else child_name, child)
                for child_name, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for module_name, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{module_name}.{name}" if module_name else name), b

    def buffers(self) -> Iterator[Tensor]:
        for _, b in self.named_buffers():
            yield b

    # -- modes and gradients --------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.zero_()

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn: Any) -> Module:
        for module in reversed(list(self.modules())):
            fn(module)
        return self

    def double(self) -> Module:
        return self._cast(np.float64)

    def float(self) -> Module:
        return self._cast(np.float32)

    def to(self, dtype: Any = None) -> Module:
        return self if dtype is None or isinstance(dtype, str) else self._cast(dtype)

    def _cast(self, dtype: Any) -> Module:
        for p in self.parameters():
            if p.dtype.kind == "f":
                p._data = p._data.astype(dtype)
                if p.grad is not None:
                    p.grad = Tensor._make(p.grad._data.astype(dtype))
        return self

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Parameters and buffers by dotted name (detached tensors sharing memory)."""
        state: OrderedDict[str, Tensor] = OrderedDict()
        # a module shared by two parents is listed under both names, as torch does
        for module_name, module in self.named_modules(remove_duplicate=False):
            for store in (module._parameters, module._buffers):
                for name, t in store.items():
                    if t is not None:
                        key = f"{module_name}.{name}" if module_name else name
                        state[key] = t.detach()
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> Any:
        """Copy values in, after checking every key, shape and dtype; on any problem nothing is
        loaded and one error lists all of them."""
        own = self.state_dict()
        targets = {}
        for module_name, module in self.named_modules(remove_duplicate=False):
            for store in (module._parameters, module._buffers):
                for name, t in store.items():
                    if t is not None:
                        targets[f"{module_name}.{name}" if module_name else name] = t
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        for key, value in state_dict.items():
            if key not in own:
                continue
            array = value._data if isinstance(value, Tensor) else np.asarray(value)
            if tuple(array.shape) != tuple(own[key].shape):
                problems.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(array.shape)} "
                    f"from checkpoint, the shape in current model is {tuple(own[key].shape)}"
                )
            elif array.dtype.kind != own[key].dtype.kind:
                problems.append(
                    f"dtype mismatch for {key}: checkpoint has {array.dtype}, model has "
                    f"{own[key].dtype}"
                )
        if strict:  # torch's order: missing, unexpected, then size mismatches
            if unexpected:
                problems.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(unexpected))
            if missing:
                problems.insert(0, "Missing key(s) in state_dict: " + ", ".join(missing))
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(problems)
            )
        with no_grad():
            for key, value in state_dict.items():
                if key in targets:
                    targets[key].copy_(value if isinstance(value, Tensor) else np.asarray(value))
        return IncompatibleKeys(missing, unexpected)

    # -- display --------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
