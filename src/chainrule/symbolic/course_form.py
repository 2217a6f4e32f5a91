"""Derivatives in the course's form: named intermediates, the course's signs and index formulas.

`Derivation.course(in_terms_of=...)` rewrites the partials that `derive` found:

- every σ keeps a short name for its argument (`u`, or the name given in `in_terms_of`), so Ex2's
  df/da2 reads a3 σ(u)(1 - σ(u))(1 - α) x instead of σ's whole argument, twice;
- signs as the course writes them: a factor with a number in it shows the number first and
  positive (1 - α, 1 - σ(u)), and a leftover minus sign is absorbed by another factor
  (-β p_i (p_j - δ_ij) becomes β p_i (δ_ij - p_j));
- a named vector such as `p = softmax(beta*x)` replaces the exponentials (p_k for e^{βx_k}/Σe^{βx}),
  and a vector or Jacobian whose entries follow one pattern is written as one index formula:
  §1.2's Jacobian as beta*p_i*(delta_ij - p_j), Ex3 Q1's gradient as p_i - delta_ic.

The printed factor order follows the function as written (a3 before σ(u) before what u holds).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from chainrule.expr import parse
from chainrule.symbolic.latex_names import latex_name, latex_symbol_names
from chainrule.symbolic.namespace import sigmoid, sympy

__all__ = ["CourseForm", "course_form", "course_latex", "course_signs", "course_text"]

I, J, C = "i", "j", "c"  # the printed indices: entry i of a vector, [j, i] of a Jacobian, class c


class Derived(Protocol):
    """What the course form reads from a `Derivation` (named here, not imported: the
    Derivation's `course()` imports this module)."""

    function: Any
    partials: dict[str, Any]
    raw_partials: dict[str, Any]
    symbols: dict[str, Any]
    kind: str
    name: str
    wrt: tuple[str, ...]


@dataclass
class CourseForm:
    """Partials in the course's form. `partials[v]` is a SymPy expression: one index formula in
    i (vector) or i, j (Jacobian entry [j, i]) where one fits, else the whole result; `names`
    holds each named intermediate's definition; `special` the class index c where one is used."""

    derivation: Derived
    partials: dict[str, Any]
    names: dict[str, Any]
    indexed: dict[str, str] = field(default_factory=dict)  # v -> "", "i" or "ji"
    special: dict[str, int] = field(default_factory=dict)  # v -> c (1-based)
    definitions: dict[str, Any] = field(default_factory=dict)  # name -> SymPy value

    def formula(self, v: str) -> str:
        """The partial with respect to `v` as text, e.g. `beta*p_i*(delta_ij - p_j)`."""
        return course_text(self.partials[v], self._order())

    def _left(self, v: str, latex: bool) -> str:
        d = self.derivation
        top = "L" if d.kind == "vjp" else d.name
        kind = self.indexed.get(v, "")
        if latex:
            top, var = latex_name(top), latex_name(v)
            if kind == "ji":
                return rf"\frac{{\partial {top}_{{j}}}}{{\partial {var}_{{i}}}}"
            if kind == "i":
                return rf"\frac{{\partial {top}}}{{\partial {var}_{{i}}}}"
            return rf"\frac{{\partial {top}}}{{\partial {var}}}"
        if kind == "ji":
            return f"d {top}_j / d {v}_i"
        if kind == "i":
            return f"d {top} / d {v}_i"
        return f"d {top} / d {v}"

    def text(self) -> str:
        """`u = ...` for each named intermediate, then one line per partial."""
        lines = [f"{n} = {definition}" for n, definition in self.names.items()]
        for v in self.derivation.wrt:
            line = f"{self._left(v, latex=False)} = {self.formula(v)}"
            if v in self.special:
                line += f"  (c = {self.special[v]})"
            lines.append(line)
        return "\n".join(lines)

    def latex(self) -> str:
        """The same lines in LaTeX, with W2_11 as W^{(2)}_{11} and a1 as a_{1}."""
        lines = [
            f"{latex_name(n)} = {_latex_definition(d, self.definitions.get(n, d))}"
            for n, d in self.names.items()
        ]
        for v in self.derivation.wrt:
            value = course_latex(self.partials[v], self._order())
            lines.append(f"{self._left(v, latex=True)} = {value}")
        return "\n".join(lines)

    def _order(self) -> str:
        return str(self.derivation.function)

    def __str__(self) -> str:
        return self.text()


def _latex_definition(shown: Any, value: Any) -> str:
    """A definition in LaTeX; a vector given as `fn(argument)` text keeps that shape:
    softmax(beta*x) -> \\operatorname{softmax}\\left(\\beta x\\right)."""
    if not isinstance(value, sympy.MatrixBase):
        return str(sympy.latex(value, symbol_names=latex_symbol_names(value)))
    call = re.fullmatch(r"\s*([A-Za-z_]\w*)\((.*)\)\s*", str(shown))
    if call is None:
        return str(sympy.latex(value, symbol_names=latex_symbol_names(value)))
    inner = parse(call[2]).to_sympy()
    argument = sympy.latex(inner, symbol_names=latex_symbol_names(inner))
    return rf"\operatorname{{{call[1]}}}\left({argument}\right)"


def course_form(derivation: Derived, in_terms_of: Mapping[str, str] | None = None) -> CourseForm:
    """The derivation's partials in the course's form (see the module docstring)."""
    scalars: dict[str, Any] = {}  # name -> scalar definition
    vectors: dict[str, Any] = {}  # name -> column Matrix definition
    for name, text in (in_terms_of or {}).items():
        definition = parse(text).to_sympy(derivation.symbols)
        if isinstance(definition, sympy.MatrixBase):
            vectors[name] = definition
        else:
            scalars[name] = sympy.sympify(definition)
    partials: dict[str, Any] = {}
    indexed: dict[str, str] = {}
    special: dict[str, int] = {}
    used: dict[str, Any] = {}
    for v in derivation.wrt:
        value = derivation.partials[v]
        if vectors:  # found in the raw partial, before simplify merges e^a e^b into e^(a+b)
            raw = derivation.raw_partials.get(v, value)
            value = _apply(raw, lambda e: _in_terms_of_vectors(e, vectors, used))
        value = _apply(value, lambda e: _name_sigmoid_arguments(e, scalars, used))
        value = _apply(value, _simplify)
        form, kind, c = _index_form(value, vectors)
        partials[v], indexed[v] = _apply(form, course_signs), kind
        if c is not None:
            special[v] = c
    given = dict(in_terms_of or {})
    names = {n: given.get(n, used[n]) for n in [*given, *sorted(used)] if n in used}
    definitions = {**scalars, **vectors, **{n: d for n, d in used.items() if n not in given}}
    return CourseForm(derivation, partials, names, indexed, special, definitions)


def _apply(value: Any, fn: Any) -> Any:
    if isinstance(value, sympy.MatrixBase):
        return value.applyfunc(fn)
    return fn(sympy.sympify(value))


def _simplify(expr: Any) -> Any:
    """SymPy's simplify with each σ(...) held opaque, so σ(u) stays σ(u)."""
    opaque = {s: sympy.Dummy("s") for s in expr.atoms(sigmoid)}
    simpler = sympy.factor(sympy.simplify(expr.xreplace(opaque)))
    return simpler.xreplace({d: s for s, d in opaque.items()})


def _name_sigmoid_arguments(expr: Any, scalars: dict[str, Any], used: dict[str, Any]) -> Any:
    """σ(<argument>) -> σ(u): the name given for an equal definition, else u, u_2, ..."""
    replace = {}
    for s in sorted(expr.atoms(sigmoid), key=sympy.default_sort_key):
        (argument,) = s.args
        whole = next(
            (n for n, d in scalars.items() if isinstance(d, sigmoid) and _equal(d, s)), None
        )
        if whole is not None:  # a name for σ(...) itself: s = σ(u) gives s (1 - s)
            replace[s] = sympy.Symbol(whole, real=True)
            used[whole] = scalars[whole]
            continue
        if not isinstance(argument, sympy.Add):  # σ(a1 x) reads well as it is; a sum gets a name
            continue
        name = next((n for n, d in scalars.items() if _equal(d, argument)), None)
        if name is None:
            name = next((n for n, d in used.items() if _equal(d, argument)), None)
        if name is None:
            name = next(n for n in ("u", *(f"u_{k}" for k in range(2, 100))) if n not in used)
        used[name] = scalars.get(name, argument)
        replace[s] = sigmoid(sympy.Symbol(name, real=True))
    return expr.xreplace(replace)


def _equal(a: Any, b: Any) -> bool:
    return bool(sympy.simplify(sympy.expand(a - b)) == 0)


def _in_terms_of_vectors(expr: Any, vectors: dict[str, Any], used: dict[str, Any]) -> Any:
    """Entries N_k / S with S = sum of the N_k (softmax's shape): N_k -> p_k and S -> 1."""
    expr = expr.replace(sympy.exp, _split_exp)
    for name, definition in vectors.items():
        pairs = [sympy.fraction(sympy.together(entry)) for entry in definition]
        total = pairs[0][1]
        if any(s != total for _, s in pairs) or sympy.expand(total - sum(n for n, _ in pairs)):
            continue  # not normalized entries: leave this name out
        ps = [sympy.Symbol(f"{name}_{k}", real=True) for k in range(1, len(pairs) + 1)]
        before = expr
        expr = expr.subs({n: p for (n, _), p in zip(pairs, ps, strict=True)})
        expr = expr.subs(sympy.Add(*ps), 1)
        if expr != before:
            used[name] = definition
    return expr


def _split_exp(argument: Any) -> Any:
    """exp(a + b) -> exp(a) exp(b), so that each e^{βx_k} can be found on its own."""
    terms = sympy.Add.make_args(sympy.expand(argument))
    return sympy.Mul(*[sympy.exp(t) for t in terms])


def _index_form(value: Any, vectors: dict[str, Any]) -> tuple[Any, str, int | None]:
    """One formula in i (vector) or i, j (square Jacobian) when all entries follow it."""
    if not isinstance(value, sympy.MatrixBase) or not vectors:
        return value, "", None
    name = next(iter(vectors))
    n = value.shape[0]
    p = [sympy.Symbol(f"{name}_{k}", real=True) for k in range(1, n + 1)]
    pi, pj = sympy.Symbol(f"{name}_{I}", real=True), sympy.Symbol(f"{name}_{J}", real=True)
    if value.shape == (n, 1):
        terms = [value[k].xreplace({p[k]: pi}) for k in range(n)]
        if any(set(p) & t.free_symbols for t in terms):
            return value, "", None
        generic, _ = Counter(terms).most_common(1)[0]
        odd = [k for k, t in enumerate(terms) if t != generic]
        if not odd:
            return generic, "i", None
        if len(odd) > 1 or n < 3:
            return value, "", None
        delta = sympy.Symbol(f"delta_{I}{C}", real=True)
        return _simplify(generic + delta * (terms[odd[0]] - generic)), "i", odd[0] + 1
    if value.shape != (n, n) or n < 3:
        return value, "", None
    off = {value[j, i].xreplace({p[j]: pj, p[i]: pi}) for j in range(n) for i in range(n) if i != j}
    diagonal = {value[k, k].xreplace({p[k]: pi}) for k in range(n)}
    if len(off) != 1 or len(diagonal) != 1:
        return value, "", None
    (generic,), (on_diagonal,) = off, diagonal
    if set(p) & (generic.free_symbols | on_diagonal.free_symbols):
        return value, "", None
    delta = sympy.Symbol(f"delta_{I}{J}", real=True)
    return _simplify(generic + delta * (on_diagonal - generic.xreplace({pj: pi}))), "ji", None


def course_signs(expr: Any) -> Any:
    """The course's signs: (1 - α) not (α - 1); a leftover minus goes into a factor without a
    number, -β p (p_j - δ) -> β p (δ - p_j). Same value, only the tree changes."""
    expr = sympy.sympify(expr)
    if not isinstance(expr, sympy.Mul):
        return expr
    coefficient, factors = expr.as_coeff_mul()
    sign = -1 if coefficient < 0 else 1
    out = []
    for f in factors:
        if isinstance(f, sympy.Add) and _constant(f) < 0:
            f, sign = -f, -sign
        out.append(f)
    if sign < 0:
        for k, f in enumerate(out):
            if isinstance(f, sympy.Add) and _constant(f) == 0:
                out[k], sign = -f, 1
                break
    return sympy.Mul(sign * abs(coefficient), *out)


def _constant(add: Any) -> Any:
    constant, _ = add.as_coeff_Add()
    return constant


def _position(factor: Any, order: str) -> tuple[int, int]:
    """Where the factor first shows in the function as written (σ factors at the σ)."""
    if factor.atoms(sigmoid):
        at = order.find("sigmoid(")
        return (at if at >= 0 else len(order), 0 if isinstance(factor, sigmoid) else 1)
    spots = [order.find(str(s)) for s in factor.free_symbols]
    found = [s for s in spots if s >= 0]
    return (min(found) if found else len(order), 0)


def _factors(expr: Any, order: str) -> tuple[bool, list[Any], list[Any]]:
    """(negative?, numerator factors, denominator factors), each in the course's order."""
    coefficient, factors = expr.as_coeff_mul()
    ordered = sorted(factors, key=lambda f: _position(f, order))
    numerator = [f for f in ordered if not (f.is_Pow and f.exp.is_negative)]
    denominator = [1 / f for f in ordered if f.is_Pow and f.exp.is_negative]
    top, bottom = sympy.fraction(abs(coefficient))
    if top != 1:
        numerator.insert(0, top)
    if bottom != 1:
        denominator.insert(0, bottom)
    return coefficient < 0, numerator, denominator


def _terms(expr: Any) -> list[Any]:
    """The terms of a sum, positive ones first (p_i - delta_ic, 1 - alpha)."""
    terms = sympy.Add.make_args(expr)
    ranked = sorted(terms, key=sympy.default_sort_key)
    return [t for t in ranked if not t.could_extract_minus_sign()] + [
        t for t in ranked if t.could_extract_minus_sign()
    ]


def _join_terms(expr: Any, show: Any) -> str:
    out = ""
    for k, term in enumerate(_terms(expr)):
        negative = term.could_extract_minus_sign()
        body = show(-term if negative else term)
        out += ("-" if negative else "") + body if k == 0 else (" - " if negative else " + ") + body
    return out


def course_text(expr: Any, order: str = "") -> str:
    """Text in the course's order and signs: `a3*sigmoid(u)*(1 - sigmoid(u))*(1 - alpha)*x`."""
    if isinstance(expr, sympy.MatrixBase):
        return str(expr)

    def show(factors: list[Any]) -> str:
        parts = [f"({_join_terms(f, sympy.sstr)})" if f.is_Add else sympy.sstr(f) for f in factors]
        return "*".join(parts) or "1"

    def product(term: Any) -> str:
        negative, numerator, denominator = _factors(term, order)
        text = show(numerator)
        if len(denominator) == 1:  # an Add there is already in parentheses
            text += f"/{show(denominator)}"
        elif denominator:
            text += f"/({show(denominator)})"
        return ("-" if negative else "") + text

    return _join_terms(expr, product)


def course_latex(expr: Any, order: str = "") -> str:
    """LaTeX in the same order, W2_11 as W^{(2)}_{11}: `a_{3} \\sigma\\left(u\\right) ...`."""
    names = latex_symbol_names(expr)
    if isinstance(expr, sympy.MatrixBase):
        return sympy.latex(expr, symbol_names=names)

    def one(f: Any) -> str:
        return str(sympy.latex(f, symbol_names=names))

    def show(factors: list[Any]) -> str:
        parts = [rf"\left({_join_terms(f, one)}\right)" if f.is_Add else one(f) for f in factors]
        return " ".join(parts) or "1"

    def product(term: Any) -> str:
        negative, numerator, denominator = _factors(term, order)
        text = show(numerator)
        if denominator:  # a lone sum below the bar needs no parentheses
            lone = len(denominator) == 1 and denominator[0].is_Add
            below = _join_terms(denominator[0], one) if lone else show(denominator)
            text = rf"\frac{{{text}}}{{{below}}}"
        return ("-" if negative else "") + text

    return _join_terms(expr, product)
