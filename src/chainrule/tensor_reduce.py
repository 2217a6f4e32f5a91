"""Tensor methods for reductions and scans, each delegating to `chainrule.ops`:
prod, cumsum, cumprod, cummax, cummin, logcumsumexp, nansum, nanmean, median, quantile and more.

A mixin over `TensorBase` that `chainrule.tensor.Tensor` inherits, so type checkers and editors
see every method. Each is the function itself (its first argument, a tensor, is `self`), so a
method gives back the same kind of tensor. torch has no `std_mean`/`var_mean` methods, so
neither is here (they are `cr.std_mean` and `cr.var_mean`).
"""

from __future__ import annotations

from chainrule.ops import order, reduce
from chainrule.tensor_base import TensorBase


class ReductionMethods(TensorBase):
    """Tensor methods for reductions and scans."""

    __slots__ = ()

    prod = reduce.prod
    cumsum, cumprod, logcumsumexp = reduce.cumsum, reduce.cumprod, reduce.logcumsumexp
    cummax, cummin = reduce.cummax, reduce.cummin
    nansum, nanmean = reduce.nansum, reduce.nanmean
    median, nanmedian = order.median, order.nanmedian
    quantile, nanquantile = order.quantile, order.nanquantile
    aminmax, count_nonzero, diff = reduce.aminmax, reduce.count_nonzero, reduce.diff
