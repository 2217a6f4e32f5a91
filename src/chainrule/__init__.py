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

from chainrule import (
    autograd,
    check,
    data,
    distributed,
    errors,
    linalg,
    nn,
    optim,
    symbolic,
    testing,
    train,
    utils,
    viz,
)
from chainrule.backend import (
    Generator,
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
from chainrule.compile import compile
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
from chainrule.linalg import cdist, det, dist, slogdet
from chainrule.linalg import inv as inverse
from chainrule.modes import (
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from chainrule.ops import (  # re-exported there from ops.reduce and ops.order
    abs,
    absolute,
    acos,
    acosh,
    addmm,
    addmv,
    amax,
    amin,
    aminmax,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    argmax,
    argmin,
    argsort,
    argwhere,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    baddbmm,
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    block_diag,
    bmm,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    cartesian_prod,
    cat,
    ceil,
    chunk,
    clamp,
    clamp_max,
    clamp_min,
    column_stack,
    copysign,
    cos,
    cosh,
    count_nonzero,
    cross,
    cummax,
    cummin,
    cumprod,
    cumsum,
    deg2rad,
    diag,
    diag_embed,
    diagflat,
    diagonal,
    diff,
    div,
    divide,
    dstack,
    einsum,
    erf,
    erfc,
    erfinv,
    exp,
    exp2,
    expand,
    expm1,
    fix,
    flatten,
    fliplr,
    flipud,
    float_power,
    floor,
    fmod,
    frac,
    gather,
    ger,
    hstack,
    hypot,
    index_select,
    inner,
    isclose,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    isreal,
    kron,
    lerp,
    linear,
    log,
    log1p,
    log2,
    log10,
    log_softmax,
    logaddexp,
    logaddexp2,
    logcumsumexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logsumexp,
    masked_select,
    matmul,
    max,
    maximum,
    mean,
    median,
    meshgrid,
    min,
    minimum,
    moveaxis,
    movedim,
    msort,
    mul,
    multiply,
    mv,
    nan_to_num,
    nanmean,
    nanmedian,
    nanquantile,
    nansum,
    narrow,
    neg,
    negative,
    nonzero,
    outer,
    permute,
    positive,
    pow,
    prod,
    quantile,
    rad2deg,
    relu,
    repeat_interleave,
    reshape,
    roll,
    rot90,
    round,
    row_stack,
    scatter,
    scatter_reduce,
    sgn,
    sigmoid,
    sign,
    signbit,
    sin,
    sinc,
    sinh,
    softmax,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    std_mean,
    sub,
    subtract,
    sum,
    swapaxes,
    swapdims,
    take,
    take_along_dim,
    tan,
    tanh,
    tensordot,
    tile,
    trace,
    transpose,
    tril,
    tril_indices,
    triu,
    triu_indices,
    true_divide,
    trunc,
    unflatten,
    unsqueeze,
    var,
    var_mean,
    vstack,
    where,
    xlogy,
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
