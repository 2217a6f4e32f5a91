"""Dataset, TensorDataset and DataLoader (torch.utils.data names), deterministic given a seed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: _Sampler | None = None,
        batch_sampler: Iterable[Sequence[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[Sequence[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: backend.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        seed: int | None = None,
    ) -> None:
        # torch's signature, so a torch DataLoader call runs unchanged. Batches are made in
        # this process: num_workers, pin_memory and the other worker options are accepted and
        # change nothing but the speed (NumPy indexing is the cost, not Python decoding).
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(
                f"DataLoader: num_workers option should be non-negative, got {num_workers!r}"
            )
        if batch_sampler is not None:
            # a batch_sampler gives whole batches: torch refuses the options it replaces
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                    "shuffle, sampler, and drop_last"
                )
            batch_size = None
        elif batch_size is None:
            if drop_last:
                raise ValueError(
                    "DataLoader: batch_size=None option disables auto-batching and is mutually "
                    "exclusive with drop_last"
                )
        elif not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if sampler is not None and shuffle:
            # the sampler decides the order (e.g. DistributedSampler shuffles itself), as in torch
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, bool(shuffle)
        self.drop_last, self.collate_fn = drop_last, collate_fn
        self.num_workers, self.pin_memory, self.generator = num_workers, pin_memory, generator
        self.seed = seed
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: give a generator or a seed, not both")
        if generator is not None:
            self._rng: np.random.Generator | None = backend.rng(generator)
        else:
            self._rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)  # type: ignore[arg-type]
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return n
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
        if self.batch_sampler is not None:
            collate = self.collate_fn or default_collate
            for batch in self.batch_sampler:
                yield collate([self.dataset[int(i)] for i in batch])
            return
        order = self._order()
        if self.batch_size is None:  # no auto-batching: samples one by one, as torch
            for i in order:
                sample = self.dataset[int(i)]
                yield self.collate_fn(sample) if self.collate_fn is not None else sample
            return
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
