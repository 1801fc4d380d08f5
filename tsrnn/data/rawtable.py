"""A table as read, before any column is understood: its cells, the line each row came from, a preview."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

MISSING_TOKENS = ("", "NA", "NaN", "nan", "null", "NULL", "None")


@dataclass
class RawTable:
    """The cells (text, or typed by read_raw(typed=True)), the file line each row came from, and the first and
    last rows as written in the file."""

    path: Path
    frame: pl.DataFrame
    lines: np.ndarray
    delimiter: str
    preview: pl.DataFrame
    """Text of the first and last PREVIEW_ROWS rows (every row of a short file)."""

    @property
    def name(self) -> str:
        return self.path.name


PREVIEW_ROWS = 5
"""Rows kept as written at each end of a table, for its preview."""
