"""Outputs never replace inputs: the one check every command runs before any work, given what it reads (data as a
file, a folder or a glob, a model, a future-values file) and what it writes (a file, or a folder and the names
it writes there). Paths are compared as the files they lead to: through symlinks, hard links, `./x` against `x`.
No heavy imports at module level: the forecast path uses it."""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tsrnn.core.errors import ConfigError, DataError
from tsrnn.core.safeio import check_out_dir, check_out_path

PathArg = str | os.PathLike[str]


@dataclass(frozen=True)
class Output:
    """Something a command writes: a file, or a folder (`folder`) that receives the files matching `names`
    (patterns relative to it, such as `leaderboard.*` or `models/*.onnx`); a folder without `names` receives
    files of any name, so it may neither hold an input nor lie inside an input folder."""

    what: str
    """How the user names it: `--out`, `--out-dir`, `the INT8 copy`."""
    path: PathArg
    folder: bool = False
    names: tuple[str, ...] = ()
    example: str = "model.onnx"
    """The file name suggested inside a folder given where a file is expected."""


@dataclass(frozen=True)
class _Input:
    what: str
    shown: str
    files: tuple[tuple[Path, tuple[int, int]], ...]
    """The regular files it reads: real path and (st_dev, st_ino)."""
    roots: tuple[Path, ...]
    """The folders it reads from (real paths): the folder given, or a glob's folder."""


def check_outputs(
    inputs: Iterable[tuple[str, PathArg | None]], outputs: Iterable[Output | None], *, writable: bool = True
) -> None:
    """Refuse with ConfigError, naming both paths, an output that is one of the inputs, or a folder output that
    would write over, hold or sit inside what the command reads; then (with `writable`) check that every output
    can be written (`safeio.check_out_path`, `safeio.check_out_dir`). `inputs` are (what, path) pairs such as
    ("the data", "sales.csv"); None entries on either side are skipped."""

    reads = [_expand(what, path) for what, path in inputs if path is not None]
    writes = [o for o in outputs if o is not None]
    for out in writes:
        if out.folder:
            _check_folder(out, reads)
        else:
            _check_file(out, reads)
    if writable:
        for out in writes:
            if out.folder:
                check_out_dir(out.path, out.what)
            else:
                check_out_path(out.path, out.what, example=out.example)


def _expand(what: str, path: PathArg) -> _Input:
    """The files and folders an input names: 'demo', a file, a folder or a glob (the files the loader reads)."""
    text = str(path)
    if text == "demo":
        # Here, not at the top: loads polars, which importing this module does not.
        from tsrnn.data.loader import demo_path

        text = str(demo_path())
    files: list[PathArg] = []
    roots: list[str] = []
    if glob.has_magic(text) or os.path.isdir(text):
        from tsrnn.data.parquetio import parquet_files

        roots = [_glob_root(text) if glob.has_magic(text) else text]
        try:
            files = list(parquet_files(text))  # the files the loader reads
        except DataError:
            files = []  # none: the loader says so later
    elif os.path.exists(text):
        files = [text]
    found: list[tuple[Path, tuple[int, int]]] = []
    for f in files:
        try:
            st = os.stat(f)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            found.append((Path(os.path.realpath(f)), (st.st_dev, st.st_ino)))
    return _Input(what, str(path), tuple(found), tuple(Path(os.path.realpath(r)) for r in roots))


def _glob_root(pattern: str) -> str:
    """The folder part of a glob before its first wildcard: 'data/2024/*.parquet' -> 'data/2024'."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return str(Path(*fixed)) if fixed else "."


def _key(path: PathArg) -> tuple[int, int] | None:
    """(st_dev, st_ino) of the regular file `path` leads to, or None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _check_file(out: Output, reads: list[_Input]) -> None:
    key = _key(out.path)
    if key is None:
        return  # a new file, a device or a folder (refused by the writability check): nothing read is replaced
    shown = str(out.path)
    for inp in reads:
        for real, k in inp.files:
            if k != key:
                continue
            whole = (
                f"{inp.what} {inp.shown}"
                if not inp.roots and len(inp.files) == 1
                else f"{real}, read as {inp.what} {inp.shown}"
            )
            if Path(os.path.realpath(shown)) != real:
                whole = f"a hard link to {whole}"
            elif Path(os.path.realpath(os.path.dirname(os.path.abspath(shown)))) / os.path.basename(shown) != real:
                whole = f"{whole} (through a link)"
            raise ConfigError(
                f"{out.what} {shown} is {whole}: tsrnn never writes over what it reads; choose another {out.what} path"
            )


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_folder(out: Output, reads: list[_Input]) -> None:
    real = Path(os.path.realpath(out.path))
    again = f"choose another {out.what} folder"
    for inp in reads:
        if not out.names:
            for root in inp.roots:
                if _inside(real, root) or _inside(root, real):
                    where = "is" if real == root else "is inside" if _inside(real, root) else "holds"
                    raise ConfigError(
                        f"{out.what} {out.path} {where} the folder of {inp.what} {inp.shown}: the results would "
                        f"mix with or replace the input; {again}, outside it"
                    )
            for file, _ in inp.files:
                if _inside(file, real):
                    raise ConfigError(
                        f"{out.what} {out.path} holds {file}, read as {inp.what} {inp.shown}: the results would "
                        f"mix with or replace the input; {again}, outside it"
                    )
            continue
        keys = {k: f for f, k in inp.files}
        for pattern in out.names:
            for written in glob.glob(os.path.join(glob.escape(str(out.path)), pattern)):
                k = _key(written)
                if k is not None and k in keys:
                    same = "" if os.path.normpath(written) == os.path.normpath(inp.shown) else f" ({written})"
                    raise ConfigError(
                        f"{out.what} {out.path} holds {inp.what} {inp.shown}{same} where tsrnn writes its own "
                        f"files ({pattern}): tsrnn never writes over what it reads; {again}"
                    )
