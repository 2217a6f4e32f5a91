"""Each leaf's gradient as the chain rule writes it: the product of the local Jacobians along
every path from the result down to the leaf (summed over the paths when there are several).

`cr.explain(loss, mode="factors")` returns `Factors`. For 000 Ex2 it reads

    df/da1 = ∂f/∂s · ∂s/∂u · ∂u/∂v2 · ∂v2/∂v1 · ∂v1/∂a1
           = a3 · σ(u)(1 - σ(u)) · 1 · x · 0.3
           = 2 × 0.2119 × 1 × 1.5 × 0.3 = 0.1907

and for matrices each factor is the Jacobian as a grid (rows: the output's entries, columns:
the input's, both in row-major order), the upstream gradient a row on the left. The product is
computed here, factor by factor, and equals the gradient backprop gives (`check()`), because
each Jacobian comes from the primitive's own backward.

>>> import chainrule as cr
>>> a = cr.tensor(2.0, requires_grad=True); a.name = "a"
>>> with cr.viz.record():
...     y = cr.sigmoid(3.0 * a)
>>> chain = cr.explain(y, mode="factors").chains["a"][0]
>>> [f.name for f in chain.factors]
['∂L/∂v1', '∂v1/∂a']
>>> round(float(chain.product.item()), 6) == round(float(cr.explain(y).gradients["a"]), 6)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.function import Node
from chainrule.viz.format import DEFAULT_GRID, MaxGrid, grid, number
from chainrule.viz.ledger_format import beside, latex_value, value_text
from chainrule.viz.notation import Notation, named_term, top_level_sum
from chainrule.viz.recording import ELEMENTWISE, local_factors
from chainrule.viz.walk import GraphWalk, Key, edge_key, node_key

MAX_PATHS = 64
"""Paths enumerated per leaf; a graph with more is summarised (its sum is still the gradient)."""


@dataclass
class Factor:
    """One local Jacobian of a chain: ∂out/∂in, its formula (the rule with the operands' names,
    '' where the rule states only the gradient) and its value as a (out entries, in entries)
    matrix."""

    name: str
    formula: str
    jacobian: np.ndarray
    out: str
    input: str


@dataclass
class Chain:
    """One path from the result to a leaf: the upstream row, the factors, and their product
    (in the leaf's shape)."""

    upstream: np.ndarray
    factors: list[Factor]
    product: np.ndarray


@dataclass
class Factors:
    """The chains of every leaf (`chains[name]`, one per path), the gradient each sums to, and
    their renderings: `table()` (also `str`), `markdown()`, `latex()`."""

    root: str
    notation: Notation
    chains: dict[str, list[Chain]]
    gradients: dict[str, Any]
    unit_root: bool
    truncated: dict[str, bool] = field(default_factory=dict)

    def total(self, name: str) -> np.ndarray | None:
        chains = self.chains.get(name) or []
        if not chains:
            return None
        return np.sum([c.product for c in chains], axis=0)

    def check(self, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
        """Whether every product of Jacobians equals the gradient backprop computed."""
        for name, grad in self.gradients.items():
            total = self.total(name)
            if grad is None or total is None or self.truncated.get(name):
                continue
            if not np.allclose(total, grad, rtol=rtol, atol=atol):
                return False
        return True

    def table(self, max_elements: int = 6, max_grid: MaxGrid = DEFAULT_GRID) -> str:
        lines = [f"The chain rule for {self.root}: each gradient as a product of local Jacobians"]
        for name, chains in self.chains.items():
            lines.append("")
            lines += _leaf_text(self, name, chains, max_elements, max_grid)
        return "\n".join(lines)

    def markdown(self, max_elements: int = 6, max_grid: MaxGrid = DEFAULT_GRID) -> str:
        out = [f"**The chain rule for {self.root}**: each gradient as a product of local Jacobians"]
        for name, chains in self.chains.items():
            text = "\n".join(_leaf_text(self, name, chains, max_elements, max_grid))
            out += ["", "```text", text, "```"]
        return "\n".join(out) + "\n"

    def latex(self, max_elements: int = 6, max_grid: MaxGrid = DEFAULT_GRID) -> str:
        body = []
        for name, chains in self.chains.items():
            for chain in chains:
                names = r" \, ".join(_latex_partial(f, self.notation) for f in chain.factors)
                values = r" \cdot ".join(
                    latex_value(_shown(f.jacobian), max_elements, max_grid) for f in chain.factors
                )
                lhs = self.notation.grad_latex(name)
                if not self.unit_root:
                    names = self.notation.grad_latex(self.root) + r" \, " + names
                    up = latex_value(chain.upstream, max_elements, max_grid)
                    values = up + r" \cdot " + values
                result = latex_value(chain.product, max_elements, max_grid)
                body.append(rf"{lhs} &= {names} \\ &= {values} = {result}")
        return "\\begin{align*}\n" + " \\\\\n".join(body) + "\n\\end{align*}\n"

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<Factors for {self.root}: {len(self.chains)} leaves; print it or .latex()>"

    def _repr_markdown_(self) -> str:
        return self.markdown()


def _latex_partial(f: Factor, notation: Notation) -> str:
    return rf"\frac{{\partial {notation.tex(f.out)}}}{{\partial {notation.tex(f.input)}}}"


def _shown(jacobian: np.ndarray) -> Any:
    """A 1 x 1 Jacobian as its number; else the matrix."""
    return jacobian.reshape(()) if jacobian.size == 1 else jacobian


def _leaf_text(factors: Factors, name: str, chains: list[Chain], m: int, g: MaxGrid) -> list[str]:
    lhs = factors.notation.grad(name)
    if not chains:
        return [f"{lhs}: no path from {factors.root} reaches it"]
    lines = []
    for k, chain in enumerate(chains):
        head = lhs if len(chains) == 1 else f"{lhs} (path {k + 1} of {len(chains)})"
        pad = " " * len(head)
        names = [f.name for f in chain.factors]
        formulas = [f.formula or f.name for f in chain.factors]
        if not factors.unit_root:
            names = [factors.notation.grad(factors.root), *names]
            formulas = [factors.notation.grad(factors.root), *formulas]
        lines.append(f"{head} = " + " · ".join(names))
        if formulas != names:
            lines.append(f"{pad} = " + " · ".join(formulas))
        scalar = all(f.jacobian.size == 1 for f in chain.factors) and chain.upstream.size == 1
        if scalar:
            numbers = [number(f.jacobian.item()) for f in chain.factors]
            if not factors.unit_root:
                numbers = [number(chain.upstream.item()), *numbers]
            product = f" = {number(chain.product.item())}" if len(numbers) > 1 else ""
            lines.append(f"{pad} = " + " × ".join(numbers) + product)
        else:
            pieces = [f"{pad} = "]
            if not factors.unit_root:
                pieces += [_matrix_text(chain.upstream.reshape(1, -1), m, g), " "]
            for j, f in enumerate(chain.factors):
                pieces += [" " if j else "", _matrix_text(f.jacobian, m, g)]
            pieces += [" = ", value_text(chain.product, m, g)]
            lines += beside(*pieces).split("\n")
    if len(chains) > 1:
        total = factors.total(name)
        lines.append(f"{lhs} = the sum over the {len(chains)} paths = {value_text(total, m, g)}")
    if factors.truncated.get(name):
        lines.append(f"({name} has more than {MAX_PATHS} paths: the first {MAX_PATHS} are shown)")
    return lines


def _matrix_text(jacobian: np.ndarray, m: int, g: MaxGrid) -> str:
    if jacobian.size == 1:
        return number(jacobian.item())
    if grid(jacobian, g) is not None:
        return value_text(jacobian, m, g)
    return f"J{tuple(jacobian.shape)}"


def factors_of(
    walk: GraphWalk,
    order: list[Node],
    upstream: Mapping[Node, list],
    gradients: dict[str, Any],
    notation: Notation,
    hidden: Mapping[Key, Key],
    max_jacobian: int,
) -> Factors:
    """The chains of every leaf of `walk` (see the module docstring)."""
    root_node = walk.root.grad_fn
    assert root_node is not None  # explain refuses a graph without one
    root_grads = upstream.get(root_node) or [None]
    root_up = root_grads[walk.root._output_nr]
    unit_root = root_up is None or (np.size(root_up) == 1 and float(np.ravel(root_up)[0]) == 1.0)
    up_row = (
        np.ones((1, 1)) if root_up is None else np.asarray(root_up, dtype=np.float64).reshape(1, -1)
    )
    jacobians: dict[tuple[int, int], Factor | None] = {}
    chains: dict[str, list[Chain]] = {walk.names[k]: [] for k in walk.leaves}
    truncated: dict[str, bool] = {}
    limit = max(max_jacobian, 4096)  # a factor's Jacobian is needed in full to multiply
    for key in walk.leaves:
        name = walk.names[key]
        paths = _paths(walk, root_node, key, hidden)
        truncated[name] = len(paths) > MAX_PATHS
        for path in paths[:MAX_PATHS]:
            factors = []
            for node, i in path:
                cache = (id(node), i)
                if cache not in jacobians:
                    jacobians[cache] = _factor(walk, node, i, notation, limit)
                factor = jacobians[cache]
                if factor is None:
                    break
                factors.append(factor)
            else:
                row = up_row
                for factor in factors:
                    row = row @ factor.jacobian
                shape = walk.leaves[key].shape
                chains[name].append(Chain(up_row, factors, row.reshape(shape)))
    return Factors(walk.names[walk.root_key], notation, chains, gradients, unit_root, truncated)


def _paths(
    walk: GraphWalk, root: Node, leaf: Key, hidden: Mapping[Key, Key]
) -> list[list[tuple[Node, int]]]:
    """Every path (node, input) from the root's node to the leaf, iteratively, in the order the
    inputs are written; a hidden node (a reshape of the teaching view) adds no factor."""
    found: list[list[tuple[Node, int]]] = []
    stack: list[tuple[Node, list[tuple[Node, int]]]] = [(root, [])]
    while stack and len(found) <= MAX_PATHS:
        node, path = stack.pop()
        steps = []
        for i, edge in enumerate(node.next_edges):
            if edge is None:
                continue
            key = edge_key(edge)
            here = path if node_key(node, 0) in hidden else [*path, (node, i)]
            if key == leaf:
                found.append(here)
            elif type(edge[0]) is Node:
                steps.append((edge[0], here))
        stack.extend(reversed(steps))
    return found


def _factor(walk: GraphWalk, node: Node, i: int, notation: Notation, limit: int) -> Factor | None:
    """∂(node's output)/∂(input i) as a (out entries, in entries) matrix, with its formula."""
    key = node_key(node, 0)
    shape, dtype = walk.meta.get(key, ((), np.float64))
    local = local_factors(node, tuple(shape), dtype, max_jacobian=limit)[i]
    if local is None:
        return None
    in_shape = node.input_meta[i][0] if node.input_meta[i] is not None else np.shape(local)
    out_size, in_size = math.prod(shape), math.prod(in_shape)
    local = np.asarray(local, dtype=np.float64)
    if node.fn.__name__ in ELEMENTWISE and local.size == in_size and out_size == in_size:
        jacobian = np.diag(local.reshape(-1)) if in_size > 1 else local.reshape(1, 1)
    else:
        jacobian = local.reshape(out_size, in_size)
    out = walk.names[key]
    in_key = edge_key(node.next_edges[i])
    name = walk.label(in_key)
    term = named_term(walk, node, i, notation)
    formula = term.partial.split(" = ")[1] if " = " in term.partial else ""
    if top_level_sum(formula):
        formula = f"({formula})"  # a factor of a product: softmax(o) - 1_c in brackets
    return Factor(f"∂{out}/∂{name}", formula, jacobian, out, name)
