"""Tests for chainrule.io: the safetensors reader/writer and nested checkpoints."""

from __future__ import annotations

import itertools
import json
import math
import os
import pickle
import struct
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chainrule import io as cio

DTYPES = [
    np.float64,
    np.float32,
    np.float16,
    np.int64,
    np.int32,
    np.int16,
    np.int8,
    np.uint64,
    np.uint32,
    np.uint16,
    np.uint8,
    np.bool_,
]
SHAPES = [(), (0,), (2, 0, 3), (7,), (2, 3)]


def sample(dtype: type, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Random values covering the dtype's range."""
    rng = np.random.default_rng(seed)
    if dtype is np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if np.issubdtype(dtype, np.floating):
        return np.asarray(rng.standard_normal(shape) * 100, dtype=dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


def raw_file(
    path: Path, header: dict | bytes, buffer: bytes = b"", length: int | None = None
) -> Path:
    """Write a safetensors file by hand, optionally lying about the header length."""
    encoded = header if isinstance(header, bytes) else json.dumps(header).encode()
    size = len(encoded) if length is None else length
    path.write_bytes(struct.pack("<Q", size) + encoded + buffer)
    return path


def header_of(path: Path) -> dict:
    """The JSON header of a safetensors file, parsed independently of chainrule."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length])


def assert_same(a: Any, b: Any) -> None:
    """Exact structural equality: types (list vs tuple, int vs str keys) and array dtypes."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert type(key) is type(next(k for k in b if k == key))
            assert_same(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, np.ndarray | np.generic):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b)
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_every_dtype(tmp_path: Path, dtype: type, shape: tuple[int, ...]) -> None:
    array = sample(dtype, shape)
    cio.save_file({"x": array}, tmp_path / "a.safetensors")
    loaded = cio.load_file(tmp_path / "a.safetensors")
    assert list(loaded) == ["x"]
    assert loaded["x"].dtype == np.dtype(dtype) and loaded["x"].shape == shape
    np.testing.assert_array_equal(loaded["x"], array)
    assert loaded["x"].flags.writeable


def test_many_tensors_layout(tmp_path: Path) -> None:
    tensors = {f"t{i}.{np.dtype(d).name}": sample(d, (3, i + 1), i) for i, d in enumerate(DTYPES)}
    path = tmp_path / "many.safetensors"
    cio.save_file(tensors, path)
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    assert length % 8 == 0 and data[8:9] == b"{"
    header = header_of(path)
    spans = sorted(tuple(entry["data_offsets"]) for entry in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data) - 8 - length
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    for name, entry in header.items():
        # Every tensor starts at a multiple of its element size (readers need not realign).
        assert entry["data_offsets"][0] % tensors[name].dtype.itemsize == 0
    loaded = cio.load_file(path)
    assert list(loaded) == list(tensors)  # caller's order is kept
    for name, array in tensors.items():
        assert_same(loaded[name], array)


def test_big_endian_and_strided_inputs(tmp_path: Path) -> None:
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    tensors = {"be": np.arange(5, dtype=">i4"), "t": base.T, "s": base[::2, 1::3]}
    cio.save_file(tensors, tmp_path / "x.safetensors")
    loaded = cio.load_file(tmp_path / "x.safetensors")
    for name, array in tensors.items():
        np.testing.assert_array_equal(loaded[name], array)
    assert loaded["be"].dtype == np.dtype("int32") and loaded["be"].dtype.isnative


class HasNumpy:
    """Stand-in for a Tensor: converts through ``.numpy()``."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def numpy(self) -> np.ndarray:
        return self.array


def test_objects_with_numpy_method(tmp_path: Path) -> None:
    cio.save_file({"w": HasNumpy(np.ones((2, 2), np.float32))}, tmp_path / "x.safetensors")
    np.testing.assert_array_equal(cio.load_file(tmp_path / "x.safetensors")["w"], np.ones((2, 2)))


class Parameter(HasNumpy):
    """Stand-in for a parameter: like torch, ``.numpy()`` refuses until it is detached."""

    requires_grad = True

    def detach(self) -> HasNumpy:
        return HasNumpy(self.array)

    def numpy(self) -> np.ndarray:
        raise RuntimeError("Can't call numpy() on Tensor that requires grad")


def test_parameters_are_detached_before_saving(tmp_path: Path) -> None:
    path = tmp_path / "p.safetensors"
    cio.save({"model": {"w": Parameter(np.full(3, 2.0))}}, path)
    np.testing.assert_array_equal(cio.load(path)["model"]["w"], [2.0, 2.0, 2.0])


def test_torch_tensors_interop(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    weight = torch.nn.Parameter(torch.arange(6.0).reshape(2, 3))  # requires grad
    cio.save_file({"w": weight}, tmp_path / "ours.safetensors")
    theirs = safetensors_torch.load_file(tmp_path / "ours.safetensors")
    assert torch.equal(theirs["w"], torch.arange(6.0).reshape(2, 3))
    values = torch.tensor([1.0, -2.5, 3.140625, 0.0], dtype=torch.bfloat16)
    safetensors_torch.save_file({"b": values}, tmp_path / "bf16.safetensors")
    loaded = cio.load_file(tmp_path / "bf16.safetensors")["b"]
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, values.float().numpy())


def test_bf16_is_widened_to_float32(tmp_path: Path) -> None:
    bits = np.array([0x3F80, 0xC020, 0x7F80, 0x0000], dtype="<u2")  # 1.0, -2.5, inf, 0.0
    header = {"b": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}}
    loaded = cio.load_file(raw_file(tmp_path / "b.safetensors", header, bits.tobytes()))["b"]
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, np.float32([[1.0, -2.5], [np.inf, 0.0]]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_interop_with_safetensors_package(tmp_path: Path, dtype: type) -> None:
    st = pytest.importorskip("safetensors.numpy")
    tensors = {"a": sample(dtype, (3, 4)), "b": sample(dtype, (0,)), "c": sample(dtype, ())}
    cio.save_file(tensors, tmp_path / "ours.safetensors", {"who": "chainrule"})
    theirs = st.load_file(tmp_path / "ours.safetensors")
    for name, array in tensors.items():
        assert_same(theirs[name], array)
    st.save_file(tensors, tmp_path / "theirs.safetensors", metadata={"who": "safetensors"})
    ours = cio.load_file(tmp_path / "theirs.safetensors")
    for name, array in tensors.items():
        assert_same(ours[name], array)
    assert cio.load_metadata(tmp_path / "theirs.safetensors") == {"who": "safetensors"}


def test_metadata_round_trip(tmp_path: Path) -> None:
    safetensors = pytest.importorskip("safetensors")
    metadata = {"format": "np", "note": "ünïcödé ✓", "empty": ""}
    path = tmp_path / "m.safetensors"
    cio.save_file({"x": np.zeros(2)}, path, metadata)
    assert cio.load_metadata(path) == metadata
    with safetensors.safe_open(path, framework="numpy") as fh:
        assert fh.metadata() == metadata
    cio.save_file({"x": np.zeros(2)}, path)
    assert cio.load_metadata(path) == {}


@pytest.mark.parametrize(
    ("tensors", "metadata", "error"),
    [
        ({1: np.zeros(1)}, None, TypeError),
        ({"__metadata__": np.zeros(1)}, None, ValueError),
        ({"c": np.zeros(2, np.complex64)}, None, TypeError),
        ({"o": np.array([object()])}, None, TypeError),
        ({"s": np.array(["text"])}, None, TypeError),
        ({"x": np.zeros(1)}, {"k": 1}, TypeError),
    ],
)
def test_save_refuses_bad_input(tmp_path: Path, tensors: dict, metadata: Any, error: type) -> None:
    with pytest.raises(error):
        cio.save_file(tensors, tmp_path / "bad.safetensors", metadata)
    assert list(tmp_path.iterdir()) == []


def good_file(tmp_path: Path) -> Path:
    path = tmp_path / "good.safetensors"
    cio.save_file({"a": np.arange(4, dtype=np.float32), "b": np.arange(3, dtype=np.int8)}, path)
    return path


def entry(dtype: str, shape: list, begin: int, end: int) -> dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


# (header, buffer, expected message) for files that must be refused.
CORRUPT = {
    "not json": (b"{not json}", b"", "not valid UTF-8 JSON"),
    "not utf-8": (b'{"\xff": 1}', b"", "not valid UTF-8 JSON"),
    "not an object": (b"[1, 2]  ", b"", "must start with"),
    "unknown dtype": ({"x": entry("F128", [1], 0, 16)}, bytes(16), "unknown dtype 'F128'"),
    "dtype not str": ({"x": entry(4, [1], 0, 4)}, bytes(4), "unknown dtype 4"),
    "negative dim": ({"x": entry("U8", [-1], 0, 0)}, b"", "shape must be"),
    "float dim": ({"x": entry("U8", [2.0], 0, 2)}, bytes(2), "shape must be"),
    "bool dim": ({"x": entry("U8", [True], 0, 1)}, bytes(1), "shape must be"),
    "shape not list": ({"x": entry("U8", 3, 0, 3)}, bytes(3), "shape must be"),
    "offsets vs size": ({"x": entry("F32", [2], 0, 4)}, bytes(4), "do not hold shape"),
    "reversed offsets": ({"x": entry("U8", [0], 4, 0)}, bytes(4), "do not hold shape"),
    "past buffer": ({"x": entry("U8", [8], 0, 8)}, bytes(4), "run past"),
    "overlap": (
        {"a": entry("U8", [4], 0, 4), "b": entry("U8", [4], 2, 6)},
        bytes(6),
        "overlaps",
    ),
    "alias": ({"a": entry("U8", [4], 0, 4), "b": entry("U8", [4], 0, 4)}, bytes(4), "overlaps"),
    "gap": ({"a": entry("U8", [2], 0, 2), "b": entry("U8", [2], 4, 6)}, bytes(6), "gap"),
    "uncovered tail": ({"a": entry("U8", [2], 0, 2)}, bytes(5), "cover 2 bytes"),
    "missing key": ({"a": {"dtype": "U8", "shape": [0]}}, b"", "exactly"),
    "extra key": ({"a": {**entry("U8", [0], 0, 0), "x": 1}}, b"", "exactly"),
    "metadata not strings": ({"__metadata__": {"k": 1}}, b"", "__metadata__"),
    "duplicate key": (
        b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
        b'"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}',
        bytes(2),
        "duplicate key 'a'",
    ),
    "deep nesting": (b"{" + b'"a":[' * 50_000 + b"]" * 50_000 + b"}", b"", "JSON"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_headers_are_refused(tmp_path: Path, case: str) -> None:
    header, buffer, message = CORRUPT[case]
    path = raw_file(tmp_path / "bad.safetensors", header, buffer)
    for reader in (cio.load_file, cio.load_metadata, cio.load):
        with pytest.raises(ValueError, match=message) as excinfo:
            reader(path)
        assert "bad.safetensors" in str(excinfo.value)


def test_truncated_files_are_refused(tmp_path: Path) -> None:
    data = good_file(tmp_path).read_bytes()
    path = tmp_path / "cut.safetensors"
    for size, message in [
        (len(data) - 1, "run past the 18-byte buffer"),
        (40, "runs past the end"),
        (5, "too short"),
    ]:
        path.write_bytes(data[:size])
        with pytest.raises(ValueError, match=message):
            cio.load_file(path)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="too short"):
        cio.load_file(path)


@pytest.mark.parametrize(("length", "message"), [(2**63, "limit"), (2**20, "runs past the end")])
def test_header_length_must_be_sane(tmp_path: Path, length: int, message: str) -> None:
    path = raw_file(tmp_path / "h.safetensors", {}, length=length)
    with pytest.raises(ValueError, match=message):
        cio.load_file(path)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_files_are_refused(tmp_path: Path, protocol: int) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}, protocol=protocol))
    with pytest.raises(ValueError, match=r"pickle.*never unpickles"):
        cio.load_file(path)
    with pytest.raises(ValueError, match="pickle"):
        cio.load_metadata(path)


def test_zip_archives_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(ValueError, match=r"zip archive \(what torch.save writes.*never unpickles"):
        cio.load(path)


def test_torch_save_files_are_refused(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    for zipped in (True, False):
        path = tmp_path / f"t{zipped}.pt"
        torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=zipped)
        with pytest.raises(ValueError, match="never unpickles"):
            cio.load_file(path)


@pytest.mark.parametrize("length", [0x280, 0x4B50])
def test_header_lengths_that_look_like_pickle_or_zip(tmp_path: Path, length: int) -> None:
    # 0x280 is stored as 80 02 (a pickle's opening bytes), 0x4B50 as "PK": still valid files.
    header = {"__metadata__": {"pad": ""}, "x": entry("U8", [3], 0, 3)}
    encoded = json.dumps(header).encode()
    path = raw_file(tmp_path / "ok.safetensors", encoded.ljust(length), b"abc")
    assert path.read_bytes()[:2] in (b"\x80\x02", b"PK")
    np.testing.assert_array_equal(cio.load_file(path)["x"], [97, 98, 99])


def test_unaligned_tensors_from_other_writers(tmp_path: Path) -> None:
    header = {"b": entry("U8", [1], 0, 1), "f": entry("F64", [2], 1, 17)}
    buffer = b"\x07" + np.array([1.5, -3.0]).tobytes()
    loaded = cio.load_file(raw_file(tmp_path / "u.safetensors", header, buffer))
    assert loaded["f"].flags.aligned
    np.testing.assert_array_equal(loaded["f"], [1.5, -3.0])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_failed_conversion_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    path = good_file(tmp_path)
    before = path.read_bytes()

    class Broken:
        def numpy(self) -> np.ndarray:
            raise RuntimeError("device lost")

    with pytest.raises(RuntimeError, match="device lost"):
        cio.save_file({"ok": np.zeros(3), "bad": Broken()}, path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == ["good.safetensors"]


def test_failure_mid_write_removes_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = good_file(tmp_path)
    before = path.read_bytes()
    seen: list[str] = []

    def failing_fsync(fd: int) -> None:
        seen.extend(leftovers(tmp_path))  # the temp file exists at this point
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        cio.save_file({"x": np.ones(1000)}, path)
    assert len(seen) == 2 and any(name.endswith(".tmp") for name in seen)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == ["good.safetensors"]


def test_successful_save_replaces_and_cleans_up(tmp_path: Path) -> None:
    path = good_file(tmp_path)
    cio.save_file({"new": np.arange(2)}, path)
    assert leftovers(tmp_path) == ["good.safetensors"]
    assert list(cio.load_file(path)) == ["new"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_saved_file_honours_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        cio.save_file({"x": np.zeros(1)}, tmp_path / "p.safetensors")
    finally:
        os.umask(old)
    assert (tmp_path / "p.safetensors").stat().st_mode & 0o777 == 0o644


def checkpoint() -> dict:
    """A training checkpoint shaped like a real one, with awkward corners."""
    return {
        "model": {"fc.weight": sample(np.float32, (3, 2)), "fc.bias": np.zeros(3, np.float32)},
        "optimizer": {
            "state": {
                0: {"step": 3, "exp_avg": sample(np.float32, (3, 2), 1)},
                1: {"step": 3, "exp_avg": np.zeros(3, np.float32)},
            },
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "name": None}],
        },
        "epoch": 3,
        "best": float("inf"),
        "flags": {"amp": False, "tags": ["a", "b"], "empty": {}, "nothing": []},
        "rng": {
            "numpy": np.random.default_rng(0).bit_generator.state,  # 128-bit ints
            "legacy": np.random.RandomState(0).get_state(),  # a tuple holding an array
            "scale": np.float16(0.5),  # numpy scalar keeps its dtype
        },
        # Both keys survive: only array leaves need unique dotted names.
        "keys": {"0": "string zero", 0: "int zero"},
        "mixed": {1: "one", "two": 2},
    }


def test_nested_checkpoint_round_trip(tmp_path: Path) -> None:
    state = checkpoint()
    path = tmp_path / "ckpt.safetensors"
    cio.save(state, path)
    assert_same(cio.load(path), state)
    names = set(cio.load_file(path))
    assert {"model.fc.weight", "optimizer.state.0.exp_avg", "rng.legacy.1"} <= names
    assert "chainrule.state" in cio.load_metadata(path)


def test_nested_checkpoint_with_user_metadata(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.safetensors"
    cio.save({"epoch": 1, "w": np.ones(2)}, path, metadata={"run": "abc"})
    assert cio.load_metadata(path)["run"] == "abc"
    assert_same(cio.load(path), {"epoch": 1, "w": np.ones(2)})
    with pytest.raises(ValueError, match="reserved"):
        cio.save({"w": np.ones(2)}, path, metadata={"chainrule.state": "{}"})


def test_flat_dict_is_a_plain_safetensors_file(tmp_path: Path) -> None:
    st = pytest.importorskip("safetensors.numpy")
    flat = {"layer.0.weight": np.ones((2, 2), np.float32), "layer.0.bias": np.zeros(2, np.int64)}
    path = tmp_path / "flat.safetensors"
    cio.save(flat, path)
    assert cio.load_metadata(path) == {}
    assert_same(cio.load(path), flat)
    assert set(st.load_file(path)) == set(flat)


def test_load_of_foreign_file_gives_flat_dict(tmp_path: Path) -> None:
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"a": np.ones(2)}, tmp_path / "f.safetensors")
    assert_same(cio.load(tmp_path / "f.safetensors"), {"a": np.ones(2)})


def test_flatten_and_unflatten_directly() -> None:
    state = {"opt": {0: {"m": np.ones(2)}}, "n": 1, "t": HasNumpy(np.arange(3))}
    tensors, metadata = cio.flatten_state(state, prefix="ckpt")
    assert set(tensors) == {"ckpt.opt.0.m", "ckpt.t"}
    assert list(metadata) == ["chainrule.state"]
    rebuilt = cio.unflatten_state(tensors, metadata)
    assert_same(rebuilt, {"opt": {0: {"m": np.ones(2)}}, "n": 1, "t": np.arange(3)})


@pytest.mark.parametrize(
    ("state", "error", "message"),
    [
        ({"a.b": np.ones(1), "a": {"b": np.ones(1)}}, ValueError, "share the tensor name 'a.b'"),
        ({0: np.ones(1), "0": np.ones(1)}, ValueError, "share the tensor name '0'"),
        ({"s": {1, 2}}, TypeError, "cannot store a set"),
        ({"o": object()}, TypeError, "cannot store a object"),
        ({"d": {1.5: 2}}, TypeError, "keys must be str or int"),
        ({"d": {True: 2}}, TypeError, "keys must be str or int"),
        ({"c": np.complex64(1)}, TypeError, "cannot store"),
    ],
)
def test_flatten_refuses_what_it_cannot_restore(state: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        cio.flatten_state(state)


@pytest.mark.parametrize(
    ("tensors", "structure", "message"),
    [
        ({}, {"version": 1, "root": {"dict": [["w", {"tensor": "w"}]]}}, "missing tensor 'w'"),
        ({"w": np.ones(1)}, {"version": 1, "root": {"dict": []}}, "never mentions"),
        ({}, {"version": 99, "root": {"dict": []}}, "version"),
        ({}, {"version": 1, "root": {"dict": [["k"]]}}, "bad dict item"),
        ({}, {"version": 1, "root": {"dict": [[1.5, 1]]}}, "bad dict key"),
        ({}, {"version": 1, "root": {"what": 1}}, "malformed"),
    ],
)
def test_unflatten_refuses_bad_structure(tensors: dict, structure: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cio.unflatten_state(tensors, {"chainrule.state": json.dumps(structure)})
    with pytest.raises(ValueError, match="not valid JSON"):
        cio.unflatten_state(tensors, {"chainrule.state": "{oops"})


def test_save_requires_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="mapping"):
        cio.save([np.ones(1)], tmp_path / "x.safetensors")  # type: ignore[arg-type]


@pytest.mark.parametrize("depth", [900, 100_000])
def test_unflatten_refuses_absurd_nesting(depth: int) -> None:
    # Whether the JSON parser or the rebuild hits the recursion limit first depends on the
    # Python version; either way the caller must get a ValueError, not a RecursionError.
    structure = '{"version":1,"root":' + "[" * depth + "]" * depth + "}"
    with pytest.raises(ValueError, match=r"nested too deeply|not valid JSON"):
        cio.unflatten_state({}, {"chainrule.state": structure})
