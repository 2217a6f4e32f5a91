"""Small classification datasets as plain numpy arrays: synthetic 2-D toys and UCI digits.

Every generator is deterministic given ``seed`` and returns a :class:`Split` of float32
features and int64 labels, shuffled before the test fraction is cut off.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable
from importlib import resources
from typing import NamedTuple

import numpy as np


class Split(NamedTuple):
    """A train/test split: float32 features (N, F) and int64 labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _check_common(n_samples: int, test_fraction: float, min_samples: int = 1) -> None:
    """Reject sizes and fractions that cannot produce a meaningful split."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer):
        raise TypeError(f"n_samples must be an int, got {type(n_samples).__name__}")
    if n_samples < min_samples:
        raise ValueError(f"n_samples must be at least {min_samples}, got {n_samples}")
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")


def _check_noise(name: str, value: float) -> None:
    """Reject negative noise levels, which numpy would only catch deep inside a draw."""
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")


def _per_class(n_samples: int, classes: int) -> list[int]:
    """Split ``n_samples`` into ``classes`` counts that differ by at most one."""
    base, extra = divmod(n_samples, classes)
    return [base + (1 if c < extra else 0) for c in range(classes)]


def _split(x: np.ndarray, y: np.ndarray, test_fraction: float, rng: np.random.Generator) -> Split:
    """Shuffle with ``rng`` and cut the last ``test_fraction`` of rows off as the test set."""
    n = len(x)
    order = rng.permutation(n)
    x = np.ascontiguousarray(x[order], dtype=np.float32)
    y = np.ascontiguousarray(y[order], dtype=np.int64)
    # Keep at least one training row, even when rounding would take them all.
    n_test = min(round(n * test_fraction), n - 1)
    n_train = n - n_test
    return Split(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def moons(
    n_samples: int = 1000, noise: float = 0.1, test_fraction: float = 0.2, seed: int = 0
) -> Split:
    """Two interleaving half circles; ``noise`` is the std of Gaussian jitter per coordinate."""
    _check_common(n_samples, test_fraction, min_samples=2)
    _check_noise("noise", noise)
    rng = np.random.default_rng(seed)
    n_upper, n_lower = _per_class(n_samples, 2)
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    # The lower moon is the upper one flipped and shifted so the two arcs hook into each other.
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(0.0, noise, size=(n_samples, 2))
    y = np.repeat([0, 1], [n_upper, n_lower])
    return _split(x, y, test_fraction, rng)


def circles(
    n_samples: int = 1000,
    noise: float = 0.05,
    factor: float = 0.5,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Split:
    """A unit circle (label 0) around a smaller one of radius ``factor`` (label 1)."""
    _check_common(n_samples, test_fraction, min_samples=2)
    _check_noise("noise", noise)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    rng = np.random.default_rng(seed)
    n_outer, n_inner = _per_class(n_samples, 2)
    radius = np.repeat([1.0, factor], [n_outer, n_inner])
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n_samples)
    x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    x += rng.normal(0.0, noise, size=(n_samples, 2))
    y = np.repeat([0, 1], [n_outer, n_inner])
    return _split(x, y, test_fraction, rng)


def spirals(
    n_samples: int = 1000,
    classes: int = 3,
    noise: float = 0.2,
    turns: float = 0.75,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Split:
    """``classes`` interleaved spiral arms of radius up to 1 winding ``turns`` times.

    ``noise`` is the std, in radians, of Gaussian jitter added to each point's angle, so
    points near the centre move less than points on the rim (as in the classic CS231n toy).
    """
    _check_common(n_samples, test_fraction, min_samples=classes)
    _check_noise("noise", noise)
    if classes < 2:
        raise ValueError(f"classes must be at least 2, got {classes}")
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for c, count in enumerate(_per_class(n_samples, classes)):
        radius = np.linspace(0.0, 1.0, count)
        # Each arm starts rotated by 1/classes of a full circle from the previous one.
        angle = 2.0 * np.pi * (turns * radius + c / classes)
        angle += rng.normal(0.0, noise, size=count)
        parts.append(radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1))
        labels.append(np.full(count, c))
    return _split(np.concatenate(parts), np.concatenate(labels), test_fraction, rng)


def xor(
    n_samples: int = 1000, noise: float = 0.3, test_fraction: float = 0.2, seed: int = 0
) -> Split:
    """Four Gaussian blobs at (±1, ±1) labelled by XOR of the coordinate signs."""
    _check_common(n_samples, test_fraction, min_samples=4)
    _check_noise("noise", noise)
    rng = np.random.default_rng(seed)
    centers = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    counts = _per_class(n_samples, 4)
    x = np.repeat(centers, counts, axis=0) + rng.normal(0.0, noise, size=(n_samples, 2))
    # Same-sign quadrants are class 0, mixed-sign quadrants class 1.
    y = np.repeat([0, 0, 1, 1], counts)
    return _split(x, y, test_fraction, rng)


def gaussians(
    n_samples: int = 1000,
    classes: int = 3,
    std: float = 0.5,
    radius: float = 2.0,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Split:
    """Isotropic Gaussian blobs of std ``std``, centred evenly on a circle of ``radius``."""
    _check_common(n_samples, test_fraction, min_samples=classes)
    _check_noise("std", std)
    if classes < 2:
        raise ValueError(f"classes must be at least 2, got {classes}")
    rng = np.random.default_rng(seed)
    theta = 2.0 * np.pi * np.arange(classes) / classes
    centers = radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    counts = _per_class(n_samples, classes)
    x = np.repeat(centers, counts, axis=0) + rng.normal(0.0, std, size=(n_samples, 2))
    y = np.repeat(np.arange(classes), counts)
    return _split(x, y, test_fraction, rng)


_DIGITS_ROWS, _DIGITS_COLUMNS = 1797, 65


@functools.cache
def _digits_table() -> np.ndarray:
    """Read the bundled digits CSV once; rows are 64 pixel counts and a label."""
    resource = resources.files(__package__ or "chainrule.data") / "bundled" / "digits.csv.gz"
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.float64)
    if table.shape != (_DIGITS_ROWS, _DIGITS_COLUMNS):
        raise ValueError(f"bundled digits.csv.gz has shape {table.shape}, expected (1797, 65)")
    # Cached and shared between calls, so make accidental in-place edits fail loudly.
    table.flags.writeable = False
    return table


def digits(test_fraction: float = 0.2, seed: int = 0) -> Split:
    """UCI 8x8 handwritten digits: 1,797 images of 64 pixels scaled to [0, 1], labels 0..9."""
    _check_common(_DIGITS_ROWS, test_fraction)
    table = _digits_table()
    x = table[:, :64] / 16.0
    y = table[:, 64].astype(np.int64)
    return _split(x, y, test_fraction, np.random.default_rng(seed))


DATASETS: dict[str, Callable[..., Split]] = {
    "moons": moons,
    "circles": circles,
    "spirals": spirals,
    "xor": xor,
    "gaussians": gaussians,
    "digits": digits,
}


def load(name: str, **kwargs: object) -> Split:
    """Build the dataset registered as ``name`` with ``kwargs`` passed to its generator."""
    try:
        factory = DATASETS[name]
    except KeyError:
        valid = ", ".join(sorted(DATASETS))
        raise ValueError(f"unknown dataset {name!r}; valid names: {valid}") from None
    return factory(**kwargs)
