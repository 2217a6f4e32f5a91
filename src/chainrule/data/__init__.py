"""Data: Dataset, TensorDataset, DataLoader, samplers, subsets and splits (torch.utils.data
names), built-in datasets and loaders for files on disk."""

from chainrule.data.datasets import (
    DATASETS,
    Split,
    circles,
    digits,
    gaussians,
    load,
    moons,
    spirals,
    xor,
)
from chainrule.data.distributed import DistributedSampler
from chainrule.data.files import load_csv, load_idx, load_mnist, write_idx
from chainrule.data.loader import DataLoader, Dataset, TensorDataset, default_collate
from chainrule.data.samplers import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from chainrule.data.subsets import ConcatDataset, Subset, random_split
