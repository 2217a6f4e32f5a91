"""`derive`: closed-form partial derivatives from chainrule's own rules, run on SymPy symbols.

The variables become chainrule Tensors holding object arrays of SymPy symbols; the forward runs
through the ordinary ops, and backward runs through the ordinary engine (a first-order, "raw"
backward: each primitive's backward formula applied to the object arrays). What comes out is
exactly what backpropagation computes, now as formulas, then simplified by SymPy.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import modes
from chainrule.autograd.grad import grad
from chainrule.expr import Expression, ExpressionError, parse, parse_names
from chainrule.symbolic.latex_names import latex_name, latex_symbol_names
from chainrule.symbolic.namespace import exact_number, expand_sigmoid, sigmoid, sympy
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule.symbolic.course_form import CourseForm

__all__ = ["Derivation", "derive", "equivalent", "sigmoid", "symbols_for"]


def symbols_for(name: str, shape: int | Sequence[int] = ()) -> np.ndarray:
    """An object array of real symbols named by position (1-based, as in the seeds):
    x -> x;  x (3,) -> x_1, x_2, x_3;  W (2, 2) -> W_11, W_12, W_21, W_22."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    out = np.empty(shape, dtype=object)
    if not shape:
        out[()] = sympy.Symbol(name, real=True)
        return out
    glue = "" if all(n < 10 for n in shape) else "_"
    for index in np.ndindex(*shape):
        suffix = glue.join(str(i + 1) for i in index)
        out[index] = sympy.Symbol(f"{name}_{suffix}", real=True)
    return out


def _exact_array(value: Any) -> np.ndarray:
    """Numbers (or nested lists/arrays of them) as an object array of exact SymPy numbers."""
    if isinstance(value, Tensor):
        value = value.detach()._data
    array = np.asarray(value, dtype=object)
    out = np.empty(array.shape, dtype=object)
    for index in np.ndindex(*array.shape):
        out[index] = exact_number(array[index])
    return out


def _to_sympy(array: Any) -> Any:
    """0-d -> expression, 1-D -> column Matrix, 2-D -> Matrix, more -> sympy.Array."""
    array = np.asarray(array, dtype=object)
    if array.ndim == 0:
        return sympy.sympify(array.item())
    if array.ndim <= 2:
        return sympy.Matrix(array.tolist())
    return sympy.Array(array.tolist())


@dataclass
class Derivation:
    """The result of `derive`: the function and its partial derivatives as SymPy objects.

    `kind` says what each partial is: "gradient" (scalar output: d f / d v, shaped like v),
    "jacobian" (vector output: entry [j, i] is d f_j / d v_i, with v flattened), or "vjp" (given
    an upstream gradient g = dL/df: dL/dv, shaped like v).
    """

    function: Any
    partials: dict[str, Any]
    symbols: dict[str, Any]
    kind: str = "gradient"
    upstream: Any = None
    name: str = "f"
    expression: str | None = None
    wrt: tuple[str, ...] = field(default=())
    raw_partials: dict[str, Any] = field(default_factory=dict, repr=False)
    in_terms_of: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.partials[name]

    def course(self, in_terms_of: Mapping[str, str] | None = None) -> CourseForm:
        """The partials in the course's form: σ's argument named (u), the course's signs, and
        named intermediates (`in_terms_of`, added to those given to `derive`) with vectors
        written as one index formula (see `chainrule.symbolic.course_form`).

        >>> d = derive("softmax(beta*x)", wrt="x", shapes={"x": 3})
        >>> print(d.course(in_terms_of={"p": "softmax(beta*x)"}).text())
        p = softmax(beta*x)
        d f_j / d x_i = beta*p_i*(delta_ij - p_j)
        """
        from chainrule.symbolic.course_form import course_form

        return course_form(self, {**self.in_terms_of, **(in_terms_of or {})})

    def _numerator(self) -> str:
        return "L" if self.kind == "vjp" else self.name

    def text(self) -> str:
        """One line per partial: `d f / d a1 = ...`."""
        top = self._numerator()
        lines = []
        if self.kind == "vjp":
            lines.append(f"d L / d {self.name} = {self.upstream}  (given)")
        lines += [f"d {top} / d {v} = {self.partials[v]}" for v in self.wrt]
        if self.kind == "jacobian":
            v = self.wrt[0] if len(self.wrt) == 1 else "v"
            lines.append(f"(Jacobian: entry [j, i] is d {self.name}_j / d {v}_i)")
        return "\n".join(lines)

    def latex(self) -> str:
        """One LaTeX equation per partial: `\\frac{\\partial f}{\\partial a_{1}} = ...`."""
        top = latex_name(self._numerator())
        lines = []
        if self.kind == "vjp":
            name = latex_name(self.name)
            upstream = sympy.latex(self.upstream, symbol_names=latex_symbol_names(self.upstream))
            lines.append(rf"\frac{{\partial L}}{{\partial {name}}} = {upstream}")
        for v in self.wrt:
            var = latex_name(v)
            names = latex_symbol_names(self.partials[v])
            value = sympy.latex(self.partials[v], symbol_names=names)
            lines.append(rf"\frac{{\partial {top}}}{{\partial {var}}} = {value}")
        return "\n".join(lines)

    def _repr_latex_(self) -> str:
        body = r" \\ ".join(line.replace(" = ", " &= ", 1) for line in self.latex().splitlines())
        return rf"$$\begin{{aligned}} {body} \end{{aligned}}$$"

    def __str__(self) -> str:
        return f"{self.name} = {self.function}\n{self.text()}"


def equivalent(a: Any, b: Any) -> bool:
    """True when a - b simplifies to zero, σ written as exponentials first (Matrices too)."""
    difference = sympy.sympify(a) - sympy.sympify(b)
    difference = expand_sigmoid(difference)
    if isinstance(difference, (sympy.MatrixBase, sympy.NDimArray)):
        return all(sympy.simplify(entry) == 0 for entry in difference)
    return sympy.simplify(difference) == 0


def derive(
    fn: str | Expression | Callable[..., Tensor],
    wrt: str | Sequence[str] | None = None,
    at: Mapping[str, Any] | None = None,
    simplify: bool = True,
    shapes: Mapping[str, int | Sequence[int]] | None = None,
    grad_output: str | Any | None = None,
    expand: bool = False,
    name: str | None = None,
    in_terms_of: Mapping[str, str] | None = None,
) -> Derivation:
    """Closed-form partial derivatives of `fn` with respect to the names in `wrt`.

    `fn` is an expression string (see `chainrule.expr`), a parsed Expression, or a function of
    Tensors whose parameter names are the variables. Every variable is a real symbol, or with
    `shapes={"x": 3, "W": (2, 2)}` an array of them (x_1.., W_11..). `at` fixes values: names
    not in `wrt` become exact constants before differentiating (e.g. a one-hot target), names in
    `wrt` are substituted into the result. A non-scalar output gives the Jacobian, or with
    `grad_output` (a name for a symbolic upstream gradient, or its values) the vector-Jacobian
    product dL/dv. `expand=True` writes σ as 1 / (1 + e^-u) before simplifying. `name` is the
    function's name in the printout (default f, or L when f is a variable). `in_terms_of` names
    intermediates for `Derivation.course()`, the course's form of the result (name -> expression,
    e.g. {"p": "softmax(beta*x)"}); `partials` stay as backprop and SymPy give them.

    >>> d = derive("-y*o + log(1 + exp(o))", wrt="o")
    >>> d.partials["o"]
    -y + exp(o)/(exp(o) + 1)
    >>> ex3 = derive("-sum(y*log_softmax(o))", wrt="o", shapes={"o": 3}, at={"y": [0, 1, 0]},
    ...              in_terms_of={"p": "softmax(o)"})
    >>> print(ex3.course().text())
    p = softmax(o)
    d f / d o_i = p_i - delta_ic  (c = 2)
    """
    expression, names, call = _callable(fn)
    if name is None:
        name = next(n for n in ("f", "L", "F", "out") if n not in names)
    wrt_names = _wrt(wrt, names, at)
    at = dict(at or {})
    shapes = dict(shapes or {})
    for option, given in (("at", at), ("shapes", shapes)):
        for v in given:
            if v not in names:
                known = ", ".join(names) or "none"
                raise ValueError(
                    f"derive: {option} names '{v}', not a variable (variables: {known})"
                )
    env: dict[str, Tensor] = {}
    symbols: dict[str, Any] = {}
    after: dict[Any, Any] = {}
    for v in names:
        if v in at and v not in wrt_names:
            env[v] = Tensor._make(_exact_array(at[v]))
            continue
        shape = _shape(v, shapes, at)
        array = symbols_for(v, shape)
        env[v] = Tensor._make(array, v in wrt_names)
        symbols[v] = _to_sympy(array)
        if v in at:
            values = np.broadcast_to(_exact_array(at[v]), array.shape)
            after.update(zip(array.ravel().tolist(), values.ravel().tolist(), strict=True))

    with modes.enable_grad():
        out, raw = _backpropagate(call, env, wrt_names, grad_output)
    kind, upstream, raw_partials = raw

    def finish(value: Any) -> Any:
        value = _exact(_to_sympy(value) if isinstance(value, np.ndarray) else value)
        if expand:
            value = expand_sigmoid(value)
        if after:
            value = value.subs(after)
        if simplify:
            value = value.applyfunc(_simplest) if _is_array(value) else _simplest(value)
        return value

    partials = {v: finish(raw_partials[v]) for v in wrt_names}
    unsimplified = {v: _unsimplified(raw_partials[v], after) for v in wrt_names}
    return Derivation(
        function=finish(out._data),
        partials=partials,
        symbols=symbols,
        kind=kind,
        upstream=upstream,
        name=name,
        expression=expression,
        wrt=tuple(wrt_names),
        raw_partials=unsimplified,
        in_terms_of=dict(in_terms_of or {}),
    )


def _unsimplified(value: Any, after: Mapping[Any, Any]) -> Any:
    """A partial as backprop built it (exact numbers, `at` values in): the course form looks
    for named intermediates there, before simplify merges e^a e^b into e^(a+b)."""
    value = _exact(_to_sympy(value) if isinstance(value, np.ndarray) else sympy.sympify(value))
    return value.subs(after) if after else value


def _exact(value: Any) -> Any:
    """Floats that the rules' Python constants brought in (0.5 in d sqrt, 1/1 = 1.0 in a mean)
    as the exact rationals they stand for."""
    floats = sympy.sympify(value).atoms(sympy.Float)
    if not floats:
        return value
    return value.xreplace({f: sympy.nsimplify(f, rational=True) for f in floats})


def _simplest(value: Any) -> Any:
    """SymPy's simplification, kept only when it is no longer than what backprop gave.

    Each σ(u) is held as one opaque symbol meanwhile, so every partial shows the same σ(u), with
    u as the forward wrote it (simplify would rewrite u differently in each partial)."""
    value = sympy.sympify(value)
    opaque = {s: sympy.Dummy("s", positive=True) for s in value.atoms(sigmoid)}
    if not opaque:
        return sympy.simplify(value, ratio=1)
    simpler = sympy.simplify(value.xreplace(opaque), ratio=1)
    return simpler.xreplace({d: s for s, d in opaque.items()})


def _is_array(value: Any) -> bool:
    return isinstance(value, (sympy.MatrixBase, sympy.NDimArray))


def _callable(fn: Any) -> tuple[str | None, list[str], Callable[[dict], Any]]:
    """(expression text, variable names, env -> output) for a string, Expression or function."""
    if isinstance(fn, str):
        fn = parse(fn)
    if isinstance(fn, Expression):
        expression = fn

        def call(env: dict) -> Any:
            return expression.evaluate(env, constant=_exact_constant)

        return expression.text, list(expression.names), call
    if not callable(fn):
        raise TypeError(f"derive: expected an expression or a function, got {type(fn).__name__}")
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = [p.name for p in inspect.signature(fn).parameters.values() if p.kind in kinds]
    return None, params, lambda env: fn(**env)


def _exact_constant(value: int | float) -> Tensor:
    return Tensor._make(np.asarray(exact_number(value), dtype=object))


def _wrt(wrt: Any, names: list[str], at: Mapping[str, Any] | None) -> list[str]:
    if wrt is None:
        chosen = [v for v in names if v not in (at or {})]
    else:
        chosen = parse_names(wrt) if isinstance(wrt, str) else list(wrt)
    for v in chosen:
        if v not in names:
            known = ", ".join(names) or "none"
            raise ValueError(
                f"derive: '{v}' is not a variable of the function (variables: {known})"
            )
    if not chosen:
        raise ValueError("derive: nothing to differentiate with respect to (wrt is empty)")
    return chosen


def _shape(v: str, shapes: Mapping[str, Any], at: Mapping[str, Any]) -> tuple[int, ...]:
    shape = shapes.get(v, np.shape(at[v]) if v in at else ())
    return (shape,) if isinstance(shape, int) else tuple(shape)


def _backpropagate(call: Callable, env: dict, wrt: list[str], grad_output: Any) -> tuple:
    """Run forward and backward on the symbolic tensors: (output, (kind, upstream, partials))."""
    inputs = [env[v] for v in wrt]
    try:
        out = call(env)
        if not isinstance(out, Tensor):
            raise TypeError(f"derive: the function returned {type(out).__name__}, not a Tensor")
        if not out.requires_grad:  # the output does not depend on any variable in wrt
            zeros = {v: _or_zeros(None, env[v]) for v in wrt}
            return out, ("gradient", None, zeros)
        if grad_output is not None:
            upstream = (
                symbols_for(grad_output, out.shape)
                if isinstance(grad_output, str)
                else np.broadcast_to(_exact_array(grad_output), out.shape).copy()
            )
            grads = grad(out, inputs, Tensor._make(upstream), allow_unused=True)
            partials = {v: _or_zeros(g, env[v]) for v, g in zip(wrt, grads, strict=True)}
            return out, ("vjp", _to_sympy(upstream), partials)
        if out._data.size == 1:
            seed = Tensor._make(np.full(out.shape, sympy.Integer(1), dtype=object))
            grads = grad(out, inputs, seed, allow_unused=True)
            partials = {v: _or_zeros(g, env[v]) for v, g in zip(wrt, grads, strict=True)}
            return out, ("gradient", None, partials)
        return out, ("jacobian", None, _jacobian(out, inputs, wrt))
    except (TypeError, ValueError) as error:
        if "truth value" not in str(error):
            raise
        # a rule compared symbols (max, min, clamp): they have no order
        hint = "symbols have no order, so max, min, maximum and clamp cannot run symbolically"
        if isinstance(error, ExpressionError):
            e = error
            raise ExpressionError(e.message, e.text, e.column, e.line, hint) from None
        raise ValueError(f"derive: {error} ({hint})") from None


def _or_zeros(g: Tensor | None, like: Tensor) -> np.ndarray:
    if g is None:
        return np.full(like.shape, sympy.Integer(0), dtype=object)
    return np.asarray(g._data, dtype=object)


def _jacobian(out: Tensor, inputs: list[Tensor], wrt: list[str]) -> dict[str, Any]:
    """Entry [j, i] = d out_j / d input_i (both flattened): one backward per output entry."""
    rows: dict[str, list] = {v: [] for v in wrt}
    for j in range(out._data.size):
        unit = np.full(out._data.size, sympy.Integer(0), dtype=object)
        unit[j] = sympy.Integer(1)
        seed = Tensor._make(unit.reshape(out.shape))
        grads = grad(out, inputs, seed, retain_graph=True, allow_unused=True)
        for v, g, t in zip(wrt, grads, inputs, strict=True):
            rows[v].append(_or_zeros(g, t).ravel().tolist())
    return {v: sympy.Matrix(rows[v]) for v in wrt}
