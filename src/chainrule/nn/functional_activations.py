"""Activation functions with torch.nn.functional's names, signatures and gradients at kinks.

All are compositions (autodiff differentiates them) except GELU's normal CDF
(primitives/activations.py). Two rules keep them stable and torch-exact:

- A `where` runs the backward of both branches, so the unused branch must stay finite: exp is
  only ever taken of min(x, 0) (ELU, CELU, SELU), softplus of any x is the fused BCE-with-logits
  primitive, and nothing divides by a value that can be 0.
- At a kink, the gradient is torch's: selecting the constant branch with `where` gives 0 where
  torch's backward mask is strict (hardtanh at its bounds), and the mask is taken from the
  same comparison torch's kernel makes (`x > 0` for ELU, `x <= threshold` for threshold).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from chainrule import backend, creation, errors, ops
from chainrule.primitives.activations import NormalCdf
from chainrule.primitives.loss import BinaryCrossEntropyWithLogits
from chainrule.tensor import Tensor

# torch's SELU constants (Klambauer et al. 2017, to the digits torch uses)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _floating(input: Any, op: str) -> Tensor:
    """The input as a float tensor; torch has no integer kernel for these (NotImplementedError)."""
    x = ops.as_tensor(input)
    if x.dtype.kind not in "fO":
        raise errors.UnsupportedDTypeError(f"{op}: not implemented for dtype {x.dtype}")
    return x


def _result(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    """out, or with inplace=True out written into input (torch's `F.relu(x, inplace=True)`);
    the in-place machinery re-bases input's history and refuses a leaf that requires grad."""
    if not inplace:
        return out
    return input.copy_(out)


def _expm1(x: Tensor) -> Tensor:
    """exp(x) - 1 without cancellation for small |x| (ELU(x) ~ x near 0): with t = tanh(x/2),
    e^x - 1 = 2t / (1 - t). Used for x <= 0, where 1 - t is in [1, 2)."""
    t = ops.tanh(x * 0.5)
    return t * 2.0 / (1.0 - t)


def _softplus_unit(z: Tensor) -> Tensor:
    """log(1 + e^z) for any z: the BCE-with-logits of z against 0, whose fused primitive is exact
    everywhere and differentiates to sigmoid(z) (1/2 at z = 0, where a composition through
    max(z, 0) and |z| would give 0)."""
    return BinaryCrossEntropyWithLogits.apply(z, creation.zeros_like(z))


# -- smooth ---------------------------------------------------------------------------------
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Φ(x), Φ the standard normal CDF; approximate='tanh' gives
    x/2 (1 + tanh(√(2/π)(x + 0.044715 x³))).

    >>> import chainrule as cr
    >>> cr.nn.functional.gelu(cr.tensor([0.0, 1.0])).numpy().round(4)
    array([0.    , 0.8413], dtype=float32)
    """
    if approximate not in ("none", "tanh"):
        raise errors.ArgumentError(
            f"gelu: approximate argument must be either none or tanh, got {approximate!r}"
        )
    x = _floating(input, "gelu")
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        return x * 0.5 * (ops.tanh(inner) + 1.0)
    return x * NormalCdf.apply(x)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x σ(x) (swish)."""
    x = _floating(input, "silu")
    return _result(x, x * ops.sigmoid(x), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    x = _floating(input, "mish")
    return _result(x, x * ops.tanh(_softplus_unit(x)), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise (slope alpha at 0, as torch)."""
    x = _floating(input, "elu")
    return _result(x, _elu(x, alpha, 1.0, 1.0), inplace)


def _elu(x: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:
    """torch's one ELU kernel: scale x for x > 0, scale alpha expm1(input_scale x) otherwise."""
    # exp of min(x, 0) only: the unused branch's backward still runs, and e^x overflows. A
    # selection rather than clamp, which would save x and so refuse inplace=True at backward.
    below = ops.where(x._data > 0, 0.0, x)
    negative = _expm1(below * input_scale if input_scale != 1 else below) * (alpha * scale)
    positive = x * scale if scale != 1 else x
    return ops.where(x._data > 0, positive, negative)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale (x for x > 0, alpha (e^x - 1) otherwise) with torch's alpha and scale."""
    x = _floating(input, "selu")
    return _result(x, _elu(x, _SELU_ALPHA, _SELU_SCALE, 1.0), inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (e^(x/alpha) - 1))."""
    if alpha == 0:
        raise errors.ArgumentError("celu: alpha cannot be 0 (it divides x)")
    x = _floating(input, "celu")
    return _result(x, _elu(x, alpha, 1.0, 1.0 / alpha), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (torch's rule)."""
    x = _floating(input, "softplus")
    z = x * beta if beta != 1 else x
    smooth = _softplus_unit(z) / beta if beta != 1 else _softplus_unit(z)
    return ops.where(z._data > threshold, x, smooth)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    x = ops.as_tensor(input)
    return x / (ops.abs(x) + 1)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = -softplus(-x), finite for any x: minus the BCE-with-logits against 1."""
    x = _floating(input, "logsigmoid")
    return -BinaryCrossEntropyWithLogits.apply(x, creation.ones_like(x))


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    x = ops.as_tensor(input)
    return x - ops.tanh(x)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a σ(b), where a and b are the two halves of the input along dim."""
    x = ops.as_tensor(input)
    if x.ndim == 0:
        raise errors.ShapeError("glu: does not support scalars because halving size must be even")
    axis = dim + x.ndim if dim < 0 else dim
    if not 0 <= axis < x.ndim:
        raise IndexError(
            f"glu: dimension out of range (expected to be in range of [{-x.ndim}, "
            f"{x.ndim - 1}], but got {dim})"
        )
    n = x.shape[axis]
    if n % 2:
        raise errors.ShapeError(
            f"glu: halving dimension must be even, but dimension {axis} is size {n} "
            f"(input of shape {tuple(x.shape)})"
        )
    a, b = ops.split(x, n // 2, axis)
    return a * ops.sigmoid(b)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:  # fmt: skip
    """softmax(-x) along dim."""
    x = ops.as_tensor(input)
    if dim is None:  # torch's deprecated implicit choice, with its warning
        warnings.warn(
            "Implicit dimension choice for softmin has been deprecated. Change the call to "
            "include dim=X as an argument.",
            stacklevel=_stacklevel,
        )
        dim = 0 if x.ndim in (0, 1, 3) else 1
    if dtype is not None:
        x = ops.to(x, dtype)
    return ops.softmax(-x, dim)


# -- piecewise linear -----------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0), slope 0 at 0."""
    x = ops.as_tensor(input)
    return _result(x, ops.relu(x), inplace)


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope x otherwise (slope negative_slope at 0, as torch)."""
    x = _floating(input, "leaky_relu")
    return _result(x, ops.where(x._data > 0, x, x * negative_slope), inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:  # fmt: skip
    """x clipped to [min_val, max_val]; the gradient is 0 at the bounds, as torch's."""
    if min_val > max_val:
        raise ValueError(
            f"hardtanh: min_val cannot be greater than max_val, got {min_val} and {max_val}"
        )
    x = ops.as_tensor(input)
    data = x._data
    inside = ops.where(data >= max_val, max_val, x)
    return _result(x, ops.where(data <= min_val, min_val, inside), inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6), torch's hardtanh(x, 0, 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6; slope 1/6 strictly inside (-3, 3)."""
    x = _floating(input, "hardsigmoid")
    data = x._data
    inside = ops.where(data >= 3.0, 1.0, x / 6.0 + 0.5)
    return _result(x, ops.where(data <= -3.0, 0.0, inside), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6; slope x/3 + 1/2 strictly inside (-3, 3), 0 at -3 and 1 at 3 (torch's
    backward kernel)."""
    x = _floating(input, "hardswish")
    data = x._data
    inside = ops.where(data < 3.0, x * (x + 3.0) / 6.0, x)
    return _result(x, ops.where(data <= -3.0, 0.0, inside), inplace)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, weight x otherwise, weight per channel (dim 1) or one for all."""
    x = _floating(input, "prelu")
    w = ops.as_tensor(weight)
    channels = x.shape[1] if x.ndim >= 2 else 1
    if w.numel() != 1 and w.numel() != channels:
        raise errors.ShapeError(
            f"prelu: mismatch of parameter numbers and input channel size: weight has "
            f"{w.numel()} elements, the input of shape {tuple(x.shape)} has {channels} channels"
        )
    if w.ndim != 1 or w.numel() == 1:
        w = w.reshape(())
    elif x.ndim >= 2:
        w = w.reshape(channels, *([1] * (x.ndim - 2)))
    return ops.where(x._data > 0, x, x * w)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:  # fmt: skip
    """Leaky ReLU with slope (lower + upper)/2, or in training a slope drawn from
    U(lower, upper) for each element (chainrule's seeded generator)."""
    x = _floating(input, "rrelu")
    if not training:
        return leaky_relu(x, (lower + upper) / 2, inplace)
    slopes = backend.rng().uniform(lower, upper, x.shape).astype(x.dtype)
    return _result(x, ops.where(x._data >= 0, x, x * slopes), inplace)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    x = ops.as_tensor(input)
    return _result(x, ops.where(x._data <= threshold, value, x), inplace)


_threshold = threshold  # threshold_'s argument of the same name hides the function


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    if lambd < 0:
        raise errors.ArgumentError(f"softshrink: lambda must be >= 0, but found {lambd}")
    x = _floating(input, "softshrink")
    data = x._data
    below = ops.where(data < -lambd, x + lambd, 0.0)
    return ops.where(data > lambd, x - lambd, below)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x outside [-lambd, lambd], 0 inside."""
    x = _floating(input, "hardshrink")
    data = x._data
    return ops.where((data >= -lambd) & (data <= lambd), 0.0, x)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _threshold(input, threshold, value, inplace=True)
