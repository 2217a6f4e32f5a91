"""The release number, in the lowest layer: the front door re-exports it as `cr.__version__`
and `chainrule --version` reads it (when the package is not installed) without importing the
package that sits above the CLI. Keep it equal to pyproject.toml's `version`."""

__version__ = "0.1.0"
