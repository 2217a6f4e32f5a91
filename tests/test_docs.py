"""The documentation site's sources, checked without building it (.ci/run runs the real
`mkdocs build --strict`): the API reference has a page for every public module, every page that
mkdocs.yml names exists, and the docstring conversion does what the reference relies on."""

from __future__ import annotations

import importlib.util
import pkgutil
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

import chainrule

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
yaml = pytest.importorskip("yaml", reason="PyYAML (installed with mkdocs) reads mkdocs.yml")


def load_docs_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_docs_module("gen_ref_pages")


def imported_public_modules() -> set[str]:
    """The package's public modules as Python finds them (importing each package), a second way
    of listing what gen_ref_pages finds by reading folders."""
    names = {chainrule.__name__}
    for info in pkgutil.walk_packages(chainrule.__path__, prefix="chainrule."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.add(info.name)
    return names


def nav_files(nav: object) -> list[str]:
    """Every file or folder named in mkdocs.yml's nav (a list of strings and {title: entry})."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [f for item in nav for f in nav_files(item)]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in nav_files(value)]
    raise AssertionError(f"unexpected nav entry {nav!r}")


def links(markdown: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", markdown)


def test_reference_has_a_page_for_every_public_module() -> None:
    modules = gen.public_modules()
    assert set(modules) == imported_public_modules()
    assert len(modules) == len(set(modules))
    # The modules this refactor is about must be there by their new names.
    assert {"chainrule.primitives.base", "chainrule.engine", "chainrule.io.safetensors"} <= set(
        modules
    )
    assert "chainrule.__main__" not in modules


def test_each_reference_page_documents_its_module_once() -> None:
    pages = gen.reference_pages()
    documented = [m for text in pages.values() for m in re.findall(r"^::: (\S+)$", text, re.M)]
    assert sorted(documented) == gen.public_modules()
    assert len(pages) == len(documented)  # one page per module: no two modules share a path


def test_reference_navigation_links_every_reference_page() -> None:
    summary = gen.reference_nav()
    linked = {"reference/" + target for target in links(summary)}
    assert linked == set(gen.reference_pages())


def test_package_pages_show_only_what_the_package_defines() -> None:
    # chainrule/__init__.py defines allclose itself; chainrule.nn only re-exports.
    assert "allclose" in gen.defined_names("chainrule")
    assert "members: false" in gen.reference_page("chainrule.nn")
    assert "options:" not in gen.reference_page("chainrule.nn.layers")


def test_every_page_in_mkdocs_nav_exists() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    generated = gen.generated_pages()
    entries = nav_files(config["nav"])
    assert "index.md" in entries and "reference/" in entries
    for entry in entries:
        if entry.endswith("/"):  # a folder whose navigation is its SUMMARY.md (literate-nav)
            assert entry + "SUMMARY.md" in generated, entry
        else:
            assert entry in generated or (DOCS / entry).is_file(), entry


def test_mkdocs_config_names_files_that_exist() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    plugins = {
        k: v for p in config["plugins"] for k, v in (p.items() if isinstance(p, dict) else {})
    }
    for script in plugins["gen-files"]["scripts"]:
        assert (ROOT / script).is_file(), script
    python = plugins["mkdocstrings"]["handlers"]["python"]
    for extension in python["options"]["extensions"]:
        path = extension.split(":")[0]
        assert (ROOT / path).is_file(), path
    assert config["site_dir"] == "site"
    assert "site/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_links_in_pages_taken_from_the_repository_resolve() -> None:
    pages = gen.generated_pages()
    for page in [*gen.ROOT_PAGES.values(), "exercises/index.md"]:
        folder = Path(page).parent
        for target in links(pages[page]):
            path = target.partition("#")[0]
            if "://" in path or not path:
                continue
            resolved = (folder / path).as_posix()
            assert resolved in pages or (DOCS / resolved).is_file(), f"{page}: {target}"


def test_exercises_page_lists_every_seed_script() -> None:
    pages = gen.exercise_pages()
    scripts = sorted(p.name for p in (ROOT / "examples").glob("seed*.py"))
    assert scripts, "no seed scripts found"
    for script in scripts:
        assert f"[`{script}`]" in pages["exercises/index.md"]
        stem = script.removesuffix(".py")
        assert (ROOT / "examples" / script).read_text(encoding="utf-8").rstrip() in pages[
            f"exercises/{stem}.md"
        ]
    assert not any("_show" in path for path in pages)


def test_readme_links_are_rewritten_for_the_site() -> None:
    index = gen.generated_pages()["index.md"]
    assert "](design.md)" in index and "](DESIGN.md)" not in index
    assert "](seed000_ex2_graph.svg)" in index
    assert "](exercises/seed000_ex2_graph.md)" in index
    assert gen.site_target("https://example.org/x.md") == "https://example.org/x.md"
    assert gen.site_target("DESIGN.md#conventions") == "design.md#conventions"


def test_docs_tools_come_with_the_test_extra() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert any("mkdocstrings" in requirement for requirement in extras["docs"])
    assert "chainrule[docs]" in extras["test"]


def test_doctest_examples_become_code_blocks() -> None:
    griffe_ext = load_docs_module_or_skip()
    text = "Adds.\n\n>>> import chainrule as cr\n>>> cr.tensor(1.0) + 1\n2.0\n\nAfter."
    out = griffe_ext.plain_text_to_markdown(text).splitlines()
    assert out == [
        "Adds.",
        "",
        "```pycon",
        ">>> import chainrule as cr",
        ">>> cr.tensor(1.0) + 1",
        "2.0",
        "```",
        "",
        "After.",
    ]
    # An example at the very end is closed too, and one already fenced is left alone.
    assert griffe_ext.plain_text_to_markdown(">>> 1\n1").endswith("```")
    fenced = "```python\n>>> 1\n```"
    assert griffe_ext.plain_text_to_markdown(fenced) == fenced


def test_bracket_pairs_in_prose_are_not_reference_links() -> None:
    griffe_ext = load_docs_module_or_skip()
    convert = griffe_ext.plain_text_to_markdown
    assert convert("out[i][j] = x[index[i][j]][j]") == r"out[i]\[j] = x[index[i]\[j]]\[j]"
    assert convert("train [--data D] [--hidden 64]") == r"train [--data D] \[--hidden 64]"
    # Inside inline code and inside a doctest the text is code: an escape would show as typed.
    assert convert("`h['loss'][i]` and h[0][1]") == r"`h['loss'][i]` and h[0]\[1]"
    assert convert(">>> a[0][1]\n3") == "```pycon\n>>> a[0][1]\n3\n```"


def load_docs_module_or_skip() -> ModuleType:
    pytest.importorskip("griffe", reason="griffe (installed with mkdocstrings) runs the extension")
    return load_docs_module("plain_docstrings")


def test_primitives_are_documented_with_their_rule() -> None:
    griffe_ext = load_docs_module_or_skip()
    import griffe

    from chainrule.primitives.elementwise import Exp, Sigmoid

    module = griffe.load(
        "chainrule.primitives.elementwise",
        search_paths=[str(ROOT / "src")],
        extensions=griffe.load_extensions(griffe_ext.PlainTextDocstrings()),
        allow_inspection=False,
    )
    # The sources hold at most the notes below the formula line, which comes from each rule
    # (Exp's source has no docstring at all: without the extension the reference skips it).
    for cls in (Exp, Sigmoid):
        documented = module[cls.__name__].docstring
        assert documented is not None, cls.__name__
        assert documented.value.startswith(cls.rule.summary()), cls.__name__
