"""How a nested training state (dicts, lists, tuples, numbers, strings and arrays) is stored in a
safetensors file: arrays become tensors under dotted names, everything else a JSON skeleton in the
file's `__metadata__` under a reserved key. Used by `chainrule.io.save` / `load`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule.io.safetensors import _NAMES, CheckpointError, _as_array

# Reserved __metadata__ key holding the JSON structure of a nested state (see flatten_state).
_STATE_KEY = "chainrule.state"
_STATE_VERSION = 1


def _join(prefix: str, key: object) -> str:
    """Dotted tensor name of ``key`` under ``prefix``."""
    return f"{prefix}.{key}" if prefix else str(key)


def _encode(value: Any, name: str, tensors: dict[str, np.ndarray]) -> Any:
    """JSON skeleton of ``value``; arrays are moved into ``tensors`` under dotted names."""
    # Tagged one-key objects keep what plain JSON would lose: int dict keys, tuples, arrays.
    # Every Python dict becomes {"dict": ...}, so no JSON object is ever ambiguous.
    if isinstance(value, np.generic) and value.dtype.newbyteorder("=") in _NAMES:
        tag = "scalar"  # a numpy scalar keeps its dtype as a 0-d tensor
    elif value is None or isinstance(value, bool | int | float | str):
        return value
    elif isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, int | str):
                raise TypeError(f"{name or 'state'}: dict keys must be str or int, got {key!r}")
            items.append([key, _encode(item, _join(name, key), tensors)])
        return {"dict": items}
    elif isinstance(value, list | tuple):
        body = [_encode(item, _join(name, i), tensors) for i, item in enumerate(value)]
        return body if isinstance(value, list) else {"tuple": body}
    elif isinstance(value, np.ndarray) or callable(getattr(value, "numpy", None)):
        tag = "tensor"
    else:
        raise TypeError(f"{name or 'state'}: cannot store a {type(value).__name__}")
    if name in tensors:
        raise ValueError(f"two entries share the tensor name {name!r}; make dotted keys unique")
    tensors[name] = _as_array(value, name)
    return {tag: name}


def flatten_state(
    state: Mapping[Any, Any], prefix: str = ""
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Split nested ``state`` into dotted-name arrays and metadata describing everything else."""
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a mapping, got {type(state).__name__}")
    tensors: dict[str, np.ndarray] = {}
    skeleton = _encode(state, prefix, tensors)
    document = {"version": _STATE_VERSION, "root": skeleton}
    return tensors, {_STATE_KEY: json.dumps(document, separators=(",", ":"))}


def _decode(node: Any, tensors: Mapping[str, np.ndarray], used: set[str]) -> Any:
    """Rebuild the value a skeleton node describes, taking arrays from ``tensors``."""
    if node is None or isinstance(node, bool | int | float | str):
        return node
    if isinstance(node, list):
        return [_decode(item, tensors, used) for item in node]
    if isinstance(node, dict) and len(node) == 1:
        [(tag, body)] = node.items()
        if tag == "dict" and isinstance(body, list):
            result = {}
            for pair in body:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise CheckpointError(f"checkpoint structure: bad dict item {pair!r:.80}")
                key, item = pair
                if isinstance(key, bool) or not isinstance(key, int | str):
                    raise CheckpointError(f"checkpoint structure: bad dict key {key!r:.80}")
                result[key] = _decode(item, tensors, used)
            return result
        if tag == "tuple" and isinstance(body, list):
            return tuple(_decode(item, tensors, used) for item in body)
        if tag in ("tensor", "scalar") and isinstance(body, str):
            if body not in tensors:
                raise CheckpointError(f"checkpoint structure refers to missing tensor {body!r}")
            used.add(body)
            return tensors[body][()] if tag == "scalar" else tensors[body]
    raise CheckpointError(f"checkpoint structure: malformed node {node!r:.80}")


def unflatten_state(
    tensors: Mapping[str, np.ndarray],
    metadata: Mapping[str, str],
    source: str | os.PathLike[str] | None = None,
) -> Any:
    """Invert :func:`flatten_state`; without its metadata key, return ``tensors`` as a dict.

    A malformed structure raises :class:`~chainrule.io.CheckpointError`, prefixed with ``source``
    (the file it came from) when given, so the message says which checkpoint is broken."""
    try:
        return _unflatten(tensors, metadata)
    except CheckpointError as exc:
        if source is None:
            raise
        raise CheckpointError(f"{source}: {exc}") from None


def _unflatten(tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> Any:
    """The body of :func:`unflatten_state`, raising errors that do not name the file yet."""
    if _STATE_KEY not in metadata:
        return dict(tensors)
    try:
        document = json.loads(metadata[_STATE_KEY])
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"checkpoint structure is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("version") != _STATE_VERSION:
        raise CheckpointError(f"checkpoint structure has no supported version ({_STATE_VERSION})")
    used: set[str] = set()
    try:
        state = _decode(document.get("root"), tensors, used)
    except RecursionError:
        raise CheckpointError("checkpoint structure is nested too deeply") from None
    unused = sorted(set(tensors) - used)
    if unused:
        raise CheckpointError(f"checkpoint has tensors its structure never mentions: {unused}")
    return state
