"""Exception classes catchable by both Python habits and PyTorch habits.

PyTorch raises RuntimeError for most mistakes about shapes, dims and dtypes (a shape mismatch in
matmul, cat, view, broadcasting; gather's index out of range; a float target to cross_entropy),
where Python code expects ValueError, IndexError or TypeError. Each class here subclasses both,
so `except ValueError` and `except RuntimeError` both catch a shape mismatch.

>>> import chainrule as cr
>>> try:
...     cr.zeros(2, 3) @ cr.zeros(2, 3)
... except RuntimeError as error:
...     isinstance(error, ValueError)
True
"""

from __future__ import annotations


class ShapeError(ValueError, RuntimeError):
    """Shapes or dims that do not fit together (torch: RuntimeError)."""


class ArgumentError(ValueError, RuntimeError):
    """An argument value torch refuses with RuntimeError (a negative step count, ...)."""


class IndexOutOfRangeError(IndexError, RuntimeError):
    """An index out of range where torch raises RuntimeError (gather, scatter, one_hot).

    Dimension out of range and a tensor index out of bounds in x[i] stay plain IndexError, as
    in torch."""


class DTypeError(TypeError, RuntimeError):
    """A dtype an op does not accept, where torch raises RuntimeError (a float mask, float
    class labels)."""


class UnsupportedDTypeError(TypeError, NotImplementedError):
    """An op with no kernel for a dtype (torch: NotImplementedError, e.g. linspace of bool)."""


# What `function._explain` re-raises an array library's error as: the dual class, so that a
# NumPy ValueError about shapes is also the RuntimeError torch would raise.
DUAL: dict[type[Exception], type[Exception]] = {
    ValueError: ShapeError,
    TypeError: DTypeError,
}


def dual(error_type: type[Exception]) -> type[Exception]:
    """The class to re-raise an array library's error of this type as."""
    return DUAL.get(error_type, error_type)
