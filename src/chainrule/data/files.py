"""Loaders for data files users bring: MNIST-style IDX files and numeric CSV tables."""

from __future__ import annotations

import csv
import gzip
import math
import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

PathLike = str | os.PathLike[str]

# IDX type code -> big-endian numpy dtype, as listed in the MNIST file format description.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES: dict[np.dtype, int] = {
    dtype.newbyteorder("="): code for code, dtype in _IDX_DTYPES.items()
}


def _read_bytes(path: Path) -> bytes:
    """Read a file whole, decompressing it when its name ends in ``.gz``."""
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        # BadGzipFile is an OSError; a cut-off stream raises EOFError.
        raise ValueError(f"{path}: not a valid gzip file ({exc})") from exc


def load_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (plain or ``.gz``) into a native-endian numpy array."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    if data[:2] != b"\x00\x00":
        raise ValueError(f"{path}: bad IDX magic number {data[:4].hex()} (must start with 0000)")
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}")
    dtype = _IDX_DTYPES[code]
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(f"{path}: truncated header: {ndim} dimensions need {header_size} bytes")
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - header_size
    if actual < expected:
        raise ValueError(
            f"{path}: truncated data: shape {shape} of {dtype.name} needs {expected} bytes, "
            f"found {actual}"
        )
    if actual > expected:
        raise ValueError(
            f"{path}: size mismatch: shape {shape} of {dtype.name} needs {expected} bytes, "
            f"found {actual} (trailing data)"
        )
    array = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=header_size)
    # astype copies, which also makes the result writable (frombuffer over bytes is not).
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``."""
    path = Path(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _IDX_CODES:
        supported = ", ".join(sorted(d.name for d in _IDX_CODES))
        raise ValueError(f"IDX cannot store dtype {array.dtype}; supported: {supported}")
    if array.ndim > 255:
        raise ValueError(f"IDX stores at most 255 dimensions, got {array.ndim}")
    if any(n >= 2**32 for n in array.shape):
        raise ValueError(f"IDX dimensions must fit in 32 bits, got shape {array.shape}")
    header = bytes([0, 0, _IDX_CODES[native], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=native.newbyteorder(">")).tobytes()
    if path.suffix == ".gz":
        # mtime=0 keeps the output byte-identical across runs.
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)


def _find_idx(folder: Path, stem: str, rank: int) -> Path:
    """Locate one MNIST file by its standard name, plain or gzipped."""
    # The official names use a hyphen; some mirrors unpack them with a dot instead.
    names = [f"{stem}-idx{rank}-ubyte", f"{stem}.idx{rank}-ubyte"]
    candidates = [folder / (name + suffix) for name in names for suffix in ("", ".gz")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(c.name for c in candidates)
    raise FileNotFoundError(f"{folder}: no MNIST file found; tried {tried}")


def load_mnist(folder: PathLike, kind: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST-format ``kind`` ('train' or 'test') as float32 (N, 784) in [0, 1] and int64."""
    prefixes = {"train": "train", "test": "t10k"}
    if kind not in prefixes:
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}")
    folder = Path(folder)
    images_path = _find_idx(folder, f"{prefixes[kind]}-images", 3)
    labels_path = _find_idx(folder, f"{prefixes[kind]}-labels", 1)
    images, labels = load_idx(images_path), load_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(
            f"{images_path}: expected 3-D uint8 images, got {images.ndim}-D {images.dtype}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: expected 1-D uint8 labels, got {labels.ndim}-D {labels.dtype}"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{folder}: {len(images)} images in {images_path.name} but {len(labels)} labels "
            f"in {labels_path.name}"
        )
    features = images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0)
    return features, labels.astype(np.int64)


def _is_number(field: str) -> bool:
    """Whether ``field`` parses as a float."""
    try:
        float(field)
    except ValueError:
        return False
    return True


def _target_index(target: int | str, names: Sequence[str] | None, width: int, path: Path) -> int:
    """Resolve ``target`` (column index or header name) to a non-negative column index."""
    if isinstance(target, str):
        if names is None:
            raise ValueError(f"{path}: target {target!r} is a name but the file has no header")
        if target not in names:
            raise ValueError(f"{path}: no column named {target!r}; columns are {list(names)}")
        return list(names).index(target)
    if isinstance(target, bool) or not isinstance(target, int):
        raise TypeError(f"target must be a column index or name, got {type(target).__name__}")
    if not -width <= target < width:
        raise ValueError(f"{path}: target column {target} out of range for {width} columns")
    return target % width


def load_csv(
    path: PathLike,
    target: int | str = -1,
    header: bool | str = "auto",
    delimiter: str = ",",
) -> tuple[np.ndarray, np.ndarray]:
    """Load a numeric table as float32 features (N, F) and labels from column ``target``.

    ``header`` is True, False, or 'auto' (the first row is a header when any field in it is
    not a number). Labels are int64 when every value is integral, float32 otherwise.
    """
    if header not in (True, False, "auto"):
        raise ValueError(f"header must be True, False or 'auto', got {header!r}")
    path = Path(path)
    # utf-8-sig drops the byte order mark spreadsheet programs like to add.
    rows: list[tuple[int, list[str]]] = []  # (line number, fields) of each non-blank row
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        for row in reader:
            fields = [field.strip() for field in row]
            if any(fields):  # blank lines carry no data
                rows.append((reader.line_num, fields))
    if not rows:
        raise ValueError(f"{path}: no rows")
    names: list[str] | None = None
    first = rows[0][1]
    if header is True or (header == "auto" and not all(_is_number(f) for f in first)):
        names = first
        rows = rows[1:]
    if not rows:
        raise ValueError(f"{path}: no data rows")
    width = len(names) if names is not None else len(rows[0][1])
    column = _target_index(target, names, width, path)

    values = np.empty((len(rows), width), dtype=np.float64)
    for i, (line, fields) in enumerate(rows):
        if len(fields) != width:
            raise ValueError(f"{path}: line {line}: expected {width} fields, got {len(fields)}")
        for j, field in enumerate(fields):
            try:
                values[i, j] = float(field)
            except ValueError:
                raise ValueError(
                    f"{path}: line {line}, column {j + 1}: {field!r} is not a number"
                ) from None

    labels = values[:, column]
    features = np.delete(values, column, axis=1).astype(np.float32)
    integral = bool(np.all(np.isfinite(labels))) and bool(np.all(labels == np.round(labels)))
    return features, labels.astype(np.int64 if integral else np.float32)
