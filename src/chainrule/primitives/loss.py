"""Fused loss primitives whose backward is the seeds' closed form.

* Softmax cross-entropy, seed 000 Ex3 Q1: dL/do_l = softmax(o)_l - 1[l = c].
* Binary cross-entropy with logits, seed 000 Ex1 Q2-Q3: L = -y f + log(1 + e^f),
  dL/df = sigmoid(f) - y, computed as max(f, 0) - y f + log(1 + e^-|f|) so it stays exact and
  finite for any |f|.

First-order backward reuses the probabilities forward computed; under create_graph they are rebuilt
from the saved logits with differentiable operations, so second derivatives are right too.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import is_symbolic, namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.rules import G, Rule


def _reduce_weights(weights: Any, reduction: str) -> Any:
    """The factor each sample's loss gets: 1 (sum), 1/total weight (mean; nan when the total is
    0, an empty or all-ignored batch, whose mean PyTorch gives as 0/0 = nan)."""
    if reduction == "mean":
        total = weights.sum()
        return weights / total if total != 0 else weights * float("nan")
    return weights


class CrossEntropy(Primitive):
    """L_i = w_{c_i} (logsumexp(o_i) - o_{i,c_i}) for logits o (N, C), classes c (N,) and class
    weights w; ignored rows get exactly 0."""

    rule = Rule(
        "seed 000 Ex3 Q1: softmax cross-entropy (the mean over N samples divides by N)",
        "L = -ln softmax(o)_c (mean over samples)",
        r"L = -\ln \mathrm{softmax}(o)_c",
        logits=(
            "dL/do = softmax(o) - 1_c",
            G % "o" + r" = \mathrm{softmax}(o) - \mathbf{1}_{c}",
        ),
        symbols={"L": "out", "o": "logits", "c": "target"},
    )

    @staticmethod
    def forward(
        ctx: Any, logits: Any, target: Any, weight: Any, ignore_index: int, reduction: str
    ) -> Any:
        xp = namespace(logits)
        rows = xp.arange(logits.shape[0])
        valid = target != ignore_index
        safe_target = xp.where(valid, target, 0)
        w = valid.astype(logits.dtype)
        if weight is not None:
            w = w * weight[safe_target]
        ctx.target, ctx.reduction, ctx.valid = safe_target, reduction, valid
        ctx.save_for_backward(logits)
        # inf logits give nan rows, and an empty or all-ignored batch a mean of 0/0 = nan: the
        # answers PyTorch gives
        with dual._quiet(xp):
            shifted = logits - logits.max(axis=1, keepdims=True)
            exp = xp.exp(shifted)
            total = exp.sum(axis=1, keepdims=True)
            picked = shifted[rows, safe_target]
            losses = xp.log(total[:, 0]) - picked
            ctx.probs = exp / total
            # an ignored row's loss is selected as 0, not computed as nan * 0 (inf logits there)
            weighted = xp.where(valid, losses * w, 0.0)
            if reduction == "none":
                ctx.factors = w
                return weighted
            ctx.factors = _reduce_weights(w, reduction)
            if reduction == "sum":
                return weighted.sum()
            return weighted.sum() / w.sum()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (logits,) = ctx.saved_tensors
        # create_graph: rebuild the probabilities as a differentiable function of the logits
        probs = dual.exp(dual.log_softmax(logits, 1)) if hasattr(logits, "_data") else ctx.probs
        xp = namespace(ctx.target)
        onehot = xp.zeros(logits.shape, dtype=logits.dtype)
        onehot[xp.arange(logits.shape[0]), ctx.target] = 1
        scale = ctx.factors[:, None] * (g[:, None] if ctx.reduction == "none" else g)
        # ignored rows get a selected 0: their nan probabilities (inf logits) or a nan scale
        # (all rows ignored) do not reach them
        grad = dual.where(ctx.valid[:, None], (probs - onehot) * scale, 0.0)
        return grad, None, None, None, None


class BinaryCrossEntropyWithLogits(Primitive):
    """Computed as max(f, 0) - y f + ln(1 + e^-|f|), which never overflows."""

    rule = Rule(
        "seed 000 Ex1 Q2-Q3: binary cross-entropy on a logit",
        "L = -y f + ln(1 + exp(f))",
        r"L = -y f + \ln(1 + e^{f})",
        logits=("dL/df = σ(f) - y", G % "f" + r" = \sigma(f) - y"),
        target=("dL/dy = -f", G % "y" + " = -f"),
        symbols={"L": "out", "f": "logits", "y": "target"},
    )

    @staticmethod
    def forward(ctx: Any, logits: Any, target: Any) -> Any:
        xp = namespace(logits)
        ctx.save_for_backward(logits, target)
        if is_symbolic(xp):  # the seed's form: a symbol has no sign for |f| and cannot overflow
            return -logits * target + xp.log(1 + xp.exp(logits))
        return xp.maximum(logits, 0) - logits * target + xp.log1p(xp.exp(-xp.abs(logits)))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        logits, target = ctx.saved_tensors
        need_f, need_y = ctx.needs_input_grad
        gf = g * (dual.sigmoid(logits) - target) if need_f else None
        gy = -(g * logits) if need_y else None
        return gf, gy


# PyTorch's floor on p (1 - p) in the gradient: its EPSILON, 1e-12 rounded to float32
_BCE_EPS = 9.999999960041972e-13


class BinaryCrossEntropy(Primitive):
    """PyTorch's clamps: ln p and ln(1 - p) are at least -100 and p (1 - p) at least 1e-12, so at
    p = 0 or 1 the loss is at most 100 and the gradient stays finite (a float32 sigmoid output
    rounds to exactly 1 from logit 17 on)."""

    rule = Rule(
        "binary cross-entropy on a probability",
        "L = -(y ln p + (1 - y) ln(1 - p))",
        r"L = -\left(y \ln p + (1 - y)\ln(1 - p)\right)",
        p=("dL/dp = (p - y) / (p (1 - p))", G % "p" + r" = \frac{p - y}{p\,(1 - p)}"),
        y=("dL/dy = ln(1 - p) - ln p", G % "y" + r" = \ln(1 - p) - \ln p"),
        symbols={"L": "out"},
    )

    @staticmethod
    def forward(ctx: Any, p: Any, y: Any) -> Any:
        xp = namespace(p)
        with dual._quiet(xp):
            log_p = xp.maximum(xp.log(p), -100)
            log_q = xp.maximum(xp.log1p(-p), -100)
        ctx.save_for_backward(p, y)
        ctx.logs = log_p, log_q
        return (y - 1) * log_q - y * log_p

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        p, y = ctx.saved_tensors
        need_p, need_y = ctx.needs_input_grad
        gp = gy = None
        if need_p:
            variance = p * (1 - p)
            gp = g * (p - y) / dual.where(variance > _BCE_EPS, variance, _BCE_EPS)
        if need_y:
            if hasattr(p, "_data"):  # create_graph: the logs as differentiable functions of p
                log_p, log_q = dual.log(p), dual.log(1 - p)
                log_p = dual.where(log_p > -100, log_p, -100.0)
                log_q = dual.where(log_q > -100, log_q, -100.0)
            else:
                log_p, log_q = ctx.logs
            gy = g * (log_q - log_p)
        return gp, gy
