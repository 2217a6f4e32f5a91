"""Automatic differentiation: backward, grad(), Functions (and their ctx, FunctionCtx),
functional transforms, gradient checks."""

from __future__ import annotations

from chainrule.autograd import functional
from chainrule.autograd.grad import grad
from chainrule.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from chainrule.engine import backward
from chainrule.function import Function, FunctionCtx, Node
from chainrule.modes import (
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

__all__ = [
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "Node",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]
