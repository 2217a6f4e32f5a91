"""Datasets made of other datasets (torch.utils.data names): a Subset by indices, a
ConcatDataset end to end, and random_split into non-overlapping subsets."""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Sequence
from typing import Any

from chainrule import backend
from chainrule.data.loader import Dataset


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order.

    >>> import chainrule as cr
    >>> ds = cr.data.TensorDataset(cr.arange(10))
    >>> sub = cr.data.Subset(ds, [7, 2])
    >>> len(sub), sub[0][0].item()
    (2, 7)
    """

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]


class ConcatDataset(Dataset):
    """Several datasets one after another, indexed as one."""

    def __init__(self, datasets: Sequence[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes: list[int] = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if index < 0:
            if -index > n:
                raise IndexError(
                    f"ConcatDataset: index {index} is out of range for a dataset of {n} samples"
                )
            index += n
        if index >= n:
            raise IndexError(
                f"ConcatDataset: index {index} is out of range for a dataset of {n} samples"
            )
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def random_split(
    dataset: Any,
    lengths: Sequence[int | float],
    generator: backend.Generator | None = None,
) -> list[Subset]:
    """Split `dataset` at random into non-overlapping Subsets of the given lengths, or of the
    given fractions of its length (torch's rule: floors, then one more to the first subsets
    until the lengths add up)."""
    n = len(dataset)
    sizes: list[int]
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not in [0, 1]: {frac}")
        sizes = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"random_split: length of split at index {i} is 0; this split will be empty",
                    stacklevel=2,
                )
    else:
        sizes = [int(v) for v in lengths]
        if any(v != s for v, s in zip(lengths, sizes, strict=True)) or any(s < 0 for s in sizes):
            raise ValueError(f"random_split: lengths must be non-negative ints, got {lengths}")
    if sum(sizes) != n:
        raise ValueError(
            f"random_split: the lengths add up to {sum(sizes)}, but the dataset has {n} samples"
        )
    order = backend.rng(generator).permutation(n).tolist()
    out, start = [], 0
    for size in sizes:
        out.append(Subset(dataset, order[start : start + size]))
        start += size
    return out
