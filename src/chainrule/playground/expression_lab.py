"""The expression lab: an expression and its values become a step-through (`cr.viz.steps`), and
a typed derivative becomes a `cr.check.derivation` report.

The text is parsed by `chainrule.expr` (a whitelist of numbers, names, operators and functions:
nothing the user types is evaluated as Python), and every value, size and count is capped
(`limits`) before the graph is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.check import derivation
from chainrule.creation import tensor
from chainrule.expr import Expression, ExpressionError, parse, parse_assignments
from chainrule.expr.functions import chainrule_functions
from chainrule.playground.limits import MAX_ELEMENTS, MAX_NODES, PlaygroundError, text
from chainrule.tensor import Tensor
from chainrule.viz.steps import Steps, steps

DEFAULT_VALUE = 0.5  # a variable the page sent no value for


def _parse(source: str, what: str) -> Expression:
    try:
        return parse(source)
    except ExpressionError as error:
        raise PlaygroundError(f"{what}: {error.summary}") from None


def _capped_eye(n: Any, *args: Any, **kwargs: Any) -> Any:
    side = int(MAX_ELEMENTS**0.5)
    if isinstance(n, int | float) and n > side:
        raise PlaygroundError(f"eye({n}) is too large for the playground (at most eye({side}))")
    return chainrule_functions()["eye"](n, *args, **kwargs)


def _values(expr: Expression, at: Any) -> dict[str, Any]:
    """The page's values: 'a1=0.5, W=[[1,2],[3,4]]' (the CLI's --at) or a JSON object."""
    if at is None or at == "":
        given: dict[str, Any] = {}
    elif isinstance(at, str):
        if len(at) > 4000:
            raise PlaygroundError(f"values are {len(at)} characters long; the limit is 4000")
        try:
            given = parse_assignments(at)
        except ExpressionError as error:
            raise PlaygroundError(f"values: {error.summary}") from None
    elif isinstance(at, dict):
        given = dict(at)
    else:
        raise PlaygroundError(f"values must be text like 'a=0.5, x=1.5', got {type(at).__name__}")
    unknown = [n for n in given if n not in expr.names]
    if unknown:
        raise PlaygroundError(
            f"values: {', '.join(unknown)} not in the expression "
            f"(its variables: {', '.join(expr.names) or 'none'})"
        )
    out = {}
    for name in expr.names:
        value = given.get(name, DEFAULT_VALUE)
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise PlaygroundError(f"values: {name} must be a number or a list of numbers") from None
        if array.size > MAX_ELEMENTS or array.ndim > 2:
            raise PlaygroundError(
                f"values: {name} has shape {array.shape}; the playground takes at most "
                f"{MAX_ELEMENTS} entries in at most 2 dimensions"
            )
        if not np.all(np.isfinite(array)):
            raise PlaygroundError(f"values: {name} must be finite, got {value!r}")
        out[name] = array
    return out


@dataclass
class ExpressionState:
    """One session's expression: its text, values, step-through and current step."""

    expr: Expression
    values: dict[str, np.ndarray]
    wrt: list[str]
    steps: Steps
    index: int = 0
    names: list[str] = field(default_factory=list)

    def step(self, action: str) -> dict[str, Any]:
        """Move by `action` (forward, backward, all, reset, or a frame number) and describe it."""
        last = len(self.steps.steps) - 1
        forward_end = sum(s.phase != "backward" for s in self.steps.steps) - 1
        if action == "reset":
            self.index = 0
        elif action == "all":
            self.index = last
        elif action == "forward":
            self.index = (
                min(self.index + 1, forward_end) if self.index < forward_end else (self.index)
            )
        elif action == "backward":
            # the backward pass needs every forward value: finish the forward pass first
            self.index = max(self.index, forward_end)
            self.index = min(self.index + 1, last)
        elif action == "back":
            self.index = max(self.index - 1, 0)
        else:
            raise PlaygroundError(
                f"action must be forward, backward, back, all or reset, got {action!r}"
            )
        return {**self.steps.step_dict(self.index), "count": last + 1}


def build(body: dict[str, Any]) -> ExpressionState:
    """The state for the page's {expr, at, wrt}: parse, evaluate with recording, lay out."""
    source = text(body, "expr")
    expr = _parse(source, "expression")
    if not expr.names:
        raise PlaygroundError("expression: it has no variables; use a name such as x")
    values = _values(expr, body.get("at"))
    wrt_text = body.get("wrt") or ""
    if not isinstance(wrt_text, str):
        raise PlaygroundError("wrt must be text like 'a1, a2'")
    wrt = [w.strip() for w in wrt_text.split(",") if w.strip()] or list(expr.names)
    unknown = [w for w in wrt if w not in expr.names]
    if unknown:
        raise PlaygroundError(
            f"wrt: {', '.join(unknown)} not in the expression (its variables: "
            f"{', '.join(expr.names)})"
        )
    env: dict[str, Tensor] = {}
    for name in expr.names:
        t = tensor(values[name], dtype=np.float64, requires_grad=name in wrt)
        t.name = name
        env[name] = t

    def run() -> Tensor:
        try:
            return expr.evaluate(env, functions={"eye": _capped_eye})
        except ExpressionError as error:
            raise PlaygroundError(f"expression: {error.summary}") from None

    with np.errstate(all="ignore"):
        try:
            walked = steps(run)
        except PlaygroundError:
            raise
        except (ValueError, TypeError, RuntimeError, IndexError) as error:
            raise PlaygroundError(f"expression: {error}") from None
    ops = sum(b.kind == "op" for b in walked.boxes)
    if ops > MAX_NODES:
        raise PlaygroundError(f"expression: its graph has {ops} ops; the limit is {MAX_NODES}")
    return ExpressionState(expr, values, wrt, walked, names=list(expr.names))


def check(state: ExpressionState, body: dict[str, Any]) -> dict[str, Any]:
    """cr.check.derivation's report on the page's typed derivative d expr / d wrt."""
    wrt = body.get("wrt")
    if not isinstance(wrt, str) or wrt not in state.expr.names:
        raise PlaygroundError(
            f"wrt must be one of the expression's variables ({', '.join(state.expr.names)}), "
            f"got {wrt!r}"
        )
    grad = _parse(text(body, "grad"), "your derivative")
    extra = [n for n in grad.names if n not in state.expr.names]
    if extra:
        raise PlaygroundError(
            f"your derivative uses {', '.join(extra)}, which the expression does not have "
            f"(its variables: {', '.join(state.expr.names)})"
        )

    def as_tensors(env: dict[str, Any]) -> dict[str, Any]:
        return {
            n: v if isinstance(v, Tensor) else tensor(np.asarray(v, dtype=np.float64))
            for n, v in env.items()
        }

    def fn(**env: Any) -> Tensor:
        return state.expr.evaluate(as_tensors(env), functions={"eye": _capped_eye})

    def mine(**env: Any) -> Tensor:
        env = as_tensors(env)
        return grad.evaluate({n: env[n] for n in grad.names}, functions={"eye": _capped_eye})

    with np.errstate(all="ignore"):
        try:
            report = derivation(fn, mine, dict(state.values), wrt=[wrt], points=3)
        except ExpressionError as error:
            raise PlaygroundError(f"your derivative: {error.summary}") from None
        except (ValueError, TypeError, RuntimeError) as error:
            raise PlaygroundError(f"check: {error}") from None
    return {"ok": bool(report.ok), "report": str(report)}


def closed_forms(state: ExpressionState, closed: Any) -> list[dict[str, Any]]:
    """Each {variable: formula} evaluated at the state's values, beside autodiff's gradient."""
    if closed is None:
        return []
    if not isinstance(closed, dict) or len(closed) > 8:
        raise PlaygroundError("closed must map at most 8 variables to formulas")
    out = []
    gradients = state.steps.ledger.gradients
    for name, formula in closed.items():
        if name not in state.expr.names:
            raise PlaygroundError(f"closed: {name!r} is not a variable of the expression")
        expr = _parse(text({"closed": formula}, "closed"), f"closed form of {name}")
        env = {n: tensor(state.values[n]) for n in expr.names if n in state.values}
        missing = [n for n in expr.names if n not in env]
        if missing:
            raise PlaygroundError(f"closed form of {name}: unknown variable {missing[0]}")
        with np.errstate(all="ignore"):
            try:
                value = expr.evaluate(env, functions={"eye": _capped_eye})._data
            except (ExpressionError, ValueError, TypeError, RuntimeError) as error:
                raise PlaygroundError(f"closed form of {name}: {error}") from None
        auto = gradients.get(name)
        out.append(
            {
                "wrt": name,
                "formula": formula,
                "value": np.asarray(value, dtype=np.float64).tolist(),
                "autodiff": None if auto is None else np.asarray(auto, dtype=np.float64).tolist(),
            }
        )
    return out
