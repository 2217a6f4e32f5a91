"""PyTorch's type promotion for binary operations (NumPy's differs, so we cast first).

Operands rank by how much say they have over the result dtype: tensors with dimensions, then 0-d
tensors, then Python numbers. The highest-ranked operands decide the dtype among themselves; a
lower-ranked operand changes it only when it is of a higher *category* (bool < integer < float),
and then only as far as that category needs: `int64 tensor + 0.5` is float32 (the default float),
`float32 tensor * float64 0-d tensor` stays float32, `int64 tensor + float64 0-d tensor` is
float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import backend
from chainrule.primitives.elementwise import Cast
from chainrule.tensor_base import TensorBase as Tensor  # the tensor layer types against the base

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _category(dtype: np.dtype) -> int:
    return _CATEGORY.get(dtype.kind, 4)  # 4: object arrays (symbolic): never promoted


def _widest(dtypes: list[np.dtype]) -> np.dtype:
    """Among same-rank operands the highest category wins outright (float32 with int64 is
    float32, where NumPy widens to float64); within it, the widest dtype."""
    top = max(_category(d) for d in dtypes)
    return np.result_type(*[d for d in dtypes if _category(d) == top])


def result_type(*operands: Any) -> np.dtype | None:
    """The dtype PyTorch gives a binary op on these operands (None if nothing to decide)."""
    dims: list[np.dtype] = []
    zero_d: list[np.dtype] = []
    numbers: list[int] = []  # categories of Python numbers
    for x in operands:
        if isinstance(x, (Tensor, np.ndarray)):
            data = x._data if isinstance(x, Tensor) else x
            (dims if data.ndim else zero_d).append(data.dtype)
        elif isinstance(x, bool):
            numbers.append(0)
        elif isinstance(x, int):
            numbers.append(1)
        elif isinstance(x, float):
            numbers.append(2)
    if dims:
        result = _widest(dims)
        higher = [d for d in zero_d if _category(d) > _category(result)]
        if higher:
            result = _widest(higher)
    elif zero_d:
        result = _widest(zero_d)
    else:
        return None
    if _category(result) == 4:
        return result
    top = max(numbers, default=-1)
    if top > _category(result):
        result = backend.get_default_dtype() if top == 2 else np.dtype(np.int64)
    return result


def promote(a: Any, b: Any) -> tuple[Any, Any]:
    """(a, b) with tensors cast to the result dtype where NumPy would otherwise pick another."""
    # NumPy scalars count as Python numbers, as in PyTorch (NumPy itself would let an
    # np.float64 widen a float32 tensor, so make them plain numbers first).
    if type(b) is np.float64:
        b = float(b)
    elif type(a) is np.float64:
        a = float(a)
    # The common cases first, cheaply: a float tensor with a Python float (NumPy keeps the
    # tensor's dtype), and two tensors of one dtype.
    if type(b) is float:
        if isinstance(a, Tensor) and a._data.dtype.kind == "f":
            return a, b
    elif type(a) is float:
        if isinstance(b, Tensor) and b._data.dtype.kind == "f":
            return a, b
    elif isinstance(a, Tensor) and isinstance(b, Tensor) and a._data.dtype is b._data.dtype:
        return a, b
    if isinstance(a, np.generic):  # the other NumPy scalar types, likewise
        a = a.item()
    if isinstance(b, np.generic):
        b = b.item()
    target = result_type(a, b)
    if target is None:
        return a, b
    return _cast(a, target), _cast(b, target)


def _cast(x: Any, dtype: np.dtype) -> Any:
    if isinstance(x, Tensor):
        return x if x._data.dtype == dtype else Cast.apply(x, dtype)
    if isinstance(x, np.ndarray):
        return x if x.dtype == dtype else x.astype(dtype)
    return x  # Python numbers are "weak": NumPy keeps the tensor's dtype for them
