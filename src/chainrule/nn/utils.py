"""Gradient utilities."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from chainrule.tensor import Tensor


def clip_grad_norm_(
    parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0
) -> Tensor:
    """Scale all gradients together so their joint norm is at most max_norm; returns the norm
    before clipping (as torch.nn.utils.clip_grad_norm_)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad._data for p in params if p.grad is not None]
    if not grads:
        return Tensor._make(np.asarray(0.0, dtype=np.float32))
    if math.isinf(norm_type):
        total = max(float(np.abs(g).max()) for g in grads)
    else:
        total = sum(float((np.abs(g) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type)
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for p in params:
            if p.grad is not None:
                p.grad._data *= scale
                p.grad._vc[0] += 1
    return Tensor._make(np.asarray(total, dtype=grads[0].dtype))
