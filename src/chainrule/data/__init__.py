"""Data: Dataset, TensorDataset, DataLoader, built-in datasets and loaders for files on disk."""

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
