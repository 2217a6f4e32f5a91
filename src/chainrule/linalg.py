"""`cr.linalg`, as torch.linalg: norms (vector, matrix, both), inverse, determinant, slogdet,
solve, Cholesky, QR, SVD, cross, matmul and multi_dot; and the distances torch keeps at the
top level (`cr.cdist`, `cr.dist`), which are norms of differences.

Matrices are the last two dims; leading dims are a batch. The matrix functions are primitives
(`primitives/structure.py`, closed-form adjoints); the norms and distances are compositions of
the Norm primitive (gradient 0 at the zero vector, as torch's) and reductions.

>>> import chainrule as cr
>>> cr.linalg.det(cr.tensor([[2.0, 1.0], [1.0, 3.0]]))
tensor(5.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Generic, NamedTuple

import numpy as np

from chainrule import ops
from chainrule.errors import ArgumentError, DTypeError, ShapeError
from chainrule.ops.linalg import cross as _cross
from chainrule.ops.promotion import result_type
from chainrule.primitives.binary import Sub, Where
from chainrule.primitives.elementwise import Cast
from chainrule.primitives.reduction import Norm, normalize_dims
from chainrule.primitives.structure import Cholesky, Det, Inv, LogAbsDet, Qr, Solve, Svd
from chainrule.tensor_base import TensorBase as Tensor  # the tensor layer types against the base
from chainrule.tensor_base import TensorT

matmul = ops.matmul


class QR(NamedTuple, Generic[TensorT]):
    """What qr returns, as torch's: (Q, R)."""

    Q: TensorT
    R: TensorT


class SVD(NamedTuple, Generic[TensorT]):
    """What svd returns, as torch's: (U, S, Vh)."""

    U: TensorT
    S: TensorT
    Vh: TensorT


class sign_logabsdet(NamedTuple, Generic[TensorT]):
    """What slogdet returns, as torch's: (sign, logabsdet)."""

    sign: TensorT
    logabsdet: TensorT


# -- norms ------------------------------------------------------------------------------------
def _float_input(op: str, x: TensorT, dtype: Any = None) -> TensorT:
    x = ops.as_tensor(x)
    if dtype is not None:
        x = ops.to(x, dtype)
    if x.dtype.kind not in "fc":
        raise DTypeError(
            f"{op}: Expected a floating point or complex tensor as input. Got {x.dtype}"
        )
    return x


def vector_norm(x: TensorT, ord: float = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> TensorT:  # fmt: skip
    """The vector ord-norm over dim (all elements by default): inf is max |x|, -inf min |x|,
    0 the count of nonzeros."""
    x = _float_input("linalg.vector_norm", x, dtype)
    if isinstance(ord, str):
        raise ArgumentError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return Norm.apply(x, float(ord), normalize_dims(dim, x.ndim, "linalg.vector_norm"), keepdim)


def matrix_norm(A: TensorT, ord: float | str = "fro", dim: tuple[int, int] = (-2, -1),
                keepdim: bool = False, *, dtype: Any = None) -> TensorT:  # fmt: skip
    """The matrix norm over the two dims `dim`: 'fro', 'nuc' (the sum of singular values),
    inf / -inf (max / min absolute row sum), 1 / -1 (max / min absolute column sum), 2 / -2
    (largest / smallest singular value)."""
    A = _float_input("linalg.matrix_norm", A, dtype)
    if A.ndim < 2:
        raise ShapeError(
            f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got "
            f"shape {tuple(A.shape)}"
        )
    dims = normalize_dims(dim, A.ndim, "linalg.matrix_norm")
    if dims is None or len(dims) != 2 or len(tuple(dim)) != 2:
        raise ArgumentError(f"linalg.matrix_norm: dim must be a 2-tuple of ints, got {dim!r}")
    row, col = (d % A.ndim for d in dim)  # as given: ord=1 sums over dim[0]
    if ord == "fro":
        return Norm.apply(A, 2.0, dims, keepdim)
    if ord in (math.inf, -math.inf, 1, -1):
        summed, kept = (col, row) if abs(ord) == math.inf else (row, col)
        sums = ops.sum(ops.abs(A), summed, keepdim=True)
        extreme = ops.amax(sums, kept, keepdim=True) if ord > 0 else ops.amin(sums, kept, True)
        return extreme if keepdim else ops.squeeze(extreme, dims)
    if ord in ("nuc", 2, -2):  # from the singular values of the matrices over (row, col)
        rest = [d for d in range(A.ndim) if d not in (row, col)]
        s = svdvals(ops.permute(A, (*rest, row, col)))
        pick = ops.amax if ord == 2 else ops.amin
        value = ops.sum(s, -1) if ord == "nuc" else pick(s, -1)
        if keepdim:
            value = ops.unsqueeze(ops.unsqueeze(value, min(dims)), max(dims))
        return value
    raise ArgumentError(
        f"linalg.matrix_norm: Order {ord!r} not supported (supported: 'fro', 'nuc', inf, -inf, "
        f"1, -1, 2, -2)"
    )


def norm(A: TensorT, ord: float | str | None = None, dim: Any = None, keepdim: bool = False,
         *, dtype: Any = None) -> TensorT:  # fmt: skip
    """torch.linalg.norm: a vector norm over one dim (or all, for ord=None), a matrix norm
    over two dims (or a 2-D input given ord)."""
    A = _float_input("linalg.norm", A, dtype)
    if dim is not None:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        if len(dims) == 1:
            if isinstance(ord, str):
                raise ArgumentError(f"linalg.norm: ord {ord!r} is a matrix norm, dim is {dim!r}")
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim)
        raise ArgumentError(f"linalg.norm: dim must be an int or a 2-tuple of ints, got {dim!r}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim)  # type: ignore[arg-type]
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim)
    raise ShapeError(
        f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
        f"Got {A.ndim}D."
    )


def cdist(x1: TensorT, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> TensorT:  # fmt: skip
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M), as
    torch.cdist. Built on the norm of the differences, so the gradient at zero distance is 0
    (torch's), and exact where torch's matrix-product shortcut for p=2 rounds."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise ShapeError(
            f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 got: {x2.ndim}D"
        )
    if x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(
            f"cdist: X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
            f"X2: {x2.shape[-1]} (shapes {tuple(x1.shape)} and {tuple(x2.shape)})"
        )
    if p < 0:
        raise ArgumentError(f"cdist only supports non-negative p values, got p={p}")
    if x1.dtype.kind != "f" or x2.dtype.kind != "f":
        raise DTypeError(f"cdist only supports floating-point dtypes, got {x1.dtype}, {x2.dtype}")
    a = ops.reshape(x1, (*x1.shape[:-1], 1, x1.shape[-1]))  # (..., P, 1, M)
    b = ops.reshape(x2, (*x2.shape[:-2], 1, *x2.shape[-2:]))  # (..., 1, R, M)
    diff = Sub.apply(*_promoted(a, b))
    return Norm.apply(diff, float(p), (diff.ndim - 1,), False)


def dist(input: TensorT, other: Tensor, p: float = 2) -> TensorT:
    """The p-norm of input - other (they broadcast)."""
    diff = Sub.apply(*_promoted(ops.as_tensor(input), ops.as_tensor(other)))
    return Norm.apply(diff, float(p), None, False)


def _promoted(*tensors: Tensor) -> list[Any]:
    dtype = result_type(*tensors)
    return [t if dtype is None or t.dtype == dtype else Cast.apply(t, dtype) for t in tensors]


def cross(input: TensorT, other: Tensor, *, dim: int = -1) -> TensorT:
    """torch.linalg.cross: the cross product of 3-vectors along dim (the last by default)."""
    return _cross(input, other, dim)


def multi_dot(tensors: Sequence[TensorT]) -> TensorT:
    """A chain of matrix products; the first may be a row vector, the last a column."""
    if len(tensors) < 2:
        raise ArgumentError(
            f"linalg.multi_dot(): expected at least 2 tensors but got {len(tensors)}"
        )
    out = tensors[0]
    for t in tensors[1:]:
        out = ops.matmul(out, t)
    return out


# -- matrix functions -------------------------------------------------------------------------
def _square(op: str, A: TensorT) -> TensorT:
    A = _float_input(op, A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        rows, cols = (A.shape[-2], A.shape[-1]) if A.ndim >= 2 else (A.numel(), 1)
        raise ShapeError(
            f"{op}: A must be batches of square matrices, but they are {rows} by {cols} "
            f"matrices (shape {tuple(A.shape)})"
        )
    return A


def inv(A: TensorT) -> TensorT:
    """The inverse of square matrices; a singular one raises (a RuntimeError, as torch)."""
    return Inv.apply(_square("linalg.inv", A))


def det(A: TensorT) -> TensorT:
    """The determinant of square matrices."""
    return Det.apply(_square("linalg.det", A))


def slogdet(A: TensorT) -> sign_logabsdet[TensorT]:
    """(sign, log |det A|): the determinant without overflow. The sign is piecewise constant,
    so its gradient is 0 (it is selected from the constant, as torch, which records it too)."""
    A = _square("linalg.slogdet", A)
    logabsdet = LogAbsDet.apply(A)
    sign = np.asarray(np.linalg.slogdet(A._data)[0], dtype=A.dtype)
    chosen = np.ones(sign.shape, dtype=bool)
    return sign_logabsdet(Where.apply(chosen, sign, logabsdet), logabsdet)


def solve(A: TensorT, B: TensorT, *, left: bool = True) -> TensorT:
    """X with A X = B (left) or X A = B (left=False); B is a batch of vectors where it has one
    dim fewer than A and the same leading shape (torch's rule), else of matrices."""
    A = _square("linalg.solve", A)
    B = _float_input("linalg.solve", B)
    A, B = _promoted(A, B)
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return ops.transpose(solve(ops.transpose(A, -2, -1), ops.transpose(B, -2, -1)), -2, -1)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    columns = ops.unsqueeze(B, -1) if vector else B
    n = A.shape[-1]
    if columns.ndim < 2 or columns.shape[-2] != n:
        raise ShapeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({A.shape[-2]}x{n} and {'x'.join(map(str, B.shape[-2:]))})"
        )
    try:
        np.broadcast_shapes(tuple(A.shape[:-2]), tuple(columns.shape[:-2]))
    except ValueError:
        raise ShapeError(
            f"linalg.solve: the batch dims of A {tuple(A.shape)} and B {tuple(B.shape)} "
            f"cannot be broadcast"
        ) from None
    X = Solve.apply(A, columns)
    return ops.squeeze(X, -1) if vector else X


def cholesky(A: TensorT, *, upper: bool = False) -> TensorT:
    """L (lower triangular) with L L^T = A for symmetric positive-definite A; only A's lower
    triangle is read. upper=True gives L^T."""
    L = Cholesky.apply(_square("linalg.cholesky", A))
    return ops.transpose(L, -2, -1) if upper else L


def qr(A: TensorT, mode: str = "reduced") -> QR[TensorT]:
    """A = Q R with Q's columns orthonormal and R upper triangular. mode 'reduced' (Q: m x k,
    R: k x n, k = min(m, n)), 'complete' (Q: m x m) or 'r' (R only; Q is empty). Gradients
    flow for tall or square A (m >= n), through Q, R or both; a wide A, and 'complete' with
    m > n, are forward only (as torch, which refuses the latter's gradient)."""
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(
            f"linalg.qr: qr received unrecognized mode '{mode}' but expected one of 'reduced' "
            f"(default), 'r', or 'complete'"
        )
    A = _float_input("linalg.qr", A)
    if A.ndim < 2:
        raise ShapeError(
            f"linalg.qr: The input tensor A must have at least 2 dimensions, got {A.ndim}"
        )
    m, n = A.shape[-2:]
    if mode == "complete" and m > n:
        q, r = np.linalg.qr(A._data, mode="complete")
        return QR(A._make(q), A._make(r))
    if m < n:  # no gradient rule here yet: the values only
        q, r = np.linalg.qr(A._data, mode="reduced")
        Q, R = A._make(q), A._make(r)
    else:
        Q, R = Qr.apply(A)
    if mode == "r":
        return QR(A._make(np.zeros((0,), dtype=A.dtype)), R)
    return QR(Q, R)


def svd(A: TensorT, full_matrices: bool = True) -> SVD[TensorT]:
    """A = U diag(S) Vh, singular values descending. With full_matrices (torch's default) U and
    Vh are square; gradients flow where they are reduced (full_matrices=False, or a square A),
    and a non-square full SVD is forward only (torch refuses that gradient too)."""
    A = _float_input("linalg.svd", A)
    if A.ndim < 2:
        raise ShapeError(
            f"linalg.svd: The input tensor A must have at least 2 dimensions, got {A.ndim}"
        )
    m, n = A.shape[-2:]
    if full_matrices and m != n:
        u, s, vh = np.linalg.svd(A._data, full_matrices=True)
        return SVD(A._make(u), A._make(s), A._make(vh))
    U, S, Vh = Svd.apply(A)
    return SVD(U, S, Vh)


def svdvals(A: TensorT) -> TensorT:
    """The singular values of A, descending (their gradient is U diag(g) Vh)."""
    return svd(A, full_matrices=False).S
