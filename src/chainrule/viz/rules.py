"""Each primitive's local derivative in words and as a formula (text and LaTeX), for ledgers.

One entry per primitive of `chainrule.ops.PRIMITIVES` (a test fails when one is missing), keyed
by the class name; `partials` is keyed by the name of forward's argument. The formulas restate the
primitive docstrings in `chainrule.ops` in the seeds' notation.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rule:
    """words: the rule in a sentence; forward: y = ...; partials: input -> (text, LaTeX)."""

    words: str
    forward: str
    latex: str
    partials: dict[str, tuple[str, str]] = field(default_factory=dict)


def _r(words: str, forward: str, latex: str, **partials: tuple[str, str]) -> Rule:
    return Rule(words, forward, latex, partials)


D = r"\frac{\partial y}{\partial %s}"
G = r"\frac{\partial L}{\partial %s}"

RULES: dict[str, Rule] = {
    # -- elementwise, one input
    "Neg": _r("negation flips the gradient's sign", "y = -x", "y = -x",
              x=("dy/dx = -1", D % "x" + " = -1")),
    "Exp": _r("the exponential is its own derivative", "y = exp(x)", "y = e^{x}",
              x=("d exp(x)/dx = exp(x) = y", r"\frac{d e^{x}}{dx} = e^{x} = y")),
    "Log": _r("the derivative of ln is the reciprocal", "y = ln(x)", r"y = \ln x",
              x=("d ln(x)/dx = 1/x", r"\frac{d \ln x}{dx} = \frac{1}{x}")),
    "Sqrt": _r("power rule with exponent 1/2", "y = sqrt(x)", r"y = \sqrt{x}",
               x=("d sqrt(x)/dx = 1/(2 sqrt(x))", r"\frac{d\sqrt{x}}{dx} = \frac{1}{2\sqrt{x}}")),
    "Sin": _r("sine's derivative is cosine", "y = sin(x)", r"y = \sin x",
              x=("d sin(x)/dx = cos(x)", r"\frac{d \sin x}{dx} = \cos x")),
    "Cos": _r("cosine's derivative is minus sine", "y = cos(x)", r"y = \cos x",
              x=("d cos(x)/dx = -sin(x)", r"\frac{d \cos x}{dx} = -\sin x")),
    "Tanh": _r("tanh's slope is one minus its square", "y = tanh(x)", r"y = \tanh x",
               x=("d tanh(x)/dx = 1 - tanh(x)^2", r"\frac{d \tanh x}{dx} = 1 - \tanh^2 x")),
    "Sigmoid": _r("the sigmoid's slope is σ(1 - σ)", "y = σ(x) = 1/(1 + exp(-x))",
                  r"y = \sigma(x) = \frac{1}{1 + e^{-x}}",
                  x=("dσ(x)/dx = σ(x)(1 - σ(x))",
                     r"\frac{d\sigma(x)}{dx} = \sigma(x)\,(1 - \sigma(x))")),
    "Relu": _r("ReLU passes the gradient where its input is positive", "y = max(x, 0)",
               r"y = \max(x, 0)",
               x=("d relu(x)/dx = 1 if x > 0 else 0",
                  r"\frac{d\,\mathrm{ReLU}(x)}{dx} = \mathbf{1}[x > 0]")),
    "Abs": _r("|x| has slope sign(x)", "y = |x|", "y = |x|",
              x=("d|x|/dx = sign(x)", r"\frac{d|x|}{dx} = \mathrm{sign}(x)")),
    "Clamp": _r("clamping passes the gradient inside the bounds only", "y = min(max(x, lo), hi)",
                r"y = \min(\max(x, lo), hi)",
                x=("dy/dx = 1 if lo <= x <= hi else 0",
                   D % "x" + r" = \mathbf{1}[lo \le x \le hi]")),
    "Cast": _r("a dtype conversion passes the gradient unchanged", "y = x (new dtype)", "y = x",
               x=("dy/dx = 1", D % "x" + " = 1")),
    # -- elementwise, two inputs
    "Add": _r("a sum passes the gradient unchanged to each term", "y = a + b", "y = a + b",
              a=("d(a+b)/da = 1", D % "a" + " = 1"), b=("d(a+b)/db = 1", D % "b" + " = 1")),
    "Sub": _r("a difference passes the gradient to a and its negative to b", "y = a - b",
              "y = a - b",
              a=("d(a-b)/da = 1", D % "a" + " = 1"), b=("d(a-b)/db = -1", D % "b" + " = -1")),
    "Mul": _r("product rule: each factor's local derivative is the other factor", "y = a * b",
              r"y = a \cdot b",
              a=("d(a*b)/da = b", D % "a" + " = b"), b=("d(a*b)/db = a", D % "b" + " = a")),
    "Div": _r("quotient rule", "y = a / b", r"y = \frac{a}{b}",
              a=("d(a/b)/da = 1/b", D % "a" + r" = \frac{1}{b}"),
              b=("d(a/b)/db = -a/b^2", D % "b" + r" = -\frac{a}{b^2}")),
    "Pow": _r("power rule in the base, exponential rule in the exponent", "y = a^b", "y = a^{b}",
              a=("d a^b/da = b a^(b-1)", D % "a" + " = b\\,a^{b-1}"),
              b=("d a^b/db = a^b ln a", D % "b" + r" = a^{b} \ln a")),
    "Maximum": _r("the larger input gets the gradient (shared at ties)", "y = max(a, b)",
                  r"y = \max(a, b)",
                  a=("d max(a,b)/da = 1 if a > b, 1/2 if a = b, else 0",
                     D % "a" + r" = \mathbf{1}[a > b] + \tfrac{1}{2}\mathbf{1}[a = b]"),
                  b=("d max(a,b)/db = 1 if b > a, 1/2 if a = b, else 0",
                     D % "b" + r" = \mathbf{1}[b > a] + \tfrac{1}{2}\mathbf{1}[a = b]")),
    "Minimum": _r("the smaller input gets the gradient (shared at ties)", "y = min(a, b)",
                  r"y = \min(a, b)",
                  a=("d min(a,b)/da = 1 if a < b, 1/2 if a = b, else 0",
                     D % "a" + r" = \mathbf{1}[a < b] + \tfrac{1}{2}\mathbf{1}[a = b]"),
                  b=("d min(a,b)/db = 1 if b < a, 1/2 if a = b, else 0",
                     D % "b" + r" = \mathbf{1}[b < a] + \tfrac{1}{2}\mathbf{1}[a = b]")),
    "Where": _r("each entry's gradient goes to the input it was taken from",
                "y = a where condition else b", r"y = c\,a + (1 - c)\,b",
                a=("dy/da = 1 where condition, else 0", D % "a" + r" = \mathbf{1}[c]"),
                b=("dy/db = 1 where not condition, else 0", D % "b" + r" = \mathbf{1}[\lnot c]")),
    # -- reductions
    "Sum": _r("a sum sends the gradient back to every summed entry", "y = Σ_i x_i over dims",
              r"y = \sum_i x_i",
              x=("d(Σ_i x_i)/dx_j = 1", r"\frac{\partial y}{\partial x_j} = 1")),
    "Amax": _r("only the maximal entries get the gradient", "y = max_i x_i over dims",
               r"y = \max_i x_i",
               x=("d max(x)/dx_i = 1/k at the k maximal entries, else 0",
                  r"\frac{\partial y}{\partial x_i} = \frac{1}{k}\mathbf{1}[x_i = y]")),
    "Amin": _r("only the minimal entries get the gradient", "y = min_i x_i over dims",
               r"y = \min_i x_i",
               x=("d min(x)/dx_i = 1/k at the k minimal entries, else 0",
                  r"\frac{\partial y}{\partial x_i} = \frac{1}{k}\mathbf{1}[x_i = y]")),
    "LogSumExp": _r("the slope of log-sum-exp is the softmax", "y = ln Σ_i exp(x_i)",
                    r"y = \ln \sum_i e^{x_i}",
                    x=("d logsumexp(x)/dx_i = exp(x_i - y) = softmax(x)_i",
                       r"\frac{\partial y}{\partial x_i} = e^{x_i - y} = \mathrm{softmax}(x)_i")),
    "Var": _r("the variance's slope is twice the deviation from the mean, over N - c",
              "y = Σ_i (x_i - mean)^2 / (N - c)", r"y = \frac{1}{N - c}\sum_i (x_i - \bar{x})^2",
              x=("dy/dx_i = 2 (x_i - mean) / (N - c)",
                 r"\frac{\partial y}{\partial x_i} = \frac{2 (x_i - \bar{x})}{N - c}")),
    "Std": _r("the standard deviation's slope is the variance's over 2 std (0 at zero spread)",
              "y = sqrt(var(x))", r"y = \sqrt{\mathrm{var}(x)}",
              x=("dy/dx_i = (x_i - mean) / ((N - c) y), 0 where y = 0",
                 r"\frac{\partial y}{\partial x_i} = \frac{x_i - \bar{x}}{(N - c)\,y}")),
    "Norm": _r("a norm's slope is the unit vector along x (0 at the zero vector)",
               "y = (Σ_i |x_i|^p)^(1/p)", r"y = \lVert x \rVert_p",
               x=("dy/dx_i = sign(x_i) |x_i|^(p-1) / y^(p-1), 0 where y = 0",
                  r"\frac{\partial y}{\partial x_i} = "
                  r"\frac{\mathrm{sign}(x_i)\,|x_i|^{p-1}}{y^{p-1}}")),
    # -- shapes and indexing: gradients move, they are never scaled
    "Reshape": _r("a reshape moves no value: the gradient is reshaped back", "y = x.reshape(s)",
                  "y = x", x=("dL/dx = g reshaped to x's shape", G % "x" + " = g")),
    "Permute": _r("a permutation of axes is undone on the gradient", "y = x.permute(dims)",
                  r"y = x^{\pi}",
                  x=("dL/dx = g permuted back", G % "x" + r" = g^{\pi^{-1}}")),
    "Expand": _r("a broadcast copy sums its gradients back", "y = x broadcast to s", "y = x",
                 x=("dL/dx = g summed over the broadcast dims", G % "x" + r" = \sum_{b} g")),
    "Cat": _r("each joined piece gets its own slice of the gradient", "y = [x_1, ..., x_n]",
              "y = [x_1, \\dots, x_n]",
              xs=("dL/dx_k = the slice of g where x_k sits", G % "x_k" + " = g[k]")),
    "Index": _r("indexing sends the gradient back to the entries it read", "y = x[key]",
                "y = x[k]", x=("dL/dx = zeros with g added at key", G % "x" + " = e_{k}\\,g")),
    "IndexAdd": _r("the adjoint of indexing reads the gradient at key",
                   "y = zeros with g added at key", "y = e_{k}\\,g",
                   g=("dL/dg = upstream[key]", G % "g" + " = h[k]")),
    "IndexPut": _r("entries overwritten at key pass no gradient to x", "y = x with y[key] = v",
                   "y = x;\\ y[k] = v",
                   x=("dL/dx = g with g[key] = 0", G % "x" + r" = g\,\mathbf{1}[\notin k]"),
                   v=("dL/dv = g[key]", G % "v" + " = g[k]")),
    "Gather": _r("gather sends the gradient back where it read (scatter-add)",
                 "y_i = x[index_i] along dim", r"y_i = x_{\mathrm{index}_i}",
                 x=("dL/dx = zeros with g scatter-added at index",
                    G % "x" + r" = \mathrm{scatter\_add}(g)")),
    "ScatterAdd": _r("the adjoint of gather gathers the gradient",
                     "y = zeros with g added at index", r"y = \mathrm{scatter\_add}(g)",
                     g=("dL/dg = gather(upstream, index)",
                        G % "g" + r" = \mathrm{gather}(h)")),
    # -- products
    "Matmul": _r("matrix product rule: multiply the gradient by the other factor, transposed",
                 "y = a @ b", "y = a\\,b",
                 a=("dL/da = g b^T", G % "a" + " = g\\,b^{\\top}"),
                 b=("dL/db = a^T g", G % "b" + " = a^{\\top} g")),
    "Linear": _r("seed 001 §1.1: the linear layer's gradients", "y = x W^T + b",
                 "y = x W^{\\top} + b",
                 x=("dL/dx = g W", G % "x" + " = g\\,W"),
                 weight=("dL/dW = g^T x", G % "W" + " = g^{\\top} x"),
                 bias=("dL/db = Σ_n g_n", G % "b" + " = \\sum_n g_n")),
    # -- fused softmax and losses
    "Softmax": _r("seed 001 §1.2: softmax with temperature β",
                  "p_j = exp(β x_j) / Σ_i exp(β x_i)",
                  r"p_j = \frac{e^{\beta x_j}}{\sum_i e^{\beta x_i}}",
                  x=("dp_j/dx_i = β p_i (δ_ij - p_j)",
                     r"\frac{\partial p_j}{\partial x_i} = \beta\,p_i\,(\delta_{ij} - p_j)")),
    "LogSoftmax": _r("log-softmax with temperature β", "y_j = β x_j - ln Σ_i exp(β x_i)",
                     r"y_j = \beta x_j - \ln \sum_i e^{\beta x_i}",
                     x=("dy_j/dx_i = β (δ_ij - p_i), p = softmax(β x)",
                        r"\frac{\partial y_j}{\partial x_i} = \beta\,(\delta_{ij} - p_i)")),
    "CrossEntropy": _r("seed 000 Ex3 Q1: softmax cross-entropy",
                       "L = -ln softmax(o)_c (mean over samples)",
                       r"L = -\ln \mathrm{softmax}(o)_c",
                       logits=("dL/do = softmax(o) - onehot(c) (/N for the mean)",
                               G % "o" + r" = \mathrm{softmax}(o) - \mathbf{1}_{c}")),
    "BinaryCrossEntropyWithLogits": _r(
        "seed 000 Ex1 Q2-Q3: binary cross-entropy on a logit",
        "L = -y f + ln(1 + exp(f))", r"L = -y f + \ln(1 + e^{f})",
        logits=("dL/df = σ(f) - y", G % "f" + r" = \sigma(f) - y"),
        target=("dL/dy = -f", G % "y" + " = -f")),
    "BinaryCrossEntropy": _r(
        "binary cross-entropy on a probability", "L = -(y ln p + (1 - y) ln(1 - p))",
        r"L = -\left(y \ln p + (1 - y)\ln(1 - p)\right)",
        p=("dL/dp = (p - y) / (p (1 - p))", G % "p" + r" = \frac{p - y}{p\,(1 - p)}"),
        y=("dL/dy = ln(1 - p) - ln p", G % "y" + r" = \ln(1 - p) - \ln p")),
}  # fmt: skip


def rule_for(fn: type) -> Rule:
    """The rule of a primitive, or one read from a user Function's docstring."""
    rule = RULES.get(fn.__name__)
    if rule is not None:
        return rule
    doc = (inspect.getdoc(fn) or "").strip().splitlines()
    first = doc[0] if doc else f"user-defined Function {fn.__name__}"
    return Rule(f"user-defined Function: {first}", first, _latex_escape(first))


def input_names(fn: type) -> list[str]:
    """forward's argument names after ctx (a *args name stands for all remaining inputs)."""
    try:
        params = list(inspect.signature(fn.forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    return [p.name for p in params]


def partial_for(fn: type, i: int) -> tuple[str, str]:
    """(text, LaTeX) of dy/d(input i) for fn; generic when the table has no entry."""
    names = input_names(fn)
    rule = rule_for(fn)
    name = names[min(i, len(names) - 1)] if names else f"x{i}"
    if name in rule.partials:
        return rule.partials[name]
    if fn.__name__ in RULES:  # an input the primitive does not differentiate (a dim, an index)
        return ("no gradient", r"\text{no gradient}")
    return (f"dy/d{name}: as its backward computes", D % _latex_escape(name))


def _latex_escape(text: str) -> str:
    """Text made safe inside LaTeX math (\\text{...} is not needed for names and digits)."""
    out = []
    for char in text:
        if char in "{}$&#%_":
            out.append("\\" + char)
        elif char == "\\":
            out.append(r"\backslash ")
        elif char in "^~":
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


_SILENT = {"a", "b", "x", "xs", "g", "v", "p", "y", "logits", "target", "condition"}


def attributes(fn: type, args: Any) -> list[str]:
    """The op's non-tensor arguments as 'name=value', e.g. ['dim=1', 'beta=2.0'] for Softmax."""
    names = input_names(fn)
    parts = []
    for i, value in enumerate(args):
        name = names[min(i, len(names) - 1)] if names else f"arg{i}"
        if value is None or hasattr(value, "shape") or name in _SILENT:
            continue
        if isinstance(value, (int, float, bool, str, tuple)):
            parts.append(f"{name}={value!r}")
    return parts
