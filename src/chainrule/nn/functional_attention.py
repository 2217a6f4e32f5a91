"""Scaled dot-product attention (torch.nn.functional's name), with torch's masks (bool: True
attends; float: added to the scores), causal masking, dropout, scale and grouped-query heads.

A composition of Matmul and the Softmax primitive, so it differentiates to any order; a query
row that may attend to nothing gives 0, as torch's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule import errors, ops
from chainrule.nn.functional_dropout import dropout
from chainrule.tensor import Tensor


def _mask_to_scores(scores: Tensor, attn_mask: Any, op: str) -> Tensor:
    """Apply a bool mask (True: attend) or a float mask (added) to the (..., L, S) scores."""
    mask = attn_mask._data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
    try:
        shape = np.broadcast_shapes(mask.shape, tuple(scores.shape))
    except ValueError:
        shape = None
    if shape != tuple(scores.shape):
        raise errors.ShapeError(
            f"{op}: attn_mask of shape {tuple(mask.shape)} does not broadcast to the attention "
            f"scores' shape {tuple(scores.shape)} (..., L, S)"
        )
    if mask.dtype == np.bool_:
        # negated as a tensor: cr.compile records that (and recomputes it on each replay),
        # where a NumPy array made here would be frozen into the tape
        keep = attn_mask if isinstance(attn_mask, Tensor) else Tensor._make(mask)
        return scores.masked_fill(~keep, float("-inf"))
    if not isinstance(attn_mask, Tensor):
        attn_mask = Tensor._make(mask.astype(scores.dtype))
    return scores + attn_mask


def safe_softmax(scores: Tensor, dim: int = -1) -> Tensor:
    """Softmax whose rows that are -inf throughout give 0, not nan (torch's _safe_softmax, used
    by scaled_dot_product_attention). Those rows are replaced by 0 before the softmax, so its
    backward sees no nan either."""
    dead = np.all(np.isneginf(scores._data), axis=dim, keepdims=True)
    if not dead.any():
        return scores.softmax(dim)
    dead_all = np.broadcast_to(dead, scores.shape)
    weights = ops.where(dead_all, 0.0, scores).softmax(dim)
    return ops.where(dead_all, 0.0, weights)


def causal_mask(l: int, s: int) -> np.ndarray:
    """The (L, S) bool mask where query i attends to keys 0..i (True: attend), top-left aligned
    as torch's is_causal."""
    return np.tril(np.ones((l, s), dtype=bool))


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(q k^T * scale + mask) v for q (..., L, E), k (..., S, E), v (..., S, Ev).

    A bool attn_mask says where to attend (True), a float one is added to the scores; a query
    that may attend to nothing gets 0 (torch's safe softmax). scale defaults to 1/sqrt(E).

    >>> import chainrule as cr
    >>> q = k = v = cr.ones(1, 2, 3)
    >>> cr.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).shape
    (1, 2, 3)
    """
    op = "scaled_dot_product_attention"
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise errors.ShapeError(
            f"{op}: query, key and value need at least 2 dims (..., L, E), got shapes "
            f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}"
        )
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise errors.ShapeError(
            f"{op}: query (..., L, E) {tuple(query.shape)}, key (..., S, E) "
            f"{tuple(key.shape)} and value (..., S, Ev) {tuple(value.shape)} do not fit"
        )
    if is_causal and attn_mask is not None:
        raise errors.ArgumentError(f"{op}: an explicit attn_mask must not be set with is_causal")
    if enable_gqa:
        key, value = _repeat_heads(query, key, op), _repeat_heads(query, value, op)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.mT) * scale
    if is_causal:
        attn_mask = Tensor._make(causal_mask(query.shape[-2], key.shape[-2]))
    if attn_mask is not None:
        scores = _mask_to_scores(scores, attn_mask, op)
    weights = safe_softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights @ value


def _repeat_heads(query: Tensor, kv: Tensor, op: str) -> Tensor:
    """Grouped-query attention: each of the key/value heads (dim -3) serves
    query_heads / kv_heads consecutive query heads."""
    if query.ndim < 3 or kv.ndim < 3 or query.shape[-3] % kv.shape[-3]:
        raise errors.ShapeError(
            f"{op}: with enable_gqa the query heads (dim -3 of {tuple(query.shape)}) must be a "
            f"multiple of the key/value heads (dim -3 of {tuple(kv.shape)})"
        )
    groups = query.shape[-3] // kv.shape[-3]
    if groups == 1:
        return kv
    heads = np.repeat(np.arange(kv.shape[-3]), groups)
    return kv[(Ellipsis, heads, slice(None), slice(None))]
