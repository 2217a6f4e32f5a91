"""Generate the site's pages that come from elsewhere in the repository.

mkdocs-gen-files runs this file at the start of every `mkdocs build` (see mkdocs.yml). It writes:

- `reference/`: one API page per public module, found by walking `src/chainrule` on disk, so a
  module that is added, moved or renamed gets its page on the next build with no edit here;
- `index.md`, `design.md`, `contributing.md`, `changelog.md`, `license.md`: the repository's own
  README, DESIGN, CONTRIBUTING, CHANGELOG and LICENSE, with their links rewritten for the site, so
  each text lives in one file;
- `exercises/`: every seed exercise script in `examples/`, its docstring and its source.

The functions below only compute the pages; `write_pages` hands them to mkdocs-gen-files.
tests/test_docs.py imports this file to check the pages without running mkdocs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "chainrule"
PACKAGE_DIR = ROOT / "src" / PACKAGE
EXAMPLES_DIR = ROOT / "examples"

# Root files that become pages, and the site page each becomes.
ROOT_PAGES = {
    "README.md": "index.md",
    "DESIGN.md": "design.md",
    "CONTRIBUTING.md": "contributing.md",
    "CHANGELOG.md": "changelog.md",
}
LICENSE_PAGE = "license.md"

# A Markdown link or image target: `](target)`, the target without a title.
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def public_modules() -> list[str]:
    """Every public module of the package, dotted, sorted: `chainrule`, `chainrule.nn`, ...

    A module is public when no part of its dotted name starts with `_` (this leaves out
    `__main__` and private helpers); a package is named by its folder (its `__init__.py`)."""
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if any(part.startswith("_") for part in parts):
            continue
        names.append(".".join(parts))
    return sorted(names)


def is_package(module: str) -> bool:
    return (PACKAGE_DIR.parent.joinpath(*module.split(".")) / "__init__.py").is_file()


def reference_path(module: str) -> str:
    """The page of a module, relative to the docs folder: a package's page is its folder's
    index.md, so the navigation shows a package's modules under it."""
    parts = module.split(".")
    if is_package(module):
        return "/".join(["reference", *parts, "index.md"])
    return "/".join(["reference", *parts]) + ".md"


def defined_names(module: str) -> list[str]:
    """The public functions and classes a package's __init__.py defines itself (read from the
    source, not imported, as mkdocstrings reads it)."""
    init = PACKAGE_DIR.parent.joinpath(*module.split(".")) / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    kinds = (ast.FunctionDef, ast.ClassDef)
    return [n.name for n in tree.body if isinstance(n, kinds) and not n.name.startswith("_")]


def reference_page(module: str) -> str:
    """A module's page: its docstring and members, as mkdocstrings renders them. A package's
    page shows only what the package defines itself: the names it re-exports are documented
    once, on the page of the module that defines them."""
    options = ""
    if is_package(module):
        names = defined_names(module)
        members = "[" + ", ".join(names) + "]" if names else "false"
        options = f"    options:\n      members: {members}\n"
    return f"# `{module}`\n\n::: {module}\n{options}"


def reference_pages() -> dict[str, str]:
    """The API reference: page path -> page text, one page per public module."""
    return {reference_path(module): reference_page(module) for module in public_modules()}


def reference_nav() -> str:
    """reference/SUMMARY.md, the reference's navigation for mkdocs-literate-nav: modules nested
    under their package, in dotted-name order."""
    lines = []
    for module in public_modules():
        depth = module.count(".")
        page = reference_path(module).removeprefix("reference/")
        lines.append(f"{'    ' * depth}* [{module.rsplit('.', 1)[-1]}]({page})")
    return "\n".join(lines) + "\n"


def example_scripts() -> list[Path]:
    """The seed exercise scripts (examples/_show.py is their shared helper, not an exercise)."""
    return sorted(p for p in EXAMPLES_DIR.glob("*.py") if not p.name.startswith("_"))


def _docstring(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    match = re.match(r'\s*"""(.*?)"""', text, re.DOTALL)
    return match.group(1).strip() if match else ""


def exercise_pages() -> dict[str, str]:
    """exercises/index.md (a table of the scripts), a page per script with its text and source,
    and exercises/SUMMARY.md, their navigation."""
    rows = ["| script | exercise |", "| --- | --- |"]
    nav = ["* [The seeds' exercises](index.md)"]
    pages = {}
    for script in example_scripts():
        doc = _docstring(script)
        title = doc.splitlines()[0] if doc else script.stem
        rows.append(f"| [`{script.name}`]({script.stem}.md) | {title} |")
        nav.append(f"* [{script.name}]({script.stem}.md)")
        pages[f"exercises/{script.stem}.md"] = (
            f"# `examples/{script.name}`\n\n"
            f"```text\n{doc}\n```\n\n"
            f"```python\n{script.read_text(encoding='utf-8').rstrip()}\n```\n"
        )
    pages["exercises/index.md"] = (
        "# The seeds' exercises\n\n"
        "Every exercise of the two seed documents is a runnable script in `examples/` that solves "
        "it with chainrule, prints the backward ledger, draws the graph, derives the closed form "
        "symbolically and asserts it (`python examples/seed000_ex2_graph.py --out drawings`; "
        "without `--out` the drawings go to a new temporary folder, whose path the script "
        "prints). `tests/test_examples.py` runs each one.\n\n" + "\n".join(rows) + "\n"
    )
    pages["exercises/SUMMARY.md"] = "\n".join(nav) + "\n"
    return pages


def site_target(target: str) -> str:
    """Where a link in a root file points on the site. Root files that are pages link to their
    page, `docs/` files to themselves, `examples/` to the exercise pages; anything else (a
    source file, a test) is left alone, so mkdocs --strict names it if it cannot be resolved."""
    path, hash_sign, anchor = target.partition("#")
    if "://" in path or path.startswith("mailto:") or not path:
        return target
    if path in ROOT_PAGES:
        path = ROOT_PAGES[path]
    elif path == "LICENSE":
        path = LICENSE_PAGE
    elif path.startswith("docs/"):
        path = path.removeprefix("docs/")
    elif path.rstrip("/") == "examples":
        path = "exercises/index.md"
    elif path.startswith("examples/") and path.endswith(".py"):
        path = f"exercises/{Path(path).stem}.md"
    return path + hash_sign + anchor


def root_pages() -> dict[str, str]:
    """README, DESIGN, CONTRIBUTING, CHANGELOG and LICENSE as site pages."""
    pages = {}
    for name, page in ROOT_PAGES.items():
        text = (ROOT / name).read_text(encoding="utf-8")
        pages[page] = _LINK.sub(lambda m: f"]({site_target(m.group(1))})", text)
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8").rstrip()
    pages[LICENSE_PAGE] = f"# License\n\n```text\n{license_text}\n```\n"
    return pages


def generated_pages() -> dict[str, str]:
    """Every page this script writes: path relative to the docs folder -> text."""
    return {
        **root_pages(),
        **exercise_pages(),
        **reference_pages(),
        "reference/SUMMARY.md": reference_nav(),
    }


def write_pages() -> None:
    import mkdocs_gen_files  # only present inside a docs build

    for path, text in generated_pages().items():
        with mkdocs_gen_files.open(path, "w") as f:
            f.write(text)


# mkdocs-gen-files runs this file with runpy.run_path, whose module name is "<run_path>".
if __name__ in {"__main__", "<run_path>"}:
    write_pages()
