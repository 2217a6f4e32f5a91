"""Normalization, embedding and attention functions (torch.nn.functional names).

All are compositions of the primitives (autodiff differentiates them, to any order): the
statistics come from the Var primitive (one node, biased for the normalisation as torch) and
attention from Matmul and the Softmax primitive. Running statistics of batch norm are updated in
place, outside the graph, as torch does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import backend, errors, ops
from chainrule.modes import no_grad
from chainrule.tensor import Tensor


def _shape_tuple(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(n) for n in normalized_shape)


def _check_trailing(x: Tensor, shape: tuple[int, ...], op: str) -> tuple[int, ...]:
    """The trailing dims that `shape` names, after checking they are x's last dims."""
    if not shape or tuple(x.shape[x.ndim - len(shape) :]) != shape or len(shape) > x.ndim:
        raise errors.ShapeError(
            f"{op}: Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size {list(x.shape)}"
        )
    return tuple(range(x.ndim - len(shape), x.ndim))


def _check_param(p: Tensor | None, shape: tuple[int, ...], name: str, op: str) -> None:
    if p is not None and tuple(p.shape) != shape:
        raise errors.ShapeError(f"{op}: expected {name} of shape {shape}, got {tuple(p.shape)}")


def _affine(y: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing `normalized_shape` dims,
    with the biased variance (as torch).

    >>> import chainrule as cr
    >>> y = cr.nn.functional.layer_norm(cr.tensor([[1.0, 2.0, 3.0]]), (3,))
    >>> [round(v, 4) for v in y[0].tolist()]
    [-1.2247, 0.0, 1.2247]
    """
    shape = _shape_tuple(normalized_shape)
    dims = _check_trailing(input, shape, "layer_norm")
    _check_param(weight, shape, "weight", "layer_norm")
    _check_param(bias, shape, "bias", "layer_norm")
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, unbiased=False, keepdim=True)
    return _affine((input - mean) * (var + eps).rsqrt(), weight, bias)


def rms_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the trailing dims; eps defaults to the dtype's
    machine epsilon (torch.finfo(x.dtype).eps), as torch."""
    shape = _shape_tuple(normalized_shape)
    dims = _check_trailing(input, shape, "rms_norm")
    _check_param(weight, shape, "weight", "rms_norm")
    if eps is None:
        eps = float(np.finfo(input.dtype).eps)
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return y * weight if weight is not None else y


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each sample over groups of channels of an (N, C, *) input; weight and bias are
    per channel."""
    if input.ndim < 2:
        raise errors.ShapeError(
            f"group_norm: expected an input of shape (N, C, *), got {tuple(input.shape)}"
        )
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise errors.ShapeError(
            f"group_norm: expected the number of channels {c} (input of shape "
            f"{tuple(input.shape)}) to be divisible by num_groups={num_groups}"
        )
    _check_param(weight, (c,), "weight", "group_norm")
    _check_param(bias, (c,), "bias", "group_norm")
    grouped = input.reshape(n, num_groups, -1)
    mean = grouped.mean(2, keepdim=True)
    var = grouped.var(2, unbiased=False, keepdim=True)
    y = ((grouped - mean) * (var + eps).rsqrt()).reshape(input.shape)
    per_channel = (c,) + (1,) * (input.ndim - 2)
    return _affine(
        y,
        weight.reshape(per_channel) if weight is not None else None,
        bias.reshape(per_channel) if bias is not None else None,
    )


def _update_running(stat: Tensor, value: Any, momentum: float) -> None:
    """stat <- (1 - momentum) stat + momentum value, in place and outside the graph."""
    with no_grad():
        stat._data[...] = (1 - momentum) * stat._data + momentum * value
        stat._vc[0] += 1


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of an (N, C, *) input over the batch and spatial dims.

    Training uses the batch's mean and biased variance, and updates the running estimates in
    place with the batch's mean and unbiased variance; otherwise the running estimates are used.

    >>> import chainrule as cr
    >>> mean, var = cr.zeros(2), cr.ones(2)
    >>> x = cr.tensor([[0.0, 1.0], [2.0, 3.0]])
    >>> cr.nn.functional.batch_norm(x, mean, var, training=True).shape
    (2, 2)
    >>> [round(m, 6) for m in mean.tolist()], [round(v, 6) for v in var.tolist()]
    ([0.1, 0.2], [1.1, 1.1])
    """
    if input.ndim < 2:
        raise errors.ShapeError(
            f"batch_norm: expected an input of shape (N, C, *), got {tuple(input.shape)}"
        )
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise errors.ShapeError(
                f"batch_norm: {name} should contain {c} elements (the channels of the input "
                f"of shape {tuple(input.shape)}), not {t.numel()}"
            )
    _check_param(weight, (c,), "weight", "batch_norm")
    _check_param(bias, (c,), "bias", "batch_norm")
    dims = (0, *range(2, input.ndim))
    per_channel = (1, c) + (1,) * (input.ndim - 2)
    if training:
        count = input.numel() // c if c else 0
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"size {list(input.shape)}"
            )
        mean = input.mean(dims, keepdim=True)
        var = input.var(dims, unbiased=False, keepdim=True)
        if running_mean is not None:
            _update_running(running_mean, mean._data.reshape(c), momentum)
        if running_var is not None:
            unbiased = var._data.reshape(c) * (count / (count - 1))
            _update_running(running_var, unbiased, momentum)
    else:
        if running_mean is None or running_var is None:
            raise errors.ArgumentError(
                "batch_norm: running_mean and running_var must be given when training=False"
            )
        mean = running_mean.detach().reshape(per_channel)
        var = running_var.detach().reshape(per_channel)
    y = (input - mean) * (var + eps).rsqrt()
    return _affine(
        y,
        weight.reshape(per_channel) if weight is not None else None,
        bias.reshape(per_channel) if bias is not None else None,
    )


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each (sample, channel) of an (N, C, *) input over its spatial dims: batch norm
    of the (1, N C, *) reshaped input, whose running statistics are averaged over the batch."""
    if input.ndim < 3:
        raise errors.ShapeError(
            f"instance_norm: expected an input of shape (N, C, *) with at least one spatial "
            f"dim, got {tuple(input.shape)}"
        )
    n, c = input.shape[0], input.shape[1]
    folded = input.reshape(1, n * c, *input.shape[2:])

    def per_instance(t: Tensor | None) -> Tensor | None:
        return None if t is None else ops.cat([t.detach()] * n) if n else t.detach()

    rm, rv = per_instance(running_mean), per_instance(running_var)
    y = batch_norm(folded, rm, rv, None, None, use_input_stats, momentum, eps)
    # the folded estimates moved once per instance; each channel keeps their batch average
    for stat, folded_stat in ((running_mean, rm), (running_var, rv)):
        if stat is not None and folded_stat is not None and use_input_stats:
            with no_grad():
                stat._data[...] = folded_stat._data.reshape(n, c).mean(0)
                stat._vc[0] += 1
    per_channel = (c,) + (1,) * (input.ndim - 2)
    return _affine(
        y.reshape(input.shape),
        weight.reshape(per_channel) if weight is not None else None,
        bias.reshape(per_channel) if bias is not None else None,
    )


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """The rows of weight (num_embeddings, embedding_dim) picked by integer indices: output
    shape input.shape + (embedding_dim,). The row at padding_idx gets no gradient; with max_norm,
    the picked rows whose norm exceeds it are rescaled in place first (as torch).

    >>> import chainrule as cr
    >>> w = cr.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    >>> cr.nn.functional.embedding(cr.tensor([[2, 1]]), w).tolist()
    [[[3.0, 4.0], [1.0, 2.0]]]
    """
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise errors.DTypeError(
            f"embedding: expected indices of an integer dtype (Long, Int), got {idx.dtype} "
            f"(indices of shape {idx.shape})"
        )
    if weight.ndim != 2:
        raise errors.ShapeError(
            f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape "
            f"{tuple(weight.shape)}"
        )
    rows = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= rows):
        bad = int(idx[(idx < 0) | (idx >= rows)].flat[0])
        raise errors.IndexOutOfRangeError(
            f"embedding: index {bad} is out of range for a weight of shape "
            f"{tuple(weight.shape)} (indices must be in [0, {rows - 1}])"
        )
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise errors.ArgumentError(
                f"embedding: padding_idx {padding_idx} must be within num_embeddings {rows}"
            )
        padding_idx %= rows
    if max_norm is not None:
        _renorm_rows(weight, np.unique(idx), max_norm, norm_type)
    picked = weight[idx]
    if padding_idx is not None:
        pad = idx == padding_idx
        if pad.any():  # those positions take the row as a constant: its gradient stays 0
            constant = Tensor._make(np.asarray(weight._data[padding_idx]))
            picked = ops.where(pad[..., None], constant, picked)
    return picked


def _renorm_rows(weight: Tensor, rows: np.ndarray, max_norm: float, norm_type: float) -> None:
    """torch's embedding_renorm_: rows whose norm exceeds max_norm scaled to max_norm (with
    torch's 1e-7 guard), in place and outside the graph."""
    data = weight._data
    norms = np.linalg.norm(data[rows], ord=norm_type, axis=1)
    over = norms > max_norm
    if over.any():
        with no_grad():
            scale = max_norm / (norms[over] + 1e-7)
            data[rows[over]] = data[rows[over]] * scale[:, None].astype(data.dtype)
            weight._vc[0] += 1


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
        return scores.masked_fill(~mask, float("-inf"))
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
        weights = _dropout(weights, dropout_p)
    return weights @ value


def _dropout(x: Tensor, p: float) -> Tensor:
    """F.dropout's mask (chainrule's seeded generator), here because functional.py, which
    defines dropout, re-exports this module: importing it back would make a cycle."""
    if p >= 1.0:
        return x * 0.0
    keep = backend.rng().random(x.shape) >= p
    return x * (keep.astype(x.dtype) / (1.0 - p))


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
