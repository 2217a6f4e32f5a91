"""chainrule: backpropagation made real.

A reverse-mode autodiff engine over NumPy arrays with PyTorch's names, plus the tools to see and
check the chain rule at work.

>>> import chainrule as cr
>>> a = cr.tensor(2.0, requires_grad=True)
>>> y = cr.sigmoid(a * 3.0)
>>> y.backward()
>>> print(f"{a.grad.item():.6f}")  # not round(): cr.round is torch's, as in this namespace
0.007399
"""

from __future__ import annotations

import builtins

from chainrule import autograd, check, data, distributed, errors, nn, optim, symbolic, train, viz
from chainrule.backend import (
    bool_,
    double,
    float16,
    float32,
    float64,
    get_default_dtype,
    get_rng_state,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    manual_seed,
    set_default_dtype,
    set_rng_state,
    uint8,
)
from chainrule.creation import (
    arange,
    as_tensor,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from chainrule.function import Function
from chainrule.io import load_tensors as load
from chainrule.io import save
from chainrule.modes import (
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from chainrule.ops import (
    abs,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    chunk,
    clamp,
    cos,
    div,
    exp,
    expand,
    flatten,
    gather,
    linear,
    log,
    log1p,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from chainrule.ops import add as add
from chainrule.ops.composite import (
    all,
    any,
    flip,
    floor_divide,
    masked_fill,
    remainder,
    repeat,
    sort,
    topk,
    unbind,
)

# -- issue 12 exports: math (one helper's block; keep sorted inside) --
from chainrule.ops import (
    absolute,
    acos,
    acosh,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    ceil,
    clamp_max,
    clamp_min,
    copysign,
    cosh,
    deg2rad,
    divide,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    fix,
    float_power,
    floor,
    fmod,
    frac,
    hypot,
    isclose,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    isreal,
    lerp,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    multiply,
    nan_to_num,
    negative,
    positive,
    rad2deg,
    round,
    sgn,
    sign,
    signbit,
    sinc,
    sinh,
    subtract,
    tan,
    true_divide,
    trunc,
    xlogy,
)

# -- end math --
# -- issue 12 exports: reduce (one helper's block; keep sorted inside) --
from chainrule.ops import (  # re-exported there from ops.reduce and ops.order
    aminmax,
    count_nonzero,
    cummax,
    cummin,
    cumprod,
    cumsum,
    diff,
    logcumsumexp,
    median,
    nanmean,
    nanmedian,
    nanquantile,
    nansum,
    prod,
    quantile,
    std_mean,
    var_mean,
)
# -- end reduce --
# -- issue 12 exports: structure (one helper's block; keep sorted inside) --
# isort: split
from chainrule import linalg
from chainrule.linalg import cdist, det, dist, slogdet
from chainrule.linalg import inv as inverse
from chainrule.ops import (
    addmm,
    addmv,
    argsort,
    argwhere,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    baddbmm,
    block_diag,
    bmm,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    cartesian_prod,
    column_stack,
    cross,
    diag,
    diag_embed,
    diagflat,
    diagonal,
    dstack,
    einsum,
    fliplr,
    flipud,
    ger,
    hstack,
    index_select,
    inner,
    kron,
    masked_select,
    meshgrid,
    moveaxis,
    movedim,
    msort,
    mv,
    narrow,
    nonzero,
    outer,
    repeat_interleave,
    roll,
    rot90,
    row_stack,
    scatter,
    scatter_reduce,
    swapaxes,
    swapdims,
    take,
    take_along_dim,
    tensordot,
    tile,
    trace,
    tril,
    tril_indices,
    triu,
    triu_indices,
    unflatten,
    vstack,
)

# isort: split
# -- end structure --
# -- issue 12 exports: optim-data (one helper's block; keep sorted inside) --
from chainrule import testing, utils
from chainrule.backend import Generator
from chainrule.compile import compile
from chainrule.modes import inference_mode, is_inference_mode_enabled
# -- end optim-data --
from chainrule.tensor import Tensor
from chainrule.version import __version__ as __version__
from chainrule.viz.ledger import explain

clip = clamp


def mm(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product of two 2-D tensors."""
    return a.mm(b)


def square(x: Tensor) -> Tensor:
    return x.square()


def is_tensor(obj: object) -> builtins.bool:  # the builtin: `bool` is rebound below
    """True for chainrule tensors."""
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> builtins.int:
    return t.numel()


def allclose(
    a: Tensor, b: Tensor, rtol: builtins.float = 1e-5, atol: builtins.float = 1e-8
) -> builtins.bool:
    return a.allclose(b, rtol, atol)


# torch.float, torch.int and torch.bool: these names shadow builtins only in this namespace.
float = float32
int = int32
bool = bool_
