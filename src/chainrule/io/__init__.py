"""Checkpoints: safetensors files (never pickle) holding tensors or a nested training state.

`save`/`load` take any nested state (dicts, lists, tuples, numbers, strings and arrays);
`load` returns NumPy arrays and `load_tensors` (`cr.load`) chainrule Tensors. `save_file`,
`load_file` and `load_metadata` read and write plain safetensors files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule.io.safetensors import (
    CheckpointError,
    PathLike,
    _read,
    load_file,
    load_metadata,
    save_file,
)
from chainrule.io.state_format import _STATE_KEY, flatten_state, unflatten_state
from chainrule.tensor import Tensor


def _is_flat(obj: Mapping[Any, Any]) -> bool:
    """Whether ``obj`` is a plain name-to-array dict that needs no structure metadata."""
    return all(
        isinstance(key, str)
        and (isinstance(value, np.ndarray) or callable(getattr(value, "numpy", None)))
        for key, value in obj.items()
    )


def save(obj: Mapping[Any, Any], path: PathLike, metadata: Mapping[str, str] | None = None) -> None:
    """Save a flat dict of arrays or a nested training state to a safetensors file."""
    if not isinstance(obj, Mapping):
        raise TypeError(f"can only save a mapping, got {type(obj).__name__}")
    extra = dict(metadata or {})
    if _STATE_KEY in extra:
        raise ValueError(f"metadata key {_STATE_KEY!r} is reserved for the checkpoint structure")
    if _is_flat(obj):
        tensors: Mapping[str, Any] = obj
    else:
        tensors, structure = flatten_state(obj)
        extra.update(structure)
    save_file(tensors, path, extra)


def load(path: PathLike) -> Any:
    """Load what :func:`save` wrote: the nested state, or a flat dict of arrays."""
    tensors, metadata = _read(path)
    return unflatten_state(tensors, metadata, source=path)


def load_tensors(
    path: PathLike,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
) -> Any:
    """cr.load: like :func:`load`, with every array returned as a chainrule Tensor (as torch.load
    returns torch tensors), so ``model.load_state_dict(cr.load(path))`` reads naturally.

    torch.load's other arguments are accepted so its calls run unchanged: everything loads to
    the CPU (`map_location` may name only the CPU), and the file is safetensors, which holds
    data and never code, so loading is always what `weights_only=True` asks for.
    """
    named = map_location is not None and not callable(map_location)
    if named and not isinstance(map_location, dict) and str(map_location).split(":")[0] != "cpu":
        raise ValueError(f"load: map_location={map_location!r}: chainrule keeps tensors on the CPU")
    if pickle_module is not None:
        raise ValueError("load: chainrule files are safetensors and never use a pickle_module")

    def convert(node: Any) -> Any:
        if isinstance(node, np.ndarray):
            return Tensor._make(node)
        if isinstance(node, dict):
            return {k: convert(v) for k, v in node.items()}
        if isinstance(node, list):
            return [convert(v) for v in node]
        if isinstance(node, tuple):
            return tuple(convert(v) for v in node)
        return node

    return convert(load(path))
