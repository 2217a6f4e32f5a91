"""Stochastic gradient descent, seed 000 Ex3 Q4: W^{t+1} = W^t - lr dL/dW^t (plus PyTorch's
momentum, dampening, Nesterov and weight decay, with its exact update order)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer


class SGD(Optimizer):
    """p <- p - lr * d, where d = g + wd p, or with momentum b <- mu b + (1 - dampening) d and
    d = b (or d + mu b with nesterov).

    >>> import chainrule as cr
    >>> w = cr.nn.Parameter(cr.tensor([1.0]))
    >>> (w * 3).sum().backward()
    >>> cr.optim.SGD([w], lr=0.1).step()
    >>> round(w.item(), 6)
    0.7
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        if momentum < 0:
            raise ValueError(f"SGD: invalid momentum value {momentum} (must be >= 0)")
        if weight_decay < 0:
            raise ValueError(f"SGD: invalid weight_decay value {weight_decay} (must be >= 0)")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)
        self._scratch: dict = {}  # per-parameter work buffers; not optimizer state

    def step(self) -> None:
        for group in self.param_groups:
            lr, mu, damp = group["lr"], group["momentum"], group["dampening"]
            wd, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = p.grad._data
                if group["maximize"]:
                    d = -d
                if wd:
                    d = d + wd * p._data
                if mu:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = np.array(d, copy=True)
                    else:
                        buf *= mu
                        buf += (1 - damp) * d
                    d = d + mu * buf if nesterov else buf
                # p -= lr * d through a reused buffer: a fresh parameter-sized temporary every
                # step costs page faults that show up in the step time (benchmarks/NOTES.md)
                scratch = self._scratch.get(p)
                if scratch is None or scratch.shape != d.shape or scratch.dtype != d.dtype:
                    scratch = self._scratch[p] = np.empty_like(d)
                np.multiply(d, lr, out=scratch)
                p._data -= scratch
                self._touch(p)
