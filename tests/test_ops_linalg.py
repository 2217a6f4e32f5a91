"""Products and linear algebra against PyTorch and finite differences: einsum (every part of its
equation syntax), bmm/addmm/..., tensordot, kron, cross, trace, cdist, and `cr.linalg` (norms,
inv, det, slogdet, solve, cholesky).

Each case is one line (helpers.case): forward and the gradient of a random upstream gradient
compared with torch in float64, gradcheck, and gradgradcheck unless the case says otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import Case, case, graph_primitives, lib

import chainrule as cr
from chainrule import errors

RNG = np.random.default_rng(12)
# Well-conditioned square matrices (a random part plus 3 I), so inverses and solves are tame.
WELL = RNG.uniform(-1, 1, (3, 3)) + 3 * np.eye(3)
WELL_BATCH = RNG.uniform(-1, 1, (2, 3, 3)) + 3 * np.eye(3)
NO_GRAD = {"grad": False, "gradcheck": False, "gradgradcheck": False}


def spd(m):  # a symmetric positive-definite matrix from any square m, on either library
    return m @ m.mT + 3 * lib(m).eye(m.shape[-1], dtype=m.dtype)


def svd_invariants(usv):  # S and each u_j v_j^T: independent of the signs LAPACK picks
    u, s, vh = usv
    return s, u[..., :, :, None] * vh[..., None, :, :]


def projection(q):  # q q^T: independent of the signs of q's columns
    return q @ q.mT


EINSUM_CASES = [
    case("einsum-matmul", [(2, 3), (3, 4)], lambda a, b: lib(a).einsum("ij,jk->ik", a, b),
         float32=True),
    case("einsum-implicit", [(2, 3), (3, 4)], lambda a, b: lib(a).einsum("ij,jk", a, b)),
    case("einsum-implicit-order", [(2, 3), (2,)], lambda a, b: lib(a).einsum("ba,b", a, b)),
    case("einsum-implicit-upper-first", [(2, 3), (3, 4)],
         lambda a, b: lib(a).einsum("aB,Bc", a, b)),
    case("einsum-batch-ellipsis", [(2, 1, 3, 4), (5, 4, 2)],
         lambda a, b: lib(a).einsum("...ij,...jk", a, b)),
    case("einsum-ellipsis-explicit", [(2, 3, 4)], lambda a: lib(a).einsum("i...j->j...i", a)),
    case("einsum-ellipsis-summed", [(2, 3, 4)], lambda a: lib(a).einsum("i...->i", a)),
    case("einsum-ellipsis-empty", [(3, 4), (4,)], lambda a, b: lib(a).einsum("...j,j", a, b)),
    case("einsum-trace", [(3, 3)], lambda a: lib(a).einsum("ii", a)),
    case("einsum-diagonal", [(3, 3)], lambda a: lib(a).einsum("ii->i", a)),
    case("einsum-batch-diagonal", [(2, 3, 3)], lambda a: lib(a).einsum("bii->bi", a)),
    case("einsum-repeated-three", [(2, 2, 2), (2,)], lambda a, b: lib(a).einsum("iii,i->", a, b)),
    case("einsum-outer", [(3,), (4,)], lambda a, b: lib(a).einsum("i,j->ij", a, b)),
    case("einsum-sum-all", [(3, 4)], lambda a: lib(a).einsum("ij->", a)),
    case("einsum-transpose", [(3, 4)], lambda a: lib(a).einsum("ij->ji", a)),
    case("einsum-own-subscript", [(2, 3, 4), (4,)], lambda a, b: lib(a).einsum("ijk,k->i", a, b)),
    case("einsum-three", [(2, 3), (3, 4), (4, 5)],
         lambda a, b, c: lib(a).einsum("ij,jk,kl->il", a, b, c)),
    case("einsum-list", [(2, 3), (3, 4)], lambda a, b: lib(a).einsum("ij,jk", [a, b])),
    case("einsum-sublist", [(2, 3), (3, 4)],
         lambda a, b: lib(a).einsum(a, [0, 1], b, [1, 2], [0, 2])),
    case("einsum-sublist-implicit", [(2, 3), (3,)], lambda a, b: lib(a).einsum(a, [0, 1], b, [1])),
    case("einsum-spaces", [(2, 3), (3, 4)], lambda a, b: lib(a).einsum("i j , j k -> i k", a, b)),
    case("einsum-broadcast-size1", [(3, 1), (3, 4)], lambda a, b: lib(a).einsum("ij,ij->ij", a, b)),
    case("einsum-scalar", [(), (3,)], lambda a, b: lib(a).einsum(",i->i", a, b)),
    case("einsum-bilinear", [(2, 3), (4, 3, 5), (2, 5)],
         lambda a, w, b: lib(a).einsum("bi,kij,bj->bk", a, w, b)),
]  # fmt: skip

PRODUCT_CASES = [
    case("bmm", [(2, 3, 4), (2, 4, 5)], lambda a, b: lib(a).bmm(a, b), float32=True),
    case("bmm-method", [(2, 3, 4), (2, 4, 1)], lambda a, b: a.bmm(b)),
    case("mv", [(3, 4), (4,)], lambda a, b: lib(a).mv(a, b)),
    case("mv-method", [(3, 4), (4,)], lambda a, b: a.mv(b)),
    case("addmm", [(3,), (2, 4), (4, 3)], lambda c, a, b: lib(a).addmm(c, a, b)),
    case("addmm-scaled", [(2, 3), (2, 4), (4, 3)],
         lambda c, a, b: lib(a).addmm(c, a, b, beta=0.5, alpha=-2.0)),
    case("addmm-method", [(1, 3), (2, 4), (4, 3)], lambda c, a, b: c.addmm(a, b, alpha=3)),
    case("addmm-beta0-ignores-nan", [np.full((2, 3), np.nan), (2, 4), (4, 3)],
         lambda c, a, b: lib(a).addmm(c, a, b, beta=0), const=(0,)),
    case("addmv", [(3,), (3, 4), (4,)], lambda c, a, b: lib(a).addmv(c, a, b, beta=2, alpha=0.5)),
    case("baddbmm", [(2, 3, 5), (2, 3, 4), (2, 4, 5)],
         lambda c, a, b: lib(a).baddbmm(c, a, b, beta=0.5, alpha=2)),
    case("baddbmm-method", [(3, 5), (2, 3, 4), (2, 4, 5)], lambda c, a, b: c.baddbmm(a, b)),
    case("outer", [(3,), (4,)], lambda a, b: lib(a).outer(a, b)),
    case("outer-method", [(3,), (4,)], lambda a, b: a.outer(b)),
    case("ger", [(3,), (2,)], lambda a, b: lib(a).ger(a, b)),
    case("inner-matrices", [(2, 3), (4, 3)], lambda a, b: lib(a).inner(a, b)),
    case("inner-vectors", [(3,), (3,)], lambda a, b: a.inner(b)),
    case("inner-scalar", [(), (2, 3)], lambda a, b: lib(a).inner(a, b)),
    case("inner-3d", [(2, 3, 4), (5, 4)], lambda a, b: lib(a).inner(a, b)),
    case("tensordot-2", [(2, 3, 4), (3, 4, 5)], lambda a, b: lib(a).tensordot(a, b)),
    case("tensordot-pairs", [(2, 3, 4), (4, 2)],
         lambda a, b: lib(a).tensordot(a, b, dims=([0, 2], [1, 0]))),
    case("tensordot-0", [(2, 3), (4,)], lambda a, b: lib(a).tensordot(a, b, dims=0)),
    case("tensordot-int-pair", [(2, 3), (3, 4)], lambda a, b: lib(a).tensordot(a, b, ([1], [0]))),
    case("kron", [(2, 3), (3, 2)], lambda a, b: lib(a).kron(a, b)),
    case("kron-mixed-dims", [(2,), (2, 3)], lambda a, b: lib(a).kron(a, b)),
    case("kron-method", [(2, 2), (2, 2)], lambda a, b: a.kron(b)),
    case("cross-dim", [(4, 3), (4, 3)], lambda a, b: lib(a).cross(a, b, dim=1)),
    case("cross-dim0", [(3, 2), (3, 2)], lambda a, b: a.cross(b, dim=0)),
    case("cross-default-dim", [(3, 3), (3, 3)], lambda a, b: lib(a).cross(a, b, None),
         marks=pytest.mark.filterwarnings("ignore:Using torch.cross without")),
    case("linalg-cross-broadcast", [(1, 3), (4, 3)], lambda a, b: lib(a).linalg.cross(a, b)),
    case("trace", [(3, 4)], lambda a: lib(a).trace(a)),
    case("trace-method", [(3, 3)], lambda a: a.trace()),
    case("multi-dot", [(3,), (3, 4), (4, 2)],
         lambda a, b, c: lib(a).linalg.multi_dot([a, b, c])),
    case("linalg-matmul", [(2, 3), (3,)], lambda a, b: lib(a).linalg.matmul(a, b)),
]  # fmt: skip

# Rows of x1 equal to rows of x2: zero distances, where torch's p=2 gradient is 0 (a kink, so
# finite differences are not asked).
SAME_ROWS = RNG.uniform(-1, 1, (3, 2))
DISTANCE_CASES = [
    case("cdist", [(4, 3), (5, 3)], lambda a, b: lib(a).cdist(a, b), float32=True),
    case("cdist-batched", [(2, 4, 3), (2, 5, 3)], lambda a, b: lib(a).cdist(a, b)),
    case("cdist-broadcast-batch", [(1, 4, 3), (2, 5, 3)], lambda a, b: lib(a).cdist(a, b)),
    case("cdist-p1", [(4, 3), (5, 3)], lambda a, b: lib(a).cdist(a, b, p=1)),
    case("cdist-p3", [(4, 3), (5, 3)], lambda a, b: lib(a).cdist(a, b, p=3.0)),
    case("cdist-pinf", [(4, 3), (5, 3)], lambda a, b: lib(a).cdist(a, b, p=math.inf),
         gradgradcheck=False),
    case("cdist-zero-distance", [SAME_ROWS, SAME_ROWS.copy()], lambda a, b: lib(a).cdist(a, b),
         gradcheck=False, gradgradcheck=False),
    case("dist", [(3, 4), (3, 4)], lambda a, b: lib(a).dist(a, b)),
    case("dist-p1-broadcast", [(3, 4), (4,)], lambda a, b: a.dist(b, p=1)),
    case("dist-p3", [(3, 4), (3, 4)], lambda a, b: lib(a).dist(a, b, 3)),
]  # fmt: skip

NORM_CASES = [
    case("vector-norm", [(3, 4)], lambda a: lib(a).linalg.vector_norm(a), float32=True),
    case("vector-norm-dim", [(3, 4)], lambda a: lib(a).linalg.vector_norm(a, 1, dim=1)),
    case("vector-norm-tuple-keepdim", [(2, 3, 4)],
         lambda a: lib(a).linalg.vector_norm(a, 3, dim=(0, 2), keepdim=True)),
    case("vector-norm-inf", [(3, 4)], lambda a: lib(a).linalg.vector_norm(a, math.inf, 0),
         gradgradcheck=False),
    case("vector-norm-minus-inf", [(3, 4)], lambda a: lib(a).linalg.vector_norm(a, -math.inf),
         gradgradcheck=False),
    # torch leaves the 0-"norm" (a count) without a gradient (None), chainrule gives zeros: the
    # values agree, and finite differences (0) check ours
    case("vector-norm-0", [(3, 4)], lambda a: lib(a).linalg.vector_norm(a, 0, dim=1), grad=False),
    case("matrix-norm-fro", [(2, 3, 4)], lambda a: lib(a).linalg.matrix_norm(a)),
    case("matrix-norm-inf", [(2, 3, 4)], lambda a: lib(a).linalg.matrix_norm(a, math.inf),
         gradgradcheck=False),
    case("matrix-norm-minus-inf", [(3, 4)], lambda a: lib(a).linalg.matrix_norm(a, -math.inf),
         gradgradcheck=False),
    case("matrix-norm-1-keepdim", [(2, 3, 4)],
         lambda a: lib(a).linalg.matrix_norm(a, 1, keepdim=True), gradgradcheck=False),
    case("matrix-norm-minus-1-dims", [(3, 2, 4)],
         lambda a: lib(a).linalg.matrix_norm(a, -1, dim=(0, 2)), gradgradcheck=False),
    case("linalg-norm", [(2, 3, 4)], lambda a: lib(a).linalg.norm(a)),
    case("linalg-norm-dim", [(3, 4)], lambda a: lib(a).linalg.norm(a, dim=1)),
    case("linalg-norm-ord-vector", [(5,)], lambda a: lib(a).linalg.norm(a, 1)),
    case("linalg-norm-ord-matrix", [(3, 4)], lambda a: lib(a).linalg.norm(a, "fro")),
    case("linalg-norm-matrix-dims", [(2, 3, 4)],
         lambda a: lib(a).linalg.norm(a, math.inf, dim=(1, 2), keepdim=True),
         gradgradcheck=False),
]  # fmt: skip

MATRIX_CASES = [
    case("inv", [WELL], lambda a: lib(a).linalg.inv(a), float32=True),
    case("inv-batch", [WELL_BATCH], lambda a: lib(a).linalg.inv(a)),
    case("inverse", [WELL], lambda a: lib(a).inverse(a)),
    case("inverse-method", [WELL], lambda a: a.inverse()),
    case("det", [(3, 3)], lambda a: lib(a).linalg.det(a), float32=True),
    case("det-batch", [(2, 3, 3)], lambda a: lib(a).det(a)),
    case("det-method", [(2, 2)], lambda a: a.det()),
    case("slogdet", [(3, 3)], lambda a: lib(a).linalg.slogdet(a)),
    case("slogdet-batch", [(2, 3, 3)], lambda a: lib(a).slogdet(a)),
    case("slogdet-logabsdet", [(3, 3)], lambda a: a.slogdet().logabsdet),
    case("solve", [WELL, (3, 2)], lambda a, b: lib(a).linalg.solve(a, b), float32=True),
    case("solve-vector", [WELL, (3,)], lambda a, b: lib(a).linalg.solve(a, b)),
    case("solve-batched-vectors", [WELL_BATCH, (2, 3)], lambda a, b: lib(a).linalg.solve(a, b)),
    case("solve-broadcast", [WELL_BATCH, (3, 4)], lambda a, b: lib(a).linalg.solve(a, b)),
    case("solve-right", [WELL, (2, 3)], lambda a, b: lib(a).linalg.solve(a, b, left=False)),
    case("cholesky", [(3, 3)], lambda m: lib(m).linalg.cholesky(spd(m))),
    case("cholesky-method", [(3, 3)], lambda m: spd(m).cholesky(True),
         marks=pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")),
    case("cholesky-batch-upper", [(2, 3, 3)],
         lambda m: lib(m).linalg.cholesky(spd(m), upper=True)),
    case("qr-tall", [(4, 3)], lambda a: lib(a).linalg.qr(a), float32=True),
    case("qr-square-batch", [(2, 3, 3)], lambda a: lib(a).linalg.qr(a)),
    case("qr-q-only", [(5, 2)], lambda a: lib(a).linalg.qr(a).Q),
    case("qr-r-only", [(4, 3)], lambda a: lib(a).linalg.qr(a)[1]),
    case("qr-complete-square", [(3, 3)], lambda a: lib(a).linalg.qr(a, mode="complete")),
    # Singular vectors are defined up to a sign per pair (u_j, v_j), and LAPACK's choice need not
    # be torch's, so the cases compare what does not depend on it: S, the products u_j v_j^T,
    # and projections U U^T, V V^T.
    case("svd-reduced-tall", [(4, 3)], lambda a: svd_invariants(lib(a).linalg.svd(a, False)),
         float32=True),
    case("svd-reduced-wide-batch", [(2, 2, 4)],
         lambda a: svd_invariants(lib(a).linalg.svd(a, full_matrices=False))),
    case("svd-square-full", [(3, 3)], lambda a: svd_invariants(lib(a).linalg.svd(a))),
    case("svd-u-only", [(5, 2)], lambda a: projection(lib(a).linalg.svd(a, False).U)),
    case("svd-vh-only-wide", [(2, 5)], lambda a: projection(lib(a).linalg.svd(a, False)[2].mT)),
    case("svd-s-only", [(3, 4)], lambda a: lib(a).linalg.svd(a, False).S),
    case("svdvals", [(4, 3)], lambda a: lib(a).linalg.svdvals(a)),
    case("matrix-norm-nuc", [(2, 3, 4)], lambda a: lib(a).linalg.matrix_norm(a, "nuc")),
    case("matrix-norm-2-keepdim-dims", [(3, 2, 4)],
         lambda a: lib(a).linalg.matrix_norm(a, 2, dim=(2, 0), keepdim=True)),
    case("matrix-norm-minus-2", [(3, 4)], lambda a: lib(a).linalg.matrix_norm(a, -2)),
    case("linalg-norm-nuc", [(3, 3)], lambda a: lib(a).linalg.norm(a, "nuc")),
    # Only the lower triangle is read (forward agrees with torch); the gradient is torch's
    # symmetric one, which finite differences of a one-sided input do not see, so torch checks it
    case("cholesky-lower-triangle-only", [(3, 3)],
         lambda m: lib(m).linalg.cholesky(lib(m).tril(spd(m))), gradcheck=False),
]  # fmt: skip

CASES: list[Case] = [
    *EINSUM_CASES, *PRODUCT_CASES, *DISTANCE_CASES, *NORM_CASES, *MATRIX_CASES,
]  # fmt: skip


@pytest.mark.parametrize("c", [c.param() for c in CASES])
def test_op(c: Case) -> None:
    c.run(gradgradcheck=True)


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids), sorted({i for i in ids if ids.count(i) > 1})


# Public functions of chainrule.ops -> a case calling them
PUBLIC_CASES = {
    "einsum": "einsum-matmul", "bmm": "bmm", "mv": "mv", "addmm": "addmm", "addmv": "addmv",
    "baddbmm": "baddbmm", "outer": "outer", "ger": "ger", "inner": "inner-matrices",
    "tensordot": "tensordot-2", "kron": "kron", "cross": "cross-dim", "trace": "trace",
}  # fmt: skip


# -- einsum's errors name the subscript, the operand and the sizes -----------------------------
@pytest.mark.parametrize(
    ("equation", "shapes", "message"),
    [
        ("ij,jk", [(2, 3), (4, 5)], "subscript 'j' has size 3 in operand 0 but 4 in operand 1"),
        ("ij,jk", [(2, 3)], "fewer operands were provided"),
        ("i", [(2,), (2,)], "more operands were provided"),
        ("ij", [(2,)], r"number of subscripts in the equation \(2\) does not match"),
        ("i.j", [(2, 3)], "not part of any ellipsis"),
        ("...i...", [(2, 3)], "an ellipsis was already found"),
        ("i1", [(2, 3)], "invalid subscript '1' given at index 1"),
        ("ij->ii", [(2, 3)], "output subscript i appears more than once"),
        ("ij->k", [(2, 3)], "output subscript k does not appear"),
        ("ii", [(2, 3)], "subscript i is repeated for operand 0 but the sizes don't match"),
        ("ij->i->j", [(2, 3)], "misplaced"),
    ],
)
def test_einsum_refuses_malformed_equations(equation, shapes, message) -> None:
    with pytest.raises(RuntimeError, match=message):
        cr.einsum(equation, *[cr.zeros(s) for s in shapes])


def test_einsum_promotes_dtypes_as_torch() -> None:
    a = cr.ones(2, 3)
    b = cr.ones(3, dtype=cr.float64)
    assert cr.einsum("ij,j->i", a, b).dtype == cr.float64
    ints = cr.tensor([[1, 2], [3, 4]])
    assert cr.einsum("ij,jk", ints, ints).dtype == cr.int64
    np.testing.assert_array_equal(cr.einsum("ij,jk", ints, ints).numpy(), [[7, 10], [15, 22]])


def test_einsum_gradient_under_create_graph_is_an_einsum() -> None:
    a = cr.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    b = cr.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    (ga,) = cr.autograd.grad(cr.einsum("ij,jk->", a, b), [a], create_graph=True)
    # an einsum of g with b, then reshaped and copied along 'i' (a's alone)
    assert graph_primitives(ga) == {"Einsum", "Reshape", "Expand"}


# -- products: errors where torch has them -----------------------------------------------------
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cr.bmm(cr.zeros(3, 4), cr.zeros(3, 4, 5)), "batch1 must be a 3D tensor"),
        (lambda: cr.bmm(cr.zeros(2, 3, 4), cr.zeros(3, 4, 5)), r"batch2 tensor to be: \[2, 4\]"),
        (lambda: cr.mv(cr.zeros(3, 4), cr.zeros(5)), r"size mismatch, got input \(3x4\)"),
        (lambda: cr.addmm(cr.zeros(5), cr.zeros(2, 4), cr.zeros(4, 3)), "does not broadcast"),
        (lambda: cr.cross(cr.zeros(4, 2), cr.zeros(4, 2)), "no dimension of size 3"),
        (lambda: cr.cross(cr.zeros(4, 3), cr.zeros(4, 3), dim=0), "size 3 in dim 0"),
        (lambda: cr.trace(cr.zeros(3)), "expected a matrix"),
        (lambda: cr.tensordot(cr.zeros(2, 3), cr.zeros(4, 5), 1), "contracted dimensions"),
        (lambda: cr.cdist(cr.zeros(3), cr.zeros(2, 3)), "at least 2D"),
        (lambda: cr.cdist(cr.zeros(2, 3), cr.zeros(2, 4)), "same number of columns"),
    ],
)
def test_products_refuse_mismatched_shapes(call, message) -> None:
    with pytest.raises(RuntimeError, match=message):
        call()


def test_bmm_refuses_mixed_dtypes_as_torch() -> None:
    with pytest.raises(errors.DTypeError, match="same dtype"):
        cr.bmm(cr.zeros(1, 2, 2), cr.zeros(1, 2, 2, dtype=cr.float64))


def test_cdist_gradient_at_zero_distance_is_zero() -> None:
    x = cr.tensor(SAME_ROWS, requires_grad=True)
    cr.cdist(x, cr.tensor(SAME_ROWS)).diagonal().sum().backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros_like(SAME_ROWS))


# -- linalg: errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cr.linalg.inv(cr.zeros(3, 4)), "square matrices, but they are 3 by 4"),
        (lambda: cr.linalg.inv(cr.zeros(3, 3)), "singular"),
        (lambda: cr.linalg.solve(cr.eye(3), cr.zeros(4, 2)), r"AX = B \(3x3 and 4x2\)"),
        (lambda: cr.linalg.solve(cr.zeros(2, 2), cr.zeros(2)), "singular"),
        (lambda: cr.linalg.cholesky(-cr.eye(2)), "not positive-definite"),
        (lambda: cr.linalg.vector_norm(cr.arange(3)), "Expected a floating point"),
        (lambda: cr.linalg.norm(cr.zeros(2, 3, 4), ord=2), "must be 1D or 2D. Got 3D"),
        (lambda: cr.linalg.matrix_norm(cr.zeros(3)), "at least 2 dimensions"),
        (lambda: cr.linalg.matrix_norm(cr.zeros(3, 3), 3), "Order 3 not supported"),
        (lambda: cr.det(cr.zeros(2, 3)), "square matrices"),
    ],
)
def test_linalg_refuses_with_torch_messages(call, message) -> None:
    with pytest.raises(RuntimeError, match=message):
        call()


def test_slogdet_of_a_singular_matrix_and_its_sign() -> None:
    a = torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=torch.float64)
    sign, logabs = cr.linalg.slogdet(cr.tensor(a.numpy()))
    t_sign, t_logabs = torch.linalg.slogdet(a)
    assert sign.item() == t_sign.item() == 0.0
    assert logabs.item() == t_logabs.item() == -math.inf
    sign, _ = cr.linalg.slogdet(cr.tensor([[0.0, 1.0], [1.0, 0.0]]))
    assert sign.item() == -1.0


def test_qr_forward_only_modes_match_torch_values() -> None:
    wide = RNG.standard_normal((2, 4))
    tall = RNG.standard_normal((4, 2))
    for a, mode in [(wide, "reduced"), (tall, "complete"), (tall, "r")]:
        q, r = cr.linalg.qr(cr.tensor(a), mode=mode)
        tq, tr = torch.linalg.qr(torch.from_numpy(a), mode=mode)
        assert tuple(q.shape) == tuple(tq.shape)
        np.testing.assert_allclose(q.numpy(), tq.numpy(), atol=1e-12)
        np.testing.assert_allclose(r.numpy(), tr.numpy(), atol=1e-12)
    with pytest.raises(RuntimeError, match="unrecognized mode 'full'"):
        cr.linalg.qr(cr.tensor(tall), mode="full")
