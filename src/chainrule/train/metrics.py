"""Classification metrics computed on arrays (no graph needed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.tensor import Tensor


def _array(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def predictions(output: Any) -> np.ndarray:
    """Class predictions from logits: argmax over classes, or logit > 0 for one output column."""
    out = _array(output)
    if out.ndim == 1 or out.shape[-1] == 1:
        return (out.reshape(out.shape[0], -1)[:, 0] > 0).astype(np.int64)
    return out.argmax(axis=-1)


def accuracy(output: Any, target: Any) -> float:
    """Fraction of samples whose predicted class equals the target."""
    target = _array(target)
    if target.dtype.kind == "f" and target.ndim > 1 and target.shape[-1] > 1:
        target = target.argmax(axis=-1)  # probability targets: compare with their argmax
    return float((predictions(output) == target.reshape(-1).astype(np.int64)).mean())


def confusion_matrix(predicted: Any, target: Any, classes: int | None = None) -> np.ndarray:
    """counts[i, j] = number of samples of true class i predicted as j."""
    p, t = _array(predicted).astype(np.int64), _array(target).astype(np.int64)
    n = classes if classes is not None else int(max(p.max(initial=0), t.max(initial=0))) + 1
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (t, p), 1)
    return counts
