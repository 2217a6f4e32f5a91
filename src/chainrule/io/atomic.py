"""Atomic file replacement for checkpoints: write a recognisable temp file beside the target,
fsync, rename over it; temps that a killed process left behind are removed by the next save."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

PathLike = str | os.PathLike[str]

# Temp files are named `.<target name>.<pid>.<16 hex>.chainrule.tmp` beside the target, so a later
# save can recognise one a killed process left behind, and tell whose it is.
_TEMP_SUFFIX = ".chainrule.tmp"
_TEMP_NAME = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[0-9a-f]{16}\.chainrule\.tmp")
# Where a pid cannot be checked, only temps older than this process are taken as abandoned.
_STARTED = time.time()


def _save_error(exc: OSError, path: PathLike, target: Path) -> OSError:
    """``exc`` reworded to name the path the caller asked for (not the temp file); the errno,
    and so the OSError subclass, is kept."""
    detail = exc.strerror or str(exc)
    if exc.errno == errno.ENOENT and not target.parent.is_dir():
        detail = f"directory {target.parent} does not exist"
    message = f"cannot save to {path}: {detail}"
    # OSError(errno, ...) picks the matching subclass (FileNotFoundError, PermissionError, ...).
    return OSError(exc.errno, message) if exc.errno is not None else OSError(message)


def _save_target(path: PathLike) -> Path:
    """The file to replace: symlinks are followed (as torch.save and open() do), so saving onto
    a link updates what it points to and keeps the link; a dangling link creates its target."""
    target = Path(os.path.realpath(path))
    if target.is_symlink():  # realpath stops where links loop
        code = errno.ELOOP
        raise OSError(code, f"cannot save to {path}: {os.strerror(code)}")
    if target.is_dir():
        code = errno.EISDIR
        raise OSError(code, f"cannot save to {path}: it is a directory")
    return target


def _pid_alive(pid: int) -> bool | None:
    """Whether process ``pid`` exists; None where that cannot be asked (Windows)."""
    if os.name != "posix":
        return None
    try:
        os.kill(pid, 0)  # signal 0 only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except (OSError, OverflowError):
        return None
    return True


def _remove_stale_temps(target: Path) -> None:
    """Delete temp files of ``target`` whose writer is gone (killed mid-save), never one that a
    live process may still be writing: a job that keeps crashing must not fill the disk."""
    prefix = f".{target.name}."
    try:
        names = os.listdir(target.parent)
    except OSError:
        return  # opening the temp file will report the problem with the folder
    for name in names:
        match = _TEMP_NAME.fullmatch(name) if name.startswith(prefix) else None
        if match is None or match["name"] != target.name:
            continue
        pid = int(match["pid"])
        if pid <= 0 or pid == os.getpid():  # another thread of this process may be saving
            continue
        path = target.parent / name
        alive = _pid_alive(pid)
        with contextlib.suppress(OSError):  # another saver may have removed it first
            if alive is False or (alive is None and path.stat().st_mtime < _STARTED):
                os.unlink(path)


def _write_atomic(path: PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Stream ``write`` into a sibling temporary file, fsync it, then rename it over ``path``."""
    target = _save_target(path)
    _remove_stale_temps(target)
    # Same directory, because os.replace is only atomic within one filesystem.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(8)}{_TEMP_SUFFIX}")
    try:
        # os.open with 0o666 honours the umask, unlike tempfile's private 0o600 files.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(tmp, flags, 0o666)
    except OSError as exc:
        raise _save_error(exc, path, target) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _save_error(exc, path, target) from exc
        raise
    # Persist the rename itself; directories cannot be opened this way on Windows.
    with contextlib.suppress(OSError):
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
