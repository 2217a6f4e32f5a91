"""Parameter: a leaf tensor that a Module registers as learnable."""

from __future__ import annotations

from typing import Any

from chainrule.tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module's learnable weight (requires_grad=True by default).

    >>> import chainrule as cr
    >>> w = cr.nn.Parameter(cr.zeros(2, 3))
    >>> w.requires_grad, w.is_leaf
    (True, True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        from chainrule.creation import as_array

        if data is None:
            data = []
        array = data._data if isinstance(data, Tensor) else as_array(data)
        Tensor.__init__(self, array, requires_grad=requires_grad)
        self._data = array  # share memory with the tensor it wraps, as torch does

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)
