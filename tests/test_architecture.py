"""The package's import graph: no cycle, and no module importing from a layer above its own.

Every module of src/chainrule is parsed with `ast` (nothing is imported), and every import of a
chainrule module is collected: at module level, inside functions and under `if TYPE_CHECKING:`
alike, since each one is a dependency someone must understand. Importing `chainrule.a.b` also
runs `chainrule/a/__init__.py`, so that package counts as imported too (unless the importer is
inside it: its own package is initialised before it runs). The root `chainrule/__init__.py` runs
on every import, so only an explicit `from chainrule import name` counts as importing it.

Another test imports every public module in fresh interpreters, in a sample of orders: an
import that only works after some other module was imported fails there.
"""

from __future__ import annotations

import ast
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import chainrule

SOURCE = Path(chainrule.__file__).parent
ROOT = "chainrule"

# Lowest first. A module belongs to the layer of its longest matching prefix, and may import
# only from its own layer or lower ones.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("chainrule.backend", "chainrule.modes", "chainrule.errors", "chainrule.version")),
    ("graph", ("chainrule.tensor_base", "chainrule.function")),
    ("primitives", ("chainrule.primitives",)),
    ("engine", ("chainrule.engine", "chainrule.engine_hooks")),
    (
        "tensor",  # the order inside this layer is still being settled
        (
            "chainrule.methods",
            "chainrule.tensor_methods",
            "chainrule.tensor_inplace",
            "chainrule.tensor_math",
            "chainrule.tensor_reduce",
            "chainrule.tensor_structure",
            "chainrule.linalg",
            "chainrule.ops",
            "chainrule.creation",
            "chainrule.tensor",
        ),
    ),
    ("autograd", ("chainrule.autograd",)),
    (
        "library",
        (
            "chainrule.nn",
            "chainrule.optim",
            "chainrule.data",
            "chainrule.io",
            "chainrule.distributed",
            "chainrule.utils",
            "chainrule.testing",
        ),
    ),
    (
        "tools",
        (
            "chainrule.train",
            "chainrule.viz",
            "chainrule.playground",
            "chainrule.symbolic",
            "chainrule.check",
            "chainrule.expr",
            "chainrule.compile",
        ),
    ),
    ("cli", ("chainrule.cli", "chainrule.__main__")),
    ("package", ("chainrule",)),  # the front door re-exports everything
]


# -- the graph ------------------------------------------------------------------------------
def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (a package is its __init__)."""
    modules = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = [ROOT, *path.relative_to(SOURCE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _ancestors(name: str) -> Iterator[str]:
    """chainrule.a.b.c -> chainrule.a.b, chainrule.a (the root is left out: it always runs)."""
    parts = name.split(".")
    for end in range(len(parts) - 1, 1, -1):
        yield ".".join(parts[:end])


def _known(name: str) -> str:
    """The module a dotted name lives in: `chainrule.a.b.f` -> `chainrule.a.b` (the longest
    prefix that is a module)."""
    while name not in MODULES:
        name = name.rsplit(".", 1)[0]
    return name


def _imported(module: str, path: Path) -> set[str]:
    """Every chainrule module `module` imports, anywhere in its file."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from a import b` imports the module a.b when there is one (and runs a: added
            # below with the other packages), else the name b from a
            names = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name == ROOT or name.startswith(ROOT + "."):
                found.add(_known(name))
    for target in list(found):
        found.update(p for p in _ancestors(target) if p != module and p not in _ancestors(module))
    found.discard(module)
    return found


GRAPH = {module: _imported(module, path) for module, path in MODULES.items()}


def _layer(module: str) -> int | None:
    best, best_length = None, -1
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = rank, len(prefix)
    return best


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module, iteratively (an
    explicit stack of (module, its remaining successors))."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, successors = work[-1]
            advanced = False
            for w in successors:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def _cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One shortest cycle through the component's first module (breadth first, inside it)."""
    members = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if w not in came_from:
                    came_from[w] = v
                    following.append(w)
        frontier = following
    return component


# -- the tests ------------------------------------------------------------------------------
def test_the_graph_is_read_from_the_source() -> None:
    # the parse finds what is plainly there: a module-level, a function-level and a
    # TYPE_CHECKING import, and the package a submodule import runs
    assert "chainrule.cli" in MODULES and "chainrule.nn.layers" in MODULES
    assert "chainrule.nn.module" in GRAPH["chainrule.nn.layers"]
    assert {"chainrule.cli.seeing", "chainrule.cli.train"} <= GRAPH["chainrule.cli"]
    assert "chainrule.expr" in GRAPH["chainrule.cli.seeing"]  # imported inside functions
    assert "chainrule.viz.ledger_rows" in GRAPH["chainrule.viz.ledger_format"]  # TYPE_CHECKING
    assert "chainrule.train" in GRAPH["chainrule.cli.train"]  # the package of train.job
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]
    assert _cycle({"a": {"b"}, "b": {"a", "c"}, "c": {"a"}}, ["a", "b", "c"]) == ["a", "b", "a"]


def test_every_module_has_a_layer() -> None:
    unknown = sorted(m for m in MODULES if _layer(m) is None)
    assert not unknown, f"modules in no layer (add them to LAYERS in this file): {unknown}"


def test_no_import_cycle() -> None:
    components = _strongly_connected(GRAPH)
    lines = [
        f"{len(c)} modules import each other: {', '.join(c)}\n"
        f"    e.g. {' -> '.join(_cycle(GRAPH, c))}"
        for c in components
    ]
    assert not components, "import cycles:\n" + "\n".join(lines)


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = []
    for module, targets in sorted(GRAPH.items()):
        own = _layer(module)
        for target in sorted(targets):
            theirs = _layer(target)
            if own is not None and theirs is not None and theirs > own:
                upward.append(f"{module} ({LAYERS[own][0]}) imports {target} ({LAYERS[theirs][0]})")
    assert not upward, f"{len(upward)} imports go up a layer:\n" + "\n".join(upward)


def _public_modules() -> list[str]:
    """Modules a user may import: no part starts with '_' (so no `__main__`, which runs)."""
    return [m for m in MODULES if not any(part.startswith("_") for part in m.split("."))]


IMPORT_ALL = """
import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:  # an optional third-party package that is absent
        if (error.name or "").split(".")[0] == "chainrule":
            raise
"""


ORDERS = 4  # fresh interpreters: each costs about a second, mostly NumPy, SymPy, matplotlib


def test_public_modules_import_in_any_order_in_a_fresh_interpreter() -> None:
    modules = sorted(_public_modules())
    assert len(modules) > 20
    # sorted, reversed, then shuffled with fixed seeds (so a failure comes back on a rerun)
    orders = [modules, modules[::-1]]
    for seed in range(ORDERS - 2):
        shuffled = list(modules)
        random.Random(seed).shuffle(shuffled)
        orders.append(shuffled)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SOURCE.parent), *sys.path])}

    def run(order: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", IMPORT_ALL, *order],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(run, orders))
    failures = [
        f"importing {', '.join(order[:3])}, ... in this order:\n{done.stderr.strip()[-1500:]}"
        for order, done in zip(orders, results, strict=True)
        if done.returncode != 0
    ]
    assert not failures, "\n\n".join(failures)


def test_a_module_is_placed_by_its_longest_prefix() -> None:
    # "chainrule" is a prefix of every name: the package layer holds only the root itself
    assert _layer("chainrule") == len(LAYERS) - 1
    assert LAYERS[_layer("chainrule.cli.seeing")][0] == "cli"
    # a prefix matches whole parts of the name: tensor_base is not inside chainrule.tensor
    assert LAYERS[_layer("chainrule.tensor_base")][0] == "graph"
    assert LAYERS[_layer("chainrule.tensor")][0] == "tensor"
