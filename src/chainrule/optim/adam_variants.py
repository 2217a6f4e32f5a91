"""NAdam, RAdam and Adamax: Adam's moment estimates with Nesterov momentum, a rectified
warm-up, or an infinity norm (torch's formulas and update order, step for step)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.optim.optimizer import Optimizer, check_betas, check_nonnegative


class _Moments(Optimizer):
    """Shared construction: lr, betas, eps and weight decay checked as torch checks them."""

    def __init__(self, params: Iterable[Any], **defaults: Any) -> None:
        name = type(self).__name__
        check_betas(name, defaults["betas"])
        check_nonnegative(name, eps=defaults["eps"], weight_decay=defaults["weight_decay"])
        defaults["betas"] = tuple(defaults["betas"])
        super().__init__(params, defaults)

    def _grads(self, group: dict[str, Any]) -> Iterable[tuple[Any, np.ndarray, dict[str, Any]]]:
        """(parameter, gradient after maximize and coupled weight decay, state) for each
        parameter with a gradient; decoupled weight decay is applied to the parameter here."""
        lr, wd = group["lr"], group["weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad._data
            if group.get("maximize"):
                g = -g
            if wd:
                if group.get("decoupled_weight_decay"):
                    p._data *= 1 - lr * wd
                else:
                    g = g + wd * p._data
            yield p, g, self.state.setdefault(p, {})


class NAdam(_Moments):
    """Adam with Nesterov momentum (Dozat, 2016): the step mixes this gradient with the next
    momentum, mu_t = b1 (1 - 0.5 * 0.96^(t * momentum_decay))."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
    ) -> None:
        check_nonnegative("NAdam", momentum_decay=momentum_decay)
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )

    def step(self) -> None:
        for group in self.param_groups:
            lr, (b1, b2), eps, decay = (
                group["lr"],
                group["betas"],
                group["eps"],
                group["momentum_decay"],
            )
            for p, g, state in self._grads(group):
                if not state:
                    state["step"] = 0
                    # torch keeps this product as a 0-d tensor of the default dtype (float32
                    # unless changed), so it rounds each step; rounding it the same way keeps a
                    # float64 run equal to torch's to the last digits
                    state["mu_product"] = backend.get_default_dtype().type(1.0)
                    state["exp_avg"] = np.zeros_like(p._data)
                    state["exp_avg_sq"] = np.zeros_like(p._data)
                state["step"] += 1
                t = state["step"]
                mu = b1 * (1.0 - 0.5 * 0.96 ** (t * decay))
                mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * decay))
                kind = type(state["mu_product"])
                state["mu_product"] = kind(state["mu_product"] * kind(mu))
                product = float(state["mu_product"])
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m += (1 - b1) * (g - m)
                v *= b2
                v += (1 - b2) * (g * g)
                denom = np.sqrt(v / (1 - b2**t)) + eps
                p._data -= (lr * (1.0 - mu) / (1.0 - product)) * (g / denom)
                p._data -= (lr * mu_next / (1.0 - product * mu_next)) * (m / denom)
                self._touch(p)


class RAdam(_Moments):
    """Rectified Adam (Liu et al., 2020): plain momentum SGD while the variance estimate is too
    young (rho_t <= 5), then Adam scaled by the rectification term r_t."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )

    def step(self) -> None:
        for group in self.param_groups:
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            rho_inf = 2 / (1 - b2) - 1
            for p, g, state in self._grads(group):
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(p._data)
                    state["exp_avg_sq"] = np.zeros_like(p._data)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m += (1 - b1) * (g - m)
                v *= b2
                v += (1 - b2) * (g * g)
                bias1, bias2 = 1 - b1**t, 1 - b2**t
                corrected = m / bias1
                rho_t = rho_inf - 2 * t * (b2**t) / bias2
                if rho_t > 5.0:
                    rect = math.sqrt(
                        (rho_t - 4)
                        * (rho_t - 2)
                        * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                    )
                    adaptive = math.sqrt(bias2) / (np.sqrt(v) + eps)
                    p._data -= corrected * lr * adaptive * rect
                else:
                    p._data -= corrected * lr
                self._touch(p)


class Adamax(_Moments):
    """Adam with the infinity norm: u <- max(b2 u, |g| + eps); p <- p - lr / (1 - b1^t) m / u."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize
        )

    def step(self) -> None:
        for group in self.param_groups:
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            for p, g, state in self._grads(group):
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(p._data)
                    state["exp_inf"] = np.zeros_like(p._data)
                state["step"] += 1
                m, u = state["exp_avg"], state["exp_inf"]
                m += (1 - b1) * (g - m)
                np.maximum(u * b2, np.abs(g) + eps, out=u)
                p._data -= (lr / (1 - b1 ** state["step"])) * (m / u)
                self._touch(p)
