"""Safetensors files, read and written without the safetensors package.

Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each tensor
name to its dtype, shape and ``data_offsets`` (plus an optional ``__metadata__`` object of
strings), then the tensors' little-endian bytes. Files are only ever parsed, never executed:
pickle-based formats (``torch.save``) are refused outright.
"""

import json
import math
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np

from chainrule.io.atomic import PathLike, _write_atomic

# The reference implementation refuses larger headers too; it bounds what a hostile file costs.
_MAX_HEADER = 100_000_000
# NumPy refuses arrays with more dimensions (and shapes whose extents overflow its index type).
_MAX_DIMS = 64
# Non-contiguous or byte-swapped arrays are written in pieces of about this size, so saving never
# holds a second copy of a large tensor (contiguous little-endian ones are written in place).
_CHUNK_BYTES = 1 << 20
# Opening bytes of the pickle-based formats that are refused, and what to call them.
_PICKLE_MAGIC = {
    b"\x80": "a pickle file (protocol 2 or later, also what legacy torch.save writes)",
    b"PK": "a zip archive (what torch.save writes; it holds a pickle)",
}

# Stored element type of each safetensors dtype. BF16 is kept as raw bits (numpy has no
# bfloat16) and widened to float32 on load.
# fmt: off
_DTYPES: dict[str, np.dtype] = {name: np.dtype(code) for name, code in {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}.items()}
# fmt: on
# Native numpy dtype -> safetensors name, for writing (BF16 never comes from numpy).
_NAMES: dict[np.dtype, str] = {
    dtype.newbyteorder("="): name for name, dtype in _DTYPES.items() if name != "BF16"
}


class CheckpointError(ValueError, RuntimeError):
    """A file that is not a valid checkpoint. The message starts with the file's path.

    It subclasses both ``ValueError`` (what Python code expects for bad data) and
    ``RuntimeError`` (what ``torch.load`` raises for a corrupt file), so either habit catches it.
    """


class _Entry(NamedTuple):
    """One tensor as described by a validated header."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


def _as_array(value: Any, name: str) -> np.ndarray:
    """Convert a numpy array or anything with ``.numpy()`` (torch, chainrule) to an array."""
    if not isinstance(value, np.ndarray | np.generic) and callable(getattr(value, "numpy", None)):
        # Tensor.numpy() refuses tensors that require grad (as torch's does); saving is not a
        # differentiable use, so detach first where the object can.
        detach = getattr(value, "detach", None)
        value = (detach() if callable(detach) else value).numpy()
    array = np.asarray(value)
    if array.dtype.newbyteorder("=") not in _NAMES:
        raise TypeError(f"tensor {name!r}: safetensors cannot store dtype {array.dtype}")
    return array


def _write_array(fh: BinaryIO, array: np.ndarray) -> None:
    """Write ``array``'s bytes in C order, little-endian, without copying it whole."""
    little = array.dtype.newbyteorder("<")
    if array.size == 0:
        return
    if array.dtype == little and array.flags.c_contiguous:
        fh.write(array.reshape(-1).view(np.uint8).data)  # straight from the array's memory
        return
    chunk = _CHUNK_BYTES
    if array.nbytes <= chunk:
        fh.write(np.ascontiguousarray(array, dtype=little).reshape(-1).view(np.uint8).data)
        return
    # Split off the fewest leading axes whose remaining block fits in a chunk, then copy a run
    # of those blocks at a time along the last split axis: few, chunk-sized writes.
    shape = array.shape
    split = next(
        (k for k in range(1, array.ndim) if math.prod(shape[k:]) * array.itemsize <= chunk),
        array.ndim,
    )
    rows = max(1, chunk // (math.prod(shape[split:]) * array.itemsize))
    for index in np.ndindex(*shape[: split - 1]):
        for start in range(0, shape[split - 1], rows):
            block = array[(*index, slice(start, start + rows))]
            fh.write(np.ascontiguousarray(block, dtype=little).reshape(-1).view(np.uint8).data)


def save_file(
    tensors: Mapping[str, Any], path: PathLike, metadata: Mapping[str, str] | None = None
) -> None:
    """Write ``tensors`` (arrays or objects with ``.numpy()``) to a safetensors file atomically."""
    arrays: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, got {name!r}")
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved and cannot name a tensor")
        arrays[name] = _as_array(value, name)
    header: dict[str, Any] = {}
    if metadata:
        # Safetensors metadata is a flat str -> str map; catch anything else before writing.
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"metadata must map str to str, got {key!r}: {value!r}")
        header["__metadata__"] = dict(metadata)
    # Lay the data out largest element first: the buffer starts 8-byte aligned, so every
    # tensor then starts at a multiple of its item size and readers never copy to realign.
    layout = sorted(arrays, key=lambda name: -arrays[name].dtype.itemsize)
    offsets, position = {}, 0
    for name in layout:
        offsets[name] = [position, position + arrays[name].nbytes]
        position += arrays[name].nbytes
    # Header entries keep the caller's order, so loading gives the tensors back in it.
    for name, array in arrays.items():
        dtype = _NAMES[array.dtype.newbyteorder("=")]
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": offsets[name]}
    encoded = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)

    def write(fh: BinaryIO) -> None:
        # The header is known from shapes and dtypes alone, so the data can follow it straight
        # from each array's memory: no in-memory image of the file.
        fh.write(len(encoded).to_bytes(8, "little"))
        fh.write(encoded)
        for name in layout:
            _write_array(fh, arrays[name])

    _write_atomic(path, write)


def _is_count(value: object) -> bool:
    """Whether ``value`` is a JSON non-negative integer (and not a bool, which is an int)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON object hook refusing duplicate keys, which would let one name hide another."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in header")
        result[key] = value
    return result


def _parse_entry(
    name: str, info: Any, buffer_size: int, fail: Callable[[str], CheckpointError]
) -> _Entry:
    """Validate one header entry against its dtype and the buffer size."""
    where = f"tensor {name!r}"
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise fail(f"{where}: entry must have exactly 'dtype', 'shape' and 'data_offsets'")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        raise fail(f"{where}: unknown dtype {dtype!r}; known: {', '.join(_DTYPES)}")
    if not isinstance(shape, list) or not all(_is_count(n) for n in shape):
        raise fail(f"{where}: shape must be a list of non-negative integers, got {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
        raise fail(f"{where}: data_offsets must be two non-negative integers, got {offsets!r}")
    begin, end = offsets
    itemsize = _DTYPES[dtype].itemsize
    # NumPy multiplies the non-zero extents (even when another is 0) and refuses an overflow.
    if len(shape) > _MAX_DIMS or math.prod(n for n in shape if n) * itemsize > sys.maxsize:
        raise fail(f"{where}: shape {shape!r:.80} is larger than NumPy can hold")
    needed = math.prod(shape) * itemsize
    if end < begin or end - begin != needed:
        raise fail(f"{where}: data_offsets {offsets} do not hold shape {shape} of {dtype}")
    if end > buffer_size:
        raise fail(f"{where}: data_offsets {offsets} run past the {buffer_size}-byte buffer")
    return _Entry(name, dtype, tuple(shape), begin, end)


def _read_header(fh: BinaryIO, path: Path) -> tuple[list[_Entry], dict[str, str], int]:
    """Validate the header of ``fh``; return its entries, metadata and buffer size."""

    def fail(message: str) -> CheckpointError:
        return CheckpointError(f"{path}: {message}")

    size = os.fstat(fh.fileno()).st_size
    head = fh.read(8)
    length = int.from_bytes(head, "little")
    plausible = len(head) == 8 and length <= min(_MAX_HEADER, size - 8)
    raw = fh.read(length) if plausible else b""
    # Judge the format only once the header is known bad: a real header length can begin
    # with the byte 0x80 (N = 640 does) or spell "PK", so those bytes alone prove nothing.
    if not raw.startswith(b"{"):
        for magic, kind in _PICKLE_MAGIC.items():
            if head.startswith(magic):
                raise fail(f"refusing to load {kind}; chainrule never unpickles (use safetensors)")
        if len(head) < 8:
            raise fail(f"too short for a safetensors file ({size} bytes)")
        if length > _MAX_HEADER:
            raise fail(f"header length {length} is over the {_MAX_HEADER}-byte limit")
        if length > size - 8:
            raise fail(f"header length {length} runs past the end of the {size}-byte file")
        raise fail("header is not a JSON object (must start with '{')")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise fail(f"header is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(header, dict):
        raise fail("header is not a JSON object")

    metadata = header.pop("__metadata__", None)
    if metadata is None:  # other writers may spell "no metadata" as null
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise fail("__metadata__ must be an object of strings")
    buffer_size = size - 8 - length
    entries = [_parse_entry(name, info, buffer_size, fail) for name, info in header.items()]
    # Sorted by position, the tensors must tile the buffer exactly: no gaps, no overlaps.
    position = 0
    for entry in sorted(entries, key=lambda e: (e.begin, e.end)):
        if entry.begin != position:
            problem = "overlaps the tensor before it" if entry.begin < position else "leaves a gap"
            raise fail(f"tensor {entry.name!r} starts at byte {entry.begin} and {problem}")
        position = entry.end
    if position != buffer_size:
        raise fail(f"tensors cover {position} bytes but the buffer holds {buffer_size}")
    return entries, metadata, buffer_size


def _read(path: PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read all tensors and the metadata of a validated safetensors file."""
    path = Path(path)
    with path.open("rb") as fh:
        entries, metadata, buffer_size = _read_header(fh, path)
        # One writable buffer for the whole file; each tensor is a view into it.
        buffer = bytearray(buffer_size)
        if fh.readinto(buffer) != buffer_size:
            raise CheckpointError(f"{path}: file shrank while it was being read")
    tensors: dict[str, np.ndarray] = {}
    for entry in entries:
        stored = _DTYPES[entry.dtype]
        array = np.frombuffer(buffer, stored, math.prod(entry.shape), entry.begin)
        array = array.reshape(entry.shape)
        if entry.dtype == "BF16":
            # bfloat16 is the top half of a float32, so shifting the bits up widens it exactly.
            array = (array.astype(np.uint32) << 16).view(np.float32)
        else:
            array = array.astype(stored.newbyteorder("="), copy=False)
            if not array.flags.aligned:  # files from other writers may not align tensors
                array = array.copy()
        tensors[entry.name] = array
    return tensors, metadata


def load_file(path: PathLike) -> dict[str, np.ndarray]:
    """Read every tensor of a safetensors file, validating the whole file first (BF16 → F32)."""
    return _read(path)[0]


def load_metadata(path: PathLike) -> dict[str, str]:
    """Read the ``__metadata__`` strings of a safetensors file after validating its header."""
    path = Path(path)
    with path.open("rb") as fh:
        return _read_header(fh, path)[1]
