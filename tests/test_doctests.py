"""Every `>>>` example in the package's docstrings runs as written (one case per module).

Examples run from a temporary folder, so one that writes a file leaves nothing behind. A module
without examples passes; the total number of examples must stay above a floor, so this test
cannot silently run nothing."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import chainrule

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
FLOOR = 100  # 123 examples in the docstrings today, less a margin for honest removals


def _modules() -> list[str]:
    names = [chainrule.__name__]
    for info in pkgutil.walk_packages(chainrule.__path__, prefix=chainrule.__name__ + "."):
        if info.name.split(".")[-1] != "__main__":  # runs the command line when imported
            names.append(info.name)
    return sorted(names)


MODULES = _modules()


def _tests(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    # objects defined elsewhere and re-exported are checked in their own module
    return [t for t in finder.find(module) if t.examples and _defined_in(t, module)]


def _defined_in(test: doctest.DocTest, module: object) -> bool:
    return test.filename is None or test.filename == getattr(module, "__file__", None)


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    dtype, rng = chainrule.get_default_dtype(), chainrule.get_rng_state()
    try:
        with np.printoptions():  # an example may change them
            for test in _tests(name):
                runner.run(test, clear_globs=True)
    finally:
        chainrule.set_default_dtype(dtype)
        chainrule.set_rng_state(rng)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples in {name} fail"
    assert list(tmp_path.iterdir()) == []  # examples that write files clean up after themselves


def test_the_package_has_examples_to_run():
    counts = {name: sum(len(t.examples) for t in _tests(name)) for name in MODULES}
    assert sum(counts.values()) >= FLOOR, counts
    assert counts["chainrule"] > 0 and counts["chainrule.check.derivation_check"] > 0
