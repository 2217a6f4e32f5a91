"""How the front-end functions take their value operands (shared by ops/__init__ and shaping)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import backend
from chainrule.tensor_base import TensorBase as Tensor  # the tensor layer types against the base


def operand(x: Any) -> Any:
    """Tensors and Python numbers pass through; array-likes become arrays (constants), with
    Python floats in them taking the default dtype as PyTorch's would."""
    if isinstance(x, (Tensor, int, float, bool)):
        return x
    if isinstance(x, (list, tuple)):
        floating = np.asarray(x).dtype.kind == "f"
        return np.asarray(x, dtype=backend.get_default_dtype() if floating else None)
    return x
