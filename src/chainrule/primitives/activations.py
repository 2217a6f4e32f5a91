"""The standard normal CDF, the one primitive activations need beyond the elementwise table.

GELU(x) = x Φ(x) is a composition with it (nn/functional_activations.py); Φ needs erf, which
NumPy lacks, so its forward evaluates erfc with the vectorised kernel of `erf_kernel` (within an
ulp of the C library's `math.erfc`, in both tails).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.backend import namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.erf_kernel import erfc64
from chainrule.primitives.rules import D, Rule

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# erfc rather than 1 + erf: Φ(x) = erfc(-x/√2)/2 keeps full relative precision for x << 0


class NormalCdf(Primitive):
    """Φ(x) = P(Z <= x) for a standard normal Z, exact for any x (no 1 + erf cancellation)."""

    elementwise = True
    rule = Rule(
        "the normal CDF's slope is the normal density",
        "y = Φ(x) = (1 + erf(x/√2))/2",
        r"y = \Phi(x) = \tfrac{1}{2}\left(1 + \operatorname{erf}(x/\sqrt{2})\right)",
        x=(
            "dΦ(x)/dx = φ(x) = exp(-x²/2)/√(2π)",
            D % "x" + r" = \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        xp = namespace(x)
        values = erfc64(np.asarray(np.asarray(x) * -_SQRT_HALF, dtype=np.float64)) * 0.5
        y = xp.asarray(values).astype(x.dtype, copy=False)
        return y[()] if y.ndim == 0 else y  # a 0-d result is a NumPy scalar, as every op's

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * (dual.exp(x * x * -0.5) * _INV_SQRT_2PI)
