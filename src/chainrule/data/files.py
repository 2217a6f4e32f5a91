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


def _read_table(
    path: Path, header: bool | str, delimiter: str
) -> tuple[list[str] | None, list[int], np.ndarray]:
    """The one CSV reader behind every loader here: (header names or None, the file line of each
    data row, float64 values). Errors name the file, the line and the column."""
    if header not in (True, False, "auto"):
        raise ValueError(f"header must be True, False or 'auto', got {header!r}")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder, not a CSV file")
    # utf-8-sig drops the byte order mark spreadsheet programs like to add.
    rows: list[tuple[int, list[str]]] = []  # (line number, fields) of each non-blank row
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            for row in reader:
                fields = [field.strip() for field in row]
                if any(fields):  # blank lines carry no data
                    rows.append((reader.line_num, fields))
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: not a text CSV file ({exc.reason} at byte {exc.start})"
        ) from None
    except csv.Error as exc:
        raise ValueError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None
    if not rows:
        raise ValueError(f"{path}: no rows (the file is empty)")
    names: list[str] | None = None
    first = rows[0][1]
    if header is True or (header == "auto" and not all(_is_number(f) for f in first)):
        names = first
        rows = rows[1:]
    if not rows:
        raise ValueError(f"{path}: no data rows (only a header)")
    width = len(names) if names is not None else len(rows[0][1])
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
    return names, [line for line, _ in rows], values


def _finite_features(
    path: Path, values: np.ndarray, lines: list[int], columns: list[int]
) -> np.ndarray:
    """values[:, columns] as float32, refusing NaN, infinity and values float32 cannot hold."""
    with np.errstate(over="ignore"):  # overflow to inf is exactly what is checked for below
        features = values[:, columns].astype(np.float32)
    bad = ~np.isfinite(features)
    if bad.any():
        i, j = (int(k[0]) for k in np.nonzero(bad))
        value = float(values[i, columns[j]])
        raise ValueError(
            f"{path}: line {lines[i]}, column {columns[j] + 1}: feature value {value}"
            " is not a finite float32 number (NaN, infinity or beyond 3.4e38); fix or drop the row"
        )
    return features


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
    path = Path(path)
    names, _, values = _read_table(path, header, delimiter)
    column = _target_index(target, names, values.shape[1], path)
    labels = values[:, column]
    features = np.delete(values, column, axis=1).astype(np.float32)
    integral = bool(np.all(np.isfinite(labels))) and bool(np.all(labels == np.round(labels)))
    return features, labels.astype(np.int64 if integral else np.float32)


# Integers beyond 2**53 are not all representable in the float64 the reader parses into.
_MAX_LABEL = 2**53


def load_classification_csv(
    path: PathLike,
    target: int | str = -1,
    header: bool | str = "auto",
    delimiter: str = ",",
) -> tuple[np.ndarray, np.ndarray]:
    """Load a table for classification: finite float32 features and int64 class labels.

    Unlike load_csv, refuses (naming file, line and column) a feature that is NaN or infinite
    and a label that is not a whole number (1.0 is fine, 1.5 is not) or is beyond 2**53.
    """
    path = Path(path)
    names, lines, values = _read_table(path, header, delimiter)
    width = values.shape[1]
    if width < 2:
        raise ValueError(f"{path}: needs at least one feature column and a label column")
    column = _target_index(target, names, width, path)
    features = _finite_features(path, values, lines, [j for j in range(width) if j != column])
    labels = values[:, column]
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(labels) | (labels != np.round(labels)) | (np.abs(labels) > _MAX_LABEL)
    if bad.any():
        i = int(np.nonzero(bad)[0][0])
        label = float(labels[i])
        raise ValueError(
            f"{path}: line {lines[i]}, column {column + 1}: label {label} is not a class "
            "label (a whole number of magnitude at most 2**53, e.g. 0, 1, 7)"
        )
    return features, labels.astype(np.int64)


def load_features_csv(
    path: PathLike, header: bool | str = "auto", delimiter: str = ","
) -> np.ndarray:
    """Load a table of samples (features only, one row each) as finite float32 (N, F); the
    same reader as load_csv, so a header row is accepted here too."""
    path = Path(path)
    _, lines, values = _read_table(path, header, delimiter)
    return _finite_features(path, values, lines, list(range(values.shape[1])))
