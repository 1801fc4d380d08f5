"""Write output files so that a failure or a kill never leaves half a file, and nothing is replaced that should
not be: a regular file is written to a temporary file beside it and renamed over it; a character device
(/dev/null, a terminal), a FIFO or one of this process's descriptors (/dev/stdout, /dev/fd/N) is written
through, never replaced; a folder, a block device or a socket is refused. Standard library only."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from tsrnn.core.errors import ConfigError

STALE_AFTER = 3600.0
"""Seconds after its last change from which a leftover temporary file of tsrnn's naming (`.NAME.*.tmp` beside
NAME) is removed before NAME is written again. A live writer changes its temporary file at least once per
written piece (a forecast batch, a whole model), so only one left by a killed process gets this old."""

_FD_LINK = re.compile(r"/(?:dev/fd|proc/(?:self|thread-self|(\d+))/fd)/(\d+)")
_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask, read from /proc where possible (changing it to read it races with other threads)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _umask_lock:
        mask = os.umask(0o077)  # a file another thread creates meanwhile is private rather than open to all
        os.umask(mask)
    return mask


def temp_prefix(target: Path) -> str:
    """Name start of the temporary files written for `target` (the name is cut so that it fits 255 bytes)."""
    return f".{target.name[:200]}."


def remove_stale_temps(target: str | os.PathLike[str], max_age: float = STALE_AFTER) -> list[Path]:
    """Remove regular files named `.NAME.*.tmp` beside `target` last changed more than `max_age` seconds ago
    (left by a killed process); a newer one may belong to a writer still running and is kept."""
    target = Path(target)
    prefix = temp_prefix(target)
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")) or len(entry.name) <= len(prefix) + 4:
            continue
        with contextlib.suppress(OSError):
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > max_age:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _example(path: str | os.PathLike[str], example: str | None) -> str:
    return str(Path(path) / (example or "FILE"))


def _folder_error(path: str | os.PathLike[str], example: str | None) -> ConfigError:
    return ConfigError(f"cannot write {path}: it is a folder; give a file name such as {_example(path, example)}")


def _own_fd(path: str | os.PathLike[str]) -> int | None:
    """The descriptor number when `path`, or a symlink on the way to its target, names one of this process's
    open descriptors (/dev/stdout, /dev/fd/1, /proc/self/fd/1)."""
    hop = os.path.abspath(path)
    for _ in range(40):
        m = _FD_LINK.fullmatch(hop)
        if m and (m.group(1) is None or int(m.group(1)) == os.getpid()):
            return int(m.group(2))
        if not os.path.islink(hop):
            return None
        hop = os.path.normpath(os.path.join(os.path.dirname(hop), os.readlink(hop)))
    return None


@dataclass(frozen=True)
class _Plan:
    real: Path
    """Where the renamed file goes (symlinks resolved), or the file written through."""
    through: bool
    """Write into the existing file (device, FIFO, descriptor) instead of renaming over it."""
    fd: int | None = None
    """One of this process's descriptors to write to."""
    mode: int | None = None
    """Permission bits of the regular file being replaced, kept; None for a new file (the umask decides)."""


def _plan(target: Path, example: str | None) -> _Plan:
    fd = _own_fd(target)
    if fd is not None:
        return _Plan(target, True, fd=fd)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return _Plan(Path(os.path.realpath(target)), False)
    if stat.S_ISDIR(st.st_mode):
        raise _folder_error(target, example)
    if stat.S_ISREG(st.st_mode):
        return _Plan(Path(os.path.realpath(target)), False, mode=stat.S_IMODE(st.st_mode) & 0o777)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return _Plan(target, True)
    kind = "block device" if stat.S_ISBLK(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "special file"
    raise ConfigError(
        f"cannot write {target}: it is a {kind}; tsrnn writes regular files, character devices "
        f"such as /dev/null, and pipes"
    )


def _open_through(plan: _Plan) -> BinaryIO:
    """The existing device, FIFO or descriptor opened for writing: never created, truncated or replaced."""
    if plan.fd is not None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, OSError, ValueError):
                if stream.fileno() == plan.fd:
                    stream.flush()  # what Python printed to it so far comes first
        return open(os.dup(plan.fd), "wb")  # shares the offset: `> file` and `>> file` behave as the shell says
    fd = os.open(plan.real, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))  # a FIFO waits here for its reader
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        os.close(fd)
        raise ConfigError(
            f"cannot write {plan.real}: it changed into a regular file or folder while tsrnn was writing; try again"
        )
    return open(fd, "wb")


def _new_temp(plan: _Plan) -> tuple[int, Path]:
    plan.real.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(plan.real)
    fd, name = tempfile.mkstemp(prefix=temp_prefix(plan.real), suffix=".tmp", dir=plan.real.parent)
    return fd, Path(name)


def _settle(tmp: Path, plan: _Plan) -> None:
    """Give the finished temporary file its final mode, flush it to disk and rename it over the target."""
    os.chmod(tmp, plan.mode if plan.mode is not None else 0o666 & ~current_umask())  # mkstemp makes it 0o600
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename never lands before the bytes: no empty file after a power cut
    finally:
        os.close(fd)
    os.replace(tmp, plan.real)


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object], *, example: str | None = None) -> Path:
    """Call `write(tmp)` to fill a temporary file, then put it at `path`; return `path`.

    A regular file (or a new one) is replaced by renaming a temporary file from the same folder over it, so it
    is either the old or the whole new file; symlinks are followed, so a link keeps pointing at the new file.
    A new file gets mode 0o666 & ~umask, a replaced one keeps its mode. Stale temporary files of a killed run
    are removed first (`remove_stale_temps`). A character device, FIFO or descriptor (/dev/null, /dev/stdout)
    is written through: `write` fills a file in a private temporary folder whose bytes are then copied into
    it. A folder is refused with ConfigError (`example` names the file suggested inside it); other failures
    raise OSError. No temporary file is left behind."""
    target = Path(path)
    plan = _plan(target, example)
    if plan.through:
        with tempfile.TemporaryDirectory(prefix="tsrnn-") as folder:
            tmp = Path(folder) / (target.name or "out")
            write(tmp)
            with open(tmp, "rb") as src, _open_through(plan) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        return target
    fd, tmp = _new_temp(plan)
    os.close(fd)
    try:
        write(tmp)
        _settle(tmp, plan)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


class StreamWriter:
    """A file written piece by piece (`.file`) under `atomic_write`'s rules: `commit()` puts it at `path`,
    `abort()` drops it; as a context manager it commits when the block ends without an exception. Opening
    raises ConfigError for a folder and OSError when the file cannot be created."""

    def __init__(self, path: str | os.PathLike[str], *, example: str | None = None) -> None:
        self.path = Path(path)
        self._plan = _plan(self.path, example)
        self._tmp: Path | None = None
        if self._plan.through:
            self.file: BinaryIO = _open_through(self._plan)
            return
        fd, self._tmp = _new_temp(self._plan)
        try:
            self.file = open(fd, "wb")  # noqa: SIM115 - closed by commit() or abort()
        except BaseException:
            os.close(fd)
            self._tmp.unlink(missing_ok=True)
            raise

    def commit(self) -> Path:
        """Finish the file; on failure nothing is left behind and the old file, if any, is untouched."""
        try:
            self.file.close()
            if self._tmp is not None:
                _settle(self._tmp, self._plan)
                self._tmp = None
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Drop what was written (a device or pipe keeps what it already received)."""
        with contextlib.suppress(OSError):
            self.file.close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


def check_out_path(path: str | os.PathLike[str], what: str = "--out", *, example: str = "model.onnx") -> Path:
    """Raise ConfigError, naming the path and what to do, when `path` cannot be written as an output file;
    called before any long work. Creates nothing that stays: missing folders are not made here (writing makes
    them later), but the nearest existing one must be a folder in which a file can be created, which is
    proved by creating and removing a probe file (root passes permission checks, not a read-only mount).
    An existing regular file without a write bit for anyone (mode 0o444) is refused as read-only, for root
    too. An existing character device or FIFO (/dev/null, /dev/stdout) passes when it is writable: it is
    written through. `example` is the file name suggested inside a folder."""
    target = Path(path)
    again = f"choose another {what} path"
    fd = _own_fd(target)
    if fd is not None:
        try:
            os.fstat(fd)
        except OSError as exc:
            raise ConfigError(f"cannot write {what} {path}: {exc.strerror or exc}; {again}") from None
        return target
    try:
        st: os.stat_result | None = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        st = None  # a parent that is a file is reported below
    except OSError as exc:
        raise ConfigError(f"cannot write {what} {path}: {exc.strerror or exc}; {again}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise ConfigError(f"{what} {path} is a folder; give a file name such as {_example(path, example)}")
        if not os.access(target, os.W_OK) or (stat.S_ISREG(st.st_mode) and not st.st_mode & 0o222):
            raise ConfigError(f"cannot write {what} {path}: the file is read-only; {again}")
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            return target
        if not stat.S_ISREG(st.st_mode):
            _plan(target, example)  # raises the block device / socket error
    real = Path(os.path.realpath(target))
    _check_creatable(real.parent, temp_prefix(real), f"cannot write {what} {path}", again)
    return target


def check_out_dir(path: str | os.PathLike[str], what: str = "--out-dir") -> Path:
    """`check_out_path` for a folder that will receive files: an existing folder with a write bit (a folder of
    mode 0o555 is refused as read-only, for root too), or a missing one whose nearest existing parent is a
    folder in which files can be created."""
    again = f"choose another {what} path"
    real = Path(os.path.realpath(path))
    if real.exists() and not real.is_dir():
        raise ConfigError(f"cannot write {what} {path}: it is a file, not a folder; {again}")
    if real.is_dir() and not real.stat().st_mode & 0o222:
        raise ConfigError(f"cannot write {what} {path}: the folder is read-only; {again}")
    _check_creatable(real, ".tsrnn-probe.", f"cannot write {what} {path}", again)
    return Path(path)


def _check_creatable(folder: Path, prefix: str, cannot: str, again: str) -> None:
    """The nearest existing folder of `folder` must let a file be created (and removed) in it. The probe is
    named like tsrnn's temporary files when it goes in `folder` itself, so a killed check is cleaned up too."""
    start = folder
    while not folder.exists() and not folder.is_symlink() and folder != folder.parent:
        folder = folder.parent
    if folder != start:
        prefix = ".tsrnn-probe."
    if not folder.is_dir():
        raise ConfigError(f"{cannot}: {folder} is not a folder; {again}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{cannot}: no permission to create files in {folder}; {again}")
    try:
        fd, probe = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"{cannot}: cannot create files in {folder} ({exc.strerror or exc}); {again}") from None
