"""torch.nn.functional's dropout and its variants: whole channels (dropout1d/2d/3d) and SELU's
alpha dropout, which keeps the mean and variance of self-normalising activations.

The masks come from chainrule's seeded generator; with training=False each is the identity.
"""

from __future__ import annotations

import math

from chainrule import backend, errors, ops
from chainrule.tensor import Tensor


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not
    training); the mask comes from chainrule's seeded generator."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = backend.rng().random(x.shape) >= p
    return x * (keep.astype(x.dtype) / (1.0 - p))


def _check_p(p: float, op: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _feature_dropout(x: Tensor, p: float, training: bool, inplace: bool, op: str,
                     batched: int) -> Tensor:  # fmt: skip
    """Zero whole channels: one draw per (N, C) (or per C for an unbatched input of rank
    batched - 1), broadcast over the spatial dims."""
    _check_p(p, op)
    if x.ndim not in (batched - 1, batched):
        raise errors.ShapeError(
            f"{op}: expected {batched - 1}-D or {batched}-D input, got input of shape "
            f"{tuple(x.shape)}"
        )
    if not training or p == 0.0:
        return x
    lead = 2 if x.ndim == batched else 1
    mask_shape = tuple(x.shape[:lead]) + (1,) * (x.ndim - lead)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    keep = (backend.rng().random(mask_shape) >= p).astype(x.dtype) * scale
    out = x * keep
    return x.copy_(out) if inplace else out


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:  # fmt: skip
    """Channel dropout of (N, C, L) or (C, L) inputs."""
    return _feature_dropout(ops.as_tensor(input), p, training, inplace, "dropout1d", 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:  # fmt: skip
    """Channel dropout of (N, C, H, W) or (C, H, W) inputs."""
    return _feature_dropout(ops.as_tensor(input), p, training, inplace, "dropout2d", 4)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:  # fmt: skip
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W) inputs."""
    return _feature_dropout(ops.as_tensor(input), p, training, inplace, "dropout3d", 5)


# -alpha * scale of SELU: the value SELU's output saturates to, which alpha dropout drops to
_ALPHA_PRIME = 1.7580993408473766


def _alpha_dropout(x: Tensor, p: float, training: bool, inplace: bool, feature: bool,
                   op: str) -> Tensor:  # fmt: skip
    """Dropped elements (or channels) are set to SELU's saturation value, then an affine map
    a x + b restores zero mean and unit variance (torch's a and b)."""
    _check_p(p, op)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        out = x * 0.0
    else:
        shape = tuple(x.shape[:2]) + (1,) * (x.ndim - 2) if feature else tuple(x.shape)
        keep = (backend.rng().random(shape) >= p).astype(x.dtype)
        a = 1.0 / math.sqrt((_ALPHA_PRIME**2 * p + 1) * (1 - p))
        b = (keep - 1) * (_ALPHA_PRIME * a) + _ALPHA_PRIME * a * p
        out = x * (keep * a) + b
    return x.copy_(out) if inplace else out


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:  # fmt: skip
    return _alpha_dropout(ops.as_tensor(input), p, training, inplace, False, "alpha_dropout")


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:  # fmt: skip
    x = ops.as_tensor(input)
    return _alpha_dropout(x, p, training, inplace, True, "feature_alpha_dropout")
