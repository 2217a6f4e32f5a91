"""Products of tensors with torch's names: einsum (torch's equation syntax: `...`, implicit
output, spaces, sublists), bmm, baddbmm, addmm, addmv, mv, outer/ger, inner, tensordot, kron,
cross and trace (norms, distances and matrix functions are in `chainrule.linalg`).

einsum checks the equation here, where the user wrote it, and hands the `Einsum` primitive a
canonical one (explicit output, no ellipsis, no subscript twice in an operand, one size per
subscript); the rest are compositions of einsum, Matmul and indexing, with no derivative
code of their own.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any, overload

import numpy as np

from chainrule.errors import ArgumentError, DTypeError, ShapeError
from chainrule.ops.conversion import as_tensor
from chainrule.ops.promotion import result_type
from chainrule.ops.shaping import expand, index, reshape
from chainrule.primitives.binary import Mul, Sub
from chainrule.primitives.einsum import Einsum
from chainrule.primitives.elementwise import Cast
from chainrule.primitives.linalg import Matmul
from chainrule.primitives.reduction import Sum
from chainrule.tensor_base import TensorBase as Tensor  # the tensor layer types against the base
from chainrule.tensor_base import TensorT, _check_dim

_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # torch's order for implicit output


# -- einsum -----------------------------------------------------------------------------------
@overload
def einsum(equation: str, *operands: TensorT) -> TensorT: ...
@overload
def einsum(equation: str, operands: Sequence[TensorT], /) -> TensorT: ...
@overload
def einsum(equation: TensorT, *sublists_and_operands: Any) -> TensorT: ...
def einsum(equation: Any, *operands: Any) -> Any:
    """Einstein summation, as torch.einsum: `einsum("bij,bjk->bik", a, b)`, operands as varargs
    or one list, `...` for broadcast dims, an implicit output (the subscripts seen once, in
    alphabetical order, after the `...` dims), or the sublist form `einsum(a, [0, 1], b, [1])`.

    >>> import chainrule as cr
    >>> cr.einsum("ij,j->i", cr.ones(2, 3), cr.tensor([1.0, 2.0, 3.0]))
    tensor([6., 6.])
    """
    if not isinstance(equation, str):
        equation, operands = _from_sublists((equation, *operands))
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [as_tensor(x) for x in operands]
    dtype = result_type(*tensors)
    if dtype is not None:
        tensors = [t if t.dtype == dtype else Cast.apply(t, dtype) for t in tensors]
    canonical, tensors = _canonical(equation, tensors)
    return Einsum.apply(canonical, *tensors)


def _contract(equation: str, *operands: Any) -> Any:
    """einsum for the compositions below (their operands are already tensors)."""
    return einsum(equation, *operands)


def _from_sublists(args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """torch's sublist form (op, sublist, op, sublist, ..., [output sublist]) as an equation."""

    def subscripts(sublist: Any) -> str:
        out = []
        for s in sublist:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, (int, np.integer)) and 0 <= s < len(_LETTERS):
                out.append(_LETTERS[int(s)])
            else:
                raise ArgumentError(
                    f"einsum(): expected subscripts in a sublist to be ints in [0, 52) or "
                    f"Ellipsis, got {s!r}"
                )
        return "".join(out)

    out = None
    if len(args) % 2:  # an odd count ends with the output sublist
        args, out = args[:-1], subscripts(args[-1])
    terms = ",".join(subscripts(s) for s in args[1::2])
    if out is not None:
        return terms + "->" + out, tuple(args[0::2])
    return terms, tuple(args[0::2])


def _parse_term(term: str, where: str, position: int) -> list[str]:
    """A term as its subscripts, '...' kept as one item; refuses anything else by position."""
    parts: list[str] = []
    i = 0
    while i < len(term):
        c = term[i]
        if c == ".":
            if term[i : i + 3] != "...":
                raise ArgumentError(
                    f"einsum(): found '.' for {where} that is not part of any ellipsis"
                )
            if "..." in parts:
                raise ArgumentError(
                    f"einsum(): found '.' for {where} for which an ellipsis was already found"
                )
            parts.append("...")
            i += 3
            continue
        if c not in _LETTERS:
            raise ArgumentError(
                f"einsum(): invalid subscript {c!r} given at index {position + i} in the "
                f"equation string, subscripts must be in [a-zA-Z]"
            )
        parts.append(c)
        i += 1
    return parts


def _canonical(equation: str, tensors: list[Tensor]) -> tuple[str, list[Tensor]]:
    """The equation made explicit over letters only, and the operands it applies to (with
    repeated subscripts taken as diagonals and size-1 dims broadcast)."""
    text = equation.replace(" ", "")
    if text.count("->") > 1 or ("-" in text.replace("->", "")) or (">" in text.replace("->", "")):
        raise ArgumentError(f"einsum(): the equation {equation!r} has a misplaced '-' or '>'")
    lhs, arrow, rhs = text.partition("->")
    raw_terms = lhs.split(",")
    if len(raw_terms) != len(tensors):
        more = "fewer" if len(tensors) < len(raw_terms) else "more"
        raise ArgumentError(
            f"einsum(): {more} operands were provided than specified in the equation "
            f"{equation!r} ({len(tensors)} operands, {len(raw_terms)} terms)"
        )
    terms, position = [], 0
    for k, term in enumerate(raw_terms):
        terms.append(_parse_term(term, f"operand {k}", position))
        position += len(term) + 1
    used = {c for t in terms for c in t if c != "..."}
    spare = [c for c in _LETTERS if c not in used]
    ellipsis_dims = 0
    for k, (parts, t) in enumerate(zip(terms, tensors, strict=True)):
        named = len(parts) - ("..." in parts)
        if "..." in parts:
            if named > t.ndim:
                raise ShapeError(
                    f"einsum(): operand {k} of shape {tuple(t.shape)} has {t.ndim} dims, fewer "
                    f"than the {named} subscripts of its term {raw_terms[k]!r}"
                )
            ellipsis_dims = max(ellipsis_dims, t.ndim - named)
        elif named != t.ndim:
            raise ShapeError(
                f"einsum(): the number of subscripts in the equation ({named}) does not match "
                f"the number of dimensions ({t.ndim}) for operand {k} of shape "
                f"{tuple(t.shape)} and no ellipsis was given"
            )
    if ellipsis_dims > len(spare):
        raise ArgumentError(f"einsum(): too many dims for the 52 subscripts in {equation!r}")
    batch = spare[:ellipsis_dims]
    letters: list[str] = []
    for parts, t in zip(terms, tensors, strict=True):
        mine = t.ndim - (len(parts) - 1) if "..." in parts else 0
        i = parts.index("...") if "..." in parts else len(parts)
        letters.append("".join(parts[:i] + batch[ellipsis_dims - mine :] + parts[i + 1 :]))
    out = _output(rhs, arrow, terms, batch, equation)
    tensors = _fit_sizes(letters, tensors)
    for k, term in enumerate(letters):
        if len(set(term)) < len(term):
            letters[k], tensors[k] = _diagonal(term, tensors[k], k)
    return ",".join(letters) + "->" + out, tensors


def _output(rhs: str, arrow: str, terms: list[list[str]], batch: list[str], eq: str) -> str:
    counts: dict[str, int] = {}
    for parts in terms:
        for c in parts:
            counts[c] = counts.get(c, 0) + 1
    if not arrow:  # implicit: the `...` dims, then the subscripts seen once, alphabetically
        once = [c for c in _LETTERS if counts.get(c) == 1]
        return "".join(batch + once)
    parts = _parse_term(rhs, "the output", len(eq.replace(" ", "")) - len(rhs))
    for i, c in enumerate(parts):
        if c in parts[:i]:
            raise ArgumentError(
                f"einsum(): output subscript {c} appears more than once in the output"
            )
        if c != "..." and c not in counts:
            raise ArgumentError(
                f"einsum(): output subscript {c} does not appear in the equation for any input "
                f"operand"
            )
    return "".join(c for p in parts for c in (batch if p == "..." else [p]))


def _fit_sizes(letters: list[str], tensors: list[Tensor]) -> list[Tensor]:
    """Check that each subscript has one size (size 1 broadcasts, as torch), expanding the
    operands where it has to."""
    size: dict[str, tuple[int, int]] = {}  # subscript -> (size, operand it was seen in)
    for k, (term, t) in enumerate(zip(letters, tensors, strict=True)):
        mine: dict[str, int] = {}
        for c, n in zip(term, t.shape, strict=True):
            if mine.setdefault(c, n) != n:  # a diagonal needs equal sizes, 1 included
                raise ShapeError(
                    f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't "
                    f"match, {mine[c]} != {n}"
                )
        for c, n in mine.items():
            seen = size.get(c)
            if seen is None or (seen[0] == 1 and n != 1):
                size[c] = (n, k)
            elif n not in (1, seen[0]):
                raise ShapeError(
                    f"einsum: subscript {c!r} has size {seen[0]} in operand {seen[1]} but {n} in "
                    f"operand {k} (shapes {[tuple(x.shape) for x in tensors]})"
                )
    fitted = []
    for term, t in zip(letters, tensors, strict=True):
        full = tuple(size[c][0] for c in term)
        fitted.append(t if full == tuple(t.shape) else expand(t, full))
    return fitted


def _diagonal(term: str, t: Tensor, k: int) -> tuple[str, Tensor]:
    """A term with repeated subscripts ('ii') as its diagonal over unique ones ('i')."""
    unique = "".join(dict.fromkeys(term))  # _fit_sizes has checked the repeated sizes agree
    # one arange per unique subscript, each on its own axis, so the key selects the diagonal
    # and lays it out in the order of `unique`
    grids = {
        c: np.arange(t.shape[term.index(c)]).reshape(
            tuple(-1 if j == i else 1 for j in range(len(unique)))
        )
        for i, c in enumerate(unique)
    }
    return unique, index(t, tuple(grids[c] for c in term))


# -- matrix products --------------------------------------------------------------------------
def _need_dims(op: str, name: str, t: Tensor, ndim: int) -> None:
    if t.ndim != ndim:
        raise ShapeError(f"{op}: {name} must be a {ndim}D tensor, got shape {tuple(t.shape)}")


def _same_dtype(op: str, *tensors: Tensor) -> None:
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:  # torch's matrix products do not promote
        raise DTypeError(
            f"{op}: expected all tensors to have the same dtype, got {sorted(map(str, dtypes))}"
        )


def bmm(input: TensorT, mat2: Tensor) -> TensorT:
    """Batched matrix product of (b, n, m) and (b, m, p) tensors, no broadcasting."""
    _need_dims("bmm", "batch1", input, 3)
    _need_dims("bmm", "batch2", mat2, 3)
    b, _, m = input.shape
    if tuple(mat2.shape[:2]) != (b, m):
        raise ShapeError(
            f"bmm: expected size for first two dimensions of batch2 tensor to be: [{b}, {m}] "
            f"but got: {list(mat2.shape[:2])} (shapes {tuple(input.shape)} and "
            f"{tuple(mat2.shape)})"
        )
    _same_dtype("bmm", input, mat2)
    return Matmul.apply(input, mat2)


def mv(input: TensorT, vec: Tensor) -> TensorT:
    """Matrix (n, m) times vector (m,)."""
    _need_dims("mv", "input", input, 2)
    _need_dims("mv", "vec", vec, 1)
    if input.shape[1] != vec.shape[0]:
        raise ShapeError(
            f"mv: size mismatch, got input ({input.shape[0]}x{input.shape[1]}), vec "
            f"({vec.shape[0]})"
        )
    _same_dtype("mv", input, vec)
    return Matmul.apply(input, vec)


def _scaled_sum(op: str, input: Any, product: Any, beta: float, alpha: float) -> Any:
    """beta input + alpha product, as torch's add*mm: beta = 0 ignores input (nan included)."""
    inp = as_tensor(input)
    try:
        np.broadcast_shapes(tuple(inp.shape), tuple(product.shape))
    except ValueError:
        raise ShapeError(
            f"{op}: input of shape {tuple(inp.shape)} does not broadcast to the product's "
            f"shape {tuple(product.shape)}"
        ) from None
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:
        return expand(scaled, np.broadcast_shapes(tuple(inp.shape), tuple(product.shape)))
    return scaled + (inp if beta == 1 else inp * beta)


def addmm(input: TensorT, mat1: TensorT, mat2: TensorT, *, beta: float = 1,
          alpha: float = 1) -> TensorT:  # fmt: skip
    """beta input + alpha (mat1 @ mat2), for 2-D mat1 and mat2."""
    _need_dims("addmm", "mat1", mat1, 2)
    _need_dims("addmm", "mat2", mat2, 2)
    return _scaled_sum("addmm", input, Matmul.apply(mat1, mat2), beta, alpha)


def addmv(input: TensorT, mat: TensorT, vec: TensorT, *, beta: float = 1,
          alpha: float = 1) -> TensorT:  # fmt: skip
    """beta input + alpha (mat @ vec)."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def baddbmm(input: TensorT, batch1: TensorT, batch2: TensorT, *, beta: float = 1,
            alpha: float = 1) -> TensorT:  # fmt: skip
    """beta input + alpha bmm(batch1, batch2)."""
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def outer(input: TensorT, vec2: Tensor) -> TensorT:
    """The outer product of two vectors: out[i, j] = input[i] vec2[j]."""
    _need_dims("outer", "input", input, 1)
    _need_dims("outer", "vec2", vec2, 1)
    return _contract("i,j->ij", input, vec2)


ger = outer


def inner(input: TensorT, other: Tensor) -> TensorT:
    """Sum over the last dims of both (a product where either is 0-d)."""
    a, b = as_tensor(input), as_tensor(other)
    if a.ndim == 0 or b.ndim == 0:
        return _contract("...,...->...", a, b) if a.ndim == b.ndim else _times_scalar(a, b)
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(
            f"inner: inner dimensions differ: shapes {tuple(a.shape)} and {tuple(b.shape)} "
            f"({a.shape[-1]} != {b.shape[-1]})"
        )
    return tensordot(a, b, ([-1], [-1]))


def _times_scalar(a: Tensor, b: Tensor) -> Any:
    return _contract("...,->...", a, b) if b.ndim == 0 else _contract(",...->...", a, b)


def tensordot(a: TensorT, b: Tensor, dims: Any = 2) -> TensorT:
    """Contract the last `dims` dims of a with the first of b, or the listed pairs of dims."""
    a, b = as_tensor(a), as_tensor(b)
    if isinstance(dims, (int, np.integer)):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise ArgumentError(
                f"tensordot: dims={dims} must be between 0 and the smaller number of dims "
                f"({a.ndim}, {b.ndim})"
            )
        dims_a = list(range(a.ndim - dims, a.ndim))
        dims_b = list(range(int(dims)))
    else:
        da, db = dims
        dims_a = [int(da)] if isinstance(da, (int, np.integer)) else list(da)
        dims_b = [int(db)] if isinstance(db, (int, np.integer)) else list(db)
        if len(dims_a) != len(dims_b):
            raise ArgumentError(
                f"tensordot: both dimension lists should have same length, got {dims_a} and "
                f"{dims_b}"
            )
        dims_a = [_check_dim(d, a.ndim, "tensordot") for d in dims_a]
        dims_b = [_check_dim(d, b.ndim, "tensordot") for d in dims_b]
    for da, db in zip(dims_a, dims_b, strict=True):
        if a.shape[da] != b.shape[db]:
            raise ShapeError(
                f"tensordot: contracted dimensions need to match, but first has size "
                f"{a.shape[da]} in dim {da} and second has size {b.shape[db]} in dim {db} "
                f"(shapes {tuple(a.shape)} and {tuple(b.shape)})"
            )
    sa = _LETTERS[: a.ndim]
    sb = list(_LETTERS[a.ndim : a.ndim + b.ndim])
    for da, db in zip(dims_a, dims_b, strict=True):
        sb[db] = sa[da]
    out = [c for i, c in enumerate(sa) if i not in dims_a]
    out += [c for i, c in enumerate(sb) if i not in dims_b]
    return _contract(f"{sa},{''.join(sb)}->{''.join(out)}", a, b)


def kron(input: TensorT, other: Tensor) -> TensorT:
    """The Kronecker product: blocks input[i] * other, over every dim."""
    a, b = as_tensor(input), as_tensor(other)
    n = max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (n - a.ndim) + tuple(a.shape))
    b = reshape(b, (1,) * (n - b.ndim) + tuple(b.shape))
    sa, sb = _LETTERS[:n], _LETTERS[n : 2 * n]
    out = "".join(x + y for x, y in zip(sa, sb, strict=True))
    product = _contract(f"{sa},{sb}->{out}", a, b)
    shape = tuple(p * q for p, q in zip(a.shape, b.shape, strict=True))
    return reshape(product, shape)


def cross(input: TensorT, other: Tensor, dim: int | None = None) -> TensorT:
    """The cross product of 3-vectors along dim (torch.cross: the first dim of size 3 when dim is
    None; torch.linalg.cross uses -1). input and other broadcast."""
    a, b = as_tensor(input), as_tensor(other)
    try:
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        raise ShapeError(
            f"cross: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast"
        ) from None
    if dim is None:
        dim = next((d for d, n in enumerate(shape) if n == 3), None)
        if dim is None:
            raise ShapeError(f"cross: no dimension of size 3 in input of shape {shape}")
    axis = _check_dim(dim, len(shape), "cross")
    if shape[axis] != 3 or a.ndim != b.ndim:
        raise ShapeError(
            f"cross: inputs of shapes {tuple(a.shape)} and {tuple(b.shape)} must have the "
            f"same number of dims and size 3 in dim {dim}"
        )
    a, b = _promoted(expand(a, shape), expand(b, shape))
    lead = (slice(None),) * axis
    nxt, prev = (*lead, np.array([1, 2, 0])), (*lead, np.array([2, 0, 1]))
    # (a × b)_i = a_{i+1} b_{i+2} - a_{i+2} b_{i+1}, indices mod 3
    left = Mul.apply(index(a, nxt), index(b, prev))
    return Sub.apply(left, Mul.apply(index(a, prev), index(b, nxt)))


def _promoted(a: Tensor, b: Tensor) -> list[Any]:
    dtype = result_type(a, b)
    return [t if dtype is None or t.dtype == dtype else Cast.apply(t, dtype) for t in (a, b)]


def trace(input: TensorT) -> TensorT:
    """The sum of a 2-D tensor's main diagonal."""
    if input.ndim != 2:
        raise ShapeError(f"trace: expected a matrix, got a tensor of shape {tuple(input.shape)}")
    n = min(input.shape)
    return Sum.apply(index(input, (np.arange(n), np.arange(n))), None, False)
