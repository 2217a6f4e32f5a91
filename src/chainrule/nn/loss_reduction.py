"""How losses reduce over their elements (torch's reduction='mean' | 'sum' | 'none'): one place
for every loss function of chainrule.nn.functional and its loss modules."""

from __future__ import annotations

from typing import Any

from chainrule.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str, op: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def mean_over(total: Tensor, count: Any) -> Tensor:
    """total / count, nan when count is 0 (an empty or all-ignored batch: PyTorch's 0/0), with
    no division by zero left for backward to warn about."""
    return total * float("nan") if count == 0 else total / count


def reduce(losses: Tensor, reduction: str) -> Tensor:
    if losses.ndim == 0 and reduction != "none":
        # the mean (or sum) of one loss is that loss: no Sum and Div-by-1 nodes for the ledger
        # and drawings to show (seed 000 Ex1's loss), same value and gradient
        return losses
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses
