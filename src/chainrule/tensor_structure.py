"""Tensor methods for structure and linear algebra, each delegating to `chainrule.ops`:
tril, triu, roll, diagonal, unfold, repeat_interleave, argsort, scatter, bmm, outer and more.

A mixin over `TensorBase` that `chainrule.tensor.Tensor` inherits, so type checkers and editors
see every method. Most are the function itself (its first argument, a tensor, is `self`), so a
method gives back the same kind of tensor.
"""

from __future__ import annotations

from typing import Any, Self

from chainrule import linalg
from chainrule.linalg import sign_logabsdet
from chainrule.ops import linalg as products
from chainrule.ops import selection, structure
from chainrule.tensor_base import TensorBase


class StructureMethods(TensorBase):
    """Tensor methods for structure and linear algebra."""

    __slots__ = ()

    # -- structure ----------------------------------------------------------------------------
    tril, triu, roll = structure.tril, structure.triu, structure.roll
    diagonal, diag, diag_embed = structure.diagonal, structure.diag, structure.diag_embed
    diagflat, unfold, unflatten = structure.diagflat, structure.unfold, structure.unflatten
    repeat_interleave, tile = structure.repeat_interleave, structure.tile
    argsort, msort = selection.argsort, selection.msort
    index_select, take, take_along_dim = (
        selection.index_select,
        selection.take,
        selection.take_along_dim,
    )
    narrow, masked_select = selection.narrow, selection.masked_select
    scatter, scatter_reduce = selection.scatter, selection.scatter_reduce
    movedim, moveaxis = structure.movedim, structure.moveaxis
    swapaxes, swapdims = structure.swapaxes, structure.swapdims
    rot90, fliplr, flipud = structure.rot90, structure.fliplr, structure.flipud
    broadcast_to = structure.broadcast_to

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The (n, ndim) int64 coordinates of the nonzero entries (or one vector per dim)."""
        return selection.nonzero(self, as_tuple=as_tuple)

    def argwhere(self) -> Self:
        return selection.nonzero(self)

    # -- products -----------------------------------------------------------------------------
    bmm, mv, outer, ger, inner = (
        products.bmm,
        products.mv,
        products.outer,
        products.ger,
        products.inner,
    )
    addmm, addmv, baddbmm = products.addmm, products.addmv, products.baddbmm
    cross, trace, kron = products.cross, products.trace, products.kron

    # -- linear algebra -----------------------------------------------------------------------
    dist = linalg.dist
    det, inverse = linalg.det, linalg.inv

    def cholesky(self, upper: bool = False) -> Self:
        """torch.Tensor.cholesky (upper positional, where linalg.cholesky takes it by name)."""
        return linalg.cholesky(self, upper=upper)

    def slogdet(self) -> sign_logabsdet[Self]:
        return linalg.slogdet(self)
