"""Tensor: an n-dimensional array that records the operations applied to it.

The class is assembled by inheritance, one floor at a time: `TensorBase` (the array, its place in
the graph, gradient and hooks) sits below the rule table; `TensorMethods` (operators, math,
shapes, reductions, conversions) and `InPlaceMethods` (in-place operations with version
counters) sit above it and call the primitives; this class adds construction and `backward`,
which calls the engine. Declaring it `concrete` makes it the class every new tensor is made of,
so the node mechanism below never needs to import it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chainrule import engine
from chainrule.ops.conversion import as_array
from chainrule.tensor_base import TensorBase, TensorLike, _HookHandle, _init
from chainrule.tensor_inplace import InPlaceMethods
from chainrule.tensor_math import MathMethods
from chainrule.tensor_methods import TensorMethods
from chainrule.tensor_reduce import ReductionMethods
from chainrule.tensor_structure import StructureMethods


class Tensor(
    InPlaceMethods,
    TensorMethods,
    MathMethods,
    ReductionMethods,
    StructureMethods,
    concrete=True,
):
    """An n-dimensional array that can record the operations applied to it.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    __slots__ = ()

    if TYPE_CHECKING:
        # What the checker cannot see: TensorBase, below, can only name itself, but every
        # tensor these give is made of this class (TensorBase._make), so say so here. No code
        # at run time: the inherited definitions are the ones that run.
        @property
        def grad(self) -> Tensor | None: ...
        @grad.setter
        def grad(self, value: TensorBase | None) -> None: ...
        @property
        def data(self) -> Tensor: ...
        @data.setter
        def data(self, value: TensorLike) -> None: ...
        def detach(self) -> Tensor: ...
        def register_hook(self, hook: Callable[[Tensor], TensorBase | None]) -> _HookHandle: ...

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        _init(self, as_array(data, dtype))
        self.requires_grad = requires_grad

    def backward(
        self,
        gradient: TensorLike | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` by reverse-mode autodiff.

        `gradient` is required for a non-scalar tensor: it is the vector in the vector-Jacobian
        product (dL/dself). `retain_graph` keeps saved values for another backward;
        `create_graph` records backward itself, for higher-order derivatives.
        """
        engine.backward(self, gradient, retain_graph, create_graph, inputs)
