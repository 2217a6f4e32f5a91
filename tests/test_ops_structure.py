"""Structural functions against PyTorch and finite differences: triangles, diagonals, rolls,
grids, unfold, repeats, sorting, selection by index or mask, scatter and scatter_reduce,
moving, rotating and stacking dims.

Each case is one line (helpers.case): forward and the gradient of a random upstream gradient
compared with torch in float64, gradcheck, and gradgradcheck unless the case says otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import Case, case, lib

import chainrule as cr
from chainrule import errors

NO_GRAD = {"grad": False, "gradcheck": False, "gradgradcheck": False}


def ints(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def idx(x, values):  # an int64 index tensor of x's library
    return lib(x).tensor(values, dtype=lib(x).int64)


TRIANGLE_CASES = [
    case("tril", [(3, 4)], lambda x: x.tril(), float32=True),
    case("tril-diagonal", [(2, 3, 4)], lambda x: lib(x).tril(x, diagonal=1)),
    case("tril-negative", [(4, 3)], lambda x: x.tril(-1)),
    case("triu", [(3, 4)], lambda x: lib(x).triu(x)),
    case("triu-diagonal", [(2, 4, 3)], lambda x: x.triu(diagonal=-1)),
    case("triu-far", [(3, 4)], lambda x: x.triu(5)),
    # finite differences cannot step from inf: the explicit test below checks the gradient
    case("tril-inf-outside", [np.array([[1.0, np.inf], [2.0, 3.0]])], lambda x: x.tril(),
         gradcheck=False),
    case("diagonal", [(3, 4)], lambda x: x.diagonal()),
    case("diagonal-offset", [(3, 4)], lambda x: lib(x).diagonal(x, 1)),
    case("diagonal-negative-offset", [(3, 4)], lambda x: x.diagonal(offset=-2)),
    case("diagonal-dims", [(2, 3, 4)], lambda x: x.diagonal(1, 0, 2)),
    case("diagonal-dims-reversed", [(2, 3, 4)], lambda x: x.diagonal(0, -1, 1)),
    case("diagonal-empty", [(2, 3)], lambda x: x.diagonal(5)),
    case("diag-vector", [(3,)], lambda x: lib(x).diag(x)),
    case("diag-vector-offset", [(3,)], lambda x: x.diag(-1)),
    case("diag-matrix", [(3, 4)], lambda x: lib(x).diag(x, 1)),
    case("diag-embed", [(2, 3)], lambda x: lib(x).diag_embed(x)),
    case("diag-embed-offset-dims", [(2, 3)], lambda x: x.diag_embed(1, 0, 2)),
    case("diag-embed-dims-swapped", [(2, 3)], lambda x: lib(x).diag_embed(x, -1, 2, 0)),
    case("diagflat", [(2, 2)], lambda x: lib(x).diagflat(x)),
    case("diagflat-offset", [(3,)], lambda x: x.diagflat(2)),
    case("triu-indices", [], lambda: cr.triu_indices(3, 4, 1),
         lambda: torch.triu_indices(3, 4, 1), **NO_GRAD),
    case("tril-indices", [], lambda: cr.tril_indices(4, 3, -1),
         lambda: torch.tril_indices(4, 3, -1), **NO_GRAD),
]  # fmt: skip

REARRANGE_CASES = [
    case("roll", [(5,)], lambda x: x.roll(2), float32=True),
    case("roll-negative", [(5,)], lambda x: lib(x).roll(x, -1)),
    case("roll-flat", [(3, 4)], lambda x: lib(x).roll(x, 5)),
    case("roll-dim", [(3, 4)], lambda x: x.roll(1, 1)),
    case("roll-dims", [(2, 3, 4)], lambda x: x.roll((1, -2), (0, 2))),
    case("roll-more-than-size", [(3, 4)], lambda x: x.roll(7, 0)),
    case("movedim", [(2, 3, 4)], lambda x: lib(x).movedim(x, 0, -1)),
    case("movedim-many", [(2, 3, 4, 5)], lambda x: x.movedim((0, 1), (3, 0))),
    case("moveaxis", [(2, 3, 4)], lambda x: lib(x).moveaxis(x, -1, 0)),
    case("swapaxes", [(2, 3, 4)], lambda x: lib(x).swapaxes(x, 0, 2)),
    case("swapdims", [(2, 3, 4)], lambda x: x.swapdims(-1, 1)),
    case("rot90", [(3, 4)], lambda x: lib(x).rot90(x)),
    case("rot90-k2", [(3, 4)], lambda x: x.rot90(2)),
    case("rot90-k3-dims", [(2, 3, 4)], lambda x: x.rot90(3, (2, 0))),
    case("rot90-negative", [(3, 4)], lambda x: lib(x).rot90(x, -1, [1, 0])),
    case("rot90-k4", [(3, 4)], lambda x: x.rot90(4)),
    case("fliplr", [(3, 4)], lambda x: lib(x).fliplr(x)),
    case("flipud", [(3, 4)], lambda x: x.flipud()),
    case("unflatten", [(2, 12)], lambda x: x.unflatten(1, (3, 4))),
    case("unflatten-minus1", [(2, 12)], lambda x: lib(x).unflatten(x, -1, (2, -1, 3))),
    case("unfold", [(7,)], lambda x: x.unfold(0, 3, 2), float32=True),
    case("unfold-middle", [(2, 6, 3)], lambda x: x.unfold(1, 2, 1)),
    case("unfold-overlap-last", [(3, 5)], lambda x: x.unfold(-1, 4, 1)),
    case("unfold-scalar", [()], lambda x: x.unfold(0, 1, 1)),
    case("tile", [(2, 3)], lambda x: lib(x).tile(x, (2, 1))),
    case("tile-fewer", [(2, 3)], lambda x: x.tile((3,))),
    case("tile-more", [(3,)], lambda x: x.tile((2, 2))),
    case("broadcast-to", [(3, 1)], lambda x: lib(x).broadcast_to(x, (2, 3, 4))),
    case("broadcast-to-method", [(1, 4)], lambda x: x.broadcast_to((3, -1))),
    case("broadcast-tensors", [(3, 1), (4,)], lambda a, b: lib(a).broadcast_tensors(a, b)),
    case("atleast-1d", [()], lambda x: lib(x).atleast_1d(x)),
    case("atleast-2d-many", [(), (3,)], lambda a, b: lib(a).atleast_2d(a, b)),
    case("atleast-3d-list", [(3,), (2, 3)], lambda a, b: lib(a).atleast_3d([a, b])),
    case("atleast-3d-high", [(2, 3, 4, 1)], lambda x: lib(x).atleast_3d(x)),
    case("hstack", [(2, 3), (2, 1)], lambda a, b: lib(a).hstack([a, b])),
    case("hstack-vectors", [(3,), (2,)], lambda a, b: lib(a).hstack((a, b))),
    case("vstack", [(3,), (2, 3)], lambda a, b: lib(a).vstack([a, b])),
    case("row-stack", [(3,), (3,)], lambda a, b: lib(a).row_stack([a, b])),
    case("dstack", [(2, 3), (2, 3, 2)], lambda a, b: lib(a).dstack([a, b])),
    case("column-stack", [(3,), (3, 2)], lambda a, b: lib(a).column_stack([a, b])),
    case("meshgrid-ij", [(3,), (4,)], lambda a, b: lib(a).meshgrid(a, b, indexing="ij")),
    case("meshgrid-xy", [(3,), (4,), (2,)],
         lambda a, b, c: lib(a).meshgrid(a, b, c, indexing="xy")),
    case("meshgrid-list", [(3,), ()], lambda a, b: lib(a).meshgrid([a, b], indexing="ij")),
    case("block-diag", [(2, 2), (), (3,)], lambda a, b, c: lib(a).block_diag(a, b, c)),
    case("cartesian-prod", [(2,), (3,)], lambda a, b: lib(a).cartesian_prod(a, b)),
    case("cartesian-prod-three", [(2,), (2,), (3,)],
         lambda a, b, c: lib(a).cartesian_prod(a, b, c)),
]  # fmt: skip

REPEAT_CASES = [
    case("repeat-interleave", [(3,)], lambda x: x.repeat_interleave(2), float32=True),
    case("repeat-interleave-flat", [(2, 3)], lambda x: lib(x).repeat_interleave(x, 2)),
    case("repeat-interleave-dim", [(2, 3)], lambda x: x.repeat_interleave(3, dim=1)),
    case("repeat-interleave-tensor", [(3, 2)],
         lambda x: x.repeat_interleave(idx(x, [1, 0, 2]), dim=0)),
    case("repeat-interleave-one-count", [(3, 2)],
         lambda x: lib(x).repeat_interleave(x, idx(x, [2]), dim=-1)),
    case("repeat-interleave-output-size", [(3,)],
         lambda x: x.repeat_interleave(2, dim=0, output_size=6)),
    case("repeat-interleave-counts", [ints(2, 0, 3)], lambda r: lib(r).repeat_interleave(r),
         **NO_GRAD),
    case("sort-stable", [np.array([3.0, 1.0, 3.0, 2.0, 1.0])],
         lambda x: lib(x).sort(x, stable=True), gradgradcheck=False, gradcheck=False),
    case("sort-stable-descending", [(3, 4)],
         lambda x: x.sort(dim=0, descending=True, stable=True)),
    case("argsort", [(3, 4)], lambda x: lib(x).argsort(x), **NO_GRAD),
    case("argsort-descending-dim", [(3, 4)], lambda x: x.argsort(0, descending=True), **NO_GRAD),
    case("argsort-stable-ties", [np.array([2.0, 1.0, 2.0, 1.0, 0.0])],
         lambda x: lib(x).argsort(x, stable=True, descending=True), **NO_GRAD),
    case("msort", [(3, 4)], lambda x: lib(x).msort(x)),
]  # fmt: skip

MASK = np.array([[True, False, True, False], [False, False, True, True], [True] * 4])
SELECT_CASES = [
    case("index-select", [(3, 4)], lambda x: x.index_select(1, idx(x, [3, 0, 3])), float32=True),
    case("index-select-fn", [(3, 4)], lambda x: lib(x).index_select(x, 0, idx(x, [2, 1]))),
    case("index-select-scalar-index", [(3, 4)], lambda x: x.index_select(0, idx(x, 1))),
    case("take", [(3, 4)], lambda x: lib(x).take(x, idx(x, [[0, 11], [5, 5]]))),
    case("take-negative", [(3, 4)], lambda x: x.take(idx(x, [-1, 0]))),
    case("take-along-dim", [(3, 4)],
         lambda x: lib(x).take_along_dim(x, idx(x, [[0], [3], [1]]), dim=1)),
    case("take-along-dim-broadcast", [(3, 4)],
         lambda x: x.take_along_dim(idx(x, [[2], [0]]), dim=0)),
    case("take-along-dim-flat", [(3, 4)], lambda x: lib(x).take_along_dim(x, idx(x, [[11, 0]]))),
    case("take-along-dim-argsort", [(3, 4)],
         lambda x: lib(x).take_along_dim(x, x.argsort(dim=0), dim=0)),
    case("narrow", [(3, 4)], lambda x: x.narrow(1, 1, 2)),
    case("narrow-fn-negative", [(5, 2)], lambda x: lib(x).narrow(x, 0, -2, 2)),
    case("narrow-empty", [(3, 4)], lambda x: x.narrow(0, 3, 0)),
    case("masked-select", [(3, 4)], lambda x: x.masked_select(lib(x).tensor(MASK))),
    case("masked-select-broadcast", [(3, 1)],
         lambda x: lib(x).masked_select(x, lib(x).tensor(MASK))),
    case("nonzero", [np.array([[1.0, 0.0], [0.0, 2.0]])], lambda x: x.nonzero(), **NO_GRAD),
    case("nonzero-fn", [np.array([0.0, 3.0, 0.0, 1.0])], lambda x: lib(x).nonzero(x), **NO_GRAD),
    case("nonzero-tuple", [np.array([[1.0, 0.0], [0.0, 2.0]])],
         lambda x: lib(x).nonzero(x, as_tuple=True), **NO_GRAD),
    case("nonzero-scalar", [np.array(3.0)], lambda x: x.nonzero(), **NO_GRAD),
    case("nonzero-scalar-tuple", [np.array(3.0)], lambda x: x.nonzero(as_tuple=True), **NO_GRAD),
    case("argwhere", [np.array([[0.0, 2.0], [3.0, 0.0]])], lambda x: lib(x).argwhere(x),
         **NO_GRAD),
]  # fmt: skip

SCATTER_INDEX = [[0, 2, 1, 0], [2, 0, 0, 1]]
# torch's deprecated scatter(reduce=) has no backward (it raises): compare forward, and
# finite-difference chainrule's gradient (that of scatter_reduce)
DEPRECATED = {
    "grad": False,
    "marks": pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter"),
}
SCATTER_CASES = [
    case("scatter-src", [(3, 4), (2, 4)],
         lambda x, s: x.scatter(0, idx(x, [[0, 1, 2, 0], [2, 0, 1, 1]]), s)),
    case("scatter-fn-dim1", [(3, 4), (3, 2)],
         lambda x, s: lib(x).scatter(x, 1, idx(x, [[0, 3], [1, 2], [3, 0]]), s), float32=True),
    # torch's backward refuses a src larger than index (its gradient has index's shape): forward
    # against torch, chainrule's gradient (src's shape, 0 outside index) by finite differences
    case("scatter-src-larger", [(3, 4), (3, 4)],
         lambda x, s: x.scatter(0, idx(x, [[0, 1, 2], [2, 0, 1]]), s), grad=False),
    case("scatter-reduce-src-larger", [(3, 4), (3, 4)],
         lambda x, s: x.scatter_reduce(1, idx(x, [[0, 0], [3, 1]]), s, "amax"), grad=False,
         gradgradcheck=False),
    case("scatter-value", [(3, 4)], lambda x: x.scatter(1, idx(x, [[0], [2], [3]]), 1.5)),
    case("scatter-value-kw", [(3, 4)],
         lambda x: lib(x).scatter(x, 0, idx(x, [[1, 0]]), value=-2.0)),
    case("scatter-add-reduce", [(3, 4), (2, 4)],
         lambda x, s: x.scatter(0, idx(x, SCATTER_INDEX), s, reduce="add"), **DEPRECATED),
    case("scatter-multiply-reduce", [(3, 4), (2, 4)],
         lambda x, s: x.scatter(0, idx(x, SCATTER_INDEX), s, reduce="multiply"), **DEPRECATED),
]  # fmt: skip
SCATTER_CASES += [
    case(f"scatter-reduce-{reduce}-include={include}", [(3, 4), (2, 4)],
         lambda x, s, r=reduce, i=include: x.scatter_reduce(0, idx(x, SCATTER_INDEX), s, r,
                                                            include_self=i),
         **({"gradgradcheck": False} if reduce in ("amax", "amin") else {}))
    for reduce in ["sum", "prod", "mean", "amax", "amin"]
    for include in [True, False]
]  # fmt: skip
# Repeated targets, ties with the input's own entry and zeros: torch's conventions (ties share
# the gradient; a product's slope is the product of the others, zeros included)
TIE_X = np.array([[1.0, 2.0, 0.0], [3.0, 1.0, 5.0]])
TIE_SRC = np.array([[3.0, 2.0, 0.0, 4.0], [1.0, 2.0, 0.5, 5.0]])
TIE_INDEX = [[1, 1, 2, 0], [0, 2, 2, 2]]
SCATTER_CASES += [
    case(f"scatter-reduce-{reduce}-ties", [TIE_X, TIE_SRC],
         lambda x, s, r=reduce: lib(x).scatter_reduce(x, 1, idx(x, TIE_INDEX), s, r),
         gradcheck=False, gradgradcheck=False)
    for reduce in ["amax", "amin", "prod"]
] + [
    case("scatter-reduce-prod-one-zero", [TIE_X, TIE_SRC],
         lambda x, s: x.scatter_reduce(1, idx(x, [[0, 1, 2, 0], [1, 0, 0, 1]]), s, "prod",
                                       include_self=False), gradgradcheck=False),
    case("scatter-reduce-int-mean", [np.array([[4, 7], [1, 2]]), np.array([[1, 2], [3, 5]])],
         lambda x, s: x.scatter_reduce(0, idx(x, [[0, 0], [0, 1]]), s, "mean"), **NO_GRAD),
    case("scatter-reduce-int-amax", [np.array([[4, 7], [1, 2]]), np.array([[1, 9], [3, 5]])],
         lambda x, s: x.scatter_reduce(0, idx(x, [[0, 0], [0, 1]]), s, "amax",
                                       include_self=False), **NO_GRAD),
]  # fmt: skip

CASES: list[Case] = [
    *TRIANGLE_CASES, *REARRANGE_CASES, *REPEAT_CASES, *SELECT_CASES, *SCATTER_CASES,
]  # fmt: skip


@pytest.mark.parametrize("c", [c.param() for c in CASES])
def test_op(c: Case) -> None:
    c.run(gradgradcheck=True)


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids), sorted({i for i in ids if ids.count(i) > 1})


# Public functions of chainrule.ops -> a case calling them
PUBLIC_CASES = {
    "tril": "tril-diagonal", "triu": "triu", "diagonal": "diagonal-offset", "diag": "diag-vector",
    "diag_embed": "diag-embed", "diagflat": "diagflat", "triu_indices": "triu-indices",
    "tril_indices": "tril-indices", "roll": "roll-negative", "movedim": "movedim",
    "moveaxis": "moveaxis", "swapaxes": "swapaxes", "swapdims": "swapdims", "rot90": "rot90",
    "fliplr": "fliplr", "flipud": "flipud", "unflatten": "unflatten-minus1", "unfold": "unfold",
    "tile": "tile", "broadcast_to": "broadcast-to", "broadcast_tensors": "broadcast-tensors",
    "broadcast_shapes": "broadcast-tensors", "atleast_1d": "atleast-1d",
    "atleast_2d": "atleast-2d-many", "atleast_3d": "atleast-3d-list", "hstack": "hstack",
    "vstack": "vstack", "row_stack": "row-stack", "dstack": "dstack",
    "column_stack": "column-stack", "meshgrid": "meshgrid-ij", "block_diag": "block-diag",
    "cartesian_prod": "cartesian-prod", "repeat_interleave": "repeat-interleave-flat",
    "argsort": "argsort", "msort": "msort", "index_select": "index-select-fn", "take": "take",
    "take_along_dim": "take-along-dim", "narrow": "narrow-fn-negative",
    "masked_select": "masked-select-broadcast", "nonzero": "nonzero-fn", "argwhere": "argwhere",
    "scatter": "scatter-fn-dim1", "scatter_reduce": "scatter-reduce-sum-include=True",
}  # fmt: skip


def test_broadcast_shapes_as_torch() -> None:
    assert cr.broadcast_shapes((3, 1), (4,), (2, 1, 1)) == tuple(
        torch.broadcast_shapes((3, 1), (4,), (2, 1, 1))
    )
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        cr.broadcast_shapes((3,), (4,))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: cr.tril(cr.zeros(3)), errors.ShapeError, "at least 2 dimensions"),
        (
            lambda: cr.zeros(3).masked_select(cr.tensor([True, False])),
            errors.ShapeError,
            r"masked_select: shapes \[\(3,\), \(2,\)\] cannot be broadcast",
        ),
        (
            lambda: cr.zeros(2, 3).take_along_dim(cr.tensor([[0], [1], [0]]), 1),
            errors.ShapeError,
            "take_along_dim: shapes",
        ),
        (
            lambda: cr.broadcast_tensors(cr.zeros(2), cr.zeros(3)),
            errors.ShapeError,
            "broadcast_tensors: shapes",
        ),
        (lambda: cr.diagonal(cr.zeros(2, 3), 0, 1, 1), errors.ShapeError, "cannot be identical"),
        (lambda: cr.diag(cr.zeros(2, 2, 2)), errors.ShapeError, "Supports 1D or 2D"),
        (lambda: cr.roll(cr.zeros(3, 4), (1, 2), 0), errors.ArgumentError, "must align"),
        (lambda: cr.zeros(3).unfold(0, 5, 1), errors.ShapeError, "maximum size for tensor"),
        (lambda: cr.zeros(3).unfold(0, 2, 0), errors.ArgumentError, "step is 0"),
        (
            lambda: cr.zeros(3).index_select(0, cr.tensor([[0]])),
            errors.ShapeError,
            "supposed to be a vector",
        ),
        (lambda: cr.zeros(3).index_select(0, cr.tensor([3])), IndexError, "out of range"),
        (lambda: cr.zeros(3).index_select(0, cr.tensor([0.0])), errors.DTypeError, "integer"),
        (lambda: cr.zeros(3).take(cr.tensor([3])), IndexError, "out of range"),
        (lambda: cr.zeros(5).narrow(0, 3, 3), errors.ShapeError, r"start \(3\) \+ length \(3\)"),
        (lambda: cr.zeros(3).masked_select(cr.ones(3)), errors.DTypeError, "BoolTensor"),
        (lambda: cr.zeros(3, 4).unflatten(1, (3, 2)), errors.ShapeError, "don't multiply up"),
        (
            lambda: cr.zeros(3).repeat_interleave(cr.tensor([1, 2])),
            errors.ShapeError,
            "same size as input",
        ),
        (lambda: cr.zeros(3).repeat_interleave(-1), errors.ArgumentError, "can not be negative"),
        (
            lambda: cr.zeros(3, 4).scatter(0, cr.tensor([[3]]), 1.0),
            errors.IndexOutOfRangeError,
            "index 3 is out of bounds for dimension 0 with size 3",
        ),
        (
            lambda: cr.zeros(3, 4).scatter(0, cr.tensor([0]), 1.0),
            errors.ShapeError,
            "same number of dimensions",
        ),
        (
            lambda: cr.zeros(3, 4).scatter(1, cr.tensor([[0, 1]]), cr.ones(1, 1)),
            errors.ShapeError,
            "smaller size than src",
        ),
        (
            lambda: cr.zeros(3, 4).scatter_reduce(0, cr.tensor([[0]]), cr.ones(1, 1), "max"),
            errors.ArgumentError,
            "sum, prod, mean, amax or amin",
        ),
        (lambda: cr.zeros(3, 4).rot90(1, (0, 0)), errors.ArgumentError, "to be different"),
        (lambda: cr.meshgrid(cr.zeros(2, 2)), errors.ShapeError, "0D or 1D"),
        (
            lambda: cr.movedim(cr.zeros(2, 3), (0, 1), 0),
            errors.ArgumentError,
            "same number of dims",
        ),
    ],
)
def test_structure_refuses_with_a_named_error(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def test_tril_of_inf_above_the_diagonal_is_zero_with_zero_gradient() -> None:
    x = cr.tensor([[1.0, np.inf], [2.0, 3.0]], requires_grad=True)
    y = x.tril()
    np.testing.assert_array_equal(y.detach().numpy(), [[1.0, 0.0], [2.0, 3.0]])
    y.sum().backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 0.0], [1.0, 1.0]])


def test_scatter_reduce_amax_shares_ties_with_the_input() -> None:
    x = cr.tensor([2.0, 0.0], requires_grad=True)
    src = cr.tensor([2.0, 1.0, 2.0], requires_grad=True)
    cr.scatter_reduce(x, 0, cr.tensor([0, 0, 0]), src, "amax").sum().backward()
    assert x.grad is not None and src.grad is not None
    np.testing.assert_allclose(x.grad.numpy(), [1 / 3, 1.0])
    np.testing.assert_allclose(src.grad.numpy(), [1 / 3, 0.0, 1 / 3])
