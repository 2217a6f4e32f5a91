"""Importing SymPy, an optional extra, with a message that says how to install it.

Free of SymPy itself, so `chainrule.symbolic` and `chainrule.expr` import it at no cost. It sits
in the expression language, the lower of the two: `Expression.to_sympy` needs SymPy too, and
`chainrule.symbolic` (whose `derive` parses expressions) re-exports it.
"""

from __future__ import annotations

import importlib
from typing import Any

INSTALL = (
    "chainrule.symbolic needs SymPy, an optional extra: pip install 'chainrule[symbolic]' "
    "(or pip install 'sympy>=1.12')"
)


def require_sympy() -> Any:
    """The sympy module, or an ImportError that says how to install it."""
    try:
        return importlib.import_module("sympy")
    except ImportError as error:
        raise ImportError(INSTALL) from error
