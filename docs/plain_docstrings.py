"""A griffe extension for the API reference: docstrings written as plain text render as meant.

chainrule's docstrings are prose and formulas with bare doctest examples (`>>> ...` lines and
their output, run by tests/test_doctests.py), not Markdown. Before mkdocstrings renders a
docstring, this extension
- fences each doctest example as a `pycon` code block (Markdown would run its lines together
  into one paragraph), and
- escapes `][` and `] [` in the prose: in an index (`out[i][j]`) or a usage line
  (`[--wrt a1] [--out F]`) Markdown reads them as a reference link, and mkdocs-autorefs fails
  the strict build on the missing target.
It also gives each primitive (a class in `chainrule.primitives`) the docstring Python shows for
it: `Primitive.__init_subclass__` writes the first line from the class's `rule` when the class is
defined, so the source holds only the notes below that line and mkdocstrings, which reads the
source, would show no formula (and skip a primitive with no notes altogether).

mkdocs.yml loads it by path.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import griffe

FENCE = "```"
# Classes whose docstring is completed at definition time (see the module docstring).
RUNTIME_DOCSTRINGS = "chainrule.primitives."
# An inline code span, where Markdown reads no link and an escape would show as typed.
_CODE_SPAN = re.compile(r"(`[^`]*`)")
# `]` then `[`, with at most one space between, as Python-Markdown reads a reference link.
_REFERENCE = re.compile(r"\](\s?)\[")


def escape_reference_links(line: str) -> str:
    """`a[i][j]` -> `a[i]\\[j]` (and `[a] [b]` -> `[a] \\[b]`) outside inline code, so Markdown
    reads no reference link."""
    pieces = _CODE_SPAN.split(line)
    # split() with one group alternates text and code spans: the even pieces are text.
    pieces[::2] = [_REFERENCE.sub(r"]\1\\[", piece) for piece in pieces[::2]]
    return "".join(pieces)


def plain_text_to_markdown(text: str) -> str:
    """Fence each doctest example as ```pycon and escape `][` in the prose around them. An
    example starts at a `>>>` line and ends at the first blank line, as doctest reads it; text
    already inside a fence is code and is left alone."""
    out: list[str] = []
    in_fence = in_example = False
    indent = ""
    for line in text.splitlines():
        stripped = line.strip()
        if in_example and not stripped:
            out.append(indent + FENCE)
            in_example = False
        elif not in_example and stripped.startswith(FENCE):
            in_fence = not in_fence
        elif not in_example and not in_fence and stripped.startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + FENCE + "pycon")
            in_example = True
        out.append(line if in_example or in_fence else escape_reference_links(line))
    if in_example:
        out.append(indent + FENCE)
    return "\n".join(out)


def runtime_docstring(obj: griffe.Object) -> str | None:
    """The docstring of `obj` as Python has it once its module has run."""
    found: Any = importlib.import_module(obj.module.path)
    for name in obj.path.removeprefix(obj.module.path + ".").split("."):
        found = getattr(found, name)
    return found.__doc__


class PlainTextDocstrings(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        # Runs as each object is loaded, before its docstring is parsed (parsing is lazy).
        if obj.is_class and obj.path.startswith(RUNTIME_DOCSTRINGS):
            text = runtime_docstring(obj)
            if text:
                obj.docstring = griffe.Docstring(text, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = plain_text_to_markdown(obj.docstring.value)
