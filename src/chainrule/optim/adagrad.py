"""Adagrad (Duchi et al., 2011): each coordinate's step shrinks with its summed squared
gradients (torch's defaults and update order)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, check_nonnegative


class Adagrad(Optimizer):
    """s <- s + g^2;  p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)"""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ) -> None:
        check_nonnegative(
            "Adagrad",
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)
        # as torch: the accumulator exists from construction, so state_dict() has it at once
        for group in self.param_groups:
            for p in group["params"]:
                start = group["initial_accumulator_value"]
                self.state[p] = {"step": 0, "sum": np.full_like(p._data, start)}

    def step(self) -> None:
        for group in self.param_groups:
            lr, decay, eps, wd = group["lr"], group["lr_decay"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                if group["maximize"]:
                    g = -g
                state = self.state[p]
                state["step"] += 1
                if wd:
                    g = g + wd * p._data
                clr = lr / (1 + (state["step"] - 1) * decay)
                s = state["sum"]
                s += g * g
                p._data -= clr * (g / (np.sqrt(s) + eps))
                self._touch(p)
