"""How messages name cells and rows: a cell cut to a readable length, a list of line numbers."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

import numpy as np


def shorten(cell: str, limit: int = 40) -> str:
    """A cell for a message: as written, cut to `limit` characters."""
    return cell if len(cell) <= limit else cell[: limit - 3] + "..."


ROW_LABELS: ContextVar[Callable[[np.ndarray, int], str] | None] = ContextVar("tsrnn_row_labels", default=None)
"""How describe_lines names rows while a data set other than one CSV is loaded (Parquet: file and row)."""


def describe_lines(lines: np.ndarray, limit: int = 5) -> str:
    """'lines 12, 40, 41' or 'lines 12, 40, 41, 55, 60 and 7 more'."""
    label = ROW_LABELS.get()
    if label is not None:
        return label(lines, limit)
    shown = ", ".join(str(int(x)) for x in lines[:limit])
    more = f" and {len(lines) - limit} more" if len(lines) > limit else ""
    word = "line" if len(lines) == 1 else "lines"
    return f"{word} {shown}{more}"
