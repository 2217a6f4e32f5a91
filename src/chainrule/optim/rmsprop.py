"""RMSprop and Adadelta: steps scaled by a running average of squared gradients (torch's
update order and defaults, so a run matches torch.optim's step for step)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, check_nonnegative


class RMSprop(Optimizer):
    """v <- alpha v + (1 - alpha) g^2;  p <- p - lr g / (sqrt(v) + eps)

    `centered` subtracts the squared running mean of g from v; `momentum` keeps a buffer
    b <- mu b + g / (sqrt(v) + eps) and steps p <- p - lr b (Hinton's lecture 6e; torch's form).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        check_nonnegative("RMSprop", eps=eps, momentum=momentum, weight_decay=weight_decay)
        check_nonnegative("RMSprop", alpha=alpha)
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def step(self) -> None:
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, mu = group["weight_decay"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                if group["maximize"]:
                    g = -g
                if wd:
                    g = g + wd * p._data
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["square_avg"] = np.zeros_like(p._data)
                    if mu > 0:
                        state["momentum_buffer"] = np.zeros_like(p._data)
                    if group["centered"]:
                        state["grad_avg"] = np.zeros_like(p._data)
                state["step"] += 1
                v = state["square_avg"]
                v *= alpha
                v += (1 - alpha) * (g * g)
                if group["centered"]:
                    m = state["grad_avg"]
                    m += (1 - alpha) * (g - m)  # torch's lerp: m + (1 - alpha)(g - m)
                    avg = np.sqrt(v - m * m)
                else:
                    avg = np.sqrt(v)
                avg += eps
                if mu > 0:
                    buf = state["momentum_buffer"]
                    buf *= mu
                    buf += g / avg
                    p._data -= lr * buf
                else:
                    p._data -= lr * (g / avg)
                self._touch(p)


class Adadelta(Optimizer):
    """v <- rho v + (1 - rho) g^2;  d = sqrt(u + eps) / sqrt(v + eps) g;
    u <- rho u + (1 - rho) d^2;  p <- p - lr d  (Zeiler, 2012; lr=1 is the paper's rule)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ) -> None:
        check_nonnegative("Adadelta", eps=eps, weight_decay=weight_decay)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho value {rho} (must be in [0, 1])")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self) -> None:
        for group in self.param_groups:
            lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                if group["maximize"]:
                    g = -g
                if wd:
                    g = g + wd * p._data
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["square_avg"] = np.zeros_like(p._data)
                    state["acc_delta"] = np.zeros_like(p._data)
                state["step"] += 1
                v, u = state["square_avg"], state["acc_delta"]
                v *= rho
                v += (1 - rho) * (g * g)
                delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
                u *= rho
                u += (1 - rho) * (delta * delta)
                p._data -= lr * delta
                self._touch(p)
