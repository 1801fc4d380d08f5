"""The result folder of a distributed forecast, never half old and half new: the partitions are written into a
staging folder beside it (`.NAME.staging-XXXX/`, with a lock file naming the run's process) and swapped in only
when the run is complete, with its manifest (manifest.json and _SUCCESS). A killed run leaves the earlier
result as it was; its staging folder is removed by the next run into the same folder. A folder holding anything
but a tsrnn result is never replaced."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from tsrnn.core.errors import ConfigError

PART_NAME = re.compile(r"^part-\d{5,}\.parquet$")
SKIPPED_FILE = "skipped.csv"
MANIFEST = "manifest.json"
SUCCESS = "_SUCCESS"
LOCK = ".tsrnn-run.json"
"""In a staging folder while its run lives: the process id, host and start time of the command."""
RUN_LIMIT = 24 * 3600.0
"""A staging folder whose process still seems alive is taken for a running forecast for this long."""
FOREIGN_AFTER = 3600.0
"""A staging folder of a run on another host is removed when untouched for this long."""
_PART_TEMP = re.compile(r"^\.part-\d{5,}\.parquet\..*\.tmp$")


def is_result_file(name: str) -> bool:
    """Whether a tsrnn result folder holds files of this name: partitions, skipped.csv, the manifest."""
    return bool(PART_NAME.match(name) or _PART_TEMP.match(name)) or name in (SKIPPED_FILE, MANIFEST, SUCCESS)


def check_result_folder(out: str | os.PathLike[str], what: str = "--out") -> None:
    """Refuse an `out` that exists and holds anything but a tsrnn result: the run replaces the whole folder."""
    p = Path(out)
    if not p.is_dir():
        return
    foreign = sorted(e.name for e in os.scandir(p) if not is_result_file(e.name))
    if foreign:
        names = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ConfigError(
            f"{what} {out}: the folder holds files that are not part of a tsrnn result ({names}); the forecast "
            f"replaces the whole folder, so give {what} a new folder or one that holds an earlier result"
        )


def _prefix(out: Path, kind: str) -> str:
    return f".{out.name[:180]}.{kind}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def clean_stale(out: Path) -> int:
    """Remove the staging folders of earlier runs into `out` that are dead (their process is gone, or they are
    older than FOREIGN_AFTER when the run was on another host or left no lock), and the old result of an
    interrupted swap; how many were removed. A ConfigError when another run on this host is writing `out`."""
    removed = 0
    now = time.time()
    host = socket.gethostname()
    try:
        entries = list(os.scandir(out.parent))
    except OSError:
        return 0
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        if entry.name.startswith(_prefix(out, "old")):
            if not out.exists():  # killed between the two renames of a swap: the earlier result goes back
                with contextlib.suppress(OSError):
                    os.rename(Path(entry.path) / "result", out)
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
            continue
        if not entry.name.startswith(_prefix(out, "staging")):
            continue
        lock = Path(entry.path) / LOCK
        try:
            info = json.loads(lock.read_text())
            age = now - lock.stat().st_mtime
        except (OSError, ValueError):
            info, age = {}, now - entry.stat(follow_symlinks=False).st_mtime
        pid = info.get("pid")
        if info.get("host") == host and isinstance(pid, int) and pid != os.getpid() and _alive(pid):
            if age < RUN_LIMIT:
                raise ConfigError(
                    f"another tsrnn forecast (process {pid}, started {info.get('started', '?')}) is writing "
                    f"{out}; wait for it to end, or choose another --out folder"
                )
        elif info.get("host") not in (None, host) and age < FOREIGN_AFTER:
            continue  # a run on another machine may still be writing it
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += 1
    return removed


class Staging:
    """The folder a run writes its partitions into, beside the result folder it will replace."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(os.path.realpath(out))
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.cleaned = clean_stale(self.out)
        self.path = Path(tempfile.mkdtemp(prefix=_prefix(self.out, "staging"), dir=self.out.parent))
        lock = {"pid": os.getpid(), "host": socket.gethostname(), "started": _now()}
        (self.path / LOCK).write_text(json.dumps(lock))

    def commit(self, manifest: dict[str, Any]) -> None:
        """Write the manifest, then swap the staging folder in for the result folder (the earlier result, if
        any, is removed once the new one is in place)."""
        (self.path / MANIFEST).write_text(json.dumps({**manifest, "created": _now()}, indent=2) + "\n")
        (self.path / SUCCESS).write_bytes(b"")
        (self.path / LOCK).unlink()
        if not self.out.exists():
            os.rename(self.path, self.out)
        elif _exchange(self.path, self.out):  # one atomic step where the system has it
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            old = Path(tempfile.mkdtemp(prefix=_prefix(self.out, "old"), dir=self.out.parent))
            os.rename(self.out, old / "result")
            os.rename(self.path, self.out)
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where that is not available."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
