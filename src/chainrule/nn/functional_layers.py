"""Normalization and embedding functions (torch.nn.functional names; attention is in
functional_attention.py).

All are compositions of the primitives (autodiff differentiates them, to any order): the
statistics come from the Var primitive (one node, biased for the normalisation as torch).
Running statistics of batch norm are updated in place, outside the graph, as torch does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import errors, ops
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
    _check_indices(idx, weight._data)
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
        # those positions take the row as a constant (its gradient stays 0); the mask and the
        # row as tensor ops, which cr.compile records (NumPy values here would be frozen)
        pad = (
            input == padding_idx if isinstance(input, Tensor) else Tensor._make(idx == padding_idx)
        )
        picked = ops.where(pad[..., None], weight[padding_idx].detach(), picked)
    return picked


def _check_indices(idx: np.ndarray, weight: np.ndarray) -> None:
    """Indices in [0, rows): torch refuses a negative one, which NumPy would read from the end
    (a front-door check of values, which cr.compile replays as a call)."""
    rows = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= rows):
        bad = int(idx[(idx < 0) | (idx >= rows)].flat[0])
        raise errors.IndexOutOfRangeError(
            f"embedding: index {bad} is out of range for a weight of shape "
            f"{tuple(weight.shape)} (indices must be in [0, {rows - 1}])"
        )


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
