"""Adam and AdamW (Kingma & Ba, 2015; Loshchilov & Hutter, 2019), with PyTorch's exact formulas."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer


class Adam(Optimizer):
    """m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)"""

    _decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        name = type(self).__name__
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name}: invalid beta parameter at index {i}: {beta}")
        if eps < 0:
            raise ValueError(f"{name}: invalid epsilon value {eps}")
        if weight_decay < 0:
            raise ValueError(f"{name}: invalid weight_decay value {weight_decay}")
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)
        self._scratch: dict = {}  # per-parameter work buffer of the update; not optimizer state

    def step(self) -> None:
        for group in self.param_groups:
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            wd, amsgrad = group["weight_decay"], group["amsgrad"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                if group["maximize"]:
                    g = -g
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(p._data)
                    state["exp_avg_sq"] = np.zeros_like(p._data)
                    if amsgrad:
                        state["max_exp_avg_sq"] = np.zeros_like(p._data)
                if wd:
                    if self._decoupled:
                        p._data *= 1 - lr * wd
                    else:
                        g = g + wd * p._data
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                bias1 = 1 - b1**t
                bias2_sqrt = math.sqrt(1 - b2**t)
                # The textbook lines, each temporary written into one reused buffer: the same
                # operations in the same order (the same bits), without six parameter-sized
                # allocations per step
                if g.dtype != m.dtype or g.shape != m.shape:  # a .grad set by hand
                    self._textbook(p, g, m, v, state, group, bias1, bias2_sqrt)
                    continue
                s = self._scratch.get(p)
                if s is None or s.shape != g.shape or s.dtype != g.dtype:
                    s = self._scratch[p] = np.empty_like(g)
                m *= b1
                m += np.multiply(g, 1 - b1, out=s)  # m += (1 - b1) * g
                v *= b2
                np.multiply(g, g, out=s)
                v += np.multiply(s, 1 - b2, out=s)  # v += (1 - b2) * (g * g)
                if amsgrad:
                    np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                    v = state["max_exp_avg_sq"]
                np.sqrt(v, out=s)
                np.divide(s, bias2_sqrt, out=s)
                denom = np.add(s, eps, out=s)  # sqrt(v) / bias2_sqrt + eps
                p._data -= np.multiply(np.divide(m, denom, out=s), lr / bias1, out=s)
                self._touch(p)

    def _textbook(
        self, p: Any, g: Any, m: Any, v: Any, state: dict, group: dict, bias1: float, b2s: float
    ) -> None:
        """The update with fresh temporaries, for a gradient of another dtype or shape than the
        parameter's (NumPy's promotion and broadcasting decide the arithmetic, as before)."""
        (b1, b2), lr, eps = group["betas"], group["lr"], group["eps"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        p._data -= (lr / bias1) * (m / (np.sqrt(v) / b2s + eps))
        self._touch(p)


class AdamW(Adam):
    """Adam with decoupled weight decay: p <- p (1 - lr wd) before the Adam step."""

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
