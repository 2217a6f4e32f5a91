"""Einstein summation as one primitive, so that products of any shape run at BLAS speed
(`np.einsum(..., optimize=True)` contracts pairs through tensordot) and their gradients are
einsums too.

The rule sees a canonical equation only (the front door, `ops/linalg.py`, has made it so):
explicit output, no ellipsis, no subscript twice in one operand, and one size per subscript.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import namespace
from chainrule.primitives import dual
from chainrule.primitives.base import Primitive
from chainrule.primitives.rules import G, Rule
from chainrule.tensor_base import TensorBase


def einsum_any(equation: str, *operands: Any) -> Any:
    """einsum on arrays, or recorded (so it can be differentiated again) when any is a Tensor."""
    if any(isinstance(x, TensorBase) for x in operands):
        return Einsum.apply(equation, *operands)
    return namespace(operands[0]).einsum(equation, *operands, optimize=len(operands) > 1)


class Einsum(Primitive):
    rule = Rule(
        "each operand's gradient is the einsum of the upstream gradient with the other operands",
        "y = einsum(eq, x_1, ..., x_n)",
        r"y_{o} = \sum_{s \notin o} \prod_k (x_k)_{s_k}",
        operands=(
            "dL/dx_k = einsum(o, s_j (j != k) -> s_k)(g, x_j), copied along x_k's own subscripts",
            G % "x_k" + r" = \sum_{s \notin s_k} g_{o} \prod_{j \ne k} (x_j)_{s_j}",
        ),
    )

    @staticmethod
    def forward(ctx: Any, equation: str, *operands: Any) -> Any:
        ctx.equation = equation
        ctx.save_for_backward(*operands)
        xp = namespace(operands[0])
        # optimize=True pays a path search (~tens of µs); a single operand has no path to find
        return xp.einsum(equation, *operands, optimize=len(operands) > 1)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        operands = ctx.saved_tensors
        inputs, out = ctx.equation.split("->")
        terms = inputs.split(",")
        grads: list[Any] = [None]
        for k, need in enumerate(ctx.needs_input_grad[1:]):
            if not need:
                grads.append(None)
                continue
            others = [t for j, t in enumerate(terms) if j != k]
            seen = set(out).union(*others)
            kept = "".join(c for c in terms[k] if c in seen)
            rest = [x for j, x in enumerate(operands) if j != k]
            grad = einsum_any(",".join([out, *others]) + "->" + kept, g, *rest)
            shape = tuple(operands[k].shape)
            if len(kept) < len(terms[k]):  # subscripts summed in x_k alone: copy g along them
                grad = grad.reshape(
                    tuple(n if c in seen else 1 for c, n in zip(terms[k], shape, strict=True))
                )
                grad = dual.expand(grad, shape)
            grads.append(grad)
        return tuple(grads)

    @staticmethod
    def check(equation: str, *operands: Any) -> str:
        shapes = ", ".join(str(tuple(x.shape)) for x in operands)
        return f"einsum: equation {equation!r} does not fit operands of shapes {shapes}"
