"""The data of a training run: a `--data` spec resolved (a built-in dataset's name, or a file
or folder as an absolute path) and loaded as a train/test split with labels mapped to 0..K-1."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from chainrule.data import datasets, files

# An output layer wider than this is not a classifier of anything a CSV can hold; far more
# likely a regression target or an ID column was given as the label.
MAX_CLASSES = 10_000


def resolve_data(spec: str) -> str:
    """A built-in dataset's name as is; a file or folder as an absolute path (so a run folder
    can be evaluated from any directory). A path that does not exist is refused here."""
    if spec in datasets.DATASETS:
        return spec
    path = Path(spec).expanduser()
    if path.exists():
        return str(path.resolve())
    if path.suffix or os.sep in spec or (os.altsep and os.altsep in spec):
        raise FileNotFoundError(f"data file {str(path.absolute())!r} does not exist")
    raise ValueError(
        f"unknown data {spec!r}: not a built-in dataset ({', '.join(sorted(datasets.DATASETS))}) "
        f"and no file or folder {str(path.absolute())!r} exists"
    )


def load_labeled(
    spec: str,
    seed: int = 0,
    test_fraction: float = 0.2,
    classes: list[int] | None = None,
) -> tuple[datasets.Split, list[int]]:
    """The split with labels mapped to 0..K-1, and the original labels in sorted order.

    With ``classes`` (a trained run's), labels are mapped through that list instead, and a
    label the run never saw is refused."""
    spec = resolve_data(spec)
    where = spec
    if spec in datasets.DATASETS:
        if spec == "digits":
            split = datasets.digits(test_fraction=test_fraction, seed=seed)
        else:
            split = datasets.load(spec, seed=seed, test_fraction=test_fraction)
        where = f"dataset {spec!r}"
    elif Path(spec).is_dir():
        x_train, y_train = files.load_mnist(spec, "train")
        x_test, y_test = files.load_mnist(spec, "test")
        split = datasets.Split(x_train, y_train, x_test, y_test)
    else:
        x, y = files.load_classification_csv(spec)
        if len(x) < 2:
            raise ValueError(f"{spec}: needs at least 2 data rows (one to train, one to test)")
        if classes is None and len(np.unique(y)) < 2:
            raise ValueError(
                f"{spec}: column {x.shape[1] + 1} (the label) holds one class only "
                f"({int(y[0])}) in all {len(y)} rows; a classifier needs at least 2 classes"
            )
        order = np.random.default_rng(seed).permutation(len(x))
        n_test = min(max(1, round(len(x) * test_fraction)), len(x) - 1)
        test, train = order[:n_test], order[n_test:]
        split = datasets.Split(x[train], y[train], x[test], y[test])
    labels = np.unique(np.concatenate([split.y_train, split.y_test]))
    if classes is None:
        if len(labels) < 2:
            raise ValueError(f"{where}: one class only ({int(labels[0])}); needs at least 2")
        if len(labels) > MAX_CLASSES:
            raise ValueError(
                f"{where}: {len(labels)} distinct labels, more than {MAX_CLASSES} classes; is the "
                "last column really a class label?"
            )
        known = labels
    else:
        known = np.asarray(classes, dtype=np.int64)
        unseen = np.setdiff1d(labels, known)
        if len(unseen):
            raise ValueError(
                f"{where}: label {int(unseen[0])} is not one of the run's classes {list(classes)}"
            )
    mapped = datasets.Split(
        split.x_train,
        np.searchsorted(known, split.y_train).astype(np.int64),
        split.x_test,
        np.searchsorted(known, split.y_test).astype(np.int64),
    )
    return mapped, [int(c) for c in known]


def load_split(spec: str, seed: int = 0, test_fraction: float = 0.2) -> datasets.Split:
    """A built-in dataset by name, a CSV file (last column = label), or an MNIST IDX folder,
    with labels mapped to 0..K-1 (see load_labeled for the mapping)."""
    return load_labeled(spec, seed, test_fraction)[0]
