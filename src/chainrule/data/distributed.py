"""DistributedSampler: each rank's share of a dataset's indices (torch.utils.data's semantics)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

import numpy as np


class DistributedSampler:
    """Split a dataset's indices into `num_replicas` equal shares; this rank takes share `rank`.

    Without drop_last the index list is padded by repeating its start until its length is a
    multiple of num_replicas (so every rank runs the same number of steps); with drop_last its
    tail is cut instead. Rank r takes indices[r::num_replicas].

    The shuffle rule: the index list is `np.random.default_rng(seed + epoch).permutation(n)`
    with n = len(dataset), the same on every rank (it depends on seed + epoch and n only, never on
    the rank or the number of ranks), so the shares are disjoint and cover the data. Like torch,
    it is seed + epoch: call set_epoch(epoch) before each epoch for a new order (without it every
    epoch repeats the same order). The permutation is not torch's randperm bit for bit.

    >>> import chainrule as cr
    >>> list(cr.data.DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False))
    [1, 3, 0]
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from chainrule import distributed

            if num_replicas is None:
                num_replicas = distributed.get_world_size()
            if rank is None:
                rank = distributed.get_rank()
        if not isinstance(num_replicas, int) or num_replicas <= 0:
            raise ValueError(
                f"DistributedSampler: num_replicas must be a positive int, got {num_replicas!r}"
            )
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"DistributedSampler: invalid rank {rank}, rank should be in the interval "
                f"[0, {num_replicas - 1}] (num_replicas={num_replicas})"
            )
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            # cut the tail so that every rank gets the same number of samples
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            indices = np.arange(n)
        if not self.drop_last:
            padding = self.total_size - n
            if padding > 0:  # repeat the start of the list, as often as needed
                indices = np.concatenate([indices, np.resize(indices, padding)])
        else:
            indices = indices[: self.total_size]
        share = indices[self.rank : self.total_size : self.num_replicas]
        if len(share) != self.num_samples:
            raise RuntimeError(
                f"DistributedSampler: rank {self.rank} got {len(share)} indices, expected "
                f"{self.num_samples} (did the dataset change length?)"
            )
        return iter(share.tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the order of this epoch (seed + epoch) on the next iteration; call it on every
        rank with the same epoch before each epoch."""
        self.epoch = epoch
