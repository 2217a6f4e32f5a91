"""Hardening of cr.save / cr.load: temp files a crash leaves behind, symlinks, streaming writes
(memory), hostile files (every refusal names the file) and clear errors when saving fails."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import io as cio
from chainrule.io import safetensors as cio_format

POSIX = sys.platform != "win32"
TEMP = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]+\.chainrule\.tmp")


def temps(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if TEMP.fullmatch(p.name))


def old_writer_bytes(tensors: dict[str, Any], metadata: dict[str, str] | None) -> bytes:
    """The writer as it was before streaming (whole file built in memory): the format oracle."""
    arrays = {name: np.asarray(value) for name, value in tensors.items()}
    header: dict[str, Any] = {"__metadata__": dict(metadata)} if metadata else {}
    layout = sorted(arrays, key=lambda name: -arrays[name].dtype.itemsize)
    offsets, position = {}, 0
    for name in layout:
        offsets[name] = [position, position + arrays[name].nbytes]
        position += arrays[name].nbytes
    for name, array in arrays.items():
        dtype = cio_format._NAMES[array.dtype.newbyteorder("=")]
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": offsets[name]}
    encoded = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    body = b"".join(
        np.ascontiguousarray(arrays[n], dtype=arrays[n].dtype.newbyteorder("<")).tobytes()
        for n in layout
    )
    return len(encoded).to_bytes(8, "little") + encoded + body


def mixed_tensors() -> dict[str, Any]:
    """Every storage situation the writer meets: contiguous, strided, transposed, reversed,
    big-endian, 0-d arrays and NumPy scalars, empty arrays, bool and 1-byte types."""
    base = np.arange(6 * 7 * 5, dtype=np.float64).reshape(6, 7, 5)
    return {
        "contiguous": np.arange(12, dtype=np.float32).reshape(3, 4),
        "transposed": base.transpose(2, 0, 1),
        "strided": base[::2, 1::3, ::-1],
        "reversed": np.arange(9, dtype=np.int16)[::-1],
        "big_endian": np.arange(10, dtype=">i8").reshape(2, 5),
        "big_endian_strided": np.arange(20, dtype=">f4")[::3],
        "zero_d": np.array(2.5),
        "scalar": np.float16(0.75),
        "int_scalar": np.int64(-3),
        "empty": np.zeros((2, 0, 3), np.uint32),
        "flags": np.array([[True, False], [False, True]]).T,
        "bytes": np.arange(7, dtype=np.uint8),
        "column": np.asfortranarray(np.arange(12, dtype=np.int32).reshape(3, 4)),
    }


# --- 1. temp files left by a killed save -------------------------------------------------


CHILD = """
import os, sys, time
import numpy as np
from chainrule import io as cio

def stall(fd):  # the data is in the temp file; hang before the rename, until killed
    print("writing", flush=True)
    time.sleep(120)

os.fsync = stall
cio.save({"w": np.full(1_000_000, 2.0), "step": 7}, sys.argv[1])
"""


@pytest.mark.skipif(not POSIX, reason="SIGKILL")
def test_killed_save_leaves_a_temp_that_the_next_save_removes(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.safetensors"
    cr.save({"w": cr.ones(3), "step": 1}, path)
    before = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
        [temp] = temps(tmp_path)
        assert TEMP.fullmatch(temp.name)["pid"] == str(child.pid)  # type: ignore[index]
        assert TEMP.fullmatch(temp.name)["name"] == path.name  # type: ignore[index]
        assert temp.stat().st_size > 8_000_000  # the big state really was being written
        assert path.read_bytes() == before  # the old checkpoint is intact while it writes
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert temps(tmp_path) == [temp]  # nothing removed it: a crash leaks it
    assert path.read_bytes() == before
    assert cr.load(path)["step"] == 1

    cr.save({"w": cr.zeros(2), "step": 2}, path)  # the next save of the same path cleans up
    assert temps(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]
    assert cr.load(path)["step"] == 2


@pytest.mark.skipif(not POSIX, reason="pid liveness through os.kill")
def test_temps_of_live_writers_and_other_paths_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        keep = [
            tmp_path / f".m.safetensors.{live.pid}.0123456789abcdef.chainrule.tmp",  # live pid
            tmp_path / f".m.safetensors.{os.getpid()}.00ff00ff00ff00ff.chainrule.tmp",  # us
            tmp_path / ".other.safetensors.999999999.0123456789abcdef.chainrule.tmp",
            tmp_path / ".m.safetensors.999999999.not-ours.tmp",
        ]
        stale = tmp_path / ".m.safetensors.999999999.0123456789abcdef.chainrule.tmp"
        for file in [*keep, stale]:
            file.write_bytes(b"partial")
        cio.save({"x": np.ones(2)}, path)
        for file in keep:
            assert file.exists(), file.name
        assert not stale.exists()
    finally:
        live.kill()
        live.wait()


def test_temp_name_is_recognisable_and_beside_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        seen.extend(p.name for p in tmp_path.iterdir())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    cio.save({"x": np.ones(2)}, tmp_path / "a.b.safetensors")
    match = next(TEMP.fullmatch(name) for name in seen if TEMP.fullmatch(name))
    assert match["name"] == "a.b.safetensors" and match["pid"] == str(os.getpid())
    assert [p.name for p in tmp_path.iterdir()] == ["a.b.safetensors"]


# --- 2. symlinks -------------------------------------------------------------------------


@pytest.mark.skipif(not POSIX, reason="symlinks")
def test_save_writes_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "real.safetensors"
    cio.save({"x": np.zeros(1)}, target)
    link = tmp_path / "latest.safetensors"
    link.symlink_to(target.name)  # relative link
    cio.save({"x": np.arange(3.0)}, link)
    assert link.is_symlink() and os.readlink(link) == target.name
    np.testing.assert_array_equal(cio.load(target)["x"], [0.0, 1.0, 2.0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.safetensors", "real.safetensors"]


@pytest.mark.skipif(not POSIX, reason="symlinks")
def test_save_through_dangling_chained_and_cross_directory_links(tmp_path: Path) -> None:
    store, links = tmp_path / "store", tmp_path / "links"
    store.mkdir()
    links.mkdir()
    dangling = links / "dangling.safetensors"
    dangling.symlink_to("../store/new.safetensors")  # relative to the link's folder
    cio.save({"x": np.ones(2)}, dangling)
    assert dangling.is_symlink() and (store / "new.safetensors").is_file()
    np.testing.assert_array_equal(cio.load(store / "new.safetensors")["x"], [1.0, 1.0])

    first, second = links / "a.safetensors", links / "b.safetensors"
    second.symlink_to(store / "chained.safetensors")  # absolute, itself dangling
    first.symlink_to("b.safetensors")  # a -> b -> store/chained
    cio.save({"y": np.full(2, 5.0)}, first)
    assert first.is_symlink() and second.is_symlink()
    np.testing.assert_array_equal(cio.load(first)["y"], [5.0, 5.0])
    assert sorted(p.name for p in store.iterdir()) == ["chained.safetensors", "new.safetensors"]
    assert sorted(p.name for p in links.iterdir()) == sorted(
        ["a.safetensors", "b.safetensors", "dangling.safetensors"]
    )


@pytest.mark.skipif(not POSIX, reason="symlinks")
def test_save_onto_a_symlink_loop_names_the_path(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.symlink_to("two")
    two.symlink_to("one")
    with pytest.raises(OSError, match="one") as excinfo:
        cio.save({"x": np.ones(1)}, one)
    assert str(one) in str(excinfo.value)
    assert one.is_symlink() and two.is_symlink() and temps(tmp_path) == []


# --- 3. streaming, byte-identical ----------------------------------------------------------


def test_streamed_file_is_byte_identical_to_the_old_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = pytest.importorskip("safetensors.numpy")
    tensors = mixed_tensors()
    expected = old_writer_bytes(tensors, {"run": "ünï"})
    # A tiny chunk makes every strided array go through the chunk-wise path in many pieces.
    for chunk in (None, 1, 24, 1000):
        if chunk is not None:
            monkeypatch.setattr(cio_format, "_CHUNK_BYTES", chunk)
        path = tmp_path / f"mixed{chunk}.safetensors"
        cio.save_file(tensors, path, {"run": "ünï"})
        assert path.read_bytes() == expected, chunk
    theirs = st.load_file(path)
    for name, value in tensors.items():
        np.testing.assert_array_equal(theirs[name], value)
        assert theirs[name].dtype == np.asarray(value).dtype.newbyteorder("=")


def test_nested_state_is_byte_identical_to_the_old_writer(tmp_path: Path) -> None:
    state = {"model": mixed_tensors(), "step": 3, "opt": {0: {"m": np.ones((2, 3)).T}}}
    tensors, structure = cio.flatten_state(state)
    cio.save(state, tmp_path / "s.safetensors")
    assert (tmp_path / "s.safetensors").read_bytes() == old_writer_bytes(tensors, structure)


def test_save_streams_without_copying_the_state(tmp_path: Path) -> None:
    mib = 2**20
    state = {
        "model": {
            "w": np.ones((512, 4096), np.float32),  # 8 MiB, contiguous: written in place
            "v": np.ones((2048, 1024), np.float64).T,  # 16 MiB, transposed: chunk-wise
            "b": np.ones(mib, ">f4"),  # 4 MiB, big-endian: swapped chunk-wise
        },
        "step": np.int64(5),
    }
    size = sum(a.nbytes for a in state["model"].values())
    tracemalloc.start()
    try:
        cio.save(state, tmp_path / "big.safetensors")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size / 10, (peak, size)  # the old writer needed about `size` extra
    loaded = cio.load(tmp_path / "big.safetensors")
    for name, value in state["model"].items():
        np.testing.assert_array_equal(loaded["model"][name], value)


# --- 4. hostile files ----------------------------------------------------------------------


def valid_state() -> dict[str, Any]:
    return {
        "model": {
            "w": np.arange(12, dtype=np.float32).reshape(3, 4),
            "b": np.arange(5, dtype=np.int8),
        },
        "step": 3,
        "scale": np.float16(0.5),
        "tags": ("a", 1),
    }


def split(data: bytes) -> tuple[dict[str, Any], bytes]:
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length]), data[8 + length :]


def assemble(header: Any, buffer: bytes, pad: bool = True) -> bytes:
    encoded = json.dumps(header).encode()
    if pad:
        encoded += b" " * (-len(encoded) % 8)
    return struct.pack("<Q", len(encoded)) + encoded + buffer


def with_entry(header: dict, name: str, field: str, value: Any) -> dict:
    changed = json.loads(json.dumps(header))
    changed[name][field] = value
    return changed


def with_structure(header: dict, structure: Any) -> dict:
    changed = json.loads(json.dumps(header))
    text = structure if isinstance(structure, str) else json.dumps(structure)
    changed["__metadata__"]["chainrule.state"] = text
    return changed


def hostile_files(tmp_path: Path) -> dict[str, bytes]:
    """About 150 systematic mutations of a valid nested checkpoint."""
    cio.save(valid_state(), tmp_path / "valid.safetensors")
    data = (tmp_path / "valid.safetensors").read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header, buffer = split(data)
    names = [n for n in header if n != "__metadata__"]
    cases: dict[str, bytes] = {}

    # Truncation at every region boundary (and one byte either side).
    cuts = {0, 1, 7, 8, 9, 8 + length - 1, 8 + length, 8 + length + 1, len(data) - 1}
    for name in names:
        begin, end = header[name]["data_offsets"]
        cuts |= {8 + length + begin + 1, 8 + length + end - 1, 8 + length + end}
    for cut in sorted(c for c in cuts if c < len(data)):
        cases[f"truncated at {cut}"] = data[:cut]
    cases["one extra byte"] = data + b"\0"

    # The header length field.
    for value in [0, 1, 2, length - 1, length + 1, length + 8, len(data) - 8, len(data), 2**31]:
        cases[f"header length {value}"] = struct.pack("<Q", value) + data[8:]
    for value in [100_000_001, 2**63, 2**64 - 1]:
        cases[f"huge header length {value}"] = struct.pack("<Q", value) + data[8:]

    # Each header field of each tensor.
    dtypes = ["F64", "F16", "BF16", "I8", "BOOL", "F128", "f32", "", 4, None, ["F32"]]
    shapes = [[], [0], [-1], [1.5], [True], "3", None, [10**12], [10**6] * 3, [2**62, 0]]
    shapes += [[2**64], [1] * 65]
    for name in names:
        entry = header[name]
        begin, end = entry["data_offsets"]
        for dtype in dtypes:
            cases[f"{name} dtype {dtype!r}"] = assemble(
                with_entry(header, name, "dtype", dtype), buffer
            )
        for shape in [*shapes, [*entry["shape"], 1], [*entry["shape"], 2], entry["shape"][::-1]]:
            changed = with_entry(header, name, "shape", shape)
            cases[f"{name} shape {str(shape)[:40]}"] = assemble(changed, buffer)
        offsets = [[begin], [begin, end, end], [-1, end], [end, begin], [begin + 1, end + 1]]
        offsets += [[begin - 1, end - 1], [0, 10**12], [10**20, 10**20 + end - begin]]
        offsets += [[str(begin), end], [begin, float(end)], None, [0, len(buffer)]]
        for value in offsets:
            changed = with_entry(header, name, "data_offsets", value)
            cases[f"{name} data_offsets {str(value)[:40]}"] = assemble(changed, buffer)
        missing = json.loads(json.dumps(header))
        del missing[name]["shape"]
        cases[f"{name} without shape"] = assemble(missing, buffer)
        cases[f"{name} not an object"] = assemble({**header, name: [1, 2]}, buffer)

    # Overlapping / aliased tensors: every tensor pointing at the first one's bytes.
    alias = json.loads(json.dumps(header))
    for name in names[1:]:
        alias[name] = dict(alias[names[0]])
    cases["aliased tensors"] = assemble(alias, buffer)

    # The metadata and the nested-state structure inside it.
    for metadata in [None, [], "x", {"k": 1}, {"chainrule.state": 5}]:
        cases[f"metadata {metadata!r}"] = assemble({**header, "__metadata__": metadata}, buffer)
    structure = json.loads(header["__metadata__"]["chainrule.state"])
    root = structure["root"]
    for bad in [
        "{oops",
        "[1, 2]",
        {"version": 2, "root": root},
        {"root": root},
        {"version": 1},
        {"version": 1, "root": {"dict": [["k"]]}},
        {"version": 1, "root": {"dict": [[1.5, 1]]}},
        {"version": 1, "root": {"dict": [[None, 1]]}},
        {"version": 1, "root": {"dict": {"a": 1}}},
        {"version": 1, "root": {"what": 1}},
        {"version": 1, "root": {"tensor": "nowhere"}},
        {"version": 1, "root": {"tensor": 5}},
        {"version": 1, "root": {"dict": []}},  # tensors the structure never mentions
        {"version": 1, "root": {"dict": [["a", {"tuple": 3}]]}},
        {"version": 1, "root": {"dict": [["a", {"tensor": "model.w", "x": 1}]]}},
        '{"version":1,"root":' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"version":1,"root":{"dict":[["a",' + '{"tuple":[' * 3000 + "]}" * 3000 + "]]}}",
    ]:
        cases[f"structure {str(bad)[:50]}"] = assemble(with_structure(header, bad), buffer)

    # Header text: not UTF-8, not JSON, not an object, duplicate keys, deep nesting.
    raw = data[8 : 8 + length]
    for label, text in {
        "not utf-8": raw.replace(b'"model.w"', b'"model.\xff"'),
        "bad json": raw.replace(b"}", b"]", 1),
        "array header": b"[" + raw[1:-1] + b"]",
        "leading space": b" " + raw[:-1],
        "duplicate key": raw.replace(b'"model.b"', b'"model.w"'),
        "deep header": b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "number header": b"12345678",
        "nul header": bytes(length),
        "5000-digit extent": raw.replace(b'"shape":[3,4]', b'"shape":[' + b"9" * 5000 + b"]"),
    }.items():
        cases[f"header {label}"] = struct.pack("<Q", len(text)) + text + buffer

    # Foreign formats and noise.
    cases["empty"] = b""
    cases["pickle"] = b"\x80\x04\x95" + bytes(20) + b"."
    cases["zip"] = b"PK\x03\x04" + bytes(40)
    cases["text"] = b"hello, this is not a checkpoint\n"
    rng = random.Random(0)
    for i in range(8):
        cases[f"random bytes {i}"] = rng.randbytes(rng.randrange(1, 400))
    for i in range(12):  # flip bytes inside the header
        flipped = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            flipped[rng.randrange(8, 8 + length)] = rng.randrange(256)
        cases[f"header flip {i}"] = bytes(flipped)
    for i in range(4):  # flip bytes in the tensor data: still a valid file, with other values
        flipped = bytearray(data)
        flipped[rng.randrange(8 + length, len(data))] ^= 0xFF
        cases[f"data flip {i}"] = bytes(flipped)
    return cases


def oracle_tensors(data: bytes) -> dict[str, np.ndarray]:
    """What a valid file holds, read independently of chainrule."""
    header, buffer = split(data)
    result = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = cio_format._DTYPES[entry["dtype"]]
        array = np.frombuffer(buffer[begin:end], dtype).reshape(entry["shape"])
        if entry["dtype"] == "BF16":  # the top 16 bits of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        result[name] = array
    return result


def check_load(reader: Callable[[Path], Any], path: Path) -> Any:
    """Run ``reader``: it must succeed, or refuse with a CheckpointError naming ``path``; and it
    must never allocate far more than the file holds."""
    size = path.stat().st_size
    tracemalloc.start()
    try:
        result = reader(path)
    except cio.CheckpointError as exc:
        assert str(path) in str(exc), exc
        result = exc
    except Exception as exc:  # anything else is the bug being tested for
        pytest.fail(f"{reader.__name__} raised {type(exc).__name__}: {exc}")
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 4 * size + 2**20, (peak, size)
    return result


def test_checkpoint_error_fits_both_habits() -> None:
    assert issubclass(cio.CheckpointError, ValueError)
    assert issubclass(cio.CheckpointError, RuntimeError)


def test_hostile_files_are_refused_naming_the_file(tmp_path: Path) -> None:
    cases = hostile_files(tmp_path)
    assert len(cases) >= 150
    refused = 0
    for label, data in cases.items():
        path = tmp_path / f"hostile {len(data)}.safetensors"
        path.write_bytes(data)
        tensors = check_load(cio.load_file, path)
        metadata = check_load(cio.load_metadata, path)
        state = check_load(cio.load, path)
        check_load(cr.load, path)
        if isinstance(tensors, Exception):
            refused += 1
            assert isinstance(state, Exception), label
            continue
        # Accepted: the values must be exactly what the file holds.
        expected = oracle_tensors(data)
        assert list(tensors) == list(expected), label
        for name, array in expected.items():
            np.testing.assert_array_equal(tensors[name], array, err_msg=label)
        if not isinstance(state, Exception):
            rebuilt = cio.unflatten_state(tensors, metadata)
            assert repr(rebuilt) == repr(state), label
    assert refused > 120  # nearly every mutation is detected


def test_huge_tensor_is_refused_before_allocating(tmp_path: Path) -> None:
    header = {"x": {"dtype": "F64", "shape": [10**6, 10**6], "data_offsets": [0, 8 * 10**12]}}
    path = tmp_path / "huge.safetensors"
    path.write_bytes(assemble(header, bytes(64)))
    result = check_load(cio.load_file, path)
    assert isinstance(result, cio.CheckpointError) and "run past" in str(result)


@pytest.mark.parametrize("shape", [[2**62, 0], [1] * 64 + [0], [2**63, 2, 0]])
def test_shapes_numpy_cannot_hold_are_refused(tmp_path: Path, shape: list[int]) -> None:
    # Zero elements, so the offsets agree; but NumPy cannot make an F64 array of this shape.
    header = {"x": {"dtype": "F64", "shape": shape, "data_offsets": [0, 0]}}
    path = tmp_path / "shape.safetensors"
    path.write_bytes(assemble(header, b""))
    result = check_load(cio.load_file, path)
    assert isinstance(result, cio.CheckpointError) and "shape" in str(result)


def test_structure_errors_name_the_file(tmp_path: Path) -> None:
    tensors, _ = cio.flatten_state({"w": np.ones(2)})
    metadata = {"chainrule.state": json.dumps({"version": 1, "root": {"tensor": "gone"}})}
    cio.save_file(tensors, tmp_path / "s.safetensors", metadata)
    with pytest.raises(cio.CheckpointError, match="missing tensor 'gone'") as excinfo:
        cr.load(tmp_path / "s.safetensors")
    assert str(tmp_path / "s.safetensors") in str(excinfo.value)


def test_filesystem_errors_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(FileNotFoundError, match=r"missing\.safetensors"):
        cr.load(missing)
    with pytest.raises(OSError) as excinfo:
        cr.load(tmp_path)
    assert str(tmp_path) in str(excinfo.value)
    locked = tmp_path / "locked.safetensors"
    cio.save({"x": np.ones(1)}, locked)
    if POSIX and os.geteuid() != 0:
        locked.chmod(0)
    else:  # root reads any file: make the open fail the way it would for anyone else
        real_open = Path.open

        def deny(self: Path, *args: Any, **kwargs: Any) -> Any:
            if self == locked:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", deny)
    with pytest.raises(PermissionError) as excinfo:
        cr.load(locked)
    assert str(locked) in str(excinfo.value)


# --- 5. failed saves -------------------------------------------------------------------------


def test_unserialisable_value_names_the_key_and_touches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.safetensors"
    cio.save({"w": np.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"optimizer\.lock"):
        cr.save({"w": np.zeros(2), "optimizer": {"lock": object()}}, path)
    with pytest.raises(TypeError, match=r"'model\.c'"):
        cr.save({"model": {"c": np.zeros(2, np.complex64)}, "n": 1}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


def test_failed_write_removes_its_temp_and_names_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.safetensors"
    cio.save({"w": np.ones(2)}, path)
    before = path.read_bytes()

    class Full:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, data: Any) -> int:
            raise OSError(28, "No space left on device")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.fh, name)

    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    with pytest.raises(OSError, match="No space left") as excinfo:
        cio.save({"w": np.zeros(1000)}, path)
    assert excinfo.value.errno == 28 and str(path) in str(excinfo.value)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


def test_save_to_a_missing_directory_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "c.safetensors"
    with pytest.raises(FileNotFoundError) as excinfo:
        cr.save({"w": cr.ones(2)}, path)
    assert str(path) in str(excinfo.value) and ".chainrule.tmp" not in str(excinfo.value)


def test_save_onto_a_directory_names_the_path(tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as excinfo:
        cr.save({"w": cr.ones(2)}, folder)
    assert str(folder) in str(excinfo.value)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"] and list(folder.iterdir()) == []


def test_save_to_an_unwritable_place_names_the_path(tmp_path: Path) -> None:
    if POSIX and os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
        path = folder / "c.safetensors"
    elif Path("/sys").is_dir():  # even root cannot create files in sysfs
        path = Path("/sys/c.safetensors")
    else:
        pytest.skip("no place this user cannot write to")
    with pytest.raises(PermissionError) as excinfo:
        cr.save({"w": cr.ones(2)}, path)
    assert str(path) in str(excinfo.value) and ".chainrule.tmp" not in str(excinfo.value)
