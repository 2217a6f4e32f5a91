"""Losses and distances with torch.nn.functional's names and semantics.

Compositions only (autodiff differentiates them); each follows torch's own formula where the
choice shows in values or gradients: which side of a kink a tie goes to, where eps is added, and
which clamps are outside the graph (torch clamps some norms and variances under no_grad, so the
gradient passes as if unclamped: `_clamped_value` does the same).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from chainrule import backend, creation, errors, ops
from chainrule.nn.functional_activations import _softplus_unit, logsigmoid
from chainrule.nn.loss_reduction import REDUCTIONS as _REDUCTIONS
from chainrule.nn.loss_reduction import reduce as _reduce
from chainrule.tensor import Tensor


def _reduction(reduction: str, op: str, size_average: Any = None, reduce: Any = None) -> str:
    """The reduction, from torch's deprecated size_average/reduce pair when either is given."""
    if size_average is not None or reduce is not None:
        warnings.warn(
            f"{op}: size_average and reduce args will be deprecated, please use "
            f"reduction={_legacy(size_average, reduce)!r} instead.",
            stacklevel=3,
        )
        reduction = _legacy(size_average, reduce)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction")
    return reduction


def _legacy(size_average: Any, reduce: Any) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _pair(input: Any, target: Any, op: str) -> tuple[Tensor, Tensor]:
    """Both as tensors, warning as torch does when they broadcast to another shape."""
    x, y = ops.as_tensor(input), ops.as_tensor(target)
    if x.shape != y.shape:
        warnings.warn(
            f"{op}: using a target size ({tuple(y.shape)}) that is different to the input size "
            f"({tuple(x.shape)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            stacklevel=3,
        )
    return x, y


def _clamped_value(t: Tensor, min: float) -> Tensor:
    """t with its values clamped below at min but its gradient t's own (torch's clamp_ under
    no_grad on a clone of a norm or a variance)."""
    data = t._data
    lifted = np.maximum(data, min) - data
    return t + lifted if (lifted != 0).any() else t


def _mask(t: Tensor, value: float) -> Any:
    return t._data == value


# -- regression -----------------------------------------------------------------------------
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:  # fmt: skip
    """0.5 d² where |d| < delta, delta (|d| - delta/2) elsewhere, d = input - target."""
    reduction = _reduction(reduction, "huber_loss")
    if delta <= 0:
        raise errors.ArgumentError(
            f"huber_loss: does not support non-positive values for delta, got {delta}"
        )
    x, y = _pair(input, target, "huber_loss")
    d = x - y
    size = ops.abs(d)
    losses = ops.where(size._data < delta, d * d * 0.5, (size - 0.5 * delta) * delta)
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:  # fmt: skip
    """0.5 d²/beta where |d| < beta, |d| - beta/2 elsewhere (|d| for beta = 0)."""
    reduction = _reduction(reduction, "smooth_l1_loss", size_average, reduce)
    if beta < 0:
        raise errors.ArgumentError(
            f"smooth_l1_loss: does not support negative values for beta, got {beta}"
        )
    x, y = _pair(input, target, "smooth_l1_loss")
    d = x - y
    size = ops.abs(d)
    if beta == 0:
        return _reduce(size, reduction)
    losses = ops.where(size._data < beta, d * d * (0.5 / beta), size - 0.5 * beta)
    return _reduce(losses, reduction)


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:  # fmt: skip
    """target (log target - input) per element, input holding log-probabilities (0 where the
    target is 0); 'batchmean' divides the sum by the batch size, the true KL divergence."""
    if reduction == "batchmean" and size_average is None and reduce is None:
        mode = "batchmean"
    else:
        mode = _reduction(reduction, "kl_div", size_average, reduce)
        if mode == "mean":
            warnings.warn(
                "kl_div: reduction: 'mean' divides the total loss by both the batch size and "
                "the support size. 'batchmean' divides only by the batch size, and aligns with "
                "the KL div math definition. 'mean' will be changed to behave the same as "
                "'batchmean' in the next major release.",
                stacklevel=2,
            )
    x, t = ops.as_tensor(input), ops.as_tensor(target)
    if log_target:
        losses = ops.exp(t) * (t - x)
    else:
        positive = t._data > 0
        # t log t is 0 at t = 0 (torch's xlogy): log of a selected 1 there, never of 0
        safe = ops.where(positive, t, 1.0)
        losses = ops.where(positive, t * ops.log(safe), 0.0) - t * x
    if mode == "batchmean":
        batch = losses.shape[0] if losses.ndim else 1
        return losses.sum() / batch
    return _reduce(losses, mode)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: Any = None, eps: float = 1e-8, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:  # fmt: skip
    """exp(input) - target input (log_input), or input - target log(input + eps); full adds
    Stirling's approximation of log(target!) where target > 1."""
    reduction = _reduction(reduction, "poisson_nll_loss", size_average, reduce)
    x, t = ops.as_tensor(input), ops.as_tensor(target)
    losses = ops.exp(x) - t * x if log_input else x - t * ops.log(x + eps)
    if full:
        above = t._data > 1
        safe = ops.where(above, t, 1.0)  # the log of a selected 1 where target <= 1
        stirling = safe * ops.log(safe) - safe + ops.log(safe * (2 * math.pi)) * 0.5
        losses = losses + ops.where(above, stirling, 0.0)
    return _reduce(losses, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:  # fmt: skip
    """0.5 (log max(var, eps) + (input - target)² / max(var, eps)) (+ 0.5 log 2π when full);
    var has input's shape, or one dim fewer, or a last dim of 1 (one variance per sample)."""
    reduction = _reduction(reduction, "gaussian_nll_loss")
    x, t = ops.as_tensor(input), ops.as_tensor(target)
    v = ops.as_tensor(var) if isinstance(var, Tensor) else creation.full(x.shape, var, x.dtype)
    if v.shape != x.shape:
        if x.shape[:-1] == v.shape:  # one dim fewer: a variance per sample (homoscedastic)
            v = v.unsqueeze(-1)
        elif not (x.shape[:-1] == v.shape[:-1] and v.ndim and v.shape[-1] == 1):
            raise errors.ShapeError(
                f"gaussian_nll_loss: var of shape {tuple(v.shape)} is of incorrect size for "
                f"input of shape {tuple(x.shape)}"
            )
    if (v._data < 0).any():
        raise errors.ArgumentError("gaussian_nll_loss: var has negative entry/entries")
    v = _clamped_value(v, eps)
    losses = (ops.log(v) + (x - t) ** 2 / v) * 0.5
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return _reduce(losses, reduction)


# -- classification and ranking -------------------------------------------------------------
def soft_margin_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:  # fmt: skip
    """log(1 + exp(-y x)), finite for any y x (the fused softplus)."""
    reduction = _reduction(reduction, "soft_margin_loss", size_average, reduce)
    x, y = _pair(input, target, "soft_margin_loss")
    return _reduce(_softplus_unit(-(y * x)), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: Any = None, reduce: Any = None,
                                reduction: str = "mean") -> Tensor:  # fmt: skip
    """-(y log σ(x) + (1 - y) log σ(-x)), weighted, averaged over the classes (last dim)."""
    reduction = _reduction(reduction, "multilabel_soft_margin_loss", size_average, reduce)
    x, y = ops.as_tensor(input), ops.as_tensor(target)
    losses = -(y * logsigmoid(x) + (1 - y) * logsigmoid(-x))
    if weight is not None:
        losses = losses * weight
    per_sample = losses.sum(x.ndim - 1) / x.shape[-1] if x.ndim else losses
    return _reduce(per_sample, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:  # fmt: skip
    """max(0, -y (x1 - x2) + margin)."""
    reduction = _reduction(reduction, "margin_ranking_loss", size_average, reduce)
    a, b, y = ops.as_tensor(input1), ops.as_tensor(input2), ops.as_tensor(target)
    if not a.ndim == b.ndim == y.ndim:
        raise errors.ShapeError(
            f"margin_ranking_loss: all input tensors should have the same number of dimensions, "
            f"got input1 {tuple(a.shape)}, input2 {tuple(b.shape)}, target {tuple(y.shape)}"
        )
    return _reduce(ops.clamp(-y * (a - b) + margin, min=0.0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:  # fmt: skip
    """x where y = 1, max(0, margin - x) where y = -1 (torch's two selections, summed)."""
    reduction = _reduction(reduction, "hinge_embedding_loss", size_average, reduce)
    x, y = ops.as_tensor(input), ops.as_tensor(target)
    shape = np.broadcast_shapes(x.shape, y.shape)
    by_margin = ops.where(np.broadcast_to(y._data != 1, shape), ops.clamp(margin - x, min=0.0), 0.0)
    by_self = ops.where(np.broadcast_to(y._data != -1, shape), x, 0.0)
    return _reduce(by_margin + by_self, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average: Any = None, reduce: Any = None,
                          reduction: str = "mean") -> Tensor:  # fmt: skip
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1; cos with torch's
    1e-12 added to each squared norm."""
    reduction = _reduction(reduction, "cosine_embedding_loss", size_average, reduce)
    a, b, y = ops.as_tensor(input1), ops.as_tensor(input2), ops.as_tensor(target)
    if a.shape != b.shape or a.ndim not in (1, 2) or y.ndim != a.ndim - 1:
        raise errors.ShapeError(
            f"cosine_embedding_loss: expected input1 and input2 of one shape, (N, D) or (D,), "
            f"and a target of shape (N,) or (), got {tuple(a.shape)}, {tuple(b.shape)} and "
            f"{tuple(y.shape)}"
        )
    dim = a.ndim - 1
    squared = ((a * a).sum(dim) + 1e-12) * ((b * b).sum(dim) + 1e-12)
    cos = (a * b).sum(dim) / ops.sqrt(squared)
    positive = ops.where(_mask(y, 1), 1 - cos, 0.0)
    negative = ops.where(_mask(y, -1), ops.clamp(cos - margin, min=0.0), 0.0)
    return _reduce(positive + negative, reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average: Any = None, reduce: Any = None,
                      reduction: str = "mean") -> Tensor:  # fmt: skip
    """Σ_{i≠y} max(0, margin - x_y + x_i)^p / C per sample (times weight[y])."""
    reduction = _reduction(reduction, "multi_margin_loss", size_average, reduce)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got {p}")
    x, y = ops.as_tensor(input), ops.as_tensor(target)
    rows = x.reshape(1, -1) if x.ndim <= 1 else x
    labels = y._data.reshape(-1).astype(np.int64)
    classes = rows.shape[1]
    if rows.ndim != 2 or labels.shape[0] != rows.shape[0]:
        raise errors.ShapeError(
            f"multi_margin_loss: expected input (N, C) or (C,) and target (N,) or (), got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    if ((labels < 0) | (labels >= classes)).any():
        raise errors.IndexOutOfRangeError(
            f"multi_margin_loss: target {labels.tolist()} out of range for {classes} classes"
        )
    picked = ops.gather(rows, 1, labels[:, None])
    hinge = ops.clamp(rows - picked + margin, min=0.0)
    hinge = hinge * hinge if p == 2 else hinge
    if weight is not None:
        hinge = hinge * ops.as_tensor(weight)._data[labels][:, None]
    other = np.arange(classes)[None, :] != labels[:, None]
    losses = ops.where(other, hinge, 0.0).sum(1) / classes
    return _reduce(losses.reshape(()) if x.ndim <= 1 else losses, reduction)


# -- distances ------------------------------------------------------------------------------
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ (x1/max(‖x1‖, eps)) (x2/max(‖x2‖, eps)) along dim; the clamps are torch's, outside the
    graph (the gradient is the unclamped formula's)."""
    a, b = ops.as_tensor(x1), ops.as_tensor(x2)
    if a.dtype.kind not in "fO" and b.dtype.kind not in "fO":
        a = ops.to(a, backend.get_default_dtype())
    shape = np.broadcast_shapes(a.shape, b.shape)
    a, b = a.expand(*shape), b.expand(*shape)
    na = _clamped_value(ops.norm(a, 2, dim, keepdim=True), eps)
    nb = _clamped_value(ops.norm(b, 2, dim, keepdim=True), eps)
    return ((a / na) * (b / nb)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:  # fmt: skip
    """‖x1 - x2 + eps‖_p along the last dim (torch adds eps to the difference)."""
    a, b = ops.as_tensor(x1), ops.as_tensor(x2)
    last = max(a.ndim, b.ndim) - 1
    return ops.norm(a - b + eps, p, max(last, 0) if last >= 0 else None, keepdim)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False,
                        size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:  # fmt: skip
    """max(d(a, p) - d(a, n) + margin, 0), d the pairwise distance; swap uses min(d(a, n),
    d(p, n)) as the negative distance."""
    reduction = _reduction(reduction, "triplet_margin_loss", size_average, reduce)
    a, pos, neg = ops.as_tensor(anchor), ops.as_tensor(positive), ops.as_tensor(negative)
    if not a.ndim == pos.ndim == neg.ndim or a.ndim not in (1, 2):
        raise errors.ShapeError(
            f"triplet_margin_loss: anchor, positive and negative must all be 1-D or 2-D, got "
            f"{tuple(a.shape)}, {tuple(pos.shape)} and {tuple(neg.shape)}"
        )
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = ops.minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    return _reduce(ops.clamp(d_pos - d_neg + margin, min=0.0), reduction)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:  # fmt: skip
    """input / max(‖input‖_p, eps) along dim (torch's clamp_min: in the graph here)."""
    x = ops.as_tensor(input)
    result = x / ops.clamp(ops.norm(x, p, dim, keepdim=True), min=eps)
    if out is not None:
        return out.copy_(result)
    return result
