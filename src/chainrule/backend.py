"""The array namespace behind every Tensor: dtypes, the default dtype, the RNG.

Ops never import NumPy directly for their math: they ask `namespace(array)` for the module that
owns the array, so the same rule table runs on NumPy, on CuPy arrays on a GPU, and on NumPy
object arrays of SymPy expressions (the symbolic backend swaps in its own namespace).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

# PyTorch spells dtypes as module attributes (torch.float32); NumPy dtypes compare equal to the
# scalar types (np.dtype("float32") == np.float32), so users can pass either.
float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")
half, double, long = float16, float64, int64  # torch's aliases (float/int/bool: see __init__)

_default_dtype: np.dtype = float32


def get_default_dtype() -> np.dtype:
    """The dtype of new floating tensors (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype of new floating tensors; only float32 and float64 are allowed (as PyTorch)."""
    global _default_dtype
    d = np.dtype(dtype)
    if d not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 or float64 are supported, got {d}")
    _default_dtype = d


def is_floating(dtype: Any) -> bool:
    """True for real floating dtypes (the only ones that can require gradients)."""
    return np.dtype(dtype).kind == "f"


_OBJECT = np.dtype(object)
# The namespace of object arrays (arrays of SymPy expressions). chainrule.symbolic registers it
# when imported, so this floor never imports the one above it; None means plain NumPy.
_object_namespace: Any = None


def namespace(array: Any) -> Any:
    """The module (numpy or cupy), or the symbolic namespace, whose functions operate on `array`."""
    if type(array) is np.ndarray:
        if array.dtype is not _OBJECT:  # the hot path: one identity test past the type test
            return np
        return np if _object_namespace is None else _object_namespace
    if isinstance(array, np.generic):
        return np
    module = type(array).__module__
    if module.startswith("cupy"):
        import cupy  # optional: only reached when the caller already holds a CuPy array

        return cupy
    if module.startswith("sympy") and _object_namespace is not None:
        return _object_namespace  # a 0-d result of object arrays comes back as a bare expression
    return np


def register_object_namespace(xp: Any) -> None:
    """Make `namespace` answer `xp` for object arrays (used by chainrule.symbolic)."""
    global _object_namespace
    _object_namespace = xp


def is_symbolic(xp: Any) -> bool:
    """True for a symbolic namespace. Its rules use exact formulas where the numeric ones branch
    on values (x >= 0, subtracting a max): a symbol has no sign and no max, and cannot overflow."""
    return xp is not np and getattr(xp, "symbolic", False)


# One generator for the library, seeded by manual_seed; restorable through get/set_rng_state.
_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed chainrule's random number generator (used by randn, rand, init, shuffling)."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    _rng = np.random.default_rng(int(seed))
    return _rng


def rng(generator: Generator | None = None) -> np.random.Generator:
    """The NumPy generator behind `generator` (torch's `generator=` argument), or the library's
    own when none is given."""
    if generator is None:
        return _rng
    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator: expected a chainrule.Generator, got {type(generator).__name__}"
        )
    return generator._rng


def _fresh_seed() -> int:
    """A seed from the operating system's entropy (a new generator's, as torch's default)."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0]) >> 1  # < 2**63


class Generator:
    """A random number generator of its own (torch.Generator): pass it as `generator=` to
    randn, rand, randint, randperm, random_split, samplers and DataLoader to draw from a stream
    that the library's global seed does not touch.

    >>> import chainrule as cr
    >>> g = cr.Generator().manual_seed(42)
    >>> a = cr.randperm(5, generator=g)
    >>> b = cr.randperm(5, generator=cr.Generator().manual_seed(42))
    >>> bool((a == b).all())
    True
    """

    def __init__(self, device: Any = "cpu") -> None:
        if str(device) != "cpu":
            raise ValueError(f"Generator: chainrule runs on the CPU; got device {device!r}")
        self.device = "cpu"
        self._seed = _fresh_seed()  # fresh, as torch's default
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(
                f"Generator.manual_seed: seed must be an int, got {type(seed).__name__}"
            )
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy and return the new seed."""
        return self.manual_seed(_fresh_seed()).initial_seed()

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict[str, Any]:
        return dict(self._rng.bit_generator.state)

    def set_state(self, state: Mapping[str, Any]) -> Generator:
        self._rng.bit_generator.state = state
        return self


def get_rng_state() -> dict[str, Any]:
    """A JSON-friendly snapshot of the generator, for checkpoints."""
    return dict(_rng.bit_generator.state)  # a new dict already; NumPy's stubs say Mapping


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore a snapshot taken by get_rng_state."""
    _rng.bit_generator.state = state
