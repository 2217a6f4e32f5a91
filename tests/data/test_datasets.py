"""Tests for chainrule.data.datasets: synthetic 2-D toys, bundled digits and the registry."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from chainrule.data import datasets as ds
from chainrule.data.datasets import Split

SYNTHETIC = {
    "moons": {0, 1},
    "circles": {0, 1},
    "spirals": {0, 1, 2},
    "xor": {0, 1},
    "gaussians": {0, 1, 2},
}


def nearest_neighbour_accuracy(split: Split) -> float:
    """Accuracy of 1-NN on the test set using the training set (a model-free separability check)."""
    distances = ((split.x_test[:, None, :] - split.x_train[None, :, :]) ** 2).sum(-1)
    predicted = split.y_train[distances.argmin(axis=1)]
    return float((predicted == split.y_test).mean())


def whole(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Train and test rows joined back together."""
    return np.concatenate([split.x_train, split.x_test]), np.concatenate(
        [split.y_train, split.y_test]
    )


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_shapes_dtypes_and_labels(name: str) -> None:
    split = ds.load(name)
    assert isinstance(split, Split)
    assert split.x_train.shape == (800, 2) and split.x_test.shape == (200, 2)
    assert split.y_train.shape == (800,) and split.y_test.shape == (200,)
    for features in (split.x_train, split.x_test):
        assert features.dtype == np.float32 and features.flags.c_contiguous
        assert np.isfinite(features).all()
    for labels in (split.y_train, split.y_test):
        assert labels.dtype == np.int64
    assert set(np.unique(split.y_train)) == SYNTHETIC[name]
    assert set(np.unique(split.y_test)) == SYNTHETIC[name]


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_is_deterministic_per_seed(name: str) -> None:
    first, again, other = ds.load(name, seed=7), ds.load(name, seed=7), ds.load(name, seed=8)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.x_train, other.x_train)


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_is_shuffled_and_balanced(name: str) -> None:
    split = ds.load(name, n_samples=301)
    _, labels = whole(split)
    counts = np.bincount(labels)
    assert counts.sum() == 301 and counts.max() - counts.min() <= 1
    # Generated class by class; unshuffled, the first 30 rows would all share one label.
    assert len(np.unique(split.y_train[:30])) > 1


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_classes_are_learnable(name: str) -> None:
    assert nearest_neighbour_accuracy(ds.load(name)) > 0.9


def test_test_fraction_sizes() -> None:
    split = ds.moons(n_samples=101, test_fraction=0.3)
    assert len(split.x_train) == 71 and len(split.x_test) == 30
    empty = ds.circles(n_samples=10, test_fraction=0.0)
    assert empty.x_train.shape == (10, 2) and empty.x_test.shape == (0, 2)
    assert empty.y_test.dtype == np.int64


@pytest.mark.parametrize(
    "call",
    [
        lambda: ds.moons(test_fraction=1.0),
        lambda: ds.moons(test_fraction=-0.1),
        lambda: ds.moons(n_samples=0),
        lambda: ds.moons(noise=-1.0),
        lambda: ds.circles(factor=1.0),
        lambda: ds.spirals(classes=1),
        lambda: ds.gaussians(n_samples=2, classes=3),
        lambda: ds.digits(test_fraction=1.5),
    ],
)
def test_bad_arguments_raise(call) -> None:
    with pytest.raises(ValueError):
        call()


def test_noise_free_moons_lie_on_their_arcs() -> None:
    x, y = whole(ds.moons(n_samples=200, noise=0.0))
    upper, lower = x[y == 0].astype(np.float64), x[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)
    assert (upper[:, 1] >= -1e-6).all()
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert (lower[:, 1] <= 0.5 + 1e-6).all()
    # The arcs interleave: their x ranges overlap and each tip reaches into the other's band.
    assert upper[:, 0].max() - lower[:, 0].min() > 0.9
    assert lower[:, 1].max() - upper[:, 1].min() > 0.4


def test_noise_free_circles_have_two_radii() -> None:
    x, y = whole(ds.circles(n_samples=200, noise=0.0, factor=0.3))
    radius = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(radius[y == 1], 0.3, atol=1e-6)


def test_xor_labels_follow_quadrant_signs() -> None:
    x, y = whole(ds.xor(n_samples=400, noise=0.1))
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(np.int64))
    assert len(ds.xor(noise=0.3).y_train) == 800


def test_gaussian_means_sit_on_the_circle() -> None:
    x, y = whole(ds.gaussians(n_samples=4000, classes=4, std=0.3, radius=2.0))
    means = np.stack([x[y == c].mean(axis=0) for c in range(4)])
    expected = np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]])
    np.testing.assert_allclose(means, expected, atol=0.05)


def test_spirals_class_count_and_radius() -> None:
    x, y = whole(ds.spirals(n_samples=500, classes=5, noise=0.0))
    assert set(np.unique(y)) == set(range(5))
    assert np.hypot(x[:, 0], x[:, 1]).max() <= 1.0 + 1e-6


DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_shapes_values_and_class_counts() -> None:
    split = ds.digits()
    assert split.x_train.shape == (1438, 64) and split.x_test.shape == (359, 64)
    assert split.x_train.dtype == np.float32 and split.y_train.dtype == np.int64
    x, y = whole(split)
    assert x.shape == (1797, 64)
    assert x.min() == 0.0 and x.max() == 1.0
    # Pixels are counts 0..16 divided by 16.
    np.testing.assert_array_equal(x * 16, np.round(x * 16))
    assert np.bincount(y).tolist() == DIGIT_COUNTS


def test_digits_seed_controls_the_split() -> None:
    a, b, c = ds.digits(seed=1), ds.digits(seed=1), ds.digits(seed=2)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_train, c.y_train)
    # Different shuffles, same images.
    np.testing.assert_array_equal(np.sort(whole(a)[0], axis=0), np.sort(whole(c)[0], axis=0))


# SHA-256 of scikit-learn 1.9's load_digits() as the sorted unique rows of [data, target] in
# float64, recorded once: the same oracle without making scikit-learn a test dependency.
SKLEARN_DIGITS_SHA256 = "4fc4da4683a3a8e5df54d9a99c30e1f014a1efef4061403f73235804a7f612df"


def test_digits_matches_scikit_learn() -> None:
    x, y = whole(ds.digits())
    ours = np.concatenate([x.astype(np.float64) * 16, y[:, None]], axis=1)
    # Compare as sets of rows, since ours are shuffled.
    digest = hashlib.sha256(np.unique(ours, axis=0).tobytes()).hexdigest()
    assert digest == SKLEARN_DIGITS_SHA256


def test_registry_and_load() -> None:
    assert set(ds.DATASETS) == {*SYNTHETIC, "digits"}
    via_registry, direct = ds.load("spirals", seed=3, classes=4), ds.spirals(seed=3, classes=4)
    for a, b in zip(via_registry, direct, strict=True):
        np.testing.assert_array_equal(a, b)


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown dataset 'mnist'.*circles.*moons"):
        ds.load("mnist")
