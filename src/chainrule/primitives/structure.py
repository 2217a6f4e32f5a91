"""The primitives of the structure area: inverse, determinant, log |det|, solve, Cholesky,
QR and SVD (LAPACK calls, not built of other primitives, each with its closed-form adjoint),
and scatter_reduce's amax/amin/prod (torch's conventions for ties and zeros). Backward rules
are written with matrix products and the rules here, so that they run on arrays and, recorded,
on Tensors for second derivatives.

Matrices are the last two dims; leading dims are a batch.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import namespace
from chainrule.errors import ArgumentError
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.rules import G, Rule
from chainrule.tensor_base import TensorBase


def _is_tensor(*values: Any) -> bool:
    return any(isinstance(v, TensorBase) for v in values)


def inv_any(a: Any) -> Any:
    return Inv.apply(a) if _is_tensor(a) else Inv.forward(dual._NoSave(), a)


def solve_any(a: Any, b: Any) -> Any:
    return Solve.apply(a, b) if _is_tensor(a, b) else Solve.forward(dual._NoSave(), a, b)


def _singular(op: str, a: Any) -> ArgumentError:
    # torch raises torch.linalg.LinAlgError, a RuntimeError; ArgumentError is one (and a
    # ValueError, as NumPy's LinAlgError)
    return ArgumentError(
        f"{op}: the input of shape {tuple(a.shape)} is singular (or not positive-definite for "
        f"cholesky), so the operation could not be completed"
    )


class Inv(Primitive):
    rule = Rule(
        "d(A^-1) = -A^-1 dA A^-1, so the gradient is sandwiched between transposed inverses",
        "y = A^-1",
        "Y = A^{-1}",
        a=("dL/dA = -Y^T g Y^T", G % "A" + r" = -Y^{\top} g\, Y^{\top}"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        xp = namespace(a)
        try:
            y = xp.linalg.inv(a)
        except xp.linalg.LinAlgError:
            raise _singular("linalg.inv", a) from None
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        yt = y.mT
        return (-(yt @ g @ yt),)


class Det(Primitive):
    """Jacobi's formula; the gradient needs A invertible (a singular A raises at backward)."""

    rule = Rule(
        "Jacobi's formula: d det A = det A tr(A^-1 dA)",
        "y = det A",
        r"y = \det A",
        a=("dL/dA = g det(A) A^-T", G % "A" + r" = g \det(A)\, A^{-\top}"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        y = namespace(a).linalg.det(a)
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, y = ctx.saved_tensors
        scale = (g * y)[..., None, None]
        return (scale * inv_any(a).mT,)


class LogAbsDet(Primitive):
    """The differentiable half of slogdet (its sign is a constant)."""

    rule = Rule(
        "d log|det A| = tr(A^-1 dA)",
        "y = log |det A|",
        r"y = \log\lvert\det A\rvert",
        a=("dL/dA = g A^-T", G % "A" + r" = g\, A^{-\top}"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        ctx.save_for_backward(a)
        return namespace(a).linalg.slogdet(a)[1]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (a,) = ctx.saved_tensors
        return (g[..., None, None] * inv_any(a).mT,)


class Solve(Primitive):
    """b is a batch of matrices (..., n, k); vectors are made columns by the front door."""

    rule = Rule(
        "X = A^-1 B: B's gradient solves with A^T, and A's is minus that times X^T",
        "X = solve(A, B)",
        "X = A^{-1} B",
        a=("dL/dA = -solve(A^T, g) X^T", G % "A" + r" = -A^{-\top} g\, X^{\top}"),
        b=("dL/dB = solve(A^T, g)", G % "B" + r" = A^{-\top} g"),
    )

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        xp = namespace(a)
        try:
            x = xp.linalg.solve(a, b)
        except xp.linalg.LinAlgError:
            raise _singular("linalg.solve", a) from None
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, x = ctx.saved_tensors
        gb = solve_any(a.mT, g)
        need_a, _ = ctx.needs_input_grad
        return (-(gb @ x.mT) if need_a else None), gb


class Cholesky(Primitive):
    """Only A's lower triangle is read (torch's convention), so the gradient is symmetrised."""

    rule = Rule(
        "A = L L^T: the adjoint of a triangular factor (Murray, 2016)",
        "L = cholesky(A)",
        r"L L^{\top} = A",
        a=(
            "dL/dA = sym(L^-T Φ(L^T g) L^-1), Φ = lower triangle with halved diagonal",
            G % "A" + r" = \mathrm{sym}\big(L^{-\top}\,\Phi(L^{\top} g)\,L^{-1}\big)",
        ),
    )

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        xp = namespace(a)
        try:
            y = xp.linalg.cholesky(a)
        except xp.linalg.LinAlgError:
            raise _singular("linalg.cholesky", a) from None
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        n = y.shape[-1]
        xp = namespace(y._data if isinstance(y, TensorBase) else y)
        lower = xp.tril(xp.ones((n, n), dtype=bool))
        half = xp.where(xp.eye(n, dtype=bool), 0.5, 1.0)
        phi = dual.where(lower, y.mT @ g, 0.0) * half
        y_inv = inv_any(y)
        s = y_inv.mT @ phi @ y_inv
        return ((s + s.mT) * 0.5,)


def _data(a: Any) -> Any:
    return a._data if isinstance(a, TensorBase) else a


_UFUNC = {"amax": "maximum", "amin": "minimum", "prod": "multiply"}


def scatter_reduce_any(x: Any, src: Any, key: Any, reduce: str, include_self: bool) -> Any:
    if _is_tensor(x, src):
        return ScatterReduce.apply(x, src, key, reduce, include_self)
    return ScatterReduce.forward(dual._NoSave(), x, src, key, reduce, include_self)


class ScatterReduce(Primitive):
    """amax/amin share g evenly among the entries equal to the result (input's own included
    when it takes part), as torch; prod's slope is the product of the others, computed without
    dividing by a zero (torch's scatter_reduce_backward)."""

    rule = Rule(
        "each entry combined into a position gets g times its partial of the reduction there",
        "y = x with src reduced in at key (amax, amin or prod)",
        r"y_p = \mathrm{reduce}(x_p, \{src_i : k_i = p\})",
        x=(
            "dL/dx = g · [x = y]/ties (amax, amin), g · Π others (prod)",
            G % "x" + r" = g\,\partial y / \partial x",
        ),
        src=(
            "dL/dsrc_i = g[k_i] · [src_i = y]/ties, or g[k_i] · Π others",
            G % "src" + r" = g_{k}\,\partial y_{k} / \partial src",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any, src: Any, key: Any, reduce: str, include_self: bool) -> Any:
        ctx.key, ctx.reduce, ctx.include_self = key, reduce, include_self
        xp = namespace(x)
        y = x.copy()
        if not include_self:  # positions written to start from the reduction's identity
            if reduce == "prod":
                start: Any = 1
            elif x.dtype.kind == "f":
                start = -xp.inf if reduce == "amax" else xp.inf
            else:
                info = xp.iinfo(x.dtype) if x.dtype.kind in "iu" else None
                start = (info.min if reduce == "amax" else info.max) if info else reduce == "amin"
            y[key] = start
        getattr(xp, _UFUNC[reduce]).at(y, key, src)
        ctx.save_for_backward(x, src, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, src, y = ctx.saved_tensors
        key, reduce, include_self = ctx.key, ctx.reduce, ctx.include_self
        xd, sd, yd = _data(x), _data(src), _data(y)
        xp = namespace(xd)
        touched = xp.zeros(xd.shape, dtype=bool)
        touched[key] = True
        takes_part = ~touched | include_self  # where input's own entry is in the reduction
        if reduce == "prod":
            gx, gs = _prod_grads(x, src, y, g, key, include_self)
            return dual.where(takes_part, gx, 0.0), gs, None, None, None
        x_wins = (xd == yd) & takes_part
        src_wins = sd == yd[key]
        count = x_wins.astype(xd.dtype)
        xp.add.at(count, key, src_wins)
        count = xp.maximum(count, 1)  # positions nobody wins get no gradient anyway
        gx = dual.where(x_wins, g / count, 0.0)
        gs = dual.where(src_wins, g[key] / count[key], 0.0)
        return gx, gs, None, None, None


def _prod_grads(x: Any, src: Any, y: Any, g: Any, key: Any, include_self: bool) -> Any:
    """The exclusive products of a scattered product, with zeros replaced by 1 where one is
    the factor left out (so no 0/0)."""
    xd, sd = _data(x), _data(src)
    xp = namespace(xd)
    x_ones = dual.where(xd == 0, 1.0, x)
    gx = g * scatter_reduce_any(x_ones, src, key, "prod", include_self) / x_ones
    src_zero = sd == 0
    zeros_at = xp.zeros(xd.shape, dtype=xp.int64)
    xp.add.at(zeros_at, key, src_zero)
    single = src_zero & (zeros_at[key] == 1)
    src_ones = dual.where(single, 1.0, src)
    without = scatter_reduce_any(x, src_ones, key, "prod", include_self)
    gs = dual.where(single, (g * without)[key], (g * y)[key] / dual.where(src_zero, 1.0, src))
    return gx, gs


class Qr(Primitive):
    """Reduced QR of a matrix with at least as many rows as columns (Q: m x n with orthonormal
    columns, R: n x n upper triangular). Either output may be unused (its gradient is None)."""

    rule = Rule(
        "the adjoint of a QR factorisation (m >= n)",
        "Q, R = qr(A)",
        r"A = Q R",
        a=(
            "dL/dA = (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q, copyltu: lower to symmetric",
            G % "A" + r" = \big(g_Q + Q\,\mathrm{copyltu}(M)\big) R^{-\top}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        ctx.set_materialize_grads(False)  # Q and R differ in shape: an unused one stays None
        q, r = namespace(a).linalg.qr(a, mode="reduced")
        ctx.save_for_backward(q, r)
        return q, r

    @staticmethod
    def backward(ctx: Any, gq: Any, gr: Any) -> Any:
        q, r = ctx.saved_tensors
        if q.shape[-2] < q.shape[-1] or r.shape[-1] > r.shape[-2]:
            raise NotImplementedError(
                f"linalg.qr: the gradient for a wide matrix (more columns than rows, R of shape "
                f"{tuple(r.shape)}) is not implemented"
            )
        n = r.shape[-1]
        xp = namespace(_data(r))
        m = 0.0
        if gr is not None:
            m = r @ gr.mT
        if gq is not None:
            m = m - gq.mT @ q
        strict = xp.tril(xp.ones((n, n), dtype=bool), -1)
        below = dual.where(strict, m, 0.0)
        diagonal = dual.where(xp.eye(n, dtype=bool), m, 0.0)
        sym = below + below.mT + diagonal
        left = q @ sym if gq is None else gq + q @ sym
        return (solve_any(r, left.mT).mT,)  # left R^-T = (R^-1 left^T)^T


class Svd(Primitive):
    """Reduced SVD, A = U diag(S) Vh (k = min(m, n) singular values, descending). The
    gradient divides by S_k^2 - S_j^2, so repeated singular values give inf, as torch's; an
    unused output's gradient stays None."""

    rule = Rule(
        "the adjoint of the SVD (torch's svd_backward, real case)",
        "U, S, Vh = svd(A)",
        r"A = U\,\mathrm{diag}(S)\,V^{\top}",
        a=(
            "dL/dA = U [(skew(U^T gU) S + S skew(V^T gV)) / E + diag(gS)] Vh + the parts of gU, "
            "gV outside span(U), span(V); E_jk = S_k^2 - S_j^2",
            G % "A" + r" = U\big[(\mathrm{sk}(U^{\top} g_U) S + S\,\mathrm{sk}(V^{\top} g_V)) "
            r"\oslash E + \mathrm{diag}(g_S)\big] V^{\top} + \dots",
        ),
    )

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        ctx.set_materialize_grads(False)  # U, S and Vh differ in shape: unused ones stay None
        u, s, vh = namespace(a).linalg.svd(a, full_matrices=False)
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx: Any, gu: Any, gs: Any, gvh: Any) -> Any:
        u, s, vh = ctx.saved_tensors
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        xp = namespace(_data(s))
        eye = xp.eye(k, dtype=_data(s).dtype)
        s2 = s * s
        e = s2[..., None, :] - s2[..., :, None] + eye  # 1 on the diagonal, where numerators are 0
        inner: Any = 0.0
        if gu is not None:
            uhgu = u.mT @ gu
            inner = inner + (uhgu - uhgu.mT) * s[..., None, :] / e
        if gvh is not None:
            vhgv = vh @ gvh.mT
            inner = inner + s[..., :, None] * (vhgv - vhgv.mT) / e
        if gs is not None:
            inner = inner + gs[..., None] * eye
        if m > k and gu is not None:  # gU's part outside span(U)
            gu_sinv = gu / s[..., None, :]
            return ((u @ inner + gu_sinv - u @ (u.mT @ gu_sinv)) @ vh,)
        if n > k and gvh is not None:  # gV's part outside span(V)
            sinv_gvh = gvh / s[..., :, None]
            return (u @ (inner @ vh + sinv_gvh - (sinv_gvh @ vh.mT) @ vh),)
        return (u @ inner @ vh,)
