"""Where tsrnn writes models, one rule for the CLI, the engine and the terminal UI (no heavy imports here)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

EXPORT_DIR = Path("exports")
"""Exported models and compare/tune folders land here (relative to the working folder)."""


def export_path(stem: str, name: str) -> Path:
    """exports/<data stem>_<variant or model name>.onnx."""
    return EXPORT_DIR / f"{stem}_{name}.onnx"


def compare_dir(stem: str) -> Path:
    """The leaderboard folder of `tsrnn compare` on a data file: exports/compare_<stem>."""
    return EXPORT_DIR / f"compare_{stem}"


def copy_model(source: str | Path, target: Path) -> Path:
    """Copy a model file through a temporary file in the target folder, then rename: never half a file."""
    from .csvio import atomic_write

    def write(tmp: Path) -> None:
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; an export is an ordinary file

    return atomic_write(target, write)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
