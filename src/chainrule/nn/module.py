"""Module: the base of layers and models, with PyTorch's registration and state-dict rules."""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Self

import numpy as np

from chainrule import backend, errors
from chainrule.modes import no_grad
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict returns (torch's named tuple, with its repr when all keys match)."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


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
        object.__setattr__(self, "_non_persistent_buffers_set", set())
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

    def _check_name(self, name: Any, kind: str, store: Mapping[str, Any]) -> None:
        """torch's checks on a name being registered (KeyError, TypeError)."""
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if name not in store and hasattr(self, name):  # a plain attribute or another kind
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder) under name, as `self.name = param` does."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(chainrule.nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                "created explicitly; to express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method."
            )
        for store in (self._modules, self._buffers):
            store.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor kept with the module but not trained (e.g. running statistics); in the state
        dict unless persistent=False."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(chainrule Tensor or None required)"
            )
        for store in (self._parameters, self._modules):
            store.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under name, as `self.name = module` does."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module", self._modules)
        for store in (self._parameters, self._buffers):
            store.pop(name, None)
        self._modules[name] = module

    def register_module(self, name: str, module: Module | None) -> None:
        self.add_module(name, module)

    def get_submodule(self, target: str) -> Module:
        """The module at a dotted path ('' is self), with torch's AttributeErrors."""
        module = self
        if target == "":
            return module
        for item in target.split("."):
            if item not in module._modules or module._modules[item] is None:
                kind = "attribute" if not hasattr(module, item) else "module"
                raise AttributeError(f"{module._get_name()} has no {kind} `{item}`")
            module = module._modules[item]
        return module

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        value = getattr(module, name)
        if not isinstance(value, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return value

    def get_buffer(self, target: str) -> Tensor:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        value = module._buffers[name]
        if value is None:
            raise AttributeError(f"`{name}` is not a buffer")
        return value

    def _get_name(self) -> str:
        return type(self).__name__

    # -- traversal ------------------------------------------------------------------------------
    def named_modules(
        self, memo: set[Module] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for self and every descendant, pre-order; a module reachable
        twice is listed once unless remove_duplicate=False (memo: modules to skip)."""
        seen: set[int] = {id(m) for m in memo} if memo is not None else set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:  # iterative pre-order walk
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in seen:
                    continue
                seen.add(id(module))
                if memo is not None:
                    memo.add(module)
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
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(
        self, store: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for module_name, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- modes and gradients --------------------------------------------------------------------
    def train(self, mode: bool = True) -> Self:
        """Set training mode here and in every child (through their own train, as torch)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        object.__setattr__(self, "training", mode)
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Self:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.zero_()

    def requires_grad_(self, requires_grad: bool = True) -> Self:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn: Callable[[Module], Any]) -> Self:
        """fn on every descendant, then on self (torch's order: children first, depth first;
        a module shared by two parents is visited under each, as torch's)."""
        stack: list[tuple[Module, bool]] = [(self, False)]
        while stack:  # iterative post-order walk
            module, expanded = stack.pop()
            if expanded:
                fn(module)
                continue
            stack.append((module, True))
            stack.extend((child, False) for child in reversed(list(module.children())))
        return self

    # -- dtype and device -----------------------------------------------------------------------
    def double(self) -> Self:
        return self._cast(np.float64)

    def float(self) -> Self:
        return self._cast(np.float32)

    def half(self) -> Self:
        return self._cast(np.float16)

    def cpu(self) -> Self:
        return self

    def to(self, *args: Any, **kwargs: Any) -> Self:
        """to(dtype), to('cpu'), to(device=..., dtype=...), to(tensor): floating parameters and
        buffers are cast in place (the same Parameter objects), and self is returned."""
        allowed = {"device", "dtype", "non_blocking", "memory_format", "copy"}
        unknown = set(kwargs) - allowed
        if unknown or len(args) > 3:
            raise TypeError(f"to() received an invalid combination of arguments: {args}, {kwargs}")
        device, dtype = kwargs.get("device"), kwargs.get("dtype")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, str) or type(arg).__name__ == "device":
                device = arg
            elif isinstance(arg, bool):  # non_blocking, positional
                continue
            elif arg is not None:
                dtype = arg
        if device is not None and str(device).split(":")[0] != "cpu":
            raise errors.ArgumentError(
                f"to: chainrule's modules live on the CPU; got device {str(device)!r}"
            )
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind not in "fc":
            raise TypeError(
                f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                f"dtype={dtype}"
            )
        return self._cast(dtype)

    def _cast(self, dtype: Any) -> Self:
        """Cast floating parameters (and their gradients) and buffers in place."""
        for tensors in (self.parameters(), self.buffers()):
            for t in tensors:
                if t.dtype.kind == "f" and t.dtype != dtype:
                    t._data = backend.namespace(t._data).asarray(t._data).astype(dtype)
                    if t.grad is not None:
                        t.grad = Tensor._make(t.grad._data.astype(dtype))
        return self

    # -- state ----------------------------------------------------------------------------------
    def _state_tensors(self, prefix: str = "") -> OrderedDict[str, Tensor]:
        """The state dict's entries, the tensors themselves: parameters, then the persistent
        buffers, module by module (a module shared by two parents under both names, as torch)."""
        state: OrderedDict[str, Tensor] = OrderedDict()
        for module_name, module in self.named_modules(remove_duplicate=False):
            skip = module._non_persistent_buffers_set
            for store in (module._parameters, module._buffers):
                for name, t in store.items():
                    if t is not None and not (store is module._buffers and name in skip):
                        key = f"{module_name}.{name}" if module_name else name
                        state[prefix + key] = t  # torch's prefix ends with its own "."
        return state

    def state_dict(
        self, *, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (detached tensors sharing memory,
        or the tensors themselves with keep_vars=True), into destination if given."""
        state = destination if destination is not None else OrderedDict()
        for key, t in self._state_tensors(prefix).items():
            state[key] = t if keep_vars else t.detach()
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> Any:
        """Copy values in, after checking every key, shape and dtype; on any problem nothing is
        loaded and one error lists all of them."""
        own = targets = self._state_tensors()
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
        """torch's layout: a one-line extra_repr inside the parentheses, otherwise its lines
        and then one line per child, indented by two spaces."""
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = []
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            children.append(f"({name}): {child}")
        head = f"{self._get_name()}("
        if len(lines) == 1 and not children:
            return head + lines[0] + ")"
        if not lines and not children:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines + children) + "\n)"
