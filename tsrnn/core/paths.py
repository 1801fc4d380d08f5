"""Where tsrnn writes models, one rule for the CLI, the engine and the terminal UI (no heavy imports here)."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

from tsrnn.core.safeio import atomic_write

EXPORT_DIR = Path("exports")
"""Exported models and compare/tune folders land here (relative to the working folder)."""


def export_path(stem: str, name: str) -> Path:
    """exports/<data stem>_<variant or model name>.onnx (`free_path` gives the name to write when it exists)."""
    return EXPORT_DIR / f"{stem}_{name}.onnx"


def free_path(path: str | os.PathLike[str]) -> Path:
    """`path` when nothing is there yet, else the first free `<stem>-2<suffix>`, `-3`, ... beside it: a model
    file whose name tsrnn chose (no --out) never replaces an existing file."""
    path = Path(path)
    n = 1
    candidate = path
    while os.path.lexists(candidate):
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def kept_words(path: str | os.PathLike[str]) -> str:
    """' (a new name: X exists and is kept)' for a file that `free_path` named beside an existing X, else ''."""
    path = Path(path)
    m = re.fullmatch(r"(.*)-(\d+)", path.stem)
    if m is None or int(m.group(2)) < 2:
        return ""
    taken = path.with_name(f"{m.group(1)}{path.suffix}")
    return f" (a new name: {taken} exists and is kept)" if os.path.lexists(taken) else ""


def default_folder(folder: Path, option: str, quiet: bool = False) -> Path:
    """The folder a run writes to when the user named none: `folder`, or a free `folder-2`, `-3`, ... when an
    earlier run's folder is there (it is kept as it is); a note on stderr says so unless `quiet`."""
    chosen = free_path(folder)
    if chosen != folder and not quiet:
        print(
            f"note: {folder} holds an earlier run and is kept; this run writes to {chosen} ({option} names the "
            "folder, and reuses it)",
            file=sys.stderr,
        )
    return chosen


def winner_path(out_dir: Path, stem: str, name: str) -> Path:
    """Where compare exports its best model: <out_dir>/<data stem>_<variant or baseline>.onnx, under a free name
    when that file exists."""
    return free_path(out_dir / f"{stem}_{name}.onnx")


def compare_dir(stem: str) -> Path:
    """The leaderboard folder of `tsrnn compare` on a data file: exports/compare_<stem>."""
    return EXPORT_DIR / f"compare_{stem}"


def tune_dir(stem: str) -> Path:
    """The folder of `tsrnn tune` on a data file: exports/tune_<stem>."""
    return EXPORT_DIR / f"tune_{stem}"


def copy_model(source: str | Path, target: Path) -> Path:
    """Copy a model file through a temporary file in the target folder, then rename: never half a file."""

    def write(tmp: Path) -> None:
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; an export is an ordinary file

    return atomic_write(target, write)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
