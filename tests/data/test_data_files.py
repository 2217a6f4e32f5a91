"""Tests for chainrule.data.files: IDX and MNIST loading, IDX writing, CSV loading."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from chainrule.data.files import load_csv, load_idx, load_mnist, write_idx

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
SHAPES = [(), (5,), (3, 4), (2, 3, 4), (2, 0, 3)]


def sample(dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    """Values spanning the dtype's sign and magnitude range."""
    rng = np.random.default_rng(0)
    if np.issubdtype(dtype, np.floating):
        return np.asarray(rng.standard_normal(shape) * 1e3, dtype=dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", IDX_DTYPES)
def test_idx_round_trip(tmp_path: Path, dtype: type, shape: tuple[int, ...], gz: bool) -> None:
    path = tmp_path / ("x.idx.gz" if gz else "x.idx")
    array = sample(dtype, shape)
    write_idx(path, array)
    loaded = load_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    assert loaded.shape == shape
    np.testing.assert_array_equal(loaded, array)
    assert loaded.flags.writeable
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == gz  # gzip magic only when asked for


def test_idx_header_bytes_are_big_endian(tmp_path: Path) -> None:
    write_idx(tmp_path / "a", np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int16))
    data = (tmp_path / "a").read_bytes()
    assert data[:4] == bytes([0, 0, 0x0B, 2])
    assert struct.unpack(">II", data[4:12]) == (2, 3)
    assert struct.unpack(">6h", data[12:]) == (1, 2, 3, 4, 5, 6)


def test_idx_reads_a_hand_built_file(tmp_path: Path) -> None:
    payload = bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 3) + struct.pack(">3f", 1.5, -2.0, 1e-3)
    (tmp_path / "f").write_bytes(payload)
    np.testing.assert_array_equal(load_idx(tmp_path / "f"), np.float32([1.5, -2.0, 1e-3]))


def test_write_idx_big_endian_input(tmp_path: Path) -> None:
    array = np.arange(4, dtype=">i4")
    write_idx(tmp_path / "b", array)
    np.testing.assert_array_equal(load_idx(tmp_path / "b"), [0, 1, 2, 3])


def test_write_idx_refuses_unsupported_dtype(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="int64"):
        write_idx(tmp_path / "x", np.arange(3, dtype=np.int64))
    assert not (tmp_path / "x").exists()


GOOD = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 4) + bytes([1, 2, 3, 4])


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "too short"),
        (b"\x00\x00\x08", "too short"),
        (b"\x01\x00" + GOOD[2:], "magic"),
        (GOOD[:2] + b"\x0a" + GOOD[3:], "type code 0x0a"),
        (GOOD[:6], "truncated header"),
        (GOOD[:-1], "truncated data"),
        (GOOD + b"\x00", "size mismatch"),
    ],
    ids=["empty", "short", "magic", "type", "header", "data", "trailing"],
)
def test_idx_errors_name_the_file(tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=message) as excinfo:
        load_idx(path)
    assert "broken-idx1-ubyte" in str(excinfo.value)


def test_idx_errors_inside_gzip(tmp_path: Path) -> None:
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(GOOD[:-2]))
    with pytest.raises(ValueError, match=r"cut.gz.*truncated data"):
        load_idx(path)


@pytest.mark.parametrize("payload", [GOOD, gzip.compress(GOOD)[:-6]])
def test_idx_bad_gzip(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(payload)  # plain bytes, or a gzip stream cut short
    with pytest.raises(ValueError, match=r"x.gz.*gzip"):
        load_idx(path)


def make_mnist(folder: Path, prefix: str, n: int, gz: bool, labels_n: int | None = None) -> None:
    """Write a tiny MNIST-layout pair of files."""
    rng = np.random.default_rng(1)
    suffix = ".gz" if gz else ""
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
    labels = rng.integers(0, 10, size=labels_n or n, dtype=np.uint8)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)


@pytest.mark.parametrize(
    ("kind", "prefix", "gz"), [("train", "train", True), ("test", "t10k", False)]
)
def test_load_mnist(tmp_path: Path, kind: str, prefix: str, gz: bool) -> None:
    make_mnist(tmp_path, prefix, 6, gz)
    suffix = ".gz" if gz else ""
    raw_images = load_idx(tmp_path / f"{prefix}-images-idx3-ubyte{suffix}")
    raw_labels = load_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{suffix}")
    images, labels = load_mnist(tmp_path, kind=kind)
    assert images.shape == (6, 784) and images.dtype == np.float32
    assert labels.shape == (6,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_allclose(images, raw_images.reshape(6, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(labels, raw_labels)


def test_load_mnist_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, kind="validation")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    make_mnist(tmp_path, "train", 5, gz=False, labels_n=4)
    with pytest.raises(ValueError, match=r"5 images.*4 labels"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.float32))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="uint8 images"):
        load_mnist(tmp_path, kind="test")


def write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_header_name_target(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,label\n1,2,0\n3,4.5,1\n")
    x, y = load_csv(path, target="label")
    np.testing.assert_array_equal(x, np.float32([[1, 2], [3, 4.5]]))
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, [0, 1])
    x, y = load_csv(path, target="a")
    np.testing.assert_array_equal(x, np.float32([[2, 0], [4.5, 1]]))
    np.testing.assert_array_equal(y, [1, 3])


def test_csv_without_header_and_float_labels(tmp_path: Path) -> None:
    path = write(tmp_path, "1,2,0.5\n3,4,1.0\n")
    x, y = load_csv(path)
    assert x.shape == (2, 2) and y.dtype == np.float32
    np.testing.assert_array_equal(y, np.float32([0.5, 1.0]))
    x, y = load_csv(path, target=0)
    np.testing.assert_array_equal(y, [1, 3])
    assert y.dtype == np.int64


def test_csv_explicit_header_options(tmp_path: Path) -> None:
    numeric = write(tmp_path, "10,20\n1,2\n")
    assert len(load_csv(numeric, header=True)[0]) == 1  # first numeric row taken as a header
    assert len(load_csv(numeric, header="auto")[0]) == 2
    named = write(tmp_path, "x,y\n1,2\n", "named.csv")
    with pytest.raises(ValueError, match="line 1, column 1: 'x' is not a number"):
        load_csv(named, header=False)
    with pytest.raises(ValueError, match="header must be"):
        load_csv(named, header="yes")


def test_csv_delimiter_bom_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_bytes("\ufeffp;q\n\n1;2\n 3 ; 4 \n\n".encode())
    x, y = load_csv(path, target="q", delimiter=";")
    np.testing.assert_array_equal(x, np.float32([[1], [3]]))
    np.testing.assert_array_equal(y, [2, 4])


def test_csv_ragged_row_reports_line_number(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,c\n1,2,3\n\n4,5\n")
    with pytest.raises(ValueError, match=r"t\.csv: line 4: expected 3 fields, got 2"):
        load_csv(path)


def test_csv_non_numeric_reports_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "1,2\n3,oops\n")
    with pytest.raises(ValueError, match="line 2, column 2: 'oops' is not a number"):
        load_csv(path)


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("a,b\n1,2\n", {"target": "c"}, "no column named 'c'"),
        ("1,2\n", {"target": "a"}, "no header"),
        ("1,2\n", {"target": 2}, "out of range"),
        ("1,2\n", {"target": -3}, "out of range"),
        ("", {}, "no rows"),
        ("a,b\n", {}, "no data rows"),
    ],
)
def test_csv_errors(tmp_path: Path, text: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_csv(write(tmp_path, text), **kwargs)
