"""Dataset, TensorDataset and DataLoader (torch.utils.data names), deterministic given a seed."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from chainrule import backend
from chainrule.creation import tensor
from chainrule.tensor import Tensor


class Dataset:
    """A sized, indexable collection of samples; subclasses define __len__ and __getitem__."""

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are the i-th rows of the given tensors (features, labels, ...).

    >>> import chainrule as cr
    >>> ds = cr.data.TensorDataset(cr.zeros(4, 2), cr.tensor([0, 1, 0, 1]))
    >>> len(ds), ds[1][1].item()
    (4, 1)
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else tensor(t) for t in tensors)
        n = self.tensors[0].shape[0] if self.tensors[0].ndim else None
        for i, t in enumerate(self.tensors):
            if t.ndim == 0 or t.shape[0] != n:
                raise ValueError(
                    f"TensorDataset: all tensors need the same first dimension; tensor 0 has "
                    f"shape {tuple(self.tensors[0].shape)} and tensor {i} has {tuple(t.shape)}"
                )

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(Tensor._make(t._data[index]) for t in self.tensors)


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples (tensors, numbers, or tuples or dicts of them) into batch tensors."""
    first = samples[0]
    if isinstance(first, Mapping):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, Tensor):
        return Tensor._make(np.stack([s._data for s in samples]))
    return tensor(np.asarray(samples))


class _Sampler(Protocol):
    """What DataLoader's sampler must be: indices to iterate over, and how many (torch's
    Sampler; chainrule.distributed.DistributedSampler is one)."""

    def __iter__(self) -> Iterator[int]: ...

    def __len__(self) -> int: ...


class DataLoader:
    """Iterate over a dataset in batches; shuffled by a generator seeded with `seed` (a new order
    each epoch, the same sequence of orders for the same seed).

    >>> import chainrule as cr
    >>> ds = cr.data.TensorDataset(cr.arange(10))
    >>> [b[0].tolist() for b in cr.data.DataLoader(ds, batch_size=4)]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
        collate_fn: Callable[[Sequence[Any]], Any] | None = None,
        sampler: _Sampler | None = None,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if sampler is not None and shuffle:
            # the sampler decides the order (e.g. DistributedSampler shuffles itself), as in torch
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        self.sampler = sampler
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.drop_last, self.collate_fn = drop_last, collate_fn
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self) -> int:
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        if self.sampler is not None:  # a fresh pass over the sampler each epoch
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self._rng if self._rng is not None else backend.rng()
        return rng.permutation(n)

    def get_state(self) -> dict[str, Any]:
        """The shuffling generator's state (for resuming a run mid-way, bit for bit)."""
        # NumPy builds a new dict for each read (its stubs say Mapping)
        return dict(self._rng.bit_generator.state) if self._rng is not None else {}

    def set_state(self, state: dict) -> None:
        if self._rng is not None and state:
            self._rng.bit_generator.state = state

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        # one fancy-index per tensor instead of a Python loop over samples
        fast = self.dataset.tensors if isinstance(self.dataset, TensorDataset) else None
        if self.collate_fn is not None:
            fast = None
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            if self.drop_last and len(index) < self.batch_size:
                return
            if fast is not None:
                yield tuple(Tensor._make(t._data[index]) for t in fast)
            else:
                collate = self.collate_fn or default_collate
                yield collate([self.dataset[int(i)] for i in index])
